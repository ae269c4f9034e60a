/**
 * The routing core: accepts connections, keeps the session registry, routes published messages
 * to matching sessions (merging overlapping subscriptions), keeps retained messages, schedules
 * wills and session expiry, and sweeps connections for keepalive and stuck output.
 */
import type { Logger } from 'pino';
import type { ConnectPacket } from '../protocol/packets.js';
import type { ByteStream, ConnectionSink, PeerInfo } from '../transport/types.js';
import { Connection } from '../connection/connection.js';
import type { Channel } from '../channel/channel.js';
import { RC } from '../channel/reason.js';
import { Session, type Delivery, type SubscriptionOptions } from '../session/session.js';
import type { Message } from '../session/message.js';
import { SubscriptionTrie, type MatchVisitor, type SharedGroup } from '../topic/trie.js';
import type { BrokerOptions } from './options.js';
import { RetainedStore } from './retained.js';
import { AclAuthorizer, type Authorizer } from './acl.js';
import { BrokerCounters } from './counters.js';
import { Persistence } from './persistence.js';
import type { Store } from '../store/types.js';

export type AuthVerdict = { ok: true } | { ok: false; reasonCode: number };

export interface Authenticator {
  authenticate(connect: ConnectPacket, peer: PeerInfo): Promise<AuthVerdict> | AuthVerdict;
}

/** Default: anonymous clients are allowed or refused as configured. */
class AnonymousAuthenticator implements Authenticator {
  constructor(private readonly allowAnonymous: boolean) {}
  authenticate(): AuthVerdict {
    return this.allowAnonymous ? { ok: true } : { ok: false, reasonCode: RC.NotAuthorized };
  }
}

const SWEEP_INTERVAL_MS = 1000;
/** A socket we closed whose peer has not closed its side gets this long before destroy. */
const CLOSE_GRACE_MS = 5000;
/** setTimeout cannot wait longer than 2^31-1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Housekeeping of the store: how often, and how many rows at most per step. */
const PURGE_INTERVAL_MS = 60_000;
const PURGE_BUDGET = 2000;
/** Instance id of sessions until tenants exist. */
const DEFAULT_INSTANCE = 'mqtt-default';

interface PendingWill {
  readonly message: Message;
  readonly timer: NodeJS.Timeout;
}

export class Broker implements ConnectionSink {
  readonly counters = new BrokerCounters();
  readonly retained: RetainedStore;
  readonly sessions = new Map<string, Session>();
  private readonly trie = new SubscriptionTrie<Session, SubscriptionOptions>();
  private readonly connections = new Set<Connection>();
  private readonly pendingWills = new Map<Session, PendingWill>();
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly purgeTimer: NodeJS.Timeout | null = null;
  /** Durable copy of the state that must survive a restart; null when running without a store. */
  readonly persistence: Persistence | null;
  authenticator: Authenticator;
  authorizer: Authorizer;
  private closing = false;

  // Per-publish scratch state for merging overlapping subscriptions without allocation.
  private matchStamp = 0;
  private matchCount = 0;
  private readonly matchSessions: Session[] = [];
  private readonly matchQos: number[] = [];
  private readonly matchRetain: boolean[] = [];
  private readonly matchSubIds: Array<number[] | undefined> = [];
  private readonly matchGroups: Array<SharedGroup<Session, SubscriptionOptions>> = [];
  private routing: Message | null = null;
  private readonly visitor: MatchVisitor<Session, SubscriptionOptions>;

  constructor(
    readonly options: BrokerOptions,
    readonly logger: Logger,
    store: Store | null = null,
  ) {
    this.persistence = store === null ? null : new Persistence(store, logger);
    if (store !== null) {
      this.purgeTimer = setInterval(() => void this.purge(store), PURGE_INTERVAL_MS);
      this.purgeTimer.unref();
    }
    this.retained = new RetainedStore(options.maxRetainedMessages);
    this.authenticator = new AnonymousAuthenticator(options.allowAnonymous);
    this.authorizer = new AclAuthorizer(options.acl);
    this.visitor = {
      subscriber: (session, subscription) => this.collect(session, subscription),
      sharedGroup: (group) => this.matchGroups.push(group),
    };
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get subscriptionCount(): number {
    return this.trie.size;
  }

  accept(stream: ByteStream): void {
    if (this.closing) {
      stream.destroy();
      return;
    }
    const connection = new Connection(stream, this, this.logger);
    this.connections.add(connection);
    this.counters.connectionsAccepted++;
  }

  // Hooks used by the channel.

  authenticate(connect: ConnectPacket, peer: PeerInfo): Promise<AuthVerdict> | AuthVerdict {
    return this.authenticator.authenticate(connect, peer);
  }

  authorizePublish(channel: Channel, topic: string): boolean {
    return this.authorizer.canPublish(channel, topic);
  }

  authorizeSubscribe(channel: Channel, filter: string): boolean {
    return this.authorizer.canSubscribe(channel, filter);
  }

  /**
   * Finds or creates the session for a connecting client (MQTT 3.1.4): a connected holder of
   * the id is taken over first [MQTT-3.1.4-3]; clean start discards the old session.
   */
  openSession(channel: Channel, clientId: string, cleanStart: boolean, expiry: number): { session: Session; present: boolean } {
    let session = this.sessions.get(clientId);
    if (session?.link) {
      const previous = session.link as Channel;
      previous.log.info('session taken over');
      this.counters.takeovers++;
      previous.terminate(RC.SessionTakenOver);
      session = this.sessions.get(clientId); // may have ended with the old connection
    }
    if (session !== undefined && cleanStart) {
      this.endSession(session);
      session = undefined;
    }
    let present = false;
    if (session === undefined) {
      session = this.newSession(clientId);
    } else {
      present = true;
      this.cancelExpiry(session);
      this.cancelWill(session); // [MQTT-3.1.3-9] a reconnect before the will delay cancels it
    }
    session.expiryInterval = expiry;
    if (expiry > 0 || session.journal !== null) {
      this.persistence?.sessionOpened(session, DEFAULT_INSTANCE, channel.protocolVersion);
    }
    return { session, present };
  }

  channelConnected(_channel: Channel): void {
    this.counters.connected++;
  }

  /** A connected client is gone: detach, send or schedule its will, expire or keep the session. */
  channelClosed(channel: Channel): void {
    this.counters.connected--;
    const session = channel.session;
    if (session === null || session.link !== channel) return;
    session.detach();
    this.redispatchShared(session);
    if (channel.will !== null && !channel.willDiscarded) this.scheduleWill(session, channel.will, channel.willDelay);
    if (session.expiryInterval === 0) {
      if (!this.closing) this.endSession(session);
      return;
    }
    if (session.journal !== null) this.persistence?.sessionDisconnected(session);
    if (!this.closing) this.startExpiry(session);
  }

  private newSession(clientId: string): Session {
    const session = new Session(clientId, this.options.maxInflight, this.options.maxQueuedMessages, this.counters);
    this.sessions.set(clientId, session);
    return session;
  }

  connectionGone(connection: Connection): void {
    this.connections.delete(connection);
  }

  // Subscriptions.

  /** Adds or replaces a subscription. Returns true if the session already had this filter. */
  subscribe(session: Session, key: string, options: SubscriptionOptions): boolean {
    const existed = session.subscriptions.has(key);
    session.subscriptions.set(key, options);
    this.persistence?.subscribed(session, key, options);
    if (options.shareGroup === null) this.trie.add(options.filter, session, options);
    else this.trie.addShared(options.shareGroup, options.filter, session, options);
    return existed;
  }

  unsubscribe(session: Session, key: string): boolean {
    const options = session.subscriptions.get(key);
    if (options === undefined) return false;
    session.subscriptions.delete(key);
    this.persistence?.unsubscribed(session, key);
    if (options.shareGroup === null) this.trie.remove(options.filter, session);
    else this.trie.removeShared(options.shareGroup, options.filter, session);
    return true;
  }

  // Routing.

  /** Routes a message to every matching session and keeps it if retained [MQTT-3.3.1-5]. */
  publish(message: Message): void {
    if (message.retain && this.retained.set(message)) this.persistence?.retained(message);
    this.route(message);
  }

  private route(message: Message): void {
    this.routing = message;
    this.matchStamp++;
    this.matchCount = 0;
    this.matchGroups.length = 0;
    this.trie.match(message.topic, this.visitor);
    this.routing = null;
    const count = this.matchCount;
    for (let i = 0; i < count; i++) {
      const session = this.matchSessions[i]!;
      this.matchSessions[i] = undefined as unknown as Session; // do not pin sessions
      session.deliver({
        message,
        qos: this.matchQos[i] as 0 | 1 | 2,
        retain: this.matchRetain[i]!,
        subscriptionIds: this.matchSubIds[i],
        shared: null,
      });
    }
    const groups = this.matchGroups;
    for (let i = 0; i < groups.length; i++) this.deliverToGroup(groups[i]!, message);
    groups.length = 0;
  }

  /**
   * One copy per session at the highest QoS of its matching subscriptions, carrying every
   * matching subscription identifier (MQTT 3.3.4; 3.1.1 allows the single copy too).
   */
  private collect(session: Session, subscription: SubscriptionOptions): void {
    const message = this.routing!;
    // [MQTT-3.8.3-3] No Local: not back to the publisher.
    if (subscription.noLocal && message.origin === session) return;
    const qos = subscription.qos < message.qos ? subscription.qos : message.qos;
    // [MQTT-3.3.1-12] [MQTT-3.3.1-13] Retain As Published, else RETAIN 0 on normal delivery.
    const retain = subscription.retainAsPublished && message.retain;
    const subId = subscription.subscriptionId;
    if (session.matchStamp !== this.matchStamp) {
      session.matchStamp = this.matchStamp;
      const slot = this.matchCount++;
      session.matchSlot = slot;
      this.matchSessions[slot] = session;
      this.matchQos[slot] = qos;
      this.matchRetain[slot] = retain;
      this.matchSubIds[slot] = subId === 0 ? undefined : [subId];
      return;
    }
    const slot = session.matchSlot;
    if (qos > this.matchQos[slot]!) this.matchQos[slot] = qos;
    if (retain) this.matchRetain[slot] = true;
    if (subId !== 0) {
      const ids = this.matchSubIds[slot];
      if (ids === undefined) this.matchSubIds[slot] = [subId];
      else if (!ids.includes(subId)) ids.push(subId);
    }
  }

  /** Round robin over the group, preferring connected members (MQTT 4.8.2). */
  private deliverToGroup(group: SharedGroup<Session, SubscriptionOptions>, message: Message, skip?: Session): void {
    const members = group.order;
    const size = members.length;
    if (size === 0) return;
    let chosen: Session | undefined;
    for (let i = 0; i < size; i++) {
      const candidate = members[(group.cursor + i) % size]!;
      if (candidate.online && candidate !== skip) {
        chosen = candidate;
        group.cursor = (group.cursor + i + 1) % size;
        break;
      }
    }
    if (chosen === undefined) {
      // Nobody connected: queue on a persistent member, if any.
      chosen = members.find((member) => member !== skip && member.expiryInterval > 0);
      if (chosen === undefined) {
        this.counters.droppedNoSubscriber++;
        return;
      }
    }
    const options = group.members.get(chosen)!;
    const qos = options.qos < message.qos ? options.qos : message.qos;
    chosen.deliver({
      message,
      qos,
      retain: options.retainAsPublished && message.retain,
      subscriptionIds: options.subscriptionId === 0 ? undefined : [options.subscriptionId],
      shared: { group: group.name, filter: group.filter },
    });
  }

  /** Gives a departed member's unfinished shared-subscription messages to other members. */
  private redispatchShared(session: Session): void {
    const deliveries = session.takeSharedDeliveries();
    for (const delivery of deliveries) this.redispatch(delivery, session);
  }

  private redispatch(delivery: Delivery, from: Session): void {
    const shared = delivery.shared!;
    const group = this.trie.getShared(shared.group, shared.filter);
    if (group === undefined || (group.order.length === 1 && group.order[0] === from)) {
      // No other member: keep it with the session so nothing is lost.
      if (from.expiryInterval > 0) from.enqueue(delivery);
      else this.counters.droppedNoSubscriber++;
      return;
    }
    this.counters.sharedRedispatched++;
    this.deliverToGroup(group, delivery.message, from);
  }

  // Wills and expiry.

  private scheduleWill(session: Session, will: Message, delaySeconds: number): void {
    // The will goes out at the earlier of the will delay and the end of the session [MQTT-3.1.3-9].
    const delay = Math.min(delaySeconds, session.expiryInterval);
    if (delay === 0 || this.closing) {
      this.publishWill(will);
      return;
    }
    if (session.journal !== null) this.persistence?.willScheduled(session, will, Date.now() + delay * 1000);
    this.armWill(session, will, delay * 1000);
  }

  private armWill(session: Session, will: Message, delayMs: number): void {
    const timer = setTimeout(() => {
      this.pendingWills.delete(session);
      this.persistence?.willCleared(session);
      this.publishWill(will);
    }, Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
    timer.unref();
    this.pendingWills.set(session, { message: will, timer });
  }

  private publishWill(will: Message): void {
    if (!this.authorizer.canPublishWill(will.topic)) return;
    this.counters.willsPublished++;
    this.publish(will);
  }

  private cancelWill(session: Session): void {
    const pending = this.pendingWills.get(session);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this.pendingWills.delete(session);
    this.persistence?.willCleared(session);
  }

  private startExpiry(session: Session, ms = session.expiryInterval * 1000): void {
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

  /** Ends a session: its pending will goes out now, its subscriptions and queue go away. */
  private endSession(session: Session): void {
    this.cancelExpiry(session);
    const pending = this.pendingWills.get(session);
    if (pending !== undefined) {
      this.cancelWill(session);
      this.publishWill(pending.message);
    }
    this.persistence?.sessionEnded(session);
    for (const key of [...session.subscriptions.keys()]) this.unsubscribe(session, key);
    this.redispatchShared(session);
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
  }

  // Housekeeping.

  private sweep(): void {
    const now = Date.now();
    const { connectTimeoutMs, stuckClientTimeoutMs } = this.options;
    for (const connection of this.connections) {
      const channel = connection.channel;
      if (connection.closed) {
        if (now - connection.closedAt > CLOSE_GRACE_MS) connection.destroy();
        continue;
      }
      if (channel.state === 'awaiting-connect') {
        if (now - connection.lastReadAt > connectTimeoutMs) channel.terminate();
        continue;
      }
      // [MQTT-3.1.2-24] no packet for 1.5 × keepalive: the client is gone.
      if (channel.keepalive > 0 && now - connection.lastReadAt > channel.keepalive * 1500) {
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
    if (this.purgeTimer !== null) clearInterval(this.purgeTimer);
    for (const connection of [...this.connections]) connection.channel.terminate(RC.ServerShuttingDown);
    for (const pending of this.pendingWills.values()) clearTimeout(pending.timer);
    for (const session of this.sessions.values()) this.cancelExpiry(session);
    const deadline = Date.now() + 2000;
    while (this.connections.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const connection of this.connections) connection.destroy();
    await this.persistence?.store.commit();
  }

  /** One bounded housekeeping step of the store (expired sessions, old queue entries). */
  private async purge(store: Store): Promise<void> {
    try {
      const result = await store.purgeExpired(Date.now(), PURGE_BUDGET);
      this.counters.droppedExpired += result.expiredMessages + result.retentionDropped;
    } catch (error) {
      this.logger.error({ err: error }, 'store housekeeping failed');
    }
  }

  /**
   * Rebuilds sessions, queues, in-flight state, retained messages and pending wills from the
   * store (at start, before any listener accepts). Session expiry and will delays continue
   * from when the client disconnected; a client connected at a crash counts as gone now.
   */
  async restore(): Promise<{ sessions: number; retained: number; wills: number }> {
    const persistence = this.persistence;
    if (persistence === null) return { sessions: 0, retained: 0, wills: 0 };
    const store = persistence.store;
    const messages = new Map<number, Message>();
    const now = Date.now();
    let sessions = 0;
    for await (const loaded of store.loadSessions()) {
      const record = loaded.session;
      const session = this.newSession(record.clientId);
      session.expiryInterval = Math.min(record.expiryInterval, this.options.maxSessionExpiry);
      session.journal = persistence;
      for (const sub of loaded.subscriptions) {
        const options: SubscriptionOptions = {
          qos: sub.qos,
          noLocal: sub.noLocal,
          retainAsPublished: sub.retainAsPublished,
          retainHandling: sub.retainHandling,
          subscriptionId: sub.subscriptionId,
          shareGroup: sub.shareGroup,
          filter: sub.filter,
        };
        session.subscriptions.set(sub.key, options);
        if (options.shareGroup === null) this.trie.add(options.filter, session, options);
        else this.trie.addShared(options.shareGroup, options.filter, session, options);
      }
      for (const entry of loaded.inflight) {
        const delivery = entry.message === null ? null : persistence.deliveryFrom(entry, persistence.messageFrom(entry.message, messages));
        session.inflight.set(entry.packetId, { packetId: entry.packetId, qos: entry.qos, delivery, released: entry.released });
      }
      for (const id of loaded.inboundQos2) session.inboundQos2.add(id);
      let after = 0;
      while (session.queue.length < session.queue.capacity) {
        const page = await store.readQueue(record.clientId, after, 500);
        if (page.length === 0) break;
        for (const queued of page) {
          const delivery = persistence.deliveryFrom(queued, persistence.messageFrom(queued.message, messages));
          delivery.seq = queued.seq;
          session.queue.push(delivery);
          after = queued.seq;
        }
      }
      const gone = record.disconnectedAt ?? now;
      this.startExpiry(session, session.expiryInterval * 1000 - (now - gone));
      sessions++;
    }
    let retained = 0;
    for await (const record of store.loadRetained()) {
      this.retained.set(persistence.messageFrom(record.message, messages));
      retained++;
    }
    let wills = 0;
    for await (const record of store.loadWills()) {
      const session = this.sessions.get(record.clientId);
      const will = persistence.willFrom(record);
      if (session === undefined) this.publishWill(will);
      else this.armWill(session, will, record.publishAt - now);
      wills++;
    }
    return { sessions, retained, wills };
  }
}
