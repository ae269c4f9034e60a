/**
 * DeviceCredential mode ("one device, one secret", reference §3.3): a credential bound to one
 * client id of one instance. The device connects with username
 * `DeviceCredential|<DeviceAccessKeyId>|<InstanceId>` and password
 * Base64(HMAC-SHA1(DeviceAccessKeySecret, clientId)).
 *
 *   store collection            key                          value
 *   auth.deviceCredentials      <instanceId>\x1f<clientId>   DeviceCredentialRecord (secret sealed)
 *   auth.deviceCredentialIds    <DeviceAccessKeyId>          { instanceId, clientId }
 *
 * Register returns the existing credential when there is one (the managed service keeps the
 * latest); Refresh keeps the DeviceAccessKeyId and issues a new secret; Unregister removes both.
 */
import type { Store } from '../store/types.js';
import { ManagementError } from '../tenancy/errors.js';
import { CLIENT_ID_SEPARATOR } from '../tenancy/names.js';
import type { Tenancy } from '../tenancy/registry.js';
import { hmacSha1Base64, randomAlphanumeric, safeEqual, type SealedSecret, type SecretBox } from './crypto.js';

const CREDENTIALS = 'auth.deviceCredentials';
const IDS = 'auth.deviceCredentialIds';
const SEP = '\u001f';
/** Decrypted credentials kept in memory for fast reconnects. */
const CACHE_SIZE = 10_000;

interface DeviceCredentialRecord {
  readonly v: 1;
  readonly instanceId: string;
  readonly clientId: string;
  readonly deviceAccessKeyId: string;
  readonly secret: SealedSecret;
  readonly createTime: number;
  readonly updateTime: number;
}

/** What the API returns (field names of the managed service). */
export interface DeviceCredential {
  readonly ClientId: string;
  readonly InstanceId: string;
  readonly DeviceAccessKeyId: string;
  readonly DeviceAccessKeySecret: string;
  readonly CreateTime: number;
  readonly UpdateTime: number;
}

export interface DeviceCredentialPage {
  readonly ClientIdList: string[];
  readonly NextToken: string | null;
  readonly PageNo: number;
  readonly PageSize: number;
  readonly Total: number;
}

interface Cached {
  readonly instanceId: string;
  readonly clientId: string;
  readonly secret: string;
}

export class DeviceCredentials {
  private readonly cache = new Map<string, Cached>();
  private readonly changeListeners: Array<(instanceId: string, clientId: string) => void> = [];

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly tenancy: Tenancy,
    private readonly now: () => number = Date.now,
  ) {
    // Refreshed or unregistered on another node (cluster mode): the cached secret goes, the device is cut here too.
    store.onRecordChanged?.(CREDENTIALS, (_key, value, previous) => {
      if (previous === undefined) return; // registered: read on first use
      const old = previous as DeviceCredentialRecord;
      this.cache.delete(old.deviceAccessKeyId);
      if (value === undefined || (value as DeviceCredentialRecord).secret !== old.secret) this.changed(old.instanceId, old.clientId);
    });
    store.onRecordChanged?.(IDS, (id) => this.cache.delete(id));
  }

  /** Called after a credential is refreshed or unregistered (connections using it are cut). */
  onChange(listener: (instanceId: string, clientId: string) => void): void {
    this.changeListeners.push(listener);
  }

  private changed(instanceId: string, clientId: string): void {
    for (const listener of this.changeListeners) listener(instanceId, clientId);
  }

  async register(instanceId: string, clientId: string): Promise<DeviceCredential> {
    const existing = await this.record(instanceId, clientId);
    if (existing !== undefined) return this.view(existing);
    this.tenancy.require(instanceId);
    const refused = this.tenancy.admitClient(instanceId, clientId);
    if (refused !== null) throw new ManagementError(refused.kind === 'quota' ? 'QuotaExceeded' : 'ParameterFieldCheckFailed', refused.message);
    const now = this.now();
    const record = this.seal(instanceId, clientId, `DC.${randomAlphanumeric(20)}`, `DC.${randomAlphanumeric(30)}`, now, now);
    this.store.putRecord(IDS, record.deviceAccessKeyId, { instanceId, clientId });
    await this.store.whenDurable();
    return this.view(record);
  }

  async get(instanceId: string, clientId: string): Promise<DeviceCredential> {
    return this.view(await this.require(instanceId, clientId));
  }

  async refresh(instanceId: string, clientId: string): Promise<DeviceCredential> {
    const current = await this.require(instanceId, clientId);
    this.cache.delete(current.deviceAccessKeyId);
    const record = this.seal(instanceId, clientId, current.deviceAccessKeyId, `DC.${randomAlphanumeric(30)}`, current.createTime, this.now());
    this.changed(instanceId, clientId);
    await this.store.whenDurable();
    return this.view(record);
  }

  async unregister(instanceId: string, clientId: string): Promise<void> {
    const current = await this.require(instanceId, clientId);
    this.cache.delete(current.deviceAccessKeyId);
    this.store.deleteRecord(CREDENTIALS, instanceId + SEP + clientId);
    this.store.deleteRecord(IDS, current.deviceAccessKeyId);
    this.changed(instanceId, clientId);
    await this.store.whenDurable();
  }

  /** ListDeviceCredentialClientId: client ids of a group with a credential, paged (1–100). */
  async list(instanceId: string, groupId: string, pageSize: number, nextToken?: string, pageNo = 1): Promise<DeviceCredentialPage> {
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) {
      throw new ManagementError('ParameterFieldCheckFailed', 'PageSize must be 1-100');
    }
    this.tenancy.require(instanceId);
    const prefix = instanceId + SEP + groupId + CLIENT_ID_SEPARATOR;
    let total = 0;
    let after: string | undefined;
    for (;;) {
      const page = await this.store.listRecords(CREDENTIALS, { prefix, ...(after === undefined ? {} : { after }) });
      if (page.length === 0) break;
      total += page.length;
      after = page[page.length - 1]!.key;
    }
    // Without a NextToken, PageNo picks the page.
    const skip = nextToken === undefined ? (Math.max(1, pageNo) - 1) * pageSize : 0;
    let cursor = nextToken === undefined ? undefined : instanceId + SEP + nextToken;
    const ids: string[] = [];
    let skipped = 0;
    while (ids.length < pageSize) {
      const page = await this.store.listRecords(CREDENTIALS, { prefix, ...(cursor === undefined ? {} : { after: cursor }), limit: 100 });
      if (page.length === 0) break;
      for (const { key } of page) {
        cursor = key;
        if (skipped < skip) {
          skipped++;
          continue;
        }
        ids.push(key.slice(instanceId.length + 1));
        if (ids.length === pageSize) break;
      }
    }
    const more = ids.length === pageSize && cursor !== undefined && (await this.store.listRecords(CREDENTIALS, { prefix, after: cursor, limit: 1 })).length > 0;
    return { ClientIdList: ids, NextToken: more ? ids[ids.length - 1]! : null, PageNo: pageNo, PageSize: pageSize, Total: total };
  }

  /** Removes every credential of an instance (the instance was deleted). */
  async dropInstance(instanceId: string): Promise<void> {
    for (;;) {
      const page = await this.store.listRecords(CREDENTIALS, { prefix: instanceId + SEP });
      if (page.length === 0) break;
      for (const { key, value } of page) {
        const record = value as DeviceCredentialRecord;
        this.cache.delete(record.deviceAccessKeyId);
        this.store.deleteRecord(CREDENTIALS, key);
        this.store.deleteRecord(IDS, record.deviceAccessKeyId);
      }
    }
    await this.store.whenDurable();
  }

  /**
   * True if `password` is Base64(HMAC-SHA1(secret, clientId)) for a credential with this id that
   * is bound to `instanceId` and `clientId`.
   */
  async verify(deviceAccessKeyId: string, instanceId: string, clientId: string, password: string): Promise<boolean> {
    const found = await this.lookup(deviceAccessKeyId);
    const secret = found?.secret ?? 'unknown-device-credential-placeholder';
    const ok = safeEqual(password, hmacSha1Base64(secret, clientId));
    return ok && found !== undefined && found.instanceId === instanceId && found.clientId === clientId;
  }

  private async lookup(deviceAccessKeyId: string): Promise<Cached | undefined> {
    const cached = this.cache.get(deviceAccessKeyId);
    if (cached !== undefined) return cached;
    const owner = (await this.store.getRecord(IDS, deviceAccessKeyId)) as { instanceId: string; clientId: string } | undefined;
    if (owner === undefined) return undefined;
    const record = await this.record(owner.instanceId, owner.clientId);
    if (record === undefined || record.deviceAccessKeyId !== deviceAccessKeyId) return undefined;
    const entry: Cached = { instanceId: record.instanceId, clientId: record.clientId, secret: this.open(record) };
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(deviceAccessKeyId, entry);
    return entry;
  }

  private async record(instanceId: string, clientId: string): Promise<DeviceCredentialRecord | undefined> {
    return (await this.store.getRecord(CREDENTIALS, instanceId + SEP + clientId)) as DeviceCredentialRecord | undefined;
  }

  private async require(instanceId: string, clientId: string): Promise<DeviceCredentialRecord> {
    const record = await this.record(instanceId, clientId);
    if (record === undefined) throw new ManagementError('DeviceCredentialNotFound', `no device credential for ${clientId} on ${instanceId}`);
    return record;
  }

  private seal(instanceId: string, clientId: string, id: string, secret: string, createTime: number, updateTime: number): DeviceCredentialRecord {
    const record: DeviceCredentialRecord = {
      v: 1,
      instanceId,
      clientId,
      deviceAccessKeyId: id,
      secret: this.box.seal(secret, `dc:${id}`),
      createTime,
      updateTime,
    };
    this.store.putRecord(CREDENTIALS, instanceId + SEP + clientId, record);
    return record;
  }

  private open(record: DeviceCredentialRecord): string {
    return this.box.open(record.secret, `dc:${record.deviceAccessKeyId}`);
  }

  private view(record: DeviceCredentialRecord): DeviceCredential {
    return {
      ClientId: record.clientId,
      InstanceId: record.instanceId,
      DeviceAccessKeyId: record.deviceAccessKeyId,
      DeviceAccessKeySecret: this.open(record),
      CreateTime: record.createTime,
      UpdateTime: record.updateTime,
    };
  }
}
