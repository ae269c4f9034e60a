/**
 * X.509 device identity (reference §3.5): the CA certificates registered on an instance, the
 * device certificates they issued (registered on a device's first connect), and the instance's
 * registration code that a CA's verification certificate must carry as its subject CN (proof
 * that whoever registers the CA holds its private key).
 *
 *   store collection      key                                  value
 *   x509.registerCodes    <instanceId>                         { v, code }
 *   x509.cas              <instanceId>\x1f<CaSn>               CaRecord   (all held in memory)
 *   x509.devices          <instanceId>\x1f<CaSn>\x1f<DeviceSn> DeviceRecord
 *
 * Status is the managed service's: 1 active, 0 inactive. Inactivating or deleting a CA or a
 * device certificate tells the listeners (onChange) so connected devices are cut at once.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/types.js';
import { ManagementError } from '../tenancy/errors.js';
import type { Tenancy } from '../tenancy/registry.js';
import { MAX_SN_BYTES, parseDer, parsePem, signedBy, validAt, type CertificateFacts } from './certificate.js';

const CODES = 'x509.registerCodes';
const CAS = 'x509.cas';
const DEVICES = 'x509.devices';
const SEP = '\u001f';
/** Intermediate certificates a device may send between its own and the registered CA. */
const MAX_CHAIN = 5;

export type CertificateStatus = 0 | 1;

interface CaRecord {
  readonly v: 1;
  readonly instanceId: string;
  readonly sn: string;
  readonly name: string;
  readonly content: string;
  readonly verification: string;
  readonly registrationCode: string;
  readonly status: CertificateStatus;
  readonly validBegin: number;
  readonly validEnd: number;
  readonly createTime: number;
}

interface DeviceRecord {
  readonly v: 1;
  readonly instanceId: string;
  readonly caSn: string;
  readonly deviceSn: string;
  readonly name: string;
  readonly content: string;
  readonly status: CertificateStatus;
  readonly validBegin: number;
  readonly validEnd: number;
  readonly createTime: number;
}

/** A CA as the API shows it (field names and string types of the managed service). */
export interface CaCertificateView {
  readonly CaName: string;
  readonly CaContent: string;
  readonly Sn: string;
  readonly Status: string;
  readonly RegistrationCode: string;
  readonly ValidBegin: string;
  readonly ValidEnd: string;
  readonly VerificationContent: string;
}

export interface DeviceCertificateView {
  readonly CaSn: string;
  readonly DeviceSn: string;
  readonly DeviceName: string;
  readonly DeviceContent: string;
  readonly Status: string;
  readonly ValidBegin: string;
  readonly ValidEnd: string;
}

export interface CertificatePage<T> {
  readonly items: T[];
  readonly pageNo: number;
  readonly pageSize: number;
  /** Records in all pages. */
  readonly count: number;
}

/** The identity a verified device certificate gives a connection. */
export interface DeviceIdentity {
  readonly instanceId: string;
  readonly caSn: string;
  readonly deviceSn: string;
  /** Subject CN of the device certificate: the client id it is bound to. */
  readonly deviceName: string | undefined;
  /** Serial numbers from the device certificate up to the registered CA, comma-separated. */
  readonly chainSn: string;
}

export type DeviceCheck =
  | { readonly ok: true; readonly identity: DeviceIdentity }
  | { readonly ok: false; readonly cause: string; readonly reason: string };

export type CertificateChange =
  | { readonly kind: 'ca'; readonly instanceId: string; readonly caSn: string }
  | { readonly kind: 'device'; readonly instanceId: string; readonly caSn: string; readonly deviceSn: string };

interface LoadedCa {
  readonly record: CaRecord;
  readonly facts: CertificateFacts;
}

export class CertificateRegistry {
  /** instanceId → CaSn → CA. */
  private readonly cas = new Map<string, Map<string, LoadedCa>>();
  private readonly codes = new Map<string, string>();
  private readonly listeners: Array<(change: CertificateChange) => void> = [];

  private constructor(
    private readonly store: Store,
    private readonly tenancy: Tenancy,
    private readonly now: () => number,
  ) {}

  static async open(store: Store, tenancy: Tenancy, now: () => number = Date.now): Promise<CertificateRegistry> {
    const registry = new CertificateRegistry(store, tenancy, now);
    registry.follow();
    for await (const { key, value } of all(store, CODES)) registry.codes.set(key, (value as { code: string }).code);
    for await (const { value } of all(store, CAS)) registry.remember(value as CaRecord);
    return registry;
  }

  /** Codes, CAs and device certificates as other nodes change them (cluster mode), with the same cuts. */
  private follow(): void {
    const feed = this.store.onRecordChanged?.bind(this.store);
    if (feed === undefined) return;
    feed(CODES, (instanceId, value) => {
      if (value === undefined) this.codes.delete(instanceId);
      else this.codes.set(instanceId, (value as { code: string }).code);
    });
    feed(CAS, (_key, value, previous) => {
      const record = (value ?? previous) as CaRecord;
      if (value === undefined) this.cas.get(record.instanceId)?.delete(record.sn);
      else this.remember(record);
      if (value === undefined || (record.status === 0 && (previous as CaRecord | undefined)?.status !== 0)) {
        this.changed({ kind: 'ca', instanceId: record.instanceId, caSn: record.sn });
      }
    });
    // Device certificates are read from the store at each connect: only the cut is this node's.
    feed(DEVICES, (_key, value, previous) => {
      const record = (value ?? previous) as DeviceRecord;
      if (value === undefined || (record.status === 0 && (previous as DeviceRecord | undefined)?.status !== 0)) {
        this.changed({ kind: 'device', instanceId: record.instanceId, caSn: record.caSn, deviceSn: record.deviceSn });
      }
    });
  }

  /** Called after a CA or device certificate is inactivated or deleted. */
  onChange(listener: (change: CertificateChange) => void): void {
    this.listeners.push(listener);
  }

  private changed(change: CertificateChange): void {
    for (const listener of this.listeners) listener(change);
  }

  /** GetRegisterCode: the instance's registration code, made on first request. */
  async registerCode(instanceId: string): Promise<string> {
    this.tenancy.require(instanceId);
    let code = this.codes.get(instanceId);
    if (code === undefined) {
      code = randomUUID();
      this.codes.set(instanceId, code);
      this.store.putRecord(CODES, instanceId, { v: 1, code });
      await this.store.whenDurable();
    }
    return code;
  }

  // CA certificates.

  /** RegisterCaCertificate: checks the CA and its proof of possession, answers its Sn. */
  async registerCa(instanceId: string, name: string, caContent: string, verificationContent: string): Promise<string> {
    this.tenancy.require(instanceId);
    const ca = parsePem(caContent, 'CaContent');
    const verification = parsePem(verificationContent, 'VerificationContent');
    const now = this.now();
    if (!ca.cert.ca) throw new ManagementError('CertificateInvalid', 'CaContent is not a CA certificate (basicConstraints CA:TRUE)');
    if (!validAt(ca, now)) throw new ManagementError('CertificateInvalid', 'CaContent is expired or not yet valid');
    if (ca.sn.length > MAX_SN_BYTES) throw new ManagementError('CertificateInvalid', `the CA serial number is longer than ${MAX_SN_BYTES} bytes`);
    if (name.length === 0 || name.length > 128) throw new ManagementError('ParameterFieldCheckFailed', 'CaName must be 1-128 characters');
    const code = await this.registerCode(instanceId);
    if (!signedBy(verification.cert, ca.cert)) {
      throw new ManagementError('CertificateInvalid', 'VerificationContent is not signed by the CA in CaContent');
    }
    if (verification.cn !== code) {
      throw new ManagementError('CertificateInvalid', 'the subject CN of VerificationContent is not the registration code (GetRegisterCode)');
    }
    if (!validAt(verification, now)) throw new ManagementError('CertificateInvalid', 'VerificationContent is expired or not yet valid');
    if (this.cas.get(instanceId)?.has(ca.sn)) throw new ManagementError('CaCertificateAlreadyExists', `CA certificate ${ca.sn} is already registered on ${instanceId}`);
    const record: CaRecord = {
      v: 1,
      instanceId,
      sn: ca.sn,
      name,
      content: ca.pem,
      verification: verification.pem,
      registrationCode: code,
      status: 1,
      validBegin: ca.validBegin,
      validEnd: ca.validEnd,
      createTime: now,
    };
    this.store.putRecord(CAS, instanceId + SEP + ca.sn, record);
    this.remember(record);
    await this.store.whenDurable();
    return ca.sn;
  }

  getCa(instanceId: string, sn: string): CaCertificateView {
    return caView(this.requireCa(instanceId, sn).record);
  }

  listCas(instanceId: string, pageNo: number, pageSize: number): CertificatePage<CaCertificateView> {
    this.tenancy.require(instanceId);
    const all = [...(this.cas.get(instanceId)?.values() ?? [])].sort((a, b) => a.record.createTime - b.record.createTime || a.record.sn.localeCompare(b.record.sn));
    const items = all.slice((pageNo - 1) * pageSize, pageNo * pageSize).map((c) => caView(c.record));
    return { items, pageNo, pageSize, count: all.length };
  }

  async setCaStatus(instanceId: string, sn: string, status: CertificateStatus): Promise<string> {
    const ca = this.requireCa(instanceId, sn);
    if (ca.record.status !== status) {
      const record: CaRecord = { ...ca.record, status };
      this.store.putRecord(CAS, instanceId + SEP + sn, record);
      this.remember(record);
      if (status === 0) this.changed({ kind: 'ca', instanceId, caSn: sn });
      await this.store.whenDurable();
    }
    return sn;
  }

  /** DeleteCaCertificate: the CA and every device certificate it issued (reference §3.5). */
  async deleteCa(instanceId: string, sn: string): Promise<string> {
    this.requireCa(instanceId, sn);
    this.cas.get(instanceId)?.delete(sn);
    this.store.deleteRecord(CAS, instanceId + SEP + sn);
    await this.deleteDevices(instanceId + SEP + sn + SEP);
    this.changed({ kind: 'ca', instanceId, caSn: sn });
    await this.store.whenDurable();
    return sn;
  }

  // Device certificates.

  async getDevice(instanceId: string, caSn: string, deviceSn: string): Promise<DeviceCertificateView> {
    return deviceView(await this.requireDevice(instanceId, caSn, deviceSn));
  }

  /** ListDeviceCertificate (caSn undefined) and ListDeviceCertificateByCaSn. */
  async listDevices(instanceId: string, caSn: string | undefined, pageNo: number, pageSize: number): Promise<CertificatePage<DeviceCertificateView>> {
    this.tenancy.require(instanceId);
    if (caSn !== undefined) this.requireCa(instanceId, caSn);
    const prefix = instanceId + SEP + (caSn === undefined ? '' : caSn + SEP);
    const skip = (pageNo - 1) * pageSize;
    const items: DeviceCertificateView[] = [];
    let count = 0;
    for await (const { value } of all(this.store, DEVICES, prefix)) {
      if (count >= skip && items.length < pageSize) items.push(deviceView(value as DeviceRecord));
      count++;
    }
    return { items, pageNo, pageSize, count };
  }

  async setDeviceStatus(instanceId: string, caSn: string, deviceSn: string, status: CertificateStatus): Promise<string> {
    const record = await this.requireDevice(instanceId, caSn, deviceSn);
    if (record.status !== status) {
      this.store.putRecord(DEVICES, deviceKey(instanceId, caSn, deviceSn), { ...record, status });
      if (status === 0) this.changed({ kind: 'device', instanceId, caSn, deviceSn });
      await this.store.whenDurable();
    }
    return deviceSn;
  }

  async deleteDevice(instanceId: string, caSn: string, deviceSn: string): Promise<string> {
    await this.requireDevice(instanceId, caSn, deviceSn);
    this.store.deleteRecord(DEVICES, deviceKey(instanceId, caSn, deviceSn));
    this.changed({ kind: 'device', instanceId, caSn, deviceSn });
    await this.store.whenDurable();
    return deviceSn;
  }

  // Connecting devices.

  /** Instances with at least one registered CA that signed `chain`'s top (for picking the instance). */
  instancesFor(chain: readonly Buffer[]): string[] {
    const out: string[] = [];
    const certs = chain.map(parseDer);
    for (const [instanceId, cas] of this.cas) {
      if ([...cas.values()].some((ca) => certs.some((c) => c !== null && signedBy(c.cert, ca.facts.cert)))) out.push(instanceId);
    }
    return out;
  }

  /**
   * Verifies a device's certificate chain (DER, device first, as the TLS peer sent it) against
   * the instance's registered CAs: every link signed by the next, every certificate within its
   * validity, the CA active, the device certificate active (registered now if it is new).
   */
  async verifyDevice(instanceId: string, chain: readonly Buffer[]): Promise<DeviceCheck> {
    const now = this.now();
    const certs = chain.slice(0, MAX_CHAIN + 1).map(parseDer);
    const leaf = certs[0];
    if (leaf === undefined || leaf === null) return { ok: false, cause: 'certificate-invalid', reason: 'the client certificate cannot be read' };
    if (!validAt(leaf, now)) return { ok: false, cause: 'certificate-expired', reason: 'the device certificate is expired or not yet valid' };
    const cas = this.cas.get(instanceId);
    const sns: string[] = [leaf.sn];
    let current = leaf;
    for (let i = 1; ; i++) {
      const issuer = cas === undefined ? undefined : [...cas.values()].find((ca) => signedBy(current.cert, ca.facts.cert));
      if (issuer !== undefined) {
        if (issuer.record.status !== 1) return { ok: false, cause: 'ca-inactive', reason: `CA certificate ${issuer.record.sn} is inactive` };
        if (!validAt(issuer.facts, now)) return { ok: false, cause: 'certificate-expired', reason: `CA certificate ${issuer.record.sn} is expired` };
        if (issuer.record.sn !== current.sn) sns.push(issuer.record.sn);
        return this.admitDevice(instanceId, issuer.record.sn, leaf, sns.join(','), now);
      }
      const next = certs[i];
      if (next === undefined || next === null || !next.cert.ca || !validAt(next, now) || !signedBy(current.cert, next.cert)) {
        return { ok: false, cause: 'unknown-ca', reason: 'the device certificate is not issued by a CA registered on the instance' };
      }
      sns.push(next.sn);
      current = next;
    }
  }

  private async admitDevice(instanceId: string, caSn: string, leaf: CertificateFacts, chainSn: string, now: number): Promise<DeviceCheck> {
    const key = deviceKey(instanceId, caSn, leaf.sn);
    const existing = (await this.store.getRecord(DEVICES, key)) as DeviceRecord | undefined;
    if (existing !== undefined && existing.status !== 1) {
      return { ok: false, cause: 'device-certificate-inactive', reason: `device certificate ${leaf.sn} is inactive` };
    }
    if (existing === undefined) {
      // First connect: the certificate is registered, active (reference §3.5).
      const record: DeviceRecord = {
        v: 1,
        instanceId,
        caSn,
        deviceSn: leaf.sn,
        name: leaf.cn ?? '',
        content: leaf.pem,
        status: 1,
        validBegin: leaf.validBegin,
        validEnd: leaf.validEnd,
        createTime: now,
      };
      this.store.putRecord(DEVICES, key, record);
      await this.store.whenDurable();
    }
    return { ok: true, identity: { instanceId, caSn, deviceSn: leaf.sn, deviceName: leaf.cn, chainSn } };
  }

  /** Removes everything of a deleted instance. */
  async dropInstance(instanceId: string): Promise<void> {
    for (const sn of this.cas.get(instanceId)?.keys() ?? []) this.store.deleteRecord(CAS, instanceId + SEP + sn);
    this.cas.delete(instanceId);
    this.codes.delete(instanceId);
    this.store.deleteRecord(CODES, instanceId);
    await this.deleteDevices(instanceId + SEP);
    await this.store.whenDurable();
  }

  private async deleteDevices(prefix: string): Promise<void> {
    for (;;) {
      const page = await this.store.listRecords(DEVICES, { prefix });
      if (page.length === 0) return;
      for (const { key } of page) this.store.deleteRecord(DEVICES, key);
    }
  }

  private remember(record: CaRecord): void {
    let byInstance = this.cas.get(record.instanceId);
    if (byInstance === undefined) this.cas.set(record.instanceId, (byInstance = new Map()));
    byInstance.set(record.sn, { record, facts: parsePem(record.content, 'CaContent') });
  }

  private requireCa(instanceId: string, sn: string): LoadedCa {
    this.tenancy.require(instanceId);
    const ca = this.cas.get(instanceId)?.get(sn);
    if (ca === undefined) throw new ManagementError('CaCertificateNotFound', `no CA certificate ${sn} on ${instanceId}`);
    return ca;
  }

  private async requireDevice(instanceId: string, caSn: string, deviceSn: string): Promise<DeviceRecord> {
    this.tenancy.require(instanceId);
    const record = (await this.store.getRecord(DEVICES, deviceKey(instanceId, caSn, deviceSn))) as DeviceRecord | undefined;
    if (record === undefined) throw new ManagementError('DeviceCertificateNotFound', `no device certificate ${deviceSn} of CA ${caSn} on ${instanceId}`);
    return record;
  }
}

function deviceKey(instanceId: string, caSn: string, deviceSn: string): string {
  return instanceId + SEP + caSn + SEP + deviceSn;
}

function caView(r: CaRecord): CaCertificateView {
  return {
    CaName: r.name,
    CaContent: r.content,
    Sn: r.sn,
    Status: String(r.status),
    RegistrationCode: r.registrationCode,
    ValidBegin: String(r.validBegin),
    ValidEnd: String(r.validEnd),
    VerificationContent: r.verification,
  };
}

function deviceView(r: DeviceRecord): DeviceCertificateView {
  return {
    CaSn: r.caSn,
    DeviceSn: r.deviceSn,
    DeviceName: r.name,
    DeviceContent: r.content,
    Status: String(r.status),
    ValidBegin: String(r.validBegin),
    ValidEnd: String(r.validEnd),
  };
}

/** Every record of a collection (optionally under a key prefix), page by page. */
async function* all(store: Store, collection: string, prefix?: string): AsyncGenerator<{ key: string; value: unknown }> {
  let after: string | undefined;
  for (;;) {
    const page = await store.listRecords(collection, { ...(prefix === undefined ? {} : { prefix }), ...(after === undefined ? {} : { after }) });
    if (page.length === 0) return;
    yield* page;
    after = page[page.length - 1]!.key;
  }
}
