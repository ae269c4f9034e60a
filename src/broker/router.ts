/**
 * Routing of one message inside one tenant: match the subscription index, merge overlapping
 * subscriptions into one delivery per session, pick one member per shared group, and deliver
 * point-to-point messages (`<parent>/p2p/<clientId>`) to their target without a subscription.
 *
 * The per-publish scratch state lives in arrays reused across publishes, so routing a message
 * allocates only the Delivery records themselves.
 */
import type { Message } from '../session/message.js';
import type { Delivery, Session, SubscriptionOptions } from '../session/session.js';
import type { MatchVisitor, SharedGroup } from '../topic/trie.js';
import type { BrokerCounters } from './counters.js';
import type { Tenant } from './tenant.js';

/** Second topic level that marks a point-to-point message (managed service §2.5). */
const P2P_LEVEL = '/p2p/';

export class Router {
  /** Share groups are balanced elsewhere (a cluster, Broker.routeSharedElsewhere): route() skips them. */
  sharedElsewhere = false;
  private stamp = 0;
  private count = 0;
  private readonly sessions: Session[] = [];
  private readonly qos: number[] = [];
  private readonly retain: boolean[] = [];
  private readonly subscriptionIds: Array<number[] | undefined> = [];
  private readonly groups: Array<SharedGroup<Session, SubscriptionOptions>> = [];
  private current: Message | null = null;
  private readonly visitor: MatchVisitor<Session, SubscriptionOptions>;

  constructor(
    private readonly counters: BrokerCounters,
    /** The session of a P2P target (the broker's client registry). */
    private readonly sessionOf: (instanceId: string, clientId: string) => Session | undefined,
  ) {
    this.visitor = {
      subscriber: (session, subscription) => this.collect(session, subscription),
      sharedGroup: (group) => this.groups.push(group),
    };
  }

  route(tenant: Tenant, message: Message): void {
    const topic = message.topic;
    const p2p = topic.indexOf(P2P_LEVEL);
    if (p2p > 0 && topic.indexOf('/') === p2p) {
      this.routeP2p(tenant, message, topic.slice(p2p + P2P_LEVEL.length));
      return;
    }
    this.current = message;
    this.stamp++;
    this.count = 0;
    tenant.trie.match(topic, this.visitor);
    this.current = null;
    const count = this.count;
    for (let i = 0; i < count; i++) {
      const session = this.sessions[i]!;
      this.sessions[i] = undefined as unknown as Session; // do not pin sessions
      session.deliver({
        message,
        qos: this.qos[i] as 0 | 1 | 2,
        retain: this.retain[i]!,
        subscriptionIds: this.subscriptionIds[i],
        shared: null,
      });
    }
    const groups = this.groups;
    if (!this.sharedElsewhere) for (let i = 0; i < groups.length; i++) this.deliverToGroup(groups[i]!, message);
    groups.length = 0;
  }

  /** `<parent>/p2p/<clientId>` goes to that client of the same instance only. */
  private routeP2p(tenant: Tenant, message: Message, clientId: string): void {
    const target = this.sessionOf(tenant.instanceId, clientId);
    if (target === undefined) {
      this.counters.droppedNoSubscriber++;
      return;
    }
    target.deliver({ message, qos: message.qos, retain: false, subscriptionIds: undefined, shared: null });
  }

  /**
   * One copy per session at the highest QoS of its matching subscriptions, carrying every
   * matching subscription identifier (MQTT 3.3.4; 3.1.1 allows the single copy too).
   */
  private collect(session: Session, subscription: SubscriptionOptions): void {
    const message = this.current!;
    // [MQTT-3.8.3-3] No Local: not back to the publisher.
    if (subscription.noLocal && message.origin === session) return;
    const qos = subscription.qos < message.qos ? subscription.qos : message.qos;
    // [MQTT-3.3.1-12] [MQTT-3.3.1-13] Retain As Published, else RETAIN 0 on normal delivery.
    const retain = subscription.retainAsPublished && message.retain;
    const subId = subscription.subscriptionId;
    if (session.matchStamp !== this.stamp) {
      session.matchStamp = this.stamp;
      const slot = this.count++;
      session.matchSlot = slot;
      this.sessions[slot] = session;
      this.qos[slot] = qos;
      this.retain[slot] = retain;
      this.subscriptionIds[slot] = subId === 0 ? undefined : [subId];
      return;
    }
    const slot = session.matchSlot;
    if (qos > this.qos[slot]!) this.qos[slot] = qos;
    if (retain) this.retain[slot] = true;
    if (subId !== 0) {
      const ids = this.subscriptionIds[slot];
      if (ids === undefined) this.subscriptionIds[slot] = [subId];
      else if (!ids.includes(subId)) ids.push(subId);
    }
  }

  /** Round robin over the group, preferring connected members (MQTT 4.8.2). */
  deliverToGroup(group: SharedGroup<Session, SubscriptionOptions>, message: Message, skip?: Session): void {
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
  redispatchShared(tenant: Tenant, session: Session, ending: boolean): void {
    for (const delivery of session.takeSharedDeliveries(ending)) this.redispatch(tenant, delivery, session);
  }

  private redispatch(tenant: Tenant, delivery: Delivery, from: Session): void {
    const shared = delivery.shared!;
    const group = tenant.trie.getShared(shared.group, shared.filter);
    if (group === undefined || (group.order.length === 1 && group.order[0] === from)) {
      // No other member: keep it with the session so nothing is lost.
      if (from.expiryInterval > 0) from.enqueue(delivery);
      else this.counters.droppedNoSubscriber++;
      return;
    }
    this.counters.sharedRedispatched++;
    this.deliverToGroup(group, delivery.message, from);
  }
}
