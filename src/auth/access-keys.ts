/**
 * AccessKeys: an id and a secret, with the policies that say what the key may do (policy.ts).
 * Used by Signature mode (HMAC of the client id with the secret), to apply for tokens, and by
 * the APIs. Secrets are sealed with the SecretBox before they reach the store and are never
 * logged; the id is not a secret.
 *
 *   store collection  auth.accessKeys   key <AccessKeyId>   value AccessKeyRecord
 *
 * The bootstrap key (FERRY_BOOTSTRAP_ACCESS_KEY_ID / _SECRET, or generated at first start) has
 * the AliyunMQFullAccess policy.
 */
import type { Store } from '../store/types.js';
import { ManagementError } from '../tenancy/errors.js';
import { pages } from '../tenancy/registry.js';
import { hmacSha1Base64, randomAlphanumeric, safeEqual, type SealedSecret, type SecretBox } from './crypto.js';
import { CompiledPolicy, SYSTEM_POLICIES, validatePolicy, type PolicyRef } from './policy.js';

const COLLECTION = 'auth.accessKeys';
const ID_PATTERN = /^[A-Za-z0-9]{8,64}$/;

export type AccessKeyStatus = 'Active' | 'Inactive';

export interface AccessKeyRecord {
  readonly v: 1;
  readonly id: string;
  readonly secret: SealedSecret;
  readonly description: string;
  readonly status: AccessKeyStatus;
  readonly policies: readonly PolicyRef[];
  readonly bootstrap: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A key as callers see it: everything but the secret. */
export interface AccessKeyInfo {
  readonly id: string;
  readonly description: string;
  readonly status: AccessKeyStatus;
  readonly policies: readonly PolicyRef[];
  readonly bootstrap: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

interface LiveKey {
  record: AccessKeyRecord;
  readonly policy: CompiledPolicy;
  /** Decrypted on first use, kept in memory only. */
  secret: string | null;
}

/**
 * Cluster mode (src/cluster/bootstrap-claim.ts): proposes a generated bootstrap key to the other
 * nodes and resolves to the one the cluster has (this proposal, or another node's made first).
 * `known` tells whether a key is on this node already.
 */
export type BootstrapClaim = (proposal: AccessKeyRecord, known: (id: string) => boolean) => Promise<AccessKeyRecord>;

export interface CreateAccessKeyInput {
  readonly id?: string;
  readonly secret?: string;
  readonly description?: string;
  readonly policies?: readonly PolicyRef[];
}

export function checkPolicies(policies: readonly PolicyRef[]): void {
  for (const ref of policies) {
    if (typeof ref === 'string') {
      if (SYSTEM_POLICIES[ref] === undefined) throw new ManagementError('PolicyInvalid', `unknown system policy "${ref}"`);
      continue;
    }
    const bad = validatePolicy(ref);
    if (bad !== null) throw new ManagementError('PolicyInvalid', bad);
  }
}

function info(record: AccessKeyRecord): AccessKeyInfo {
  const { id, description, status, policies, bootstrap, createdAt, updatedAt } = record;
  return { id, description, status, policies, bootstrap, createdAt, updatedAt };
}

export class AccessKeys {
  private readonly keys = new Map<string, LiveKey>();
  private readonly changeListeners: Array<(id: string) => void> = [];

  private constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly now: () => number,
  ) {}

  static async open(store: Store, box: SecretBox, now: () => number = Date.now): Promise<AccessKeys> {
    const keys = new AccessKeys(store, box, now);
    // Keys created, changed or deleted on other nodes (cluster mode); a deletion cuts their clients here too.
    store.onRecordChanged?.(COLLECTION, (id, value) => {
      if (value === undefined) {
        if (keys.keys.delete(id)) keys.changed(id);
        return;
      }
      const record = value as AccessKeyRecord;
      keys.keys.set(id, { record, policy: new CompiledPolicy(record.policies), secret: null });
      keys.changed(id);
    });
    for await (const { value } of pages(store, COLLECTION)) {
      const record = value as AccessKeyRecord;
      keys.keys.set(record.id, { record, policy: new CompiledPolicy(record.policies), secret: null });
    }
    return keys;
  }

  /** Called with the key id whenever a key is deleted, disabled or its policies change. */
  onChange(listener: (id: string) => void): void {
    this.changeListeners.push(listener);
  }

  get(id: string): AccessKeyInfo | undefined {
    const key = this.keys.get(id);
    return key === undefined ? undefined : info(key.record);
  }

  list(): AccessKeyInfo[] {
    return [...this.keys.values()].map((k) => info(k.record)).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Creates a key; the returned secret is the only time it is shown. */
  async create(input: CreateAccessKeyInput = {}): Promise<{ key: AccessKeyInfo; secret: string }> {
    const { key, secret } = this.add(input, false);
    await this.store.whenDurable();
    return { key, secret };
  }

  private add(input: CreateAccessKeyInput, bootstrap: boolean): { key: AccessKeyInfo; secret: string } {
    const { record, secret } = this.build(input, bootstrap);
    this.put(record, secret);
    return { key: info(record), secret };
  }

  /** A new key's record (checked, its secret sealed), not stored yet. */
  private build(input: CreateAccessKeyInput, bootstrap: boolean): { record: AccessKeyRecord; secret: string } {
    const id = input.id ?? `FERRY${randomAlphanumeric(19)}`;
    if (!ID_PATTERN.test(id)) throw new ManagementError('ParameterFieldCheckFailed', 'AccessKey id must be 8-64 letters and digits');
    if (this.keys.has(id)) throw new ManagementError('AccessKeyAlreadyExists', `AccessKey ${id} exists`);
    const secret = input.secret ?? randomAlphanumeric(30);
    if (secret.length < 16) throw new ManagementError('ParameterFieldCheckFailed', 'AccessKey secret must have at least 16 characters');
    const policies = input.policies ?? [];
    checkPolicies(policies);
    const now = this.now();
    const record: AccessKeyRecord = {
      v: 1,
      id,
      secret: this.box.seal(secret, `ak:${id}`),
      description: input.description ?? '',
      status: 'Active',
      policies,
      bootstrap,
      createdAt: now,
      updatedAt: now,
    };
    return { record, secret };
  }

  async update(id: string, change: { description?: string; status?: AccessKeyStatus; policies?: readonly PolicyRef[] }): Promise<AccessKeyInfo> {
    const key = this.require(id);
    if (change.policies !== undefined) checkPolicies(change.policies);
    if (change.status !== undefined && change.status !== 'Active' && change.status !== 'Inactive') {
      throw new ManagementError('ParameterFieldCheckFailed', 'status must be Active or Inactive');
    }
    const record: AccessKeyRecord = {
      ...key.record,
      description: change.description ?? key.record.description,
      status: change.status ?? key.record.status,
      policies: change.policies ?? key.record.policies,
      updatedAt: this.now(),
    };
    this.put(record, key.secret);
    this.changed(id);
    await this.store.whenDurable();
    return info(record);
  }

  async delete(id: string): Promise<void> {
    this.require(id);
    this.keys.delete(id);
    this.store.deleteRecord(COLLECTION, id);
    this.changed(id);
    await this.store.whenDurable();
  }

  /**
   * The bootstrap key. With `given` (from FERRY_BOOTSTRAP_ACCESS_KEY_ID / _SECRET) the key is
   * created, or its secret and full-access policy restored if it exists. Without, a key is
   * generated only when no bootstrap key exists yet; `created` then carries the secret to print.
   * With `claim` (cluster mode) the generated key is proposed to the other nodes, and when one of
   * them proposed its own first, that one is the bootstrap key here too (`created` null).
   */
  async ensureBootstrap(
    given: { id: string; secret: string } | null,
    claim?: BootstrapClaim,
  ): Promise<{ id: string; created: { secret: string } | null }> {
    const policies: PolicyRef[] = ['AliyunMQFullAccess'];
    if (given !== null) {
      const existing = this.keys.get(given.id);
      if (existing === undefined) {
        this.add({ id: given.id, secret: given.secret, description: 'bootstrap (from configuration)', policies }, true);
      } else {
        const current = this.secretOf(existing);
        if (!safeEqual(current, given.secret) || existing.record.status !== 'Active' || !existing.record.bootstrap) {
          const record: AccessKeyRecord = {
            ...existing.record,
            secret: this.box.seal(given.secret, `ak:${given.id}`),
            status: 'Active',
            policies,
            bootstrap: true,
            updatedAt: this.now(),
          };
          this.put(record, given.secret);
          this.changed(given.id);
        }
      }
      await this.store.whenDurable();
      return { id: given.id, created: null };
    }
    const existing = [...this.keys.values()].find((k) => k.record.bootstrap);
    if (existing !== undefined) return { id: existing.record.id, created: null };
    const { record, secret } = this.build({ description: 'bootstrap (generated at first start)', policies }, true);
    const chosen = claim === undefined ? record : await claim(record, (id) => this.keys.has(id));
    if (chosen.id === record.id) {
      this.put(record, secret);
      await this.store.whenDurable();
      return { id: record.id, created: { secret } };
    }
    // Another node's key: normally here already (the change feed), else written as it was claimed (that node may have stopped first).
    if (!this.keys.has(chosen.id)) {
      this.put(chosen, null);
      await this.store.whenDurable();
    }
    return { id: chosen.id, created: null };
  }

  // Data path.

  /** True if the key exists, is active and `password` is Base64(HMAC-SHA1(secret, clientId)). */
  verifySignature(id: string, clientId: string, password: string): boolean {
    const key = this.keys.get(id);
    // Compute a signature even for an unknown key, so the answer takes the same time.
    const secret = key === undefined ? 'unknown-key-placeholder-secret' : this.secretOf(key);
    const ok = safeEqual(password, hmacSha1Base64(secret, clientId));
    return ok && key !== undefined && key.record.status === 'Active';
  }

  /** The compiled policy of an active key; undefined for unknown or inactive keys. */
  policy(id: string): CompiledPolicy | undefined {
    const key = this.keys.get(id);
    return key === undefined || key.record.status !== 'Active' ? undefined : key.policy;
  }

  /** The plain secret, for callers that must sign with it (tests, the RPC endpoint). */
  secret(id: string): string | undefined {
    const key = this.keys.get(id);
    return key === undefined ? undefined : this.secretOf(key);
  }

  private secretOf(key: LiveKey): string {
    return (key.secret ??= this.box.open(key.record.secret, `ak:${key.record.id}`));
  }

  private require(id: string): LiveKey {
    const key = this.keys.get(id);
    if (key === undefined) throw new ManagementError('AccessKeyNotFound', `AccessKey ${id} does not exist`);
    return key;
  }

  private put(record: AccessKeyRecord, secret: string | null): void {
    this.store.putRecord(COLLECTION, record.id, record);
    this.keys.set(record.id, { record, policy: new CompiledPolicy(record.policies), secret });
  }

  private changed(id: string): void {
    for (const listener of this.changeListeners) listener(id);
  }
}
