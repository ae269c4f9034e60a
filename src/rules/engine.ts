/**
 * The rule runtime: attaches to the broker's extension points and runs every enabled rule.
 *
 *   PUBLISH ─▶ broker.publish ─▶ extensions.messagePublished ─▶ outbound rules whose filters match
 *                                                               └▶ Outbox.append (same group commit
 *                                                                  as the PUBACK) ─▶ Dispatcher ─▶ target
 *   CONNECT / close ─▶ extensions.clientConnected / clientClosed ─▶ status rules of the client's group
 *                                                               └▶ Outbox.append ─▶ Dispatcher ─▶ target
 *   source ─▶ InboundRule ─▶ broker.publish / deliverTo (P2P) ─▶ durable ─▶ source ack
 *
 * The broker never waits for a target: appends are in-memory index updates plus a store op, and
 * each rule's dispatcher runs on its own. Rules come from the registry (src/rules/registry.ts)
 * through `apply` / `remove`.
 */
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import type { Publisher } from '../broker/extensions.js';
import type { ClientHandle } from '../broker/hooks.js';
import { topicMatches } from '../protocol/topic.js';
import type { Message } from '../session/message.js';
import type { Store } from '../store/types.js';
import type { ConnectorRegistry, RuleMessage, SourceConnector, StatusEventType, TargetConnector, TargetItem } from './connectors/index.js';
import { Dispatcher } from './dispatcher.js';
import { InboundRule } from './inbound.js';
import { decodeItem, detached, encodeItem, messageMeta } from './items.js';
import { Outbox, type OverflowPolicy } from './outbox.js';
import type { BuiltinQueues } from './queues.js';
import { groupOf, statusEvent } from './status-event.js';
import type { DeadLetter, RuleStats } from './runtime.js';
import { DeliveryThread, isPackedTarget } from './thread/delivery-thread.js';
import { LaneDispatcher } from './thread/feeder.js';
import type { RuleTracer } from './tracer.js';

export type { DeadLetter, RuleStats } from './runtime.js';

/** A rule as the runtime runs it: URLs in clear (the registry keeps them sealed). */
export interface EngineRule {
  readonly id: string;
  readonly instanceId: string;
  readonly type: 'outbound' | 'inbound' | 'status';
  readonly enabled: boolean;
  readonly topics: readonly string[];
  readonly groups: readonly string[];
  /** Outbound / status: the target URL. */
  readonly target: string | null;
  /** Inbound: the source URL and the parent topic messages are published under. */
  readonly source: string | null;
  readonly parentTopic: string | null;
  /** Webhook signature secret. */
  readonly secret: string | null;
  readonly maxAttempts: number;
  readonly outboxMaxMessages: number;
  readonly outboxMaxBytes: number;
  readonly overflow: OverflowPolicy;
}

interface Running {
  rule: EngineRule;
  outbox: Outbox | null;
  /** On this thread (queue://, or without the delivery thread), or a lane on the delivery thread. */
  dispatcher: Dispatcher | LaneDispatcher | null;
  target: TargetConnector | null;
  inbound: InboundRule | null;
  /** Health of the target/source, refreshed by stats(). */
  health: { state: string; lastError?: string };
}

export interface RuleEngineDeps {
  readonly broker: Broker;
  readonly store: Store;
  /** The connector registry, imported on first use (the engines' client libraries are heavy). */
  readonly connectors: () => Promise<ConnectorRegistry>;
  /** The built-in queues (`queue://NAME` targets and sources live in this Ferry). */
  readonly queues: BuiltinQueues;
  readonly logger: Logger;
  /** The trace MsgId of a message, when tracing is on. */
  readonly msgIdOf?: (message: Message) => string | undefined;
  /** The rule hop of message traces (rule_out, rule_retry, rule_dead), when tracing is on. */
  readonly tracer?: RuleTracer | null;
  /**
   * False while this node may not deliver its outboxes (a cluster node whose lease on its logs is
   * unconfirmed or lost: src/store/jetstream/log-leases.ts); dispatchers wait. Absent: always.
   */
  readonly mayDeliver?: () => boolean;
  /**
   * Run the target connectors on the rule delivery thread (src/rules/thread; default). False:
   * on this thread, as before the thread existed (tests, and a comparison in the benchmarks).
   * `queue://` targets are always here: the built-in queues live in this thread's store.
   */
  readonly deliveryThread?: boolean;
}

const OVERFLOW_LOG_INTERVAL_MS = 10_000;

export class RuleEngine {
  private readonly running = new Map<string, Running>();
  /** Outbound and status rules by instance, for the hot path. */
  private readonly outboundByInstance = new Map<string, Running[]>();
  private readonly statusByInstance = new Map<string, Running[]>();
  private readonly detach: Array<() => void> = [];
  private lastOverflowLog = 0;
  private overflowSinceLog = 0;
  /** Outbox entries dropped over the bounds, all rules (metrics, alarms). */
  droppedTotal = 0;
  /** The thread the target connectors run on, started with the first of them. */
  private thread: DeliveryThread | null = null;

  constructor(private readonly deps: RuleEngineDeps) {
    const ext = deps.broker.extensions;
    this.detach.push(
      ext.onMessagePublished((instanceId, message, publisher) => this.published(instanceId, message, publisher)),
      ext.onClientConnected((client) => this.status(client, 'connect')),
      ext.onClientClosed((client, disconnectPacket) => {
        if (disconnectPacket) this.status(client, 'disconnect');
        this.status(client, 'tcpclean');
      }),
    );
  }

  /**
   * Starts, restarts or stops a rule to match `rule` (a disabled rule keeps its outbox).
   * `capturing` is called as soon as matching messages and events go into the rule's outbox —
   * before its target has connected, which may take a while (they wait in the outbox).
   */
  async apply(rule: EngineRule, capturing: () => void = () => {}): Promise<void> {
    await this.stopRunning(rule.id);
    const running: Running = { rule, outbox: null, dispatcher: null, target: null, inbound: null, health: { state: 'stopped' } };
    this.running.set(rule.id, running);
    if (rule.type === 'inbound') {
      if (rule.enabled && rule.source !== null && rule.parentTopic !== null) {
        const source: SourceConnector = isQueueUrl(rule.source)
          ? this.deps.queues.source(rule.instanceId, rule.source, rule.parentTopic)
          : (await this.deps.connectors()).createSource(rule.source, { parentTopic: rule.parentTopic, logger: this.deps.logger });
        running.inbound = new InboundRule(rule.id, rule.instanceId, source, this.deps.broker, this.deps.store, this.deps.logger, deadLogOf(rule.id));
        await running.inbound.start();
      }
      capturing();
      return;
    }
    const outbox = new Outbox(this.deps.store, rule.id, bounds(rule));
    outbox.onOverflow = (count) => this.overflowed(rule, count);
    await outbox.load();
    running.outbox = outbox;
    // Capture from now on; the dispatcher, once its target is up, finds the entries waiting.
    this.index(running);
    capturing();
    if (rule.enabled && rule.target !== null) {
      const target = isQueueUrl(rule.target)
        ? this.deps.queues.target(rule.instanceId, rule.target)
        : this.deps.deliveryThread === false
          ? (await this.deps.connectors()).createTarget(rule.target, { logger: this.deps.logger, ...(rule.secret === null ? {} : { secret: rule.secret }) })
          : this.deliveryThread().target(rule.target, rule.secret ?? undefined);
      running.target = target;
      await target.start();
      // Status rules carry no messages: nothing of theirs is in message traces.
      const hop = rule.type === 'outbound' ? (this.deps.tracer?.ruleHop(rule.instanceId, rule.id, schemeOf(rule.target)) ?? null) : null;
      // A target on the delivery thread gets its dispatcher there too (thread/lane.ts): no round
      // waits for this thread's turn. queue:// (and targets here, without the thread) keep theirs here.
      running.dispatcher = isPackedTarget(target)
        ? new LaneDispatcher(rule.id, this.deps.store, outbox, target, rule.maxAttempts, this.deps.logger, deadLogOf(rule.id), hop, this.deps.mayDeliver)
        : new Dispatcher(rule.id, this.deps.store, outbox, target, rule.maxAttempts, this.deps.logger, deadLogOf(rule.id), hop, this.deps.mayDeliver);
      running.dispatcher.start();
    }
  }

  /** Stops a rule; `purge` also deletes its outbox and dead letters (the rule was deleted). */
  async remove(ruleId: string, purge: boolean): Promise<void> {
    const running = this.running.get(ruleId);
    await this.stopRunning(ruleId);
    this.running.delete(ruleId);
    if (purge) {
      running?.outbox?.drop();
      if (running === undefined) this.deps.store.dropLog(`outbox/${ruleId}`);
      this.deps.store.dropLog(deadLogOf(ruleId));
      await this.deps.store.whenDurable();
    }
  }

  async close(): Promise<void> {
    for (const off of this.detach) off();
    await Promise.all([...this.running.keys()].map((id) => this.stopRunning(id)));
    await this.thread?.close();
  }

  /** Unexpected exits of the rule delivery thread since start (each one restarted). */
  get deliveryThreadRestarts(): number {
    return this.thread?.restarts ?? 0;
  }

  /** @internal The rule delivery thread, if it runs (tests crash it). */
  get deliveryThreadForTests(): DeliveryThread | null {
    return this.thread;
  }

  private deliveryThread(): DeliveryThread {
    this.thread ??= new DeliveryThread(this.deps.logger);
    return this.thread;
  }

  /** Counters with a fresh health check of the connector. */
  async stats(ruleId: string): Promise<RuleStats | undefined> {
    const running = this.running.get(ruleId);
    if (running === undefined) return undefined;
    const connector = running.target ?? running.inbound?.source ?? null;
    if (connector !== null) running.health = await connector.health();
    return this.statsNow(ruleId, false);
  }

  /** Counters at once, with the connector health last seen (refreshed in the background). */
  statsNow(ruleId: string, refresh = true): RuleStats | undefined {
    const running = this.running.get(ruleId);
    if (running === undefined) return undefined;
    if (refresh) void this.stats(ruleId).catch(() => undefined);
    const connector = running.target ?? running.inbound?.source ?? null;
    const d = running.dispatcher?.stats ?? running.inbound?.stats;
    const outbox = running.outbox;
    return {
      ruleId,
      enabled: running.rule.enabled,
      state: !running.rule.enabled ? 'disabled' : connector === null ? 'stopped' : running.health.state,
      delivered: d?.delivered ?? 0,
      failed: d?.failed ?? 0,
      retried: d?.retried ?? 0,
      deadLettered: d?.deadLettered ?? 0,
      dropped: outbox?.dropped ?? 0,
      outboxDepth: outbox?.depth ?? 0,
      outboxBytes: outbox?.bytes ?? 0,
      outboxOldestAgeMs: outbox?.oldestAge(Date.now()) ?? 0,
      lastError: d?.lastError ?? null,
      lastErrorAt: d?.lastErrorAt ?? null,
      target:
        connector === null
          ? null
          : { url: connector.url, state: running.health.state, ...(running.health.lastError === undefined ? {} : { lastError: running.health.lastError }) },
    };
  }

  /** Every running rule's counters, for /metrics. */
  allStats(): Array<{ rule: EngineRule; outbox: Outbox | null; stats: { delivered: number; failed: number; retried: number; deadLettered: number } | null }> {
    return [...this.running.values()].map((r) => ({ rule: r.rule, outbox: r.outbox, stats: r.dispatcher?.stats ?? r.inbound?.stats ?? null }));
  }

  async deadLetters(ruleId: string, page: { limit: number; after?: string }): Promise<{ items: DeadLetter[]; next?: string }> {
    const after = page.after === undefined ? 0 : Number(page.after);
    const limit = Math.max(1, Math.min(page.limit, 1000));
    const entries = await this.deps.store.readLog(deadLogOf(ruleId), Number.isFinite(after) ? after : 0, limit);
    const items = entries.map((entry) => deadLetterOf(ruleId, entry.seq, entry.meta, entry.payload));
    const last = entries[entries.length - 1];
    return entries.length === limit && last !== undefined ? { items, next: String(last.seq) } : { items };
  }

  /** Moves dead letters (all, or these ids) back into the rule's outbox, oldest first. */
  async replayDeadLetters(ruleId: string, ids?: readonly string[]): Promise<number> {
    const running = this.running.get(ruleId);
    if (running?.outbox === undefined || running.outbox === null) return 0;
    const log = deadLogOf(ruleId);
    const entries = ids === undefined ? await this.allEntries(log) : await this.deps.store.getLogEntries(log, ids.map(Number));
    let replayed = 0;
    for (const entry of entries) {
      const dead = JSON.parse(entry.meta) as { item: string };
      if (running.outbox.append(dead.item, entry.payload, Date.now())) replayed++;
      this.deps.store.removeLog(log, entry.seq);
    }
    await this.deps.store.whenDurable();
    return replayed;
  }

  async purgeDeadLetters(ruleId: string, ids?: readonly string[]): Promise<number> {
    const log = deadLogOf(ruleId);
    if (ids === undefined) {
      const count = (await this.allEntries(log)).length;
      this.deps.store.dropLog(log);
      await this.deps.store.whenDurable();
      return count;
    }
    const entries = await this.deps.store.getLogEntries(log, ids.map(Number));
    for (const entry of entries) this.deps.store.removeLog(log, entry.seq);
    await this.deps.store.whenDurable();
    return entries.length;
  }

  /**
   * Takes an entry of a dead node's outbox or dead letters (src/cluster/log-adoption.ts) into
   * this node's log of the same rule: an outbox entry through the outbox (its bounds, then its
   * dispatcher), a dead letter as it was. False when the rule does not run here.
   */
  adoptLogEntry(log: string, meta: string, payload: Buffer, createdAt: number): boolean {
    const slash = log.indexOf('/');
    const kind = log.slice(0, slash);
    const running = this.running.get(log.slice(slash + 1));
    if (running === undefined) return false;
    if (kind === 'outbox') {
      if (running.outbox === null) return false;
      running.outbox.append(meta, payload, createdAt); // refused over the bounds: counted and reported as any append
      return true;
    }
    if (kind !== 'dead') return false;
    this.deps.store.appendLog(log, meta, payload, createdAt);
    return true;
  }

  // The hot path.

  private published(instanceId: string, message: Message, publisher: Publisher | null): void {
    const rules = this.outboundByInstance.get(instanceId);
    if (rules === undefined) return;
    let meta: string | null = null;
    let payload = message.payload;
    let msgId = '';
    let now = 0;
    let item: TargetItem | undefined;
    const lazy = message.qos === 0;
    for (const running of rules) {
      if (!matchesAny(running.rule.topics, message.topic)) continue;
      if (meta === null) {
        now = Date.now();
        msgId = this.deps.msgIdOf?.(message) ?? '';
        // Its own bytes (a socket read's view would pin the whole read buffer): the outboxes' hot
        // windows keep the payload as it is, one copy for every rule.
        payload = detached(message.payload);
        const props = message.properties;
        meta = messageMeta(
          publisher?.clientId ?? '',
          message.topic,
          message.qos,
          publisher === null ? true : publisher.expiryInterval === 0,
          now,
          msgId,
          props?.userProperties,
          props?.contentType,
          expiryLeft(message, now),
        );
      }
      // A dispatcher on the delivery thread needs only meta and payload (they cross the thread
      // packed); one on this thread gets the item too, so that it does not decode what was just encoded.
      const onLane = running.dispatcher instanceof LaneDispatcher;
      if (item === undefined && !onLane) item = { type: 'message', message: this.ruleMessage(message, publisher, now, msgId, payload) };
      running.outbox!.append(meta, payload, now, onLane ? undefined : item, lazy, msgId);
    }
    // The PUBACK of this message waits for the commit that holds its outbox entries. A QoS 0
    // message is acknowledged to no one: its entries ride with the store's next batch (lazy)
    // instead of opening one per turn, and no acknowledgement waits for them.
    if (meta !== null && !lazy) this.deps.broker.persistence?.recordedElsewhere();
  }

  private status(client: ClientHandle, eventType: StatusEventType): void {
    const rules = this.statusByInstance.get(client.instanceId);
    if (rules === undefined) return;
    const group = groupOf(client.clientId);
    let item: { meta: string; payload: Buffer; item: TargetItem } | null = null;
    for (const running of rules) {
      if (!running.rule.groups.includes(group) && !running.rule.groups.includes('*')) continue;
      item ??= encodeItem({ type: 'status', event: statusEvent(client, eventType) } satisfies TargetItem);
      running.outbox!.append(item.meta, item.payload, Date.now(), item.item);
    }
  }

  /** The item of a published message (the same fields as its meta, see `published`). */
  private ruleMessage(message: Message, publisher: Publisher | null, bornTime: number, msgId: string, payload: Buffer): RuleMessage {
    const props = message.properties;
    const out: { -readonly [K in keyof RuleMessage]: RuleMessage[K] } = {
      clientId: publisher?.clientId ?? '',
      topic: message.topic,
      qos: message.qos,
      cleanSession: publisher === null ? true : publisher.expiryInterval === 0,
      bornTime,
      msgId,
      payload,
    };
    if (props?.userProperties !== undefined) out.userProperties = props.userProperties.map(([key, value]) => ({ key, value }));
    if (props?.contentType !== undefined) out.contentType = props.contentType;
    const expiry = expiryLeft(message, bornTime);
    if (expiry !== undefined) out.messageExpiryInterval = expiry;
    return out;
  }

  // Bookkeeping.

  private index(running: Running): void {
    const map = running.rule.type === 'outbound' ? this.outboundByInstance : running.rule.type === 'status' ? this.statusByInstance : null;
    if (map === null) return;
    // A disabled rule keeps its outbox but takes no new entries.
    if (!running.rule.enabled) return;
    const list = map.get(running.rule.instanceId) ?? [];
    map.set(running.rule.instanceId, [...list.filter((r) => r.rule.id !== running.rule.id), running]);
  }

  private unindex(ruleId: string): void {
    for (const map of [this.outboundByInstance, this.statusByInstance]) {
      for (const [instanceId, list] of map) {
        const kept = list.filter((r) => r.rule.id !== ruleId);
        if (kept.length === 0) map.delete(instanceId);
        else if (kept.length !== list.length) map.set(instanceId, kept);
      }
    }
  }

  private async stopRunning(ruleId: string): Promise<void> {
    const running = this.running.get(ruleId);
    if (running === undefined) return;
    this.unindex(ruleId);
    await running.dispatcher?.stop();
    await running.target?.stop();
    await running.inbound?.stop();
  }

  private async allEntries(log: string): Promise<Array<{ seq: number; meta: string; payload: Buffer }>> {
    const out: Array<{ seq: number; meta: string; payload: Buffer }> = [];
    let after = 0;
    for (;;) {
      const page = await this.deps.store.readLog(log, after, 1000);
      out.push(...page);
      if (page.length < 1000) return out;
      after = page[page.length - 1]!.seq;
    }
  }

  /** One warning per interval with the count, never one line per dropped message. */
  private overflowed(rule: EngineRule, count: number): void {
    this.droppedTotal += count;
    this.overflowSinceLog += count;
    const now = Date.now();
    if (now - this.lastOverflowLog < OVERFLOW_LOG_INTERVAL_MS) return;
    this.deps.logger.warn(
      { rule: rule.id, instanceId: rule.instanceId, dropped: this.overflowSinceLog, policy: rule.overflow },
      'rule outbox full: entries dropped (the target is slow or down)',
    );
    this.lastOverflowLog = now;
    this.overflowSinceLog = 0;
  }
}

/** The scheme of a target URL (`redis`, `amqp`, ...), never its credentials: it goes into traces. */
function schemeOf(url: string): string {
  const colon = url.indexOf(':');
  return colon < 0 ? '' : url.slice(0, colon).toLowerCase();
}

function isQueueUrl(url: string): boolean {
  return url.slice(0, 6).toLowerCase() === 'queue:';
}

function bounds(rule: EngineRule): { maxMessages: number; maxBytes: number; overflow: OverflowPolicy } {
  return { maxMessages: rule.outboxMaxMessages, maxBytes: rule.outboxMaxBytes, overflow: rule.overflow };
}

/** The remaining lifetime in seconds, as a forwarded MQTT 5 Message Expiry Interval would carry it; undefined: none. */
function expiryLeft(message: Message, now: number): number | undefined {
  return message.expiresAt === 0 ? undefined : Math.max(0, Math.round((message.expiresAt - now) / 1000));
}

function matchesAny(filters: readonly string[], topic: string): boolean {
  for (const filter of filters) if (topicMatches(filter, topic)) return true;
  return false;
}

export function deadLogOf(ruleId: string): string {
  return `dead/${ruleId}`;
}

function deadLetterOf(ruleId: string, seq: number, meta: string, payload: Buffer): DeadLetter {
  const dead = JSON.parse(meta) as { item: string; reason: string; attempts: number; at: number };
  let item: unknown;
  try {
    const parsed = JSON.parse(dead.item) as { t?: string };
    if (parsed.t === 'i') item = { ...parsed, payload: payload.toString('base64') };
    else {
      const decoded = decodeItem(dead.item, payload);
      item =
        decoded.type === 'status'
          ? { type: 'status', event: decoded.event }
          : { type: 'message', message: { ...decoded.message, payload: payload.toString('base64') } };
    }
  } catch {
    item = { raw: dead.item, payload: payload.toString('base64') };
  }
  return { id: String(seq), ruleId, at: dead.at, attempts: dead.attempts, reason: dead.reason, item };
}
