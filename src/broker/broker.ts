/**
 * The routing core: accepts connections, keeps one Tenant (sessions, subscription index,
 * retained messages) per instance, routes published messages through the Router, schedules
 * wills and session expiry, runs the hooks (authentication, authorization, system topics),
 * and sweeps connections for keepalive and stuck output.
 */
import { BrokerExtensions } from './extensions.js';
import type { Logger } from 'pino';
import type { ConnectPacket } from '../protocol/packets.js';
import type { ByteStream, ConnectionSink, PeerInfo } from '../transport/types.js';
import { Connection } from '../connection/connection.js';
import type { Channel } from '../channel/channel.js';
import { RC } from '../channel/reason.js';
import { Session, type SubscriptionOptions } from '../session/session.js';
import { Message } from '../session/message.js';
import { OfflineWindow } from '../session/offline-window.js';
import type { LoadedSession, Store } from '../store/types.js';
import type { BrokerOptions } from './options.js';
import { AclAuthorizer } from './acl.js';
import { BrokerCounters } from './counters.js';
import { DropLog } from './drop-log.js';
import type { AccessDecision, AuthVerdict, BrokerHooks, ClientHandle } from './hooks.js';
import { Persistence } from './persistence.js';
import { restoreSession, restoreState, type RestoreSummary } from './restore.js';
import { Router } from './router.js';
import { LocalClientRegistry, type ClientRegistry } from './client-registry.js';
import { Tenant, splitStoreKey } from './tenant.js';
import { dropCauseOf, type Tracer } from './tracer.js';
import { LogThrottle } from '../observability/log-limits.js';
import type { FaultHooks } from '../faults/index.js';
import { FlowControl } from '../flow/flow-control.js';

export { DEFAULT_INSTANCE_ID } from './options.js';

const SWEEP_INTERVAL_MS = 1000;
/** A socket we closed whose peer has not closed its side gets this long before destroy. */
const CLOSE_GRACE_MS = 5000;
/** setTimeout cannot wait longer than 2^31-1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Housekeeping of the store: how often, and how many rows at most per step. */
const PURGE_INTERVAL_MS = 60_000;
const PURGE_BUDGET = 2000;
/** A large backlog is purged in at most this many steps per interval, this far apart. */
const PURGE_MAX_STEPS = 100;
const PURGE_PAUSE_MS = 50;

interface PendingWill {
  readonly message: Message;
  readonly timer: NodeJS.Timeout;
}

export class Broker implements ConnectionSink {
  readonly counters = new BrokerCounters();
  readonly tenants = new Map<string, Tenant>();
  readonly hooks: BrokerHooks;
  /** Extension points with any number of listeners (rules, AMQP endpoint, cluster). */
  readonly extensions = new BrokerExtensions();
  /** Durable copy of the state that must survive a restart; null when running without a store. */
  readonly persistence: Persistence | null;
  readonly router: Router;
  /**
   * Sessions and connected clients by client id (takeover, P2P targets, kicks, API queries);
   * the local registry unless a cluster replaces it (src/cluster) before listeners start.
   */
  registry: ClientRegistry;
  /**
   * Set by a cluster whose sessions live in JetStream (src/cluster/handover.ts): awaited before a
   * client opens its session here, to fetch the session another node holds (that node lets go
   * of it first). Null on a single node: CONNECT does not wait for anything.
   */
  sessionFetcher: ((instanceId: string, clientId: string, cleanStart: boolean) => Promise<void>) | null = null;
  /**
   * Set by a cluster whose wills live in JetStream (src/cluster/handover.ts): asked when a stored
   * will is due, it removes the will's record and answers whether the will is still this node's
   * to publish (another node takes over the wills of a node counted as gone). Null on a single
   * node: a due will goes out at once.
   */
  willClaim: ((instanceId: string, clientId: string) => Promise<boolean>) | null = null;
  /**
   * Set by a cluster whose wills live in JetStream: the will of a client with a persistent session
   * is stored from its CONNECT on (WillRecord.delayMs), so that if this node dies while the client
   * is connected, the node taking its sessions over publishes it. False on a single node: a will
   * is stored only once its connection is gone and it waits for its delay.
   */
  keepWillsOfConnected = false;
  /** Device and message traces; null while tracing is off (src/observability/traces). */
  tracer: Tracer | null = null;
  /** Log lines clients can cause at will: one per cause per client per interval (docs/security.md). */
  readonly notes: LogThrottle;
  /** Flow control from publishers to slow online subscribers (src/flow); null when off. */
  readonly flow: FlowControl | null;
  /** Test-only fault hooks (src/faults); null unless a test in this process sets them. */
  faults: FaultHooks | null = null;
  private readonly connections = new Set<Connection>();
  private readonly pendingWills = new Map<Session, PendingWill>();
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly purgeTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private ackHold: Promise<void> | null = null;
  private readonly dropLog: DropLog;
  /** The housekeeping run in progress, awaited by close() before the store closes. */
  private purgeRun: Promise<void> | null = null;

  constructor(
    readonly options: BrokerOptions,
    readonly logger: Logger,
    store: Store | null = null,
  ) {
    this.persistence = store === null ? null : new Persistence(store, logger);
    if (this.persistence !== null) {
      this.persistence.sessionByKey = (key) => {
        const { instanceId, name } = splitStoreKey(key);
        return this.session(name, instanceId);
      };
    }
    this.registry = new LocalClientRegistry(this.tenants, this.connections);
    this.router = new Router(this.counters, (instanceId, clientId) => this.registry.session(instanceId, clientId));
    this.notes = new LogThrottle(logger, {
      intervalMs: options.logRepeatIntervalMs,
      onSuppressed: (n) => this.counters.limitHits.hit('log_lines_suppressed', n),
    });
    const acl = new AclAuthorizer(options.acl);
    this.hooks = {
      authenticator: {
        authenticate: (): AuthVerdict =>
          options.allowAnonymous
            ? { ok: true, instanceId: options.defaultInstanceId }
            : { ok: false, reasonCode: RC.NotAuthorized },
      },
      authorizer: acl,
      systemTopics: null,
      events: null,
    };
    this.dropLog = new DropLog(this.counters, logger);
    this.flow =
      options.flowHighWater > 0
        ? new FlowControl({ highWater: options.flowHighWater, lowWater: options.flowLowWater, maxPauseMs: options.flowMaxPauseMs }, (fields, msg) =>
            logger.warn(fields, msg),
          )
        : null;
    this.counters.flow = this.flow;
    this.counters.offlineWindow = options.offlineWindowBytes > 0 ? new OfflineWindow(options.offlineWindowBytes, options.offlineWindowBytes) : null;
    // Every dropped queued message is a trace event of its MsgId and client (drop_offline).
    this.counters.onQueueDrop((event) => this.tracer?.queueDropped(event.instanceId, event.clientId, event.traceId, dropCauseOf(event.cause)));
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
    if (store !== null) {
      this.purgeTimer = setInterval(() => {
        // eslint-disable-next-line @typescript-eslint/no-floating-promises -- cannot reject: housekeeping() logs its failures
        void this.housekeeping();
      }, PURGE_INTERVAL_MS);
      this.purgeTimer.unref();
    }
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get subscriptionCount(): number {
    let count = 0;
    for (const tenant of this.tenants.values()) count += tenant.trie.size;
    return count;
  }

  /** The tenant of an instance, created on first use. */
  tenant(instanceId: string): Tenant {
    let tenant = this.tenants.get(instanceId);
    if (tenant === undefined) {
      tenant = new Tenant(instanceId, this.options.maxRetainedMessages);
      this.tenants.set(instanceId, tenant);
    }
    return tenant;
  }

  /** A session by client id (default instance unless given), for inspection and tests. */
  session(clientId: string, instanceId = this.options.defaultInstanceId): Session | undefined {
    return this.registry.session(instanceId, clientId);
  }

  /** The connected client with this id, if any (its session links to it while connected). */
  client(clientId: string, instanceId = this.options.defaultInstanceId): ClientHandle | undefined {
    return this.registry.client(instanceId, clientId);
  }

  accept(stream: ByteStream): void {
    if (this.closing) {
      stream.destroy();
      return;
    }
    const connection = new Connection(stream, this);
    this.connections.add(connection);
    this.counters.connectionsAccepted++;
  }

  /** Every connected client (for hooks: token revocation, kicks, listings). */
  clients(instanceId?: string): IterableIterator<ClientHandle> {
    return this.registry.clients(instanceId);
  }

  // Hooks used by the channel.

  authenticate(connect: ConnectPacket, peer: PeerInfo): Promise<AuthVerdict> | AuthVerdict {
    return this.hooks.authenticator.authenticate(connect, peer);
  }

  authorizePublish(client: ClientHandle, topic: string, payloadBytes = 0): AccessDecision | Promise<AccessDecision> {
    return this.hooks.authorizer.authorizePublish(client, topic, payloadBytes);
  }

  authorizeSubscribe(client: ClientHandle, filter: string): AccessDecision | Promise<AccessDecision> {
    return this.hooks.authorizer.authorizeSubscribe(client, filter);
  }

  authorizeWill(client: ClientHandle, topic: string): boolean {
    return this.hooks.authorizer.authorizeWill(client, topic);
  }

  /**
   * Finds or creates the session for a connecting client (MQTT 3.1.4): a connected holder of
   * the id is taken over first [MQTT-3.1.4-3]; clean start discards the old session.
   */
  openSession(channel: Channel, cleanStart: boolean, expiry: number): { session: Session; present: boolean } {
    const tenant = channel.tenant!;
    const clientId = channel.clientId;
    if (this.registry.takeover(tenant, clientId) !== null) this.counters.takeovers++;
    let session = tenant.sessions.get(clientId); // may have ended with the old connection
    if (session !== undefined && cleanStart) {
      this.endSession(session);
      session = undefined;
    }
    let present = false;
    if (session === undefined) {
      session = this.newSession(tenant, clientId);
    } else {
      present = true;
      this.cancelExpiry(session);
      this.cancelWill(session); // [MQTT-3.1.3-9] a reconnect before the will delay cancels it
    }
    session.expiryInterval = expiry;
    if (expiry > 0 || session.journal !== null) this.persistence?.sessionOpened(session, channel.protocolVersion);
    if (this.keepWillsOfConnected && session.journal !== null) {
      // Replaces what an earlier connection of the client left (channelClosed clears it too).
      if (channel.will === null) this.persistence?.willCleared(session);
      else this.persistence?.willArmed(session, channel.will, Math.min(channel.willDelay, expiry) * 1000);
    }
    return { session, present };
  }

  newSession(tenant: Tenant, clientId: string): Session {
    const session = new Session(
      tenant.instanceId,
      clientId,
      this.options.maxInflight,
      // No per-session cap (0): a session may hold up to the instance cap.
      this.options.maxQueuedMessages > 0 ? this.options.maxQueuedMessages : this.options.maxQueuedPerInstance,
      this.counters,
    );
    tenant.sessions.set(clientId, session);
    this.registry.sessionCreated(session);
    return session;
  }

  channelConnected(channel: Channel): void {
    this.counters.connected++;
    channel.tenant!.connections++;
    this.tracer?.connected(channel);
    this.hooks.events?.connected(channel);
    this.extensions.clientConnected(channel);
  }

  /** A connected client is gone: detach, send or schedule its will, expire or keep the session. */
  channelClosed(channel: Channel): void {
    this.counters.connected--;
    channel.tenant!.connections--;
    this.hooks.events?.disconnected(channel);
    this.extensions.clientClosed(channel, channel.disconnectReceived);
    this.flow?.clientClosed(channel);
    const session = channel.session;
    if (session === null || session.link !== channel) return;
    session.detach();
    this.router.redispatchShared(channel.tenant!, session, session.expiryInterval === 0);
    // The will kept while connected goes: it is scheduled below, published, or discarded.
    if (this.keepWillsOfConnected) this.persistence?.willCleared(session);
    if (channel.will !== null && !channel.willDiscarded) this.scheduleWill(session, channel.will, channel.willDelay);
    if (session.expiryInterval === 0) {
      if (!this.closing) this.endSession(session);
      return;
    }
    if (session.journal !== null) this.persistence?.sessionDisconnected(session);
    if (!this.closing) this.startExpiry(session);
  }

  connectionGone(connection: Connection): void {
    this.connections.delete(connection);
  }

  // Subscriptions.

  /** Adds or replaces a subscription. Returns true if the session already had this filter. */
  subscribe(session: Session, key: string, options: SubscriptionOptions): boolean {
    const trie = this.tenant(session.instanceId).trie;
    const existed = session.subscriptions.has(key);
    session.setSubscription(key, options);
    this.persistence?.subscribed(session, key, options);
    const added =
      options.shareGroup === null ? trie.add(options.filter, session, options) : trie.addShared(options.shareGroup, options.filter, session, options);
    if (added && this.extensions.wantsInterest) this.extensions.interestChanged(session.instanceId, options.filter, true, options.shareGroup);
    return existed;
  }

  unsubscribe(session: Session, key: string): boolean {
    const options = session.subscriptions.get(key);
    if (options === undefined) return false;
    const trie = this.tenant(session.instanceId).trie;
    session.deleteSubscription(key);
    this.persistence?.unsubscribed(session, key);
    const removed = options.shareGroup === null ? trie.remove(options.filter, session) : trie.removeShared(options.shareGroup, options.filter, session);
    if (removed && this.extensions.wantsInterest) this.extensions.interestChanged(session.instanceId, options.filter, false, options.shareGroup);
    return true;
  }

  // Routing.

  /** Routes a message within its instance and keeps it if retained [MQTT-3.3.1-5]. */
  publish(tenant: Tenant, message: Message): void {
    tenant.messagesIn++;
    (message.topicStats ??= tenant.topicStats(message.topic)).in++;
    if (message.origin === null && this.tracer !== null) this.tracer.injected(tenant.instanceId, message);
    if (message.retain && tenant.retained.set(message)) this.persistence?.retained(tenant.instanceId, message);
    this.router.route(tenant, message);
    if (this.extensions.wantsPublished && message.topic.charCodeAt(0) !== 0x24 /* $ */) {
      this.extensions.messagePublished(tenant.instanceId, message, message.origin as Session | null);
    }
  }

  /**
   * A message another node of the cluster routed here (src/cluster): delivered to this node's
   * subscribers (or its P2P target) only. It was counted, traced, kept as retained and shown to
   * the rules on the node where it was published, so none of that happens again here.
   */
  deliverFromPeer(instanceId: string, message: Message): void {
    this.router.route(this.tenant(instanceId), message);
  }

  /**
   * Shared subscriptions are balanced by someone else (a cluster picks one node per group and
   * message, then calls deliverToShared there): routing here skips share groups from now on.
   */
  routeSharedElsewhere(): void {
    this.router.sharedElsewhere = true;
  }

  /** One delivery to one member of a share group of this node (as chosen by the cluster). False without such a group here. */
  deliverToShared(instanceId: string, group: string, filter: string, message: Message): boolean {
    const shared = this.tenants.get(instanceId)?.trie.getShared(group, filter);
    if (shared === undefined || shared.order.length === 0) return false;
    this.router.deliverToGroup(shared, message);
    return true;
  }

  /** A retained message set or cleared on another node of the cluster: kept here too. */
  retainFromPeer(instanceId: string, message: Message): void {
    if (this.tenant(instanceId).retained.set(message)) this.persistence?.retained(instanceId, message);
  }

  /**
   * Something the acknowledgement of the message being published must wait for besides the
   * store (a cluster: the other nodes accepting it). Set by a messagePublished listener, taken
   * by the publishing channel's ack in the same turn (takeAckHold).
   */
  holdAck(wait: Promise<void>): void {
    const held = this.ackHold;
    this.ackHold = held === null ? wait : Promise.all([held, wait]).then(() => undefined);
  }

  takeAckHold(): Promise<void> | null {
    const held = this.ackHold;
    if (held !== null) this.ackHold = null;
    return held;
  }

  /**
   * Publishes a server-made message to one client of an instance, without any subscription (a
   * P2P message from a backend with its own topic). False when the client has no session.
   */
  deliverTo(instanceId: string, clientId: string, message: Message): boolean {
    const tenant = this.tenant(instanceId);
    const target = this.registry.session(instanceId, clientId);
    tenant.messagesIn++;
    if (target === undefined) {
      this.counters.droppedNoSubscriber++;
      return false;
    }
    if (message.origin === null && this.tracer !== null) this.tracer.injected(instanceId, message);
    target.deliver({ message, qos: message.qos, retain: false, subscriptionIds: undefined, shared: null });
    return true;
  }

  /**
   * Forgets an instance entirely (it was deleted): its clients are disconnected, its sessions
   * end without publishing their wills, its queues and retained messages are deleted.
   */
  dropTenant(instanceId: string): void {
    const tenant = this.tenants.get(instanceId);
    if (tenant === undefined) return;
    for (const connection of [...this.connections]) {
      const channel = connection.channel;
      if (channel.instanceId !== instanceId || channel.state !== 'connected') continue;
      channel.willDiscarded = true;
      channel.terminate(RC.AdministrativeAction);
    }
    for (const session of [...tenant.sessions.values()]) {
      this.cancelWill(session);
      this.endSession(session);
    }
    // Every node of a cluster drops the instance itself: nothing to tell the others here.
    for (const message of tenant.retained.all(Date.now())) this.dropRetained(instanceId, message.topic);
    this.tenants.delete(instanceId);
  }

  /**
   * An operator's deletion of a retained message (the API): removed without publishing anything,
   * and told to the retainedDeleted listeners (a cluster deletes it on every node, as an empty
   * retained PUBLISH would). Returns false when there was none.
   */
  deleteRetained(instanceId: string, topic: string): boolean {
    if (!this.dropRetained(instanceId, topic)) return false;
    if (this.extensions.wantsRetainedDeleted) this.extensions.retainedDeleted(instanceId, topic);
    return true;
  }

  /** A retained message deleted on another node of the cluster: removed here too, nothing told. */
  deleteRetainedFromPeer(instanceId: string, topic: string): boolean {
    return this.dropRetained(instanceId, topic);
  }

  private dropRetained(instanceId: string, topic: string): boolean {
    const tenant = this.tenants.get(instanceId);
    if (tenant?.retained.get(topic) === undefined) return false;
    const tombstone = new Message(topic, Buffer.alloc(0), 0, true, undefined, 0, null);
    tenant.retained.set(tombstone);
    this.persistence?.retained(instanceId, tombstone);
    return true;
  }

  // Sessions moving between the nodes of a cluster (src/cluster/handover.ts).

  /** A session fetched from the cluster's store: on this node as if restored at start. */
  adoptSession(loaded: LoadedSession): void {
    if (this.persistence === null) return;
    const added = restoreSession(this, this.persistence, loaded, new Map(), Date.now());
    if (!this.extensions.wantsInterest) return;
    const { instanceId } = splitStoreKey(loaded.session.clientId);
    for (const { filter, shareGroup } of added) this.extensions.interestChanged(instanceId, filter, true, shareGroup);
  }

  /**
   * Lets go of a disconnected session whose client is opening it on another node: it leaves this
   * node without being deleted from the store (the other node owns it now); its pending will is
   * cancelled, as for a reconnect [MQTT-3.1.3-9]. False when it is not here or still connected.
   */
  handOverSession(instanceId: string, clientId: string): boolean {
    const session = this.tenants.get(instanceId)?.sessions.get(clientId);
    if (session === undefined || session.link !== null) return false;
    this.cancelWill(session);
    session.journal = null; // from here nothing of it is written: its record is the new owner's
    this.endSession(session);
    return true;
  }

  // Wills and expiry.

  private scheduleWill(session: Session, will: Message, delaySeconds: number): void {
    // The will goes out at the earlier of the will delay and the end of the session [MQTT-3.1.3-9].
    const delay = Math.min(delaySeconds, session.expiryInterval);
    if (delay === 0 || this.closing) {
      this.publishWill(session, will);
      return;
    }
    if (session.journal !== null) this.persistence?.willScheduled(session, will, Date.now() + delay * 1000);
    this.armWill(session, will, delay * 1000);
  }

  /** Starts the timer of a pending will (also used when restoring). */
  armWill(session: Session, will: Message, delayMs: number): void {
    const timer = setTimeout(() => {
      this.pendingWills.delete(session);
      this.willDue(session, will);
    }, Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
    timer.unref();
    this.pendingWills.set(session, { message: will, timer });
  }

  /**
   * A pending will is due (its delay ended, or its session did): its record goes and it is
   * published — in a cluster only once the record's removal says no other node took it over.
   */
  private willDue(session: Session, will: Message): void {
    const claim = session.journal === null ? null : this.willClaim;
    if (claim === null) {
      this.persistence?.willCleared(session);
      this.publishWill(session, will);
      return;
    }
    claim(session.instanceId, session.clientId).then(
      (mine) => {
        if (mine) this.publishWill(session, will);
        else this.logger.info({ clientId: session.clientId, instanceId: session.instanceId }, 'delayed will not published here: another node took it over');
      },
      (error: unknown) => {
        // Published rather than lost; a second copy only if another node took it over in that moment.
        this.logger.warn({ clientId: session.clientId, instanceId: session.instanceId, err: (error as Error).message }, 'cannot check whether another node took a delayed will over; publishing it');
        this.publishWill(session, will);
      },
    );
  }

  /** Wills were authorized at CONNECT (handlers/connect.ts), so they go out unchecked here. */
  publishWill(session: Session | null, will: Message, instanceId = session?.instanceId ?? this.options.defaultInstanceId): void {
    this.counters.willsPublished++;
    this.publish(this.tenant(instanceId), will);
  }

  /**
   * The client id opened a session on another node of the cluster (src/cluster): a will waiting
   * here for its delay is dropped, as a reconnect to this node would drop it [MQTT-3.1.3-9].
   * Returns true when there was one.
   */
  cancelWillOf(instanceId: string, clientId: string): boolean {
    const session = this.tenants.get(instanceId)?.sessions.get(clientId);
    if (session === undefined || !this.pendingWills.has(session)) return false;
    this.cancelWill(session);
    return true;
  }

  private cancelWill(session: Session): void {
    const pending = this.pendingWills.get(session);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this.pendingWills.delete(session);
    this.persistence?.willCleared(session);
  }

  /** Starts the expiry timer of a disconnected session (also used when restoring). */
  startExpiry(session: Session, ms = session.expiryInterval * 1000): void {
    ms = Math.min(Math.max(0, ms), MAX_TIMER_MS);
    session.expiryTimer = setTimeout(() => {
      session.expiryTimer = null;
      if (session.link === null) this.endSession(session);
    }, ms);
    session.expiryTimer.unref();
  }

  private cancelExpiry(session: Session): void {
    if (session.expiryTimer !== null) {
      clearTimeout(session.expiryTimer);
      session.expiryTimer = null;
    }
  }

  /**
   * Discards the session of a disconnected client (operators' "clear session"): subscriptions,
   * queue and stored state go, a pending will is published now. A connected client's session is
   * left alone ('connected'): kick it first.
   */
  discardSession(instanceId: string, clientId: string): 'discarded' | 'connected' | 'none' {
    const session = this.session(clientId, instanceId);
    if (session === undefined) return 'none';
    if (session.link !== null) return 'connected';
    this.endSession(session);
    return 'discarded';
  }

  /** Ends a session: its pending will goes out now, its subscriptions and queue go away. */
  private endSession(session: Session): void {
    this.cancelExpiry(session);
    const pending = this.pendingWills.get(session);
    if (pending !== undefined) {
      clearTimeout(pending.timer);
      this.pendingWills.delete(session);
      this.willDue(session, pending.message);
    }
    this.persistence?.sessionEnded(session);
    for (const key of [...session.subscriptions.keys()]) this.unsubscribe(session, key);
    const tenant = this.tenant(session.instanceId);
    this.router.redispatchShared(tenant, session, true);
    if (tenant.sessions.get(session.clientId) === session) {
      tenant.sessions.delete(session.clientId);
      this.registry.sessionEnded(session);
    }
    session.releaseWindow(); // its queue in memory goes with it
  }

  // Housekeeping.

  private sweep(): void {
    const now = Date.now();
    const { connectTimeoutMs, stuckClientTimeoutMs } = this.options;
    this.flow?.sweep(now);
    for (const connection of this.connections) {
      const channel = connection.channel;
      if (connection.closed) {
        if (now - connection.closedAt > CLOSE_GRACE_MS) connection.destroy();
        continue;
      }
      if (channel.state === 'awaiting-connect') {
        // From accept, not from the last byte: trickling bytes must not keep a socket.
        if (now - connection.acceptedAt > connectTimeoutMs) {
          this.counters.limitHits.hit('connect_timeout');
          channel.terminate();
        }
        continue;
      }
      // [MQTT-3.1.2-24] no packet for 1.5 × keepalive: the client is gone.
      // Not while flow control keeps the client unread (as RabbitMQ stops heartbeat checks of blocked connections).
      if (channel.keepalive > 0 && now - connection.lastReadAt > channel.keepalive * 1500 && !channel.flowPaused) {
        channel.log.info('keepalive timeout');
        this.counters.keepaliveTimeouts++;
        channel.terminate(RC.KeepAliveTimeout);
        continue;
      }
      if (connection.congestedSince !== 0 && now - connection.congestedSince > stuckClientTimeoutMs) {
        channel.log.warn('client not reading its output: disconnected');
        this.counters.stuckDisconnects++;
        channel.terminate();
      }
    }
  }

  /** Graceful shutdown: tell MQTT 5 clients why, close every connection, stop timers. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweepTimer);
    this.notes.close();
    this.dropLog.close();
    if (this.purgeTimer !== null) clearInterval(this.purgeTimer);
    for (const connection of [...this.connections]) connection.channel.terminate(RC.ServerShuttingDown);
    for (const pending of this.pendingWills.values()) clearTimeout(pending.timer);
    for (const tenant of this.tenants.values()) {
      for (const session of tenant.sessions.values()) this.cancelExpiry(session);
    }
    const deadline = Date.now() + 2000;
    while (this.connections.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const connection of this.connections) connection.destroy();
    await this.purgeRun;
    await this.persistence?.store.commit();
  }

  /**
   * Runs the store's housekeeping now (or joins the run in progress): expired sessions and
   * messages, queues of ended sessions, free pages given back to the file system. The broker
   * runs it every minute by itself; never rejects (a failure is logged).
   */
  housekeeping(): Promise<void> {
    const store = this.persistence?.store;
    if (store === undefined || this.closing) return Promise.resolve();
    this.purgeRun ??= this.purge(store).finally(() => (this.purgeRun = null));
    return this.purgeRun;
  }

  /** One bounded housekeeping step of the store (expired sessions, old queue entries). */
  private async purge(store: Store): Promise<void> {
    try {
      // Bounded steps until nothing is due; the store yields to the event loop between steps.
      for (let step = 0; step < PURGE_MAX_STEPS && !this.closing; step++) {
        // Entries of live sessions it purged come back as drops (Persistence → Session.storeDropped),
        // counted there per client and broker-wide, and traced.
        const result = await store.purgeExpired(Date.now(), PURGE_BUDGET);
        if (result.done) break;
        await new Promise((resolve) => setTimeout(resolve, PURGE_PAUSE_MS));
      }
    } catch (error) {
      this.logger.error({ err: error }, 'store housekeeping failed');
    }
  }

  /** Rebuilds the durable state from the store; call once, before any listener accepts. */
  async restore(): Promise<RestoreSummary> {
    return this.persistence === null ? { sessions: 0, retained: 0, wills: 0 } : restoreState(this, this.persistence);
  }
}
