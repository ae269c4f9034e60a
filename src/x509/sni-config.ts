/**
 * SetSniConfig (reference §4.2): which TLS server names belong to an instance. The managed
 * service takes `SniConfig` as `domain#certificateId#password;…` and a default certificate; in
 * Ferry the server certificate is the configured one (tlsCert), so what the call drives is the
 * SNI → instance mapping: a client whose TLS SNI (or WebSocket Host) is one of the domains
 * belongs to the instance (tenancy/resolve.ts), before the `<instanceId>.<domain>` rule.
 * Certificate ids are kept and shown as given; passwords are not stored.
 *
 *   store collection   key           value
 *   x509.sni           <instanceId>  SniRecord
 */
import type { Store } from '../store/types.js';
import { ManagementError } from '../tenancy/errors.js';
import type { Tenancy } from '../tenancy/registry.js';

const SNI = 'x509.sni';
const DOMAIN = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface SniEntry {
  readonly domain: string;
  readonly certificateId: string;
}

interface SniRecord {
  readonly v: 1;
  readonly defaultCertificate: string;
  readonly entries: readonly SniEntry[];
}

export interface SniView {
  readonly instanceId: string;
  readonly defaultCertificate: string;
  readonly entries: readonly SniEntry[];
}

/** Parses `domain#certId#password;…` (password dropped); ParameterFieldCheckFailed on a bad entry. */
export function parseSniConfig(text: string | undefined): SniEntry[] {
  if (text === undefined || text.trim() === '') return [];
  const entries: SniEntry[] = [];
  for (const part of text.split(';')) {
    if (part.trim() === '') continue;
    const [domain, certificateId] = part.split('#').map((s) => s.trim());
    const name = (domain ?? '').toLowerCase();
    if (!DOMAIN.test(name) || name.length > 253) throw new ManagementError('ParameterFieldCheckFailed', `SniConfig: "${domain ?? ''}" is not a domain name`);
    if (certificateId === undefined || certificateId === '') throw new ManagementError('ParameterFieldCheckFailed', `SniConfig: ${name} has no certificate id (domain#certId#password)`);
    if (entries.some((e) => e.domain === name)) throw new ManagementError('ParameterFieldCheckFailed', `SniConfig: ${name} is listed twice`);
    entries.push({ domain: name, certificateId });
  }
  return entries;
}

export class SniDomains {
  private readonly byInstance = new Map<string, SniRecord>();
  /** domain → instanceId; `*.example.com` entries are stored as `*.example.com`. */
  private readonly owners = new Map<string, string>();

  private constructor(
    private readonly store: Store,
    private readonly tenancy: Tenancy,
  ) {}

  static async open(store: Store, tenancy: Tenancy): Promise<SniDomains> {
    const sni = new SniDomains(store, tenancy);
    // Set on another node (cluster mode).
    store.onRecordChanged?.(SNI, (instanceId, value) => {
      sni.forget(instanceId);
      if (value !== undefined) sni.remember(instanceId, value as SniRecord);
    });
    let after: string | undefined;
    for (;;) {
      const page = await store.listRecords(SNI, after === undefined ? {} : { after });
      if (page.length === 0) break;
      for (const { key, value } of page) sni.remember(key, value as SniRecord);
      after = page[page.length - 1]!.key;
    }
    return sni;
  }

  /** The instance a server name belongs to: an exact domain, else a `*.` wildcard one level up. */
  instanceOf(serverName: string | undefined): string | undefined {
    if (serverName === undefined || serverName === '' || this.owners.size === 0) return undefined;
    const name = serverName.toLowerCase();
    const exact = this.owners.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    return dot > 0 ? this.owners.get('*' + name.slice(dot)) : undefined;
  }

  /** SetSniConfig: replaces the instance's domains; a domain of another instance is refused. */
  async set(instanceId: string, defaultCertificate: string, entries: readonly SniEntry[]): Promise<void> {
    this.tenancy.require(instanceId);
    for (const { domain } of entries) {
      const owner = this.owners.get(domain);
      if (owner !== undefined && owner !== instanceId) throw new ManagementError('SniDomainInUse', `domain ${domain} belongs to instance ${owner}`);
    }
    this.forget(instanceId);
    const record: SniRecord = { v: 1, defaultCertificate, entries: [...entries] };
    this.remember(instanceId, record);
    this.store.putRecord(SNI, instanceId, record);
    await this.store.whenDurable();
  }

  get(instanceId: string): SniView {
    this.tenancy.require(instanceId);
    const record = this.byInstance.get(instanceId);
    return { instanceId, defaultCertificate: record?.defaultCertificate ?? '', entries: record?.entries ?? [] };
  }

  async dropInstance(instanceId: string): Promise<void> {
    this.forget(instanceId);
    this.store.deleteRecord(SNI, instanceId);
    await this.store.whenDurable();
  }

  private remember(instanceId: string, record: SniRecord): void {
    this.byInstance.set(instanceId, record);
    for (const { domain } of record.entries) this.owners.set(domain, instanceId);
  }

  private forget(instanceId: string): void {
    for (const { domain } of this.byInstance.get(instanceId)?.entries ?? []) this.owners.delete(domain);
    this.byInstance.delete(instanceId);
  }
}
