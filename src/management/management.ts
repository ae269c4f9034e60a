/**
 * The management facade: the one place both HTTP APIs (src/api/rpc, src/api/rest) and the CLI
 * reach the broker and the tenancy/auth services through. It validates input, checks that the
 * instance exists, and answers with plain data (no broker objects leak out).
 *
 *   api/rpc ─┐
 *   api/rest ─┼─► Management ─► Broker (clients, sessions, retained, publish)
 *   cli ──────┘               ├► Tenancy (instances, parent topics, groups)
 *                              ├► AccessKeys, TokenService, DeviceCredentials, CustomAuth
 *                              ├► TagStore (tags.ts, ours)
 *                              └► TraceQueries (src/observability, when present)
 *
 * The tenancy/auth services are optional: an embedded broker without them still answers the
 * broker-only calls, and the others fail with ServiceUnavailable (503).
 */
import { randomBytes } from 'node:crypto';
import type { AccessKeys, AccessKeyInfo, AccessKeyStatus, CreateAccessKeyInput } from '../auth/access-keys.js';
import type { BlacklistEntry, CustomAuth, IdentityInput, IdentityType, IdentityView, Permission } from '../auth/custom-auth.js';
import type { DeviceCredential, DeviceCredentialPage, DeviceCredentials } from '../auth/device-credentials.js';
import type { CompiledPolicy, PolicyRef, PolicyResource } from '../auth/policy.js';
import type { ApplyTokenInput, TokenService } from '../auth/tokens.js';
import type { Broker } from '../broker/broker.js';
import type { Tenant } from '../broker/tenant.js';
import { isValidTopicFilter, isValidTopicName } from '../protocol/topic.js';
import type { Properties, QoS } from '../protocol/packets.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import { Message } from '../session/message.js';
import type { Store } from '../store/types.js';
import type { InstanceLimits, InstanceMode } from '../tenancy/limits.js';
import type { GroupRecord, Instance, ParentTopicRecord, Tenancy } from '../tenancy/registry.js';
import { ManagementError } from '../tenancy/errors.js';
import { FacadeError, invalid } from './errors.js';
import { groupResourceId, TagStore, type Tag, type TaggedResourceType } from './tags.js';
import type { TraceQueries } from './traces.js';

export interface ManagementDeps {
  readonly broker: Broker;
  /** Where tags are kept; null or absent = memory only. */
  readonly store?: Store | null;
  readonly tenancy?: Tenancy;
  readonly accessKeys?: AccessKeys;
  readonly tokens?: TokenService;
  readonly deviceCredentials?: DeviceCredentials;
  readonly customAuth?: CustomAuth;
  readonly traces?: TraceQueries;
  /**
   * The trace MsgId of a routed message (TraceService.msgIdOf), so SendMessage and REST publish
   * answer the id its traces carry; without it, or while tracing is off (undefined), MsgIds are
   * random 32-hex ids.
   */
  readonly msgIdOf?: (message: Message) => string | undefined;
  readonly now?: () => number;
}

export interface InstanceView {
  readonly instanceId: string;
  readonly name: string;
  readonly mode: InstanceMode;
  readonly limits: InstanceLimits | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly connections: number;
  readonly subscriptions: number;
  readonly retained: number;
  readonly tags: Tag[];
}

export interface GroupView {
  readonly groupId: string;
  readonly instanceId: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly auto: boolean;
  readonly tags: Tag[];
}

export interface ClientView {
  readonly clientId: string;
  readonly instanceId: string;
  readonly connected: boolean;
  readonly username?: string;
  readonly protocolVersion?: number;
  readonly transport?: string;
  readonly listener?: string;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly subscriptions: number;
  /** Messages waiting in memory behind the in-flight window (a stored backlog may hold more). */
  readonly queued: number;
  readonly inflight: number;
  readonly sessionExpiryInterval: number;
}

export interface SubscriptionView {
  readonly clientId: string;
  readonly topicFilter: string;
  readonly shareGroup: string | null;
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: number;
  readonly subscriptionId: number;
}

export interface ClientDetail extends ClientView {
  readonly subscriptionList: SubscriptionView[];
}

export interface RetainedView {
  readonly topic: string;
  readonly qos: QoS;
  readonly payload: Buffer;
  readonly properties?: Properties;
  /** ms since the epoch, 0 = never */
  readonly expiresAt: number;
}

export interface PublishInput {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos?: QoS;
  readonly retain?: boolean;
  /** Forwardable MQTT 5 properties (payloadFormatIndicator, contentType, responseTopic, correlationData, userProperties). */
  readonly properties?: Properties;
  /** Message Expiry Interval, seconds; 0 or absent = never. */
  readonly messageExpiryInterval?: number;
}

/** A page of a list: `next` is the cursor of the following page, null on the last one. */
export interface Page<T> {
  readonly items: T[];
  readonly total: number;
  readonly next: string | null;
}

export interface PageQuery {
  readonly limit?: number;
  /** Cursor from a previous page (opaque). */
  readonly cursor?: string;
}

export const MAX_PAGE_SIZE = 1000;

/** Pages a list sorted by `key`; the cursor is the key of the last item returned. */
export function paginate<T>(sorted: readonly T[], key: (item: T) => string, query: PageQuery = {}): Page<T> {
  const limit = query.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) throw invalid('limit', `limit must be 1-${MAX_PAGE_SIZE}`);
  let start = 0;
  if (query.cursor !== undefined) {
    const after = Buffer.from(query.cursor, 'base64url').toString('utf8');
    start = sorted.findIndex((item) => key(item) > after);
    if (start < 0) start = sorted.length;
  }
  const items = sorted.slice(start, start + limit);
  const more = start + limit < sorted.length;
  return { items, total: sorted.length, next: more && items.length > 0 ? Buffer.from(key(items[items.length - 1]!), 'utf8').toString('base64url') : null };
}

/**
 * A random MsgId (32 lower-case hex characters, the form trace records use), for when tracing is
 * off and no trace will ever name the message.
 */
export function newMsgId(): string {
  return randomBytes(16).toString('hex');
}

const FORWARDED_PROPERTIES = ['payloadFormatIndicator', 'contentType', 'responseTopic', 'correlationData', 'userProperties'] as const;

function byKey<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

export class Management {
  readonly broker: Broker;
  private readonly now: () => number;

  private constructor(
    private readonly deps: ManagementDeps,
    readonly tags: TagStore,
  ) {
    this.broker = deps.broker;
    this.now = deps.now ?? Date.now;
  }

  static async open(deps: ManagementDeps): Promise<Management> {
    const management = new Management(deps, await TagStore.open(deps.store ?? null));
    deps.tenancy?.onInstanceDeleted((id) => management.tags.drop('instance', id));
    return management;
  }

  get defaultInstanceId(): string {
    return this.deps.tenancy?.defaultInstanceId ?? this.broker.options.defaultInstanceId;
  }

  // Services (each may be missing in an embedded broker).

  private service<T>(value: T | undefined, name: string): T {
    if (value === undefined) throw new FacadeError('ServiceUnavailable', `${name} is not running in this Ferry`);
    return value;
  }

  get tenancy(): Tenancy {
    return this.service(this.deps.tenancy, 'tenancy');
  }

  get accessKeys(): AccessKeys {
    return this.service(this.deps.accessKeys, 'AccessKey management');
  }

  private get tokens(): TokenService {
    return this.service(this.deps.tokens, 'the token service');
  }

  private get credentials(): DeviceCredentials {
    return this.service(this.deps.deviceCredentials, 'device credentials');
  }

  private get customAuth(): CustomAuth {
    return this.service(this.deps.customAuth, 'custom authentication');
  }

  get traces(): TraceQueries {
    const traces = this.deps.traces;
    if (traces === undefined) throw new FacadeError('NotImplemented', 'message and device traces are not available yet in this Ferry');
    return traces;
  }

  // Access checks for API callers.

  /** The compiled policy of an active AccessKey, undefined if unknown or inactive. */
  policyOf(accessKeyId: string): CompiledPolicy | undefined {
    return this.deps.accessKeys?.policy(accessKeyId);
  }

  /** Throws PermissionCheckFailed unless the key's policies allow `action` on `resource`. */
  authorize(accessKeyId: string, action: string, resource: PolicyResource | '*'): void {
    const policy = this.policyOf(accessKeyId);
    const target: PolicyResource = resource === '*' ? { type: 'instance', instanceId: '*' } : resource;
    if (policy === undefined || !policy.allows(action, target)) {
      throw new FacadeError('PermissionCheckFailed', `AccessKey ${accessKeyId} is not allowed ${action} on ${describeResource(target)}`);
    }
  }

  // Instances.

  instanceExists(instanceId: string): boolean {
    if (this.deps.tenancy !== undefined) return this.deps.tenancy.get(instanceId) !== undefined;
    return instanceId === this.defaultInstanceId || this.broker.tenants.has(instanceId);
  }

  requireInstance(instanceId: string): void {
    if (!this.instanceExists(instanceId)) throw new FacadeError('InstanceNotFound', `instance ${instanceId} does not exist`, 'InstanceId');
  }

  private instanceView(instance: Instance | null, id: string): InstanceView {
    const tenant = this.broker.tenants.get(id);
    return {
      instanceId: id,
      name: instance?.name ?? id,
      mode: instance?.mode ?? 'relaxed',
      limits: instance?.limits ?? null,
      createdAt: instance?.record.createdAt ?? 0,
      updatedAt: instance?.record.updatedAt ?? 0,
      connections: tenant?.connections ?? 0,
      subscriptions: tenant?.trie.size ?? 0,
      retained: tenant?.retained.size ?? 0,
      tags: this.tags.of('instance', id),
    };
  }

  listInstances(tagFilter: readonly Tag[] = []): InstanceView[] {
    const tenancy = this.deps.tenancy;
    const views =
      tenancy === undefined
        ? [...new Set([this.defaultInstanceId, ...this.broker.tenants.keys()])].sort().map((id) => this.instanceView(null, id))
        : tenancy.list().map((i) => this.instanceView(i, i.id));
    return views.filter((v) => this.tags.matches('instance', v.instanceId, tagFilter));
  }

  getInstance(instanceId: string): InstanceView {
    this.requireInstance(instanceId);
    return this.instanceView(this.deps.tenancy?.get(instanceId) ?? null, instanceId);
  }

  async createInstance(input: { id?: string; name?: string; mode?: InstanceMode; limits?: Partial<InstanceLimits> }): Promise<InstanceView> {
    const instance = await this.tenancy.createInstance(input);
    return this.instanceView(instance, instance.id);
  }

  async updateInstance(id: string, change: { name?: string; mode?: InstanceMode; limits?: Partial<InstanceLimits> }): Promise<InstanceView> {
    const instance = await this.tenancy.updateInstance(id, change);
    return this.instanceView(instance, id);
  }

  async deleteInstance(id: string): Promise<void> {
    await this.tenancy.deleteInstance(id);
    for (const client of [...this.broker.clients(id)]) client.disconnect(ReasonCode.AdministrativeAction);
  }

  // Parent topics.

  listTopics(instanceId: string): ParentTopicRecord[] {
    return this.tenancy.listParentTopics(instanceId);
  }

  createTopic(instanceId: string, name: string): Promise<ParentTopicRecord> {
    return this.tenancy.createParentTopic(instanceId, name);
  }

  deleteTopic(instanceId: string, name: string): Promise<void> {
    return this.tenancy.deleteParentTopic(instanceId, name);
  }

  // Group IDs.

  private groupView(instanceId: string, g: GroupRecord): GroupView {
    return {
      groupId: g.groupId,
      instanceId,
      createdAt: g.createdAt,
      updatedAt: g.updatedAt,
      auto: g.auto,
      tags: this.tags.of('group', groupResourceId(instanceId, g.groupId)),
    };
  }

  listGroups(instanceId: string, tagFilter: readonly Tag[] = []): GroupView[] {
    return this.tenancy
      .listGroups(instanceId)
      .filter((g) => this.tags.matches('group', groupResourceId(instanceId, g.groupId), tagFilter))
      .map((g) => this.groupView(instanceId, g));
  }

  async createGroup(instanceId: string, groupId: string, tags: readonly Tag[] = []): Promise<GroupView> {
    const record = await this.tenancy.createGroup(instanceId, groupId);
    if (tags.length > 0) await this.tags.tag('group', [groupResourceId(instanceId, groupId)], tags);
    return this.groupView(instanceId, record);
  }

  async deleteGroup(instanceId: string, groupId: string): Promise<void> {
    await this.tenancy.deleteGroup(instanceId, groupId);
    this.tags.drop('group', groupResourceId(instanceId, groupId));
  }

  // Tags (resource types of the managed service: `instance`; Ferry adds `group`).

  async tagResources(type: TaggedResourceType, instanceId: string | null, ids: readonly string[], tags: readonly Tag[]): Promise<void> {
    await this.tags.tag(type, this.resourceIds(type, instanceId, ids), tags);
  }

  async untagResources(type: TaggedResourceType, instanceId: string | null, ids: readonly string[], keys: readonly string[], all: boolean): Promise<void> {
    await this.tags.untag(type, this.resourceIds(type, instanceId, ids), keys, all);
  }

  /** Every (resource, tag) pair of the given resources (all resources of the type when none). */
  listTagResources(type: TaggedResourceType, instanceId: string | null, ids: readonly string[], filter: readonly Tag[]): Array<{ resourceId: string; tag: Tag }> {
    let resources: string[];
    if (type === 'instance') {
      resources = ids.length > 0 ? [...ids] : this.listInstances().map((i) => i.instanceId);
    } else {
      if (instanceId === null) throw invalid('InstanceId', 'group resources need an InstanceId');
      resources = ids.length > 0 ? [...ids] : this.tenancy.listGroups(instanceId).map((g) => g.groupId);
    }
    const out: Array<{ resourceId: string; tag: Tag }> = [];
    for (const id of resources.sort()) {
      const internal = type === 'instance' ? id : groupResourceId(instanceId!, id);
      if (!this.tags.matches(type, internal, filter)) continue;
      for (const tag of this.tags.of(type, internal)) out.push({ resourceId: id, tag });
    }
    return out;
  }

  private resourceIds(type: TaggedResourceType, instanceId: string | null, ids: readonly string[]): string[] {
    if (ids.length === 0) throw invalid('ResourceId', 'name at least one resource');
    if (ids.length > 50) throw invalid('ResourceId', 'at most 50 resources per call');
    if (type === 'instance') {
      for (const id of ids) this.requireInstance(id);
      return [...ids];
    }
    if (instanceId === null) throw invalid('InstanceId', 'group resources need an InstanceId');
    for (const id of ids) {
      if (!this.tenancy.hasGroup(instanceId, id)) throw new FacadeError('InvalidParameter', `Group ID ${id} does not exist`, 'ResourceId');
    }
    return ids.map((id) => groupResourceId(instanceId, id));
  }

  // AccessKeys (native API only).

  listAccessKeys(): AccessKeyInfo[] {
    return this.accessKeys.list();
  }

  getAccessKey(id: string): AccessKeyInfo {
    const key = this.accessKeys.get(id);
    if (key === undefined) throw new ManagementError('AccessKeyNotFound', `AccessKey ${id} does not exist`);
    return key;
  }

  createAccessKey(input: CreateAccessKeyInput): Promise<{ key: AccessKeyInfo; secret: string }> {
    return this.accessKeys.create(input);
  }

  updateAccessKey(id: string, change: { description?: string; status?: AccessKeyStatus; policies?: readonly PolicyRef[] }): Promise<AccessKeyInfo> {
    return this.accessKeys.update(id, change);
  }

  deleteAccessKey(id: string): Promise<void> {
    return this.accessKeys.delete(id);
  }

  // Tokens.

  applyToken(input: ApplyTokenInput): { token: string; expireTime: number } {
    return this.tokens.apply(input);
  }

  queryToken(instanceId: string, token: string): boolean {
    this.requireInstance(instanceId);
    return this.tokens.query(instanceId, token);
  }

  revokeToken(instanceId: string, token: string): Promise<void> {
    this.requireInstance(instanceId);
    return this.tokens.revoke(instanceId, token);
  }

  // Device credentials.

  registerCredential(instanceId: string, clientId: string): Promise<DeviceCredential> {
    return this.credentials.register(instanceId, clientId);
  }

  getCredential(instanceId: string, clientId: string): Promise<DeviceCredential> {
    this.requireInstance(instanceId);
    return this.credentials.get(instanceId, clientId);
  }

  refreshCredential(instanceId: string, clientId: string): Promise<DeviceCredential> {
    this.requireInstance(instanceId);
    return this.credentials.refresh(instanceId, clientId);
  }

  unregisterCredential(instanceId: string, clientId: string): Promise<void> {
    this.requireInstance(instanceId);
    return this.credentials.unregister(instanceId, clientId);
  }

  listCredentialClientIds(instanceId: string, groupId: string, pageSize: number, nextToken?: string, pageNo?: number): Promise<DeviceCredentialPage> {
    return this.credentials.list(instanceId, groupId, pageSize, nextToken, pageNo);
  }

  // Custom authentication.

  putIdentity(instanceId: string, input: IdentityInput, mode: 'add' | 'update'): Promise<void> {
    this.requireInstance(instanceId);
    return this.customAuth.putIdentity(instanceId, input, mode);
  }

  deleteIdentity(instanceId: string, username: string, identityType: IdentityType, clientId?: string): Promise<void> {
    this.requireInstance(instanceId);
    return this.customAuth.deleteIdentity(instanceId, username, identityType, clientId ?? '');
  }

  queryIdentities(instanceId: string, filter: { username?: string; identityType?: IdentityType; clientId?: string }): IdentityView[] {
    this.requireInstance(instanceId);
    return this.customAuth.queryIdentities(instanceId, filter);
  }

  putPermission(instanceId: string, permission: Permission, mode: 'add' | 'update'): Promise<void> {
    return this.customAuth.putPermission(instanceId, permission, mode);
  }

  deletePermission(instanceId: string, identity: string, identityType: IdentityType, topic: string): Promise<void> {
    this.requireInstance(instanceId);
    return this.customAuth.deletePermission(instanceId, identity, identityType, topic);
  }

  queryPermissions(instanceId: string, filter: { identity?: string; identityType?: IdentityType; topic?: string }): Permission[] {
    this.requireInstance(instanceId);
    return this.customAuth.queryPermissions(instanceId, filter);
  }

  async blacklistAdd(instanceId: string, clientId: string): Promise<void> {
    this.requireInstance(instanceId);
    await this.customAuth.blacklistAdd(instanceId, clientId);
    // A blacklisted client that is connected now is cut too.
    this.broker.client(clientId, instanceId)?.disconnect(ReasonCode.Banned);
  }

  blacklistDelete(instanceId: string, clientId: string): Promise<void> {
    this.requireInstance(instanceId);
    return this.customAuth.blacklistDelete(instanceId, clientId);
  }

  blacklistQuery(instanceId: string, clientId?: string): BlacklistEntry[] {
    this.requireInstance(instanceId);
    return this.customAuth.blacklistQuery(instanceId, clientId);
  }

  // Clients and sessions.

  /** True while a client with this id is connected to the instance. */
  isOnline(instanceId: string, clientId: string): boolean {
    this.requireInstance(instanceId);
    // The session is linked to its channel exactly while the client is connected: O(1).
    return this.broker.session(clientId, instanceId)?.online === true;
  }

  private clientView(instanceId: string, clientId: string): ClientView | undefined {
    const session = this.broker.session(clientId, instanceId);
    const handle = this.broker.client(clientId, instanceId);
    if (session === undefined && handle === undefined) return undefined;
    return {
      clientId,
      instanceId,
      connected: handle !== undefined,
      ...(handle?.username === undefined ? {} : { username: handle.username }),
      ...(handle === undefined
        ? {}
        : {
            protocolVersion: handle.protocolVersion,
            transport: handle.peer.transport,
            listener: handle.peer.listener,
            remoteAddress: handle.peer.remoteAddress,
            remotePort: handle.peer.remotePort,
          }),
      subscriptions: session?.subscriptions.size ?? 0,
      queued: session?.queue.length ?? 0,
      inflight: session?.inflight.size ?? 0,
      sessionExpiryInterval: session?.expiryInterval ?? 0,
    };
  }

  /**
   * Clients of an instance: connected ones and persistent sessions waiting for their client.
   * Filters: `connected` (true/false), `prefix` of the client id, `username`.
   */
  listClients(instanceId: string, filter: { connected?: boolean; prefix?: string; username?: string } = {}, page: PageQuery = {}): Page<ClientView> {
    this.requireInstance(instanceId);
    const ids = new Set<string>();
    for (const client of this.broker.clients(instanceId)) ids.add(client.clientId);
    for (const clientId of this.broker.tenants.get(instanceId)?.sessions.keys() ?? []) ids.add(clientId);
    const views: ClientView[] = [];
    for (const id of [...ids].sort()) {
      if (filter.prefix !== undefined && !id.startsWith(filter.prefix)) continue;
      const view = this.clientView(instanceId, id);
      if (view === undefined) continue;
      if (filter.connected !== undefined && view.connected !== filter.connected) continue;
      if (filter.username !== undefined && view.username !== filter.username) continue;
      views.push(view);
    }
    return paginate(views, (v) => v.clientId, page);
  }

  getClient(instanceId: string, clientId: string): ClientDetail {
    this.requireInstance(instanceId);
    const view = this.clientView(instanceId, clientId);
    if (view === undefined) throw new FacadeError('ClientNotFound', `client ${clientId} has no connection nor session on ${instanceId}`, 'clientId');
    return { ...view, subscriptionList: this.sessionSubscriptions(instanceId, clientId) };
  }

  /** Closes a client's connection (MQTT 5 clients get DISCONNECT 0x98 Administrative action). False if not connected. */
  kick(instanceId: string, clientId: string): boolean {
    this.requireInstance(instanceId);
    const client = this.broker.client(clientId, instanceId);
    client?.disconnect(ReasonCode.AdministrativeAction);
    return client !== undefined;
  }

  private sessionSubscriptions(instanceId: string, clientId: string): SubscriptionView[] {
    const session = this.broker.session(clientId, instanceId);
    if (session === undefined) return [];
    return [...session.subscriptions.values()]
      .map((s) => ({
        clientId,
        topicFilter: s.filter,
        shareGroup: s.shareGroup,
        qos: s.qos,
        noLocal: s.noLocal,
        retainAsPublished: s.retainAsPublished,
        retainHandling: s.retainHandling,
        subscriptionId: s.subscriptionId,
      }))
      .sort(byKey((s) => `${s.shareGroup ?? ''}\u0000${s.topicFilter}`));
  }

  /** Subscriptions of an instance, filtered by client id and/or exact topic filter. */
  listSubscriptions(instanceId: string, filter: { clientId?: string; topicFilter?: string } = {}, page: PageQuery = {}): Page<SubscriptionView> {
    this.requireInstance(instanceId);
    const tenant = this.broker.tenants.get(instanceId);
    const out: SubscriptionView[] = [];
    const clientIds = filter.clientId !== undefined ? [filter.clientId] : [...(tenant?.sessions.keys() ?? [])].sort();
    for (const clientId of clientIds) {
      for (const s of this.sessionSubscriptions(instanceId, clientId)) {
        if (filter.topicFilter !== undefined && s.topicFilter !== filter.topicFilter) continue;
        out.push(s);
      }
    }
    return paginate(out, (s) => `${s.clientId}\u0000${s.shareGroup ?? ''}\u0000${s.topicFilter}`, page);
  }

  // Retained messages.

  private retainedView(m: Message): RetainedView {
    return { topic: m.topic, qos: m.qos, payload: m.payload, ...(m.properties === undefined ? {} : { properties: m.properties }), expiresAt: m.expiresAt };
  }

  listRetained(instanceId: string, topicFilter = '#', page: PageQuery = {}): Page<RetainedView> {
    this.requireInstance(instanceId);
    if (!isValidTopicFilter(topicFilter)) throw invalid('filter', `"${topicFilter}" is not a valid topic filter`);
    const tenant = this.broker.tenants.get(instanceId);
    const messages = tenant === undefined ? [] : tenant.retained.match(topicFilter, this.now());
    return paginate(messages.map((m) => this.retainedView(m)).sort(byKey((m) => m.topic)), (m) => m.topic, page);
  }

  getRetained(instanceId: string, topic: string): RetainedView {
    this.requireInstance(instanceId);
    const message = this.broker.tenants.get(instanceId)?.retained.get(topic);
    if (message === undefined || message.isExpired(this.now())) {
      throw new FacadeError('RetainedMessageNotFound', `no retained message on ${topic}`, 'topic');
    }
    return this.retainedView(message);
  }

  /** Deletes a retained message without publishing anything to subscribers. */
  deleteRetained(instanceId: string, topic: string): void {
    this.requireInstance(instanceId);
    if (!this.broker.deleteRetained(instanceId, topic)) {
      throw new FacadeError('RetainedMessageNotFound', `no retained message on ${topic}`, 'topic');
    }
  }

  private tenantOf(instanceId: string): Tenant {
    this.requireInstance(instanceId);
    return this.broker.tenant(instanceId);
  }

  // Publishing from a backend.

  /**
   * Publishes a message into an instance as the server (no client, so no ACL; no No Local
   * origin). The topic must be a valid topic name accepted by the instance (strict instances
   * need its parent topic); payload size is checked against the instance and broker limits.
   * Returns the message's MsgId.
   */
  publish(instanceId: string, input: PublishInput, field: { topic: string; payload: string } = { topic: 'topic', payload: 'payload' }): string {
    this.requireInstance(instanceId);
    const { topic } = input;
    if (!isValidTopicName(topic) || topic.length === 0) throw invalid(field.topic, `"${topic}" is not a valid topic name`);
    if (topic.startsWith('$')) throw invalid(field.topic, 'a backend cannot publish to $ topics');
    const qos = input.qos ?? 1;
    if (qos !== 0 && qos !== 1 && qos !== 2) throw invalid('qos', 'qos must be 0, 1 or 2');
    const instance = this.deps.tenancy?.get(instanceId);
    if (this.deps.tenancy !== undefined) {
      const refused = this.deps.tenancy.admitTopic(instanceId, topic, false);
      if (refused !== null) throw invalid(field.topic, refused.message);
    }
    const maxPayload = instance?.limits.maxPayloadBytes ?? 0;
    if (maxPayload > 0 && input.payload.length > maxPayload) {
      throw new FacadeError('PayloadTooLarge', `payload is ${input.payload.length} bytes, the instance allows ${maxPayload}`, field.payload);
    }
    if (input.payload.length > this.broker.options.maxPacketSize - topic.length - 16) {
      throw new FacadeError('PayloadTooLarge', `payload is larger than the broker's maxPacketSize`, field.payload);
    }
    let properties: Properties | undefined;
    if (input.properties !== undefined) {
      properties = {};
      for (const name of FORWARDED_PROPERTIES) {
        const value = input.properties[name];
        if (value !== undefined) (properties as Record<string, unknown>)[name] = value;
      }
    }
    const expiry = input.messageExpiryInterval ?? 0;
    if (!Number.isInteger(expiry) || expiry < 0 || expiry > 0xffffffff) throw invalid('messageExpiryInterval', 'must be an integer number of seconds');
    if (expiry > 0) properties = { ...properties, messageExpiryInterval: expiry };
    const message = new Message(topic, input.payload, qos, input.retain ?? false, properties, expiry > 0 ? this.now() + expiry * 1000 : 0, null);
    this.broker.publish(this.broker.tenant(instanceId), message);
    return this.deps.msgIdOf?.(message) ?? newMsgId();
  }
}

function describeResource(r: PolicyResource): string {
  switch (r.type) {
    case 'instance':
      return `instance ${r.instanceId}`;
    case 'topic':
      return `topic ${r.topic} of ${r.instanceId}`;
    case 'groupId':
      return `group ${r.groupId} of ${r.instanceId}`;
    case 'rule':
      return `rule ${r.ruleId} of ${r.instanceId}`;
  }
}
