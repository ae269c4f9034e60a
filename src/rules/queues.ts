/**
 * Ferry's built-in durable queues (`queue://NAME`), for users with no broker of their own: each
 * queue of an instance is the durable log `queue/<instanceId>/<name>`. Backends append over HTTP
 * (or an outbound/status rule appends), and consume with receive → ack / nack:
 *
 *   receive(max, visibility, wait) ── leases up to `max` visible messages for `visibility` ms
 *                                     (long-polls up to `wait` ms when none is visible)
 *   ack(receipts)                  ── removes them (durable before the call answers)
 *   nack(receipts, delay)          ── visible again after `delay` (redelivered, `deliveries` + 1)
 *   a lease that times out         ── visible again: redelivery after the visibility timeout
 *
 * Leases live in memory: after a restart every unacknowledged message is visible again
 * (at least once). Queues exist once something is appended to them (or a rule names them).
 */
import { randomBytes } from 'node:crypto';
import type { QueueInfo, QueueMessageInput, QueueService, ReceivedQueueMessage } from './runtime.js';
import type { Store } from '../store/types.js';
import type {
  ConnectorFactory,
  ConnectorHealth,
  InboundHandler,
  SourceConnector,
  TargetConnector,
  TargetItem,
  DeliveryOutcome,
} from './connectors/index.js';
import { ConnectorUrlError } from './connectors/errors.js';
import { inboundItem, messageProperties, statusBody } from './connectors/properties.js';
import { detached } from './items.js';

/** Bytes of recently appended messages each queue keeps in memory for delivery. */
const CACHE_BYTES = 8 * 1024 * 1024;

interface CachedEntry {
  readonly payload: Buffer;
  readonly properties: Record<string, string>;
  readonly createdAt: number;
}

interface Lease {
  token: string;
  until: number;
}

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;
export const MAX_RECEIVE = 100;
export const MAX_WAIT_MS = 20_000;

/** The `queue` slot of the connector registry: URLs are checked there; the engine builds the connectors. */
export const queueFactory: ConnectorFactory = {
  target: {
    check: (url) => void queueNameOf(url.href),
    create: () => {
      throw new Error('queue:// targets are created by the rule engine');
    },
  },
  source: {
    check: (url) => void queueNameOf(url.href),
    create: () => {
      throw new Error('queue:// sources are created by the rule engine');
    },
  },
};

export function checkQueueName(name: string): void {
  if (!NAME.test(name)) throw new ConnectorUrlError(`queue name "${name}" must be 1-128 characters of A-Z a-z 0-9 _ . -`, 'queue');
}

/** The name in `queue://NAME` (host part), checked. */
export function queueNameOf(url: string): string {
  const parsed = new URL(url);
  const name = decodeURIComponent(parsed.hostname || parsed.pathname.replace(/^\/+/, ''));
  checkQueueName(name);
  return name;
}

class BuiltinQueue {
  private seqs: number[] = [];
  private times: number[] = [];
  private head = 0;
  private readonly gone = new Set<number>();
  private readonly leases = new Map<number, Lease>();
  private readonly deliveries = new Map<number, number>();
  /** Seqs found in the store at start: they may have been delivered before a crash (AMQP `redelivered`). */
  private readonly recovered = new Set<number>();
  private waiters: Array<() => void> = [];
  private readonly cache = new Map<number, CachedEntry>();
  private cachedBytes = 0;
  count = 0;

  constructor(
    private readonly store: Store,
    readonly log: string,
  ) {}

  index(seq: number, time: number, recovered = false): void {
    if (recovered) this.recovered.add(seq);
    this.seqs.push(seq);
    this.times.push(time);
    this.count++;
  }

  append(message: QueueMessageInput, now: number, recovered = false): number {
    const properties = message.properties ?? {};
    const seq = this.store.appendLog(this.log, JSON.stringify({ v: 1, p: properties }), message.payload, now);
    this.index(seq, now, recovered);
    // Kept in memory too (bounded), so delivering it soon needs no store read — a read waits
    // for the store's next commit, which would pace consumers at one batch per fsync.
    const bytes = message.payload.length + 256;
    if (this.cachedBytes + bytes <= CACHE_BYTES) {
      this.cache.set(seq, { payload: detached(message.payload), properties, createdAt: now });
      this.cachedBytes += bytes;
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
    return seq;
  }

  /** Up to `max` visible seqs (not leased, or lease expired), oldest first. */
  visible(max: number, now: number): number[] {
    this.compact();
    const out: number[] = [];
    for (let i = this.head; i < this.seqs.length && out.length < max; i++) {
      const seq = this.seqs[i]!;
      if (this.gone.has(seq)) continue;
      const lease = this.leases.get(seq);
      if (lease !== undefined && lease.until > now) continue;
      out.push(seq);
    }
    return out;
  }

  lease(seq: number, until: number): { token: string; deliveries: number; recovered: boolean } {
    const token = randomBytes(8).toString('hex');
    this.leases.set(seq, { token, until });
    const deliveries = (this.deliveries.get(seq) ?? 0) + 1;
    this.deliveries.set(seq, deliveries);
    return { token, deliveries, recovered: this.recovered.has(seq) };
  }

  /** The leased seq of a receipt when the lease is still this receipt's, else -1. */
  leased(receipt: string): number {
    const dot = receipt.indexOf('.');
    const seq = Number(receipt.slice(0, dot));
    const lease = this.leases.get(seq);
    return lease !== undefined && lease.token === receipt.slice(dot + 1) ? seq : -1;
  }

  /** The entry of a recent append still in memory. */
  cached(seq: number): CachedEntry | undefined {
    return this.cache.get(seq);
  }

  ack(seq: number): void {
    const cached = this.cache.get(seq);
    if (cached !== undefined) {
      this.cache.delete(seq);
      this.cachedBytes -= cached.payload.length + 256;
    }
    this.store.removeLog(this.log, seq);
    this.leases.delete(seq);
    this.deliveries.delete(seq);
    this.recovered.delete(seq);
    this.gone.add(seq);
    this.count--;
    this.compact();
  }

  nack(seq: number, visibleAt: number): void {
    const lease = this.leases.get(seq);
    if (lease !== undefined) lease.until = visibleAt;
    this.wakeAt(visibleAt);
  }

  inFlight(now: number): number {
    let n = 0;
    for (const lease of this.leases.values()) if (lease.until > now) n++;
    return n;
  }

  oldestAge(now: number): number {
    this.compact();
    return this.head < this.seqs.length ? Math.max(0, now - this.times[this.head]!) : 0;
  }

  /** Resolves on the next append, or after `ms`. */
  waitForMessages(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  private wakeAt(at: number): void {
    const delay = Math.max(0, at - Date.now());
    setTimeout(() => {
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }, delay).unref();
  }

  private compact(): void {
    while (this.head < this.seqs.length && this.gone.has(this.seqs[this.head]!)) {
      this.gone.delete(this.seqs[this.head]!);
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.seqs.length) {
      this.seqs = this.seqs.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * The built-in queues as the AMQP endpoint uses them: BuiltinQueues on one node, ClusterQueues
 * (src/cluster/queue-relay.ts) in a cluster, whose receive, ack and nack reach every node.
 */
export interface BuiltinQueueAccess extends QueueService {
  has(instanceId: string, name: string): boolean;
  /** True when the instance has any queue: lets a per-message hook skip its work on instances without. */
  hasAny(instanceId: string): boolean;
  declare(instanceId: string, name: string): void;
  appendNoWait(instanceId: string, name: string, message: QueueMessageInput): void;
  /** The instance's queues without waiting (AMQP queue.declare-ok): in a cluster, at most a second old. */
  listNow(instanceId: string): QueueInfo[];
}

/**
 * Queues kept elsewhere than in this node's store (a cluster's, in JetStream:
 * src/cluster/queue-relay.ts). Once BuiltinQueues.useShared() was called, everything goes there:
 * rule targets and sources, metrics, instance deletions, a dead node's queue entries.
 */
export interface SharedQueues extends BuiltinQueueAccess {
  all(): Array<{ instanceId: string } & QueueInfo>;
  dropInstance(instanceId: string): void;
  /** Takes an entry of a queue log (`queue/<instance>/<name>`); false when it cannot be read. */
  adopt(log: string, meta: string, payload: Buffer, createdAt: number): boolean;
}

export class BuiltinQueues implements BuiltinQueueAccess {
  private readonly queues = new Map<string, BuiltinQueue>();
  /** Queue names per instance: has() runs for every published message, without building a key. */
  private readonly names = new Map<string, Set<string>>();
  private shared: SharedQueues | null = null;

  constructor(private readonly store: Store) {}

  /** From now on the queues are `shared` (set once at start, before any rule or backend uses them). */
  useShared(shared: SharedQueues): void {
    this.shared = shared;
  }

  /** Rebuilds the queues' indexes from the store at start. */
  async load(): Promise<void> {
    for (const summary of await this.store.logSummaries('queue/')) {
      const queue = this.queueOfLog(summary.log);
      let after = 0;
      for (;;) {
        const page = await this.store.readLog(summary.log, after, 1000);
        for (const entry of page) queue.index(entry.seq, entry.createdAt, true);
        if (page.length < 1000) break;
        after = page[page.length - 1]!.seq;
      }
    }
  }

  async append(instanceId: string, name: string, messages: readonly QueueMessageInput[]): Promise<string[]> {
    checkQueueName(name);
    const queue = this.queue(instanceId, name);
    const now = Date.now();
    const ids = messages.map((m) => String(queue.append(m, now)));
    await this.store.whenDurable();
    return ids;
  }

  /** True once the queue exists (something was appended, or it was declared). */
  has(instanceId: string, name: string): boolean {
    return this.names.get(instanceId)?.has(name) === true;
  }

  hasAny(instanceId: string): boolean {
    return (this.names.get(instanceId)?.size ?? 0) > 0;
  }

  /**
   * Makes an (empty) queue exist, so appenders that only feed existing queues (the AMQP
   * endpoint's device data) start filling it. Not persisted here: whoever declares keeps the record.
   */
  declare(instanceId: string, name: string): void {
    checkQueueName(name);
    this.queue(instanceId, name);
  }

  /**
   * Takes an entry of a dead node's queue (src/cluster/log-adoption.ts) into this node's queue of
   * the same name, marked recovered (it may have been received there before the node died).
   */
  adoptLogEntry(log: string, meta: string, payload: Buffer, createdAt: number): boolean {
    if (!log.startsWith('queue/')) return false;
    if (this.shared !== null) return this.shared.adopt(log, meta, payload, createdAt);
    let properties: Record<string, string>;
    try {
      properties = (JSON.parse(meta) as { p: Record<string, string> }).p;
    } catch {
      return false; // left in place (reported by the adoption)
    }
    this.queueOfLog(log).append({ payload, properties }, createdAt, true);
    return true;
  }

  /** Appends in the current batch without waiting (a rule's target waits once per batch). */
  appendNoWait(instanceId: string, name: string, message: QueueMessageInput): void {
    this.queue(instanceId, name).append(message, Date.now());
  }

  async receive(
    instanceId: string,
    name: string,
    options: { max: number; visibilityTimeoutMs: number; waitMs: number },
  ): Promise<ReceivedQueueMessage[]> {
    checkQueueName(name);
    const queue = this.queue(instanceId, name);
    const max = Math.max(1, Math.min(options.max, MAX_RECEIVE));
    const deadline = Date.now() + Math.max(0, Math.min(options.waitMs, MAX_WAIT_MS));
    for (;;) {
      const now = Date.now();
      const seqs = queue.visible(max, now);
      if (seqs.length > 0) {
        // Leased before the read, so a concurrent receive cannot take the same messages.
        const until = now + Math.max(1000, options.visibilityTimeoutMs);
        const leases = new Map(seqs.map((seq) => [seq, queue.lease(seq, until)]));
        const entries = new Map<number, CachedEntry>();
        const missing: number[] = [];
        for (const seq of seqs) {
          const cached = queue.cached(seq);
          if (cached === undefined) missing.push(seq);
          else entries.set(seq, cached);
        }
        for (const entry of await this.store.getLogEntries(queue.log, missing)) {
          const meta = JSON.parse(entry.meta) as { p: Record<string, string> };
          entries.set(entry.seq, { payload: entry.payload, properties: meta.p, createdAt: entry.createdAt });
        }
        const out: ReceivedQueueMessage[] = [];
        for (const seq of seqs) {
          const entry = entries.get(seq);
          if (entry === undefined) continue; // removed from the store meanwhile
          const { token, deliveries, recovered } = leases.get(seq)!;
          const message = { id: String(seq), receipt: `${seq}.${token}`, payload: entry.payload, properties: entry.properties, deliveries, enqueuedAt: entry.createdAt };
          out.push(recovered ? { ...message, recovered } : message);
        }
        return out;
      }
      const left = deadline - now;
      if (left <= 0) return [];
      await queue.waitForMessages(Math.min(left, 1000));
    }
  }

  async ack(instanceId: string, name: string, receipts: readonly string[]): Promise<number> {
    const queue = this.queues.get(key(instanceId, name));
    if (queue === undefined) return 0;
    let n = 0;
    for (const receipt of receipts) {
      const seq = queue.leased(receipt);
      if (seq < 0) continue;
      queue.ack(seq);
      n++;
    }
    await this.store.whenDurable();
    return n;
  }

  nack(instanceId: string, name: string, receipts: readonly string[], delayMs = 0): Promise<number> {
    const queue = this.queues.get(key(instanceId, name));
    if (queue === undefined) return Promise.resolve(0);
    const visibleAt = Date.now() + Math.max(0, delayMs);
    let n = 0;
    for (const receipt of receipts) {
      const seq = queue.leased(receipt);
      if (seq < 0) continue;
      queue.nack(seq, visibleAt);
      n++;
    }
    return Promise.resolve(n);
  }

  listNow(instanceId: string): QueueInfo[] {
    return this.list(instanceId);
  }

  list(instanceId: string): QueueInfo[] {
    const now = Date.now();
    const prefix = `${instanceId}\u001f`;
    const out: QueueInfo[] = [];
    for (const [k, queue] of this.queues) {
      if (!k.startsWith(prefix)) continue;
      out.push({ name: k.slice(prefix.length), depth: queue.count, inFlight: queue.inFlight(now), oldestAgeMs: queue.oldestAge(now) });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Every queue with its instance (metrics). */
  all(): Array<{ instanceId: string } & QueueInfo> {
    if (this.shared !== null) return this.shared.all();
    const now = Date.now();
    return [...this.queues].map(([k, queue]) => {
      const [instanceId, name] = k.split('\u001f') as [string, string];
      return { instanceId, name, depth: queue.count, inFlight: queue.inFlight(now), oldestAgeMs: queue.oldestAge(now) };
    });
  }

  /** Deletes every queue of an instance (it was deleted). */
  dropInstance(instanceId: string): void {
    this.shared?.dropInstance(instanceId);
    const prefix = `${instanceId}\u001f`;
    for (const [k, queue] of [...this.queues]) {
      if (!k.startsWith(prefix)) continue;
      this.store.dropLog(queue.log);
      this.queues.delete(k);
    }
    this.names.delete(instanceId);
  }

  /** A rule's target: items appended to a queue, acknowledged once durable. */
  target(instanceId: string, url: string): TargetConnector {
    const name = queueNameOf(url);
    return new QueueTarget(this.shared ?? this, instanceId, name, `queue://${name}`, this.store);
  }

  /** A rule's source: received, published, acknowledged after the publish is durable. */
  source(instanceId: string, url: string, parentTopic: string): SourceConnector {
    const name = queueNameOf(url);
    return new QueueSource(this.shared ?? this, instanceId, name, `queue://${name}`, parentTopic);
  }

  private queue(instanceId: string, name: string): BuiltinQueue {
    const k = key(instanceId, name);
    let queue = this.queues.get(k);
    if (queue === undefined) {
      this.queues.set(k, (queue = new BuiltinQueue(this.store, `queue/${instanceId}/${name}`)));
      let names = this.names.get(instanceId);
      if (names === undefined) this.names.set(instanceId, (names = new Set()));
      names.add(name);
    }
    return queue;
  }

  private queueOfLog(log: string): BuiltinQueue {
    const rest = log.slice('queue/'.length);
    const slash = rest.lastIndexOf('/');
    return this.queue(rest.slice(0, slash), rest.slice(slash + 1));
  }
}

function key(instanceId: string, name: string): string {
  return `${instanceId}\u001f${name}`;
}

class QueueTarget implements TargetConnector {
  constructor(
    /** Appends join the store's batch (a shared queue's too: JetStreamStore.stagePublish), so one whenDurable covers the batch. */
    private readonly queues: BuiltinQueueAccess,
    private readonly instanceId: string,
    private readonly name: string,
    readonly url: string,
    private readonly store: Store,
  ) {}

  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  health(): Promise<ConnectorHealth> {
    return Promise.resolve({ state: 'connected' });
  }

  async deliver(batch: readonly TargetItem[]): Promise<DeliveryOutcome[]> {
    for (const item of batch) {
      if (item.type === 'message') {
        this.queues.appendNoWait(this.instanceId, this.name, { payload: item.message.payload, properties: messageProperties(item.message) });
      } else {
        this.queues.appendNoWait(this.instanceId, this.name, {
          payload: statusBody(item.event),
          properties: { eventType: item.event.eventType, clientId: item.event.clientId },
        });
      }
    }
    try {
      await this.store.whenDurable();
      return batch.map(() => ({ ok: true }));
    } catch (error) {
      const reason = `built-in queue not durable: ${(error as Error).message}`;
      return batch.map(() => ({ ok: false, reason, retryable: true }));
    }
  }
}

class QueueSource implements SourceConnector {
  private stopped = false;
  private running: Promise<void> | null = null;
  private lastError: string | undefined;

  constructor(
    private readonly queues: QueueService,
    private readonly instanceId: string,
    private readonly name: string,
    readonly url: string,
    private readonly parentTopic: string,
  ) {}

  start(): Promise<void> {
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  health(): Promise<ConnectorHealth> {
    return Promise.resolve(this.lastError === undefined ? { state: 'connected' } : { state: 'connected', lastError: this.lastError });
  }

  consume(handler: InboundHandler): void {
    if (this.running !== null) throw new Error('consume() called twice');
    this.running = this.loop(handler);
  }

  private async loop(handler: InboundHandler): Promise<void> {
    while (!this.stopped) {
      const batch = await this.queues.receive(this.instanceId, this.name, { max: 64, visibilityTimeoutMs: 30_000, waitMs: 1000 });
      for (const received of batch) {
        if (this.stopped) return;
        const record = { id: received.id, properties: received.properties, payload: received.payload, redelivered: received.deliveries > 1 };
        try {
          await handler(inboundItem(record, this.parentTopic));
          await this.queues.ack(this.instanceId, this.name, [received.receipt]);
        } catch (error) {
          this.lastError = (error as Error).message;
          await this.queues.nack(this.instanceId, this.name, [received.receipt], 1000);
        }
      }
    }
  }
}
