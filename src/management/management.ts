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
 * This class only composes; each resource area is its own module:
 *
 *   instance-check.ts  does the instance exist (every instance-scoped call asks first)
 *   instances.ts       instances          topics.ts         parent topics
 *   groups.ts          Group IDs          resource-tags.ts  Tag/Untag/ListTagResources
 *   caller-access.ts   API callers' policies
 *   access-keys.ts     AccessKeys         tokens.ts         tokens
 *   credentials.ts     device credentials custom-auth.ts    identities, permissions
 *   blacklist.ts       client id blacklist
 *   certificates.ts    CA and device certificates, SNI domains, disaster recovery
 *   clients.ts         clients, kick      subscriptions.ts  subscriptions
 *   retained.ts        retained messages  publish.ts        publishing from a backend
 *   rules.ts           rules, stats, dead letters (src/rules)
 *   queues.ts          the built-in queues (queue://NAME)
 *   paging.ts          cursor pages       deps.ts           ManagementDeps
 *
 * The tenancy/auth services are optional: an embedded broker without them still answers the
 * broker-only calls, and the others fail with ServiceUnavailable (503).
 */
import type { AccessKeys, AccessKeyInfo, AccessKeyStatus, CreateAccessKeyInput } from '../auth/access-keys.js';
import type { BlacklistEntry, IdentityInput, IdentityType, IdentityView, Permission } from '../auth/custom-auth.js';
import type { DeviceCredential, DeviceCredentialPage } from '../auth/device-credentials.js';
import type { CompiledPolicy, PolicyRef, PolicyResource } from '../auth/policy.js';
import type { ApplyTokenInput } from '../auth/tokens.js';
import type { CaCertificateView, CertificatePage, CertificateStatus, DeviceCertificateView } from '../x509/registry.js';
import type { SniView } from '../x509/sni-config.js';
import type { Broker } from '../broker/broker.js';
import type { InstanceLimits, InstanceMode } from '../tenancy/limits.js';
import type { Tenancy } from '../tenancy/registry.js';
import type { Rule, RuleInput, RulePatch } from '../rules/model.js';
import type { DeadLetter, QueueInfo, QueueMessageInput, ReceivedQueueMessage, RuleStats } from '../rules/runtime.js';
import { AccessKeyAdmin } from './access-keys.js';
import { Blacklist } from './blacklist.js';
import { CallerAccess } from './caller-access.js';
import { CertificateAdmin } from './certificates.js';
import { Clients, type ClientDetail, type ClientView } from './clients.js';
import { CredentialAdmin } from './credentials.js';
import { CustomAuthAdmin } from './custom-auth.js';
import type { ManagementDeps } from './deps.js';
import { FacadeError, requireService } from './errors.js';
import { Groups, type GroupView } from './groups.js';
import { InstanceCheck } from './instance-check.js';
import { Instances, type InstanceView } from './instances.js';
import type { Page, PageQuery } from './paging.js';
import { Publisher, type PublishInput } from './publish.js';
import { Queues } from './queues.js';
import { RuleAdmin, type RuleAnswer } from './rules.js';
import { ResourceTags } from './resource-tags.js';
import { Retained, type RetainedView } from './retained.js';
import { Subscriptions, type SubscriptionView } from './subscriptions.js';
import { TagStore, type Tag, type TaggedResourceType } from './tags.js';
import { TokenAdmin } from './tokens.js';
import { ParentTopics, type ParentTopicView } from './topics.js';
import type { TraceQueries } from './traces.js';

export type { ManagementDeps } from './deps.js';
export type { InstanceView } from './instances.js';
export type { GroupView } from './groups.js';
export type { ClientView, ClientDetail } from './clients.js';
export type { SubscriptionView } from './subscriptions.js';
export type { RetainedView } from './retained.js';
export { newMsgId, type PublishInput } from './publish.js';
export type { RuleAnswer } from './rules.js';
export { MAX_PAGE_SIZE, paginate, type Page, type PageQuery } from './paging.js';

export class Management {
  readonly broker: Broker;
  private readonly check: InstanceCheck;
  private readonly access: CallerAccess;
  private readonly instances: Instances;
  private readonly topics: ParentTopics;
  private readonly groups: Groups;
  private readonly resourceTags: ResourceTags;
  private readonly keys: AccessKeyAdmin;
  private readonly tokens: TokenAdmin;
  private readonly credentials: CredentialAdmin;
  private readonly customAuth: CustomAuthAdmin;
  private readonly blacklist: Blacklist;
  private readonly certificates: CertificateAdmin;
  private readonly clients: Clients;
  private readonly subscriptions: Subscriptions;
  private readonly retained: Retained;
  private readonly publisher: Publisher;
  private readonly rules: RuleAdmin;
  private readonly queues: Queues;

  private constructor(
    private readonly deps: ManagementDeps,
    readonly tags: TagStore,
  ) {
    this.broker = deps.broker;
    const now = deps.now ?? Date.now;
    const check = (this.check = new InstanceCheck(deps));
    this.access = new CallerAccess(deps);
    this.instances = new Instances(deps, check, tags);
    this.topics = new ParentTopics(deps);
    this.groups = new Groups(deps, tags);
    this.resourceTags = new ResourceTags(deps, check, this.instances, tags);
    this.keys = new AccessKeyAdmin(deps);
    this.tokens = new TokenAdmin(deps, check);
    this.credentials = new CredentialAdmin(deps, check);
    this.customAuth = new CustomAuthAdmin(deps, check);
    this.blacklist = new Blacklist(deps, check);
    this.certificates = new CertificateAdmin(deps, check);
    this.subscriptions = new Subscriptions(deps, check);
    this.clients = new Clients(deps, check, this.subscriptions);
    this.retained = new Retained(deps, check, now);
    this.publisher = new Publisher(deps, check, now);
    this.rules = new RuleAdmin(deps, check);
    this.queues = new Queues(deps, check);
  }

  static async open(deps: ManagementDeps): Promise<Management> {
    const management = new Management(deps, await TagStore.open(deps.store ?? null));
    deps.tenancy?.onInstanceDeleted((id) => management.tags.drop('instance', id));
    return management;
  }

  get defaultInstanceId(): string {
    return this.check.defaultInstanceId;
  }

  // Services (each may be missing in an embedded broker).

  get tenancy(): Tenancy {
    return requireService(this.deps.tenancy, 'tenancy');
  }

  get accessKeys(): AccessKeys {
    return this.keys.service;
  }

  get traces(): TraceQueries {
    const traces = this.deps.traces;
    if (traces === undefined) throw new FacadeError('NotImplemented', 'message and device traces are not available yet in this Ferry');
    return traces;
  }

  // Access checks for API callers (caller-access.ts).

  /** The compiled policy of an active AccessKey, undefined if unknown or inactive. */
  policyOf(accessKeyId: string): CompiledPolicy | undefined {
    return this.access.policyOf(accessKeyId);
  }

  /** Throws PermissionCheckFailed unless the key's policies allow `action` on `resource`. */
  authorize(accessKeyId: string, action: string, resource: PolicyResource | '*'): void {
    this.access.authorize(accessKeyId, action, resource);
  }

  // Instances (instance-check.ts, instances.ts).

  instanceExists(instanceId: string): boolean {
    return this.check.exists(instanceId);
  }

  requireInstance(instanceId: string): void {
    this.check.require(instanceId);
  }

  listInstances(tagFilter: readonly Tag[] = []): InstanceView[] {
    return this.instances.list(tagFilter);
  }

  getInstance(instanceId: string): InstanceView {
    return this.instances.get(instanceId);
  }

  createInstance(input: { id?: string; name?: string; mode?: InstanceMode; limits?: Partial<InstanceLimits> }): Promise<InstanceView> {
    return this.instances.create(input);
  }

  updateInstance(id: string, change: { name?: string; mode?: InstanceMode; limits?: Partial<InstanceLimits> }): Promise<InstanceView> {
    return this.instances.update(id, change);
  }

  deleteInstance(id: string): Promise<void> {
    return this.instances.delete(id);
  }

  // Parent topics (topics.ts).

  listTopics(instanceId: string): ParentTopicView[] {
    return this.topics.list(instanceId);
  }

  createTopic(instanceId: string, name: string): Promise<ParentTopicView> {
    return this.topics.create(instanceId, name);
  }

  deleteTopic(instanceId: string, name: string): Promise<void> {
    return this.topics.delete(instanceId, name);
  }

  // Group IDs (groups.ts).

  listGroups(instanceId: string, tagFilter: readonly Tag[] = []): GroupView[] {
    return this.groups.list(instanceId, tagFilter);
  }

  createGroup(instanceId: string, groupId: string, tags: readonly Tag[] = []): Promise<GroupView> {
    return this.groups.create(instanceId, groupId, tags);
  }

  deleteGroup(instanceId: string, groupId: string): Promise<void> {
    return this.groups.delete(instanceId, groupId);
  }

  // Tags (resource-tags.ts; resource types of the managed service: `instance`; Ferry adds `group`).

  tagResources(type: TaggedResourceType, instanceId: string | null, ids: readonly string[], tags: readonly Tag[]): Promise<void> {
    return this.resourceTags.tag(type, instanceId, ids, tags);
  }

  untagResources(type: TaggedResourceType, instanceId: string | null, ids: readonly string[], keys: readonly string[], all: boolean): Promise<void> {
    return this.resourceTags.untag(type, instanceId, ids, keys, all);
  }

  /** Every (resource, tag) pair of the given resources (all resources of the type when none). */
  listTagResources(type: TaggedResourceType, instanceId: string | null, ids: readonly string[], filter: readonly Tag[]): Array<{ resourceId: string; tag: Tag }> {
    return this.resourceTags.list(type, instanceId, ids, filter);
  }

  // AccessKeys (access-keys.ts; native API only).

  listAccessKeys(): AccessKeyInfo[] {
    return this.keys.list();
  }

  getAccessKey(id: string): AccessKeyInfo {
    return this.keys.get(id);
  }

  createAccessKey(input: CreateAccessKeyInput): Promise<{ key: AccessKeyInfo; secret: string }> {
    return this.keys.create(input);
  }

  updateAccessKey(id: string, change: { description?: string; status?: AccessKeyStatus; policies?: readonly PolicyRef[] }): Promise<AccessKeyInfo> {
    return this.keys.update(id, change);
  }

  deleteAccessKey(id: string): Promise<void> {
    return this.keys.delete(id);
  }

  // Tokens (tokens.ts).

  applyToken(input: ApplyTokenInput): { token: string; expireTime: number } {
    return this.tokens.apply(input);
  }

  queryToken(instanceId: string, token: string): boolean {
    return this.tokens.query(instanceId, token);
  }

  revokeToken(instanceId: string, token: string): Promise<void> {
    return this.tokens.revoke(instanceId, token);
  }

  // X.509 device identity, SNI domains, disaster recovery (certificates.ts).

  getRegisterCode(instanceId: string): Promise<string> {
    return this.certificates.registerCode(instanceId);
  }

  registerCaCertificate(instanceId: string, name: string, content: string, verification: string): Promise<string> {
    return this.certificates.registerCa(instanceId, name, content, verification);
  }

  getCaCertificate(instanceId: string, sn: string): CaCertificateView {
    return this.certificates.getCa(instanceId, sn);
  }

  listCaCertificates(instanceId: string, pageNo: number, pageSize: number): CertificatePage<CaCertificateView> {
    return this.certificates.listCas(instanceId, pageNo, pageSize);
  }

  setCaCertificateStatus(instanceId: string, sn: string, status: CertificateStatus): Promise<string> {
    return this.certificates.setCaStatus(instanceId, sn, status);
  }

  deleteCaCertificate(instanceId: string, sn: string): Promise<string> {
    return this.certificates.deleteCa(instanceId, sn);
  }

  getDeviceCertificate(instanceId: string, caSn: string, deviceSn: string): Promise<DeviceCertificateView> {
    return this.certificates.getDevice(instanceId, caSn, deviceSn);
  }

  listDeviceCertificates(instanceId: string, caSn: string | undefined, pageNo: number, pageSize: number): Promise<CertificatePage<DeviceCertificateView>> {
    return this.certificates.listDevices(instanceId, caSn, pageNo, pageSize);
  }

  setDeviceCertificateStatus(instanceId: string, caSn: string, deviceSn: string, status: CertificateStatus): Promise<string> {
    return this.certificates.setDeviceStatus(instanceId, caSn, deviceSn, status);
  }

  deleteDeviceCertificate(instanceId: string, caSn: string, deviceSn: string): Promise<string> {
    return this.certificates.deleteDevice(instanceId, caSn, deviceSn);
  }

  setSniConfig(instanceId: string, defaultCertificate: string, sniConfig: string | undefined): Promise<void> {
    return this.certificates.setSni(instanceId, defaultCertificate, sniConfig);
  }

  getSniConfig(instanceId: string): SniView {
    return this.certificates.getSni(instanceId);
  }

  disaster(instanceId: string, otherId: string, action: 'downgrade' | 'recovery'): never {
    return this.certificates.disaster(instanceId, otherId, action);
  }

  // Device credentials (credentials.ts).

  registerCredential(instanceId: string, clientId: string): Promise<DeviceCredential> {
    return this.credentials.register(instanceId, clientId);
  }

  getCredential(instanceId: string, clientId: string): Promise<DeviceCredential> {
    return this.credentials.get(instanceId, clientId);
  }

  refreshCredential(instanceId: string, clientId: string): Promise<DeviceCredential> {
    return this.credentials.refresh(instanceId, clientId);
  }

  unregisterCredential(instanceId: string, clientId: string): Promise<void> {
    return this.credentials.unregister(instanceId, clientId);
  }

  listCredentialClientIds(instanceId: string, groupId: string, pageSize: number, nextToken?: string, pageNo?: number): Promise<DeviceCredentialPage> {
    return this.credentials.listClientIds(instanceId, groupId, pageSize, nextToken, pageNo);
  }

  // Custom authentication (custom-auth.ts, blacklist.ts).

  putIdentity(instanceId: string, input: IdentityInput, mode: 'add' | 'update'): Promise<void> {
    return this.customAuth.putIdentity(instanceId, input, mode);
  }

  deleteIdentity(instanceId: string, username: string, identityType: IdentityType, clientId?: string): Promise<void> {
    return this.customAuth.deleteIdentity(instanceId, username, identityType, clientId);
  }

  queryIdentities(instanceId: string, filter: { username?: string; identityType?: IdentityType; clientId?: string }): IdentityView[] {
    return this.customAuth.queryIdentities(instanceId, filter);
  }

  putPermission(instanceId: string, permission: Permission, mode: 'add' | 'update'): Promise<void> {
    return this.customAuth.putPermission(instanceId, permission, mode);
  }

  deletePermission(instanceId: string, identity: string, identityType: IdentityType, topic: string): Promise<void> {
    return this.customAuth.deletePermission(instanceId, identity, identityType, topic);
  }

  queryPermissions(instanceId: string, filter: { identity?: string; identityType?: IdentityType; topic?: string }): Permission[] {
    return this.customAuth.queryPermissions(instanceId, filter);
  }

  blacklistAdd(instanceId: string, clientId: string): Promise<void> {
    return this.blacklist.add(instanceId, clientId);
  }

  blacklistDelete(instanceId: string, clientId: string): Promise<void> {
    return this.blacklist.delete(instanceId, clientId);
  }

  blacklistQuery(instanceId: string, clientId?: string): BlacklistEntry[] {
    return this.blacklist.query(instanceId, clientId);
  }

  // Clients and sessions (clients.ts, subscriptions.ts).

  /** True while a client with this id is connected to the instance. */
  isOnline(instanceId: string, clientId: string): boolean {
    return this.clients.isOnline(instanceId, clientId);
  }

  /**
   * Clients of an instance: connected ones and persistent sessions waiting for their client.
   * Filters: `connected` (true/false), `prefix` of the client id, `username`.
   */
  listClients(instanceId: string, filter: { connected?: boolean; prefix?: string; username?: string } = {}, page: PageQuery = {}): Page<ClientView> {
    return this.clients.list(instanceId, filter, page);
  }

  getClient(instanceId: string, clientId: string): ClientDetail {
    return this.clients.get(instanceId, clientId);
  }

  /** Closes a client's connection (MQTT 5 clients get DISCONNECT 0x98 Administrative action). False if not connected. */
  kick(instanceId: string, clientId: string): boolean {
    return this.clients.kick(instanceId, clientId);
  }

  /** Discards a disconnected client's session (409 ClientConnected while it is connected). */
  clearSession(instanceId: string, clientId: string): void {
    this.clients.clearSession(instanceId, clientId);
  }

  /** Subscriptions of an instance, filtered by client id and/or exact topic filter. */
  listSubscriptions(instanceId: string, filter: { clientId?: string; topicFilter?: string } = {}, page: PageQuery = {}): Page<SubscriptionView> {
    return this.subscriptions.list(instanceId, filter, page);
  }

  // Retained messages (retained.ts).

  listRetained(instanceId: string, topicFilter = '#', page: PageQuery = {}): Page<RetainedView> {
    return this.retained.list(instanceId, topicFilter, page);
  }

  getRetained(instanceId: string, topic: string): RetainedView {
    return this.retained.get(instanceId, topic);
  }

  /** Deletes a retained message without publishing anything to subscribers. */
  /** Resolves once the deletion is durable (ServiceUnavailable when the store cannot write). */
  async deleteRetained(instanceId: string, topic: string): Promise<void> {
    this.retained.delete(instanceId, topic);
    await this.durable();
  }

  // Publishing from a backend (publish.ts).

  /**
   * Publishes a message into an instance as the server (no client, so no ACL; no No Local
   * origin); checks as publish.ts describes. Resolves with the message's MsgId once it is
   * durable for its persistent subscribers; ServiceUnavailable (503) when the store cannot
   * write (live subscribers may have it; a retry may deliver it twice, never zero times).
   */
  async publish(instanceId: string, input: PublishInput, field?: { topic: string; payload: string }): Promise<string> {
    const msgId = this.publisher.publish(instanceId, input, field);
    await this.durable();
    return msgId;
  }

  /** Publishes without waiting for durability: a batch publishes all, then awaits `durable()` once. */
  publishNoWait(instanceId: string, input: PublishInput, field?: { topic: string; payload: string }): string {
    return this.publisher.publish(instanceId, input, field);
  }

  /** Resolves once everything the broker recorded so far is durable. */
  async durable(): Promise<void> {
    await this.deps.broker.persistence?.whenDurable();
  }

  // Rules (rules.ts) and the built-in queues (queues.ts).

  listRules(instanceId: string): Rule[] {
    return this.rules.list(instanceId);
  }

  getRule(instanceId: string, ruleId: string): Rule {
    return this.rules.get(instanceId, ruleId);
  }

  /** Creates a rule; a generated webhook secret is in the answer, that one time. */
  createRule(instanceId: string, input: RuleInput): Promise<RuleAnswer> {
    return this.rules.create(instanceId, input);
  }

  /** PATCH: given fields replace the rule's, `options` are merged, `type` cannot change. */
  updateRule(instanceId: string, ruleId: string, patch: RulePatch): Promise<RuleAnswer> {
    return this.rules.update(instanceId, ruleId, patch);
  }

  setRuleEnabled(instanceId: string, ruleId: string, enabled: boolean): Promise<Rule> {
    return this.rules.setEnabled(instanceId, ruleId, enabled);
  }

  deleteRule(instanceId: string, ruleId: string): Promise<void> {
    return this.rules.delete(instanceId, ruleId);
  }

  ruleStats(instanceId: string, ruleId: string): RuleStats {
    return this.rules.stats(instanceId, ruleId);
  }

  deadLetters(instanceId: string, ruleId: string, page: { limit: number; after?: string }): Promise<{ items: DeadLetter[]; next?: string; missingNodes?: string[] }> {
    return this.rules.deadLetters(instanceId, ruleId, page);
  }

  replayDeadLetters(instanceId: string, ruleId: string, ids?: readonly string[]): Promise<number> {
    return this.rules.replay(instanceId, ruleId, ids);
  }

  purgeDeadLetters(instanceId: string, ruleId: string, ids?: readonly string[]): Promise<number> {
    return this.rules.purge(instanceId, ruleId, ids);
  }

  listQueues(instanceId: string): QueueInfo[] | Promise<QueueInfo[]> {
    return this.queues.list(instanceId);
  }

  sendToQueue(instanceId: string, queue: string, messages: readonly QueueMessageInput[]): Promise<string[]> {
    return this.queues.send(instanceId, queue, messages);
  }

  receiveFromQueue(instanceId: string, queue: string, options: { max: number; visibilityTimeoutMs: number; waitMs: number }): Promise<ReceivedQueueMessage[]> {
    return this.queues.receive(instanceId, queue, options);
  }

  ackQueue(instanceId: string, queue: string, receipts: readonly string[]): Promise<number> {
    return this.queues.ack(instanceId, queue, receipts);
  }

  nackQueue(instanceId: string, queue: string, receipts: readonly string[], delayMs?: number): Promise<number> {
    return this.queues.nack(instanceId, queue, receipts, delayMs);
  }
}
