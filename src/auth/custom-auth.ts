/**
 * Custom authentication (reference §3.4): identities that need no AccessKey, topic permissions
 * on them, and a connection blacklist.
 *
 * Identities: `USER` (a username; any client id) or `CLIENT` (a username plus one client id),
 * with a secret and a sign mode: `ORIGIN` (password = secret) or `SIGNED` (password =
 * Base64(HMAC-SHA1(secret, clientId))). The CONNECT username is the identity's username as-is.
 * A CLIENT identity for (username, clientId) is tried before the USER identity of the username.
 *
 * Permissions: (identity, identityType, topic filter, PUB | SUB | PUB_SUB, ALLOW | DENY). The
 * identity of a USER permission is a username, of a CLIENT permission a client id. A connection
 * is subject to the USER permissions of its username and the CLIENT permissions of its client
 * id together. Evaluation: a DENY whose filter can match any topic the request touches wins;
 * otherwise an ALLOW whose filter covers the whole request allows; otherwise denied.
 *
 * Blacklist: client ids refused at CONNECT (every authentication mode) on that instance.
 *
 *   store collection        key
 *   auth.customIdentities   <instanceId>\x1f<USER|CLIENT>\x1f<username>\x1f<clientId>
 *   auth.customPermissions  <instanceId>\x1f<USER|CLIENT>\x1f<identity>\x1f<topic>
 *   auth.connectBlacklist   <instanceId>\x1f<clientId>
 */
import { isValidTopicFilter } from '../protocol/topic.js';
import type { Store } from '../store/types.js';
import { ManagementError } from '../tenancy/errors.js';
import { pages, type Tenancy } from '../tenancy/registry.js';
import { parentOf } from './filters.js';
import { hmacSha1Base64, safeEqual, type SealedSecret, type SecretBox } from './crypto.js';
import { filterCovers, filtersOverlap } from './filters.js';

export type IdentityType = 'USER' | 'CLIENT';
export type SignMode = 'ORIGIN' | 'SIGNED';
export type PermitAction = 'PUB' | 'SUB' | 'PUB_SUB';
export type PermissionEffect = 'ALLOW' | 'DENY';

const IDENTITIES = 'auth.customIdentities';
const PERMISSIONS = 'auth.customPermissions';
const BLACKLIST = 'auth.connectBlacklist';
const SEP = '\u001f';

/** Capacity per instance (beyond it: `Customauth.over.capacity`). */
export const CUSTOM_AUTH_CAPACITY = { identities: 100_000, permissions: 10_000, blacklist: 100_000 } as const;

interface IdentityRecord {
  readonly v: 1;
  readonly instanceId: string;
  readonly username: string;
  readonly identityType: IdentityType;
  readonly clientId: string;
  readonly secret: SealedSecret;
  readonly signMode: SignMode;
}

export interface IdentityInput {
  readonly username: string;
  readonly identityType: IdentityType;
  /** Required for CLIENT, ignored for USER. */
  readonly clientId?: string;
  readonly secret: string;
  readonly signMode: SignMode;
}

/** QueryCustomAuthIdentity result entry (field names of the managed service). */
export interface IdentityView {
  readonly Username: string;
  readonly IdentityType: IdentityType;
  readonly ClientId: string;
  readonly Secret: string;
  readonly SignMode: SignMode;
}

export interface Permission {
  readonly Identity: string;
  readonly IdentityType: IdentityType;
  readonly Topic: string;
  readonly PermitAction: PermitAction;
  readonly Effect: PermissionEffect;
}

export interface BlacklistEntry {
  readonly ClientId: string;
  readonly Effect: 'DENY';
  readonly PermitAction: 'CONNECT';
}

/** What an authenticated custom identity carries on its connection. */
export interface CustomIdentity {
  readonly username: string;
  readonly identityType: IdentityType;
  readonly clientId: string;
}

interface InstanceAuth {
  readonly identities: Map<string, IdentityRecord>;
  /** USER:<username> or CLIENT:<clientId> → permissions. */
  readonly permissions: Map<string, Permission[]>;
  permissionCount: number;
  readonly blacklist: Set<string>;
}

function identityKey(type: IdentityType, username: string, clientId: string): string {
  return type + SEP + username + SEP + (type === 'CLIENT' ? clientId : '');
}

function subjectKey(type: IdentityType, identity: string): string {
  return type + SEP + identity;
}

export function checkIdentityInput(input: IdentityInput): string | null {
  if (input.identityType !== 'USER' && input.identityType !== 'CLIENT') return 'IdentityType must be USER or CLIENT';
  if (input.signMode !== 'ORIGIN' && input.signMode !== 'SIGNED') return 'SignMode must be ORIGIN or SIGNED';
  if (input.username.length === 0 || input.username.length > 64) return 'Username must be 1-64 characters';
  if (input.username.includes('|')) return 'Username must not contain "|" (it would select an AccessKey mode)';
  if (input.identityType === 'CLIENT' && (input.clientId === undefined || input.clientId.length === 0)) return 'ClientId is required for CLIENT identities';
  if (input.secret.length === 0 || input.secret.length > 256) return 'Secret must be 1-256 characters';
  return null;
}

export class CustomAuth {
  private readonly instances = new Map<string, InstanceAuth>();
  private readonly blacklistListeners: Array<(instanceId: string, clientId: string) => void> = [];
  private readonly identityListeners: Array<(instanceId: string, username: string) => void> = [];

  private constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly tenancy: Tenancy,
  ) {}

  static async open(store: Store, box: SecretBox, tenancy: Tenancy): Promise<CustomAuth> {
    const auth = new CustomAuth(store, box, tenancy);
    auth.follow();
    for await (const { value } of pages(store, IDENTITIES)) {
      const record = value as IdentityRecord;
      auth.of(record.instanceId).identities.set(identityKey(record.identityType, record.username, record.clientId), record);
    }
    for await (const { key, value } of pages(store, PERMISSIONS)) {
      const permission = value as Permission;
      auth.addPermission(key.slice(0, key.indexOf(SEP)), permission);
    }
    for await (const { key } of pages(store, BLACKLIST)) {
      const at = key.indexOf(SEP);
      auth.of(key.slice(0, at)).blacklist.add(key.slice(at + 1));
    }
    return auth;
  }

  /** Identities, permissions and the blacklist as other nodes change them (cluster mode), with the same cuts. */
  private follow(): void {
    const feed = this.store.onRecordChanged?.bind(this.store);
    if (feed === undefined) return;
    feed(IDENTITIES, (key, value, previous) => {
      const record = (value ?? previous) as IdentityRecord;
      const ids = this.of(record.instanceId).identities;
      const local = key.slice(key.indexOf(SEP) + 1);
      if (value === undefined) ids.delete(local);
      else ids.set(local, value as IdentityRecord);
      if (previous !== undefined) for (const listener of this.identityListeners) listener(record.instanceId, record.username);
    });
    feed(PERMISSIONS, (key, value, previous) => {
      const instanceId = key.slice(0, key.indexOf(SEP));
      if (value !== undefined) this.addPermission(instanceId, value as Permission);
      else if (previous !== undefined) this.removePermission(instanceId, previous as Permission);
    });
    feed(BLACKLIST, (key, value) => {
      const at = key.indexOf(SEP);
      const [instanceId, clientId] = [key.slice(0, at), key.slice(at + 1)];
      if (value === undefined) {
        this.instances.get(instanceId)?.blacklist.delete(clientId);
        return;
      }
      this.of(instanceId).blacklist.add(clientId);
      for (const listener of this.blacklistListeners) listener(instanceId, clientId);
    });
  }

  /** Called when a client id is blacklisted (its live connection is cut). */
  onBlacklisted(listener: (instanceId: string, clientId: string) => void): void {
    this.blacklistListeners.push(listener);
  }

  /** Called when an identity is updated or deleted (connections that used it are cut). */
  onIdentityChanged(listener: (instanceId: string, username: string) => void): void {
    this.identityListeners.push(listener);
  }

  private of(instanceId: string): InstanceAuth {
    let auth = this.instances.get(instanceId);
    if (auth === undefined) {
      auth = { identities: new Map(), permissions: new Map(), permissionCount: 0, blacklist: new Set() };
      this.instances.set(instanceId, auth);
    }
    return auth;
  }

  // Identities.

  /** AddCustomAuthIdentity (create) and UpdateCustomAuthIdentity (replace). */
  async putIdentity(instanceId: string, input: IdentityInput, mode: 'add' | 'update'): Promise<void> {
    const bad = checkIdentityInput(input);
    if (bad !== null) throw new ManagementError('ParameterFieldCheckFailed', bad);
    const auth = this.of(instanceId);
    const clientId = input.identityType === 'CLIENT' ? input.clientId! : '';
    const key = identityKey(input.identityType, input.username, clientId);
    const exists = auth.identities.has(key);
    if (mode === 'update' && !exists) throw new ManagementError('CustomAuthIdentityNotFound', `identity ${input.username} does not exist`);
    if (mode === 'add' && !exists && auth.identities.size >= CUSTOM_AUTH_CAPACITY.identities) {
      throw new ManagementError('Customauth.over.capacity', `at most ${CUSTOM_AUTH_CAPACITY.identities} identities per instance`);
    }
    const record: IdentityRecord = {
      v: 1,
      instanceId,
      username: input.username,
      identityType: input.identityType,
      clientId,
      secret: this.box.seal(input.secret, `ca:${instanceId}:${key}`),
      signMode: input.signMode,
    };
    auth.identities.set(key, record);
    this.store.putRecord(IDENTITIES, instanceId + SEP + key, record);
    if (exists) for (const listener of this.identityListeners) listener(instanceId, input.username);
    await this.store.whenDurable();
  }

  async deleteIdentity(instanceId: string, username: string, identityType: IdentityType, clientId = ''): Promise<void> {
    const key = identityKey(identityType, username, clientId);
    if (this.instances.get(instanceId)?.identities.delete(key) !== true) {
      throw new ManagementError('CustomAuthIdentityNotFound', `identity ${username} does not exist`);
    }
    this.store.deleteRecord(IDENTITIES, instanceId + SEP + key);
    for (const listener of this.identityListeners) listener(instanceId, username);
    await this.store.whenDurable();
  }

  /** QueryCustomAuthIdentity, filtered by any of username, identity type and client id. */
  queryIdentities(instanceId: string, filter: { username?: string; identityType?: IdentityType; clientId?: string } = {}): IdentityView[] {
    const out: IdentityView[] = [];
    for (const [key, r] of this.instances.get(instanceId)?.identities ?? []) {
      if (filter.username !== undefined && r.username !== filter.username) continue;
      if (filter.identityType !== undefined && r.identityType !== filter.identityType) continue;
      if (filter.clientId !== undefined && r.clientId !== filter.clientId) continue;
      out.push({
        Username: r.username,
        IdentityType: r.identityType,
        ClientId: r.clientId,
        Secret: this.box.open(r.secret, `ca:${instanceId}:${key}`),
        SignMode: r.signMode,
      });
    }
    return out.sort((a, b) => (a.Username + a.ClientId < b.Username + b.ClientId ? -1 : 1));
  }

  /** True if some identity of the instance has this username (then its password must verify). */
  hasUsername(instanceId: string, username: string, clientId: string): boolean {
    const ids = this.instances.get(instanceId)?.identities;
    return ids !== undefined && (ids.has(identityKey('CLIENT', username, clientId)) || ids.has(identityKey('USER', username, '')));
  }

  /** Verifies a CONNECT's username/password; the CLIENT identity of (username, clientId) first. */
  authenticate(instanceId: string, username: string, clientId: string, password: string): CustomIdentity | null {
    const ids = this.instances.get(instanceId)?.identities;
    const key = identityKey('CLIENT', username, clientId);
    const client = ids?.get(key);
    const userKey = identityKey('USER', username, '');
    const record = client ?? ids?.get(userKey);
    if (record === undefined) {
      safeEqual(password, 'no-such-identity'); // same work as a real check
      return null;
    }
    const secret = this.box.open(record.secret, `ca:${instanceId}:${client === undefined ? userKey : key}`);
    const expected = record.signMode === 'ORIGIN' ? secret : hmacSha1Base64(secret, clientId);
    if (!safeEqual(password, expected)) return null;
    return { username, identityType: record.identityType, clientId };
  }

  // Permissions.

  async putPermission(instanceId: string, permission: Permission, mode: 'add' | 'update'): Promise<void> {
    const bad = checkPermission(permission);
    if (bad !== null) throw new ManagementError('ParameterFieldCheckFailed', bad);
    const instance = this.tenancy.require(instanceId);
    const parent = parentOf(permission.Topic);
    // The parent topic must exist (reference §3.4); a relaxed instance creates topics on use.
    if (instance.mode === 'strict' && !this.tenancy.hasParentTopic(instanceId, parent)) {
      throw new ManagementError('TopicNotFound', `parent topic ${parent} does not exist`);
    }
    const auth = this.of(instanceId);
    const list = auth.permissions.get(subjectKey(permission.IdentityType, permission.Identity)) ?? [];
    const exists = list.some((p) => p.Topic === permission.Topic);
    if (mode === 'update' && !exists) throw new ManagementError('CustomAuthIdentityNotFound', `no permission on ${permission.Topic}`);
    if (mode === 'add' && !exists && auth.permissionCount >= CUSTOM_AUTH_CAPACITY.permissions) {
      throw new ManagementError('Customauth.over.capacity', `at most ${CUSTOM_AUTH_CAPACITY.permissions} permissions per instance`);
    }
    this.addPermission(instanceId, permission);
    this.store.putRecord(PERMISSIONS, permissionKey(instanceId, permission), permission);
    await this.store.whenDurable();
  }

  private addPermission(instanceId: string, permission: Permission): void {
    const auth = this.of(instanceId);
    const subject = subjectKey(permission.IdentityType, permission.Identity);
    const list = (auth.permissions.get(subject) ?? []).filter((p) => p.Topic !== permission.Topic);
    if (list.length === (auth.permissions.get(subject)?.length ?? 0)) auth.permissionCount++;
    list.push({ ...permission });
    auth.permissions.set(subject, list);
  }

  async deletePermission(instanceId: string, identity: string, identityType: IdentityType, topic: string): Promise<void> {
    if (!this.removePermission(instanceId, { IdentityType: identityType, Identity: identity, Topic: topic })) {
      throw new ManagementError('CustomAuthIdentityNotFound', `no permission on ${topic}`);
    }
    this.store.deleteRecord(PERMISSIONS, [instanceId, identityType, identity, topic].join(SEP));
    await this.store.whenDurable();
  }

  private removePermission(instanceId: string, p: Pick<Permission, 'IdentityType' | 'Identity' | 'Topic'>): boolean {
    const auth = this.instances.get(instanceId);
    const subject = subjectKey(p.IdentityType, p.Identity);
    const list = auth?.permissions.get(subject) ?? [];
    const kept = list.filter((q) => q.Topic !== p.Topic);
    if (auth === undefined || kept.length === list.length) return false;
    auth.permissions.set(subject, kept);
    auth.permissionCount--;
    return true;
  }

  queryPermissions(instanceId: string, filter: { identity?: string; identityType?: IdentityType; topic?: string } = {}): Permission[] {
    const out: Permission[] = [];
    for (const list of this.instances.get(instanceId)?.permissions.values() ?? []) {
      for (const p of list) {
        if (filter.identity !== undefined && p.Identity !== filter.identity) continue;
        if (filter.identityType !== undefined && p.IdentityType !== filter.identityType) continue;
        if (filter.topic !== undefined && p.Topic !== filter.topic) continue;
        out.push(p);
      }
    }
    return out.sort((a, b) => (a.Identity + a.Topic < b.Identity + b.Topic ? -1 : 1));
  }

  /**
   * The permission verdict for a connection (its username and client id) on a topic (publish) or
   * filter (subscribe): DENY wins, then ALLOW, else denied.
   */
  check(instanceId: string, identity: CustomIdentity, action: 'publish' | 'subscribe', topic: string): 'allow' | 'deny' | 'no-match' {
    const auth = this.instances.get(instanceId);
    if (auth === undefined) return 'no-match';
    const wanted = action === 'publish' ? 'PUB' : 'SUB';
    let allowed = false;
    for (const subject of [subjectKey('USER', identity.username), subjectKey('CLIENT', identity.clientId)]) {
      for (const p of auth.permissions.get(subject) ?? []) {
        if (p.PermitAction !== 'PUB_SUB' && p.PermitAction !== wanted) continue;
        if (p.Effect === 'DENY') {
          if (filtersOverlap(p.Topic, topic)) return 'deny';
        } else if (!allowed && filterCovers(p.Topic, topic)) {
          allowed = true;
        }
      }
    }
    return allowed ? 'allow' : 'no-match';
  }

  // Blacklist.

  async blacklistAdd(instanceId: string, clientId: string): Promise<void> {
    if (clientId.length === 0 || clientId.length > 128) throw new ManagementError('ParameterFieldCheckFailed', 'ClientId must be 1-128 characters');
    const list = this.of(instanceId).blacklist;
    if (!list.has(clientId) && list.size >= CUSTOM_AUTH_CAPACITY.blacklist) {
      throw new ManagementError('Customauth.over.capacity', `at most ${CUSTOM_AUTH_CAPACITY.blacklist} blacklist entries per instance`);
    }
    list.add(clientId);
    this.store.putRecord(BLACKLIST, instanceId + SEP + clientId, { v: 1 });
    for (const listener of this.blacklistListeners) listener(instanceId, clientId);
    await this.store.whenDurable();
  }

  async blacklistDelete(instanceId: string, clientId: string): Promise<void> {
    if (this.instances.get(instanceId)?.blacklist.delete(clientId) !== true) {
      throw new ManagementError('ParameterFieldCheckFailed', `${clientId} is not blacklisted`);
    }
    this.store.deleteRecord(BLACKLIST, instanceId + SEP + clientId);
    await this.store.whenDurable();
  }

  blacklistQuery(instanceId: string, clientId?: string): BlacklistEntry[] {
    const ids = [...(this.instances.get(instanceId)?.blacklist ?? [])].filter((id) => clientId === undefined || id === clientId).sort();
    return ids.map((id) => ({ ClientId: id, Effect: 'DENY', PermitAction: 'CONNECT' }));
  }

  isBlacklisted(instanceId: string, clientId: string): boolean {
    return this.instances.get(instanceId)?.blacklist.has(clientId) ?? false;
  }

  /** Removes everything of an instance (the instance was deleted). */
  async dropInstance(instanceId: string): Promise<void> {
    for (const collection of [IDENTITIES, PERMISSIONS, BLACKLIST]) {
      for (;;) {
        const page = await this.store.listRecords(collection, { prefix: instanceId + SEP });
        if (page.length === 0) break;
        for (const { key } of page) this.store.deleteRecord(collection, key);
      }
    }
    this.instances.delete(instanceId);
    await this.store.whenDurable();
  }
}

function permissionKey(instanceId: string, p: Permission): string {
  return [instanceId, p.IdentityType, p.Identity, p.Topic].join(SEP);
}

export function checkPermission(p: Permission): string | null {
  if (p.IdentityType !== 'USER' && p.IdentityType !== 'CLIENT') return 'IdentityType must be USER or CLIENT';
  if (p.Identity.length === 0 || p.Identity.length > 128) return 'Identity must be 1-128 characters';
  if (!isValidTopicFilter(p.Topic) || p.Topic.startsWith('$')) return `Topic "${p.Topic}" is not a valid topic filter`;
  if (p.PermitAction !== 'PUB' && p.PermitAction !== 'SUB' && p.PermitAction !== 'PUB_SUB') return 'PermitAction must be PUB, SUB or PUB_SUB';
  if (p.Effect !== 'ALLOW' && p.Effect !== 'DENY') return 'Effect must be ALLOW or DENY';
  return null;
}
