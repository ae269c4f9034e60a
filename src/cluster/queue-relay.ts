/**
 * The built-in queues (`queue://NAME`) of a cluster with its state in JetStream (docs/cluster.md,
 * "Built-in queues across nodes"): one queue cluster-wide, kept by JetStream (queue-stream.ts), so
 * every node appends to and receives from the same FIFO, and sees the same depth.
 *
 *   append (HTTP, a rule, AMQP device data) ─▶ a stream message, in the store's batch: durable
 *                                              when the store's whenDurable() says so, as on one node
 *   receive(max, visibility, wait)          ─▶ pull: JetStream delivers each message to one receive
 *                                              on one node; this node holds its lease
 *   lease                                   ─▶ +WPI while the visibility lasts, -NAK when it ends;
 *                                              this node dead: the ack wait ends it (redelivered)
 *   ack / nack (receipt `<node>@<lease>`)   ─▶ on the holding node (NATS request on
 *                                              `<prefix>.bq.<node>` from another node): +ACK / -NAK
 *
 * Leases live on the node whose receive got the message, so a receipt is current only while its
 * lease is: acknowledged, given back or timed out, it counts for nothing, and a receipt of a node
 * that died counts for nothing (its message comes again after the consumer's ack wait).
 * Messages in a node's own queue logs from before (single-node queues, the relay of earlier
 * versions) move into the stream at start; a dead node's move when its logs are adopted.
 */
import { randomBytes } from 'node:crypto';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { checkQueueName, MAX_RECEIVE, MAX_WAIT_MS, type SharedQueues } from '../rules/queues.js';
import type { QueueInfo, QueueMessageInput, ReceivedQueueMessage } from '../rules/runtime.js';
import type { Store } from '../store/types.js';
import { token, untoken } from '../store/jetstream/layout.js';
import { QueueStream, type Pulled } from './queue-stream.js';
import type { ClusterOptions } from './options.js';
import { LEASE_HEARTBEATS } from './store.js';

/** Separates the holding node from its lease id in a receipt. */
const AT = '@';
/** How often the depth snapshot (AMQP queue.declare-ok, /metrics, has()) is read again, ms. */
const REFRESH_MS = 1000;
/** A long poll waits on JetStream in slices of at most this (a pull's expiry). */
const POLL_SLICE_MS = 5000;

/** What the queues need from the JetStream store: its batch (appends are durable with it) and its logs (migration). */
export interface QueueStoreAccess extends Pick<Store, 'whenDurable' | 'logSummaries' | 'readLog' | 'removeLog'> {
  stagePublish(subject: string, data: Uint8Array, msgID: string): void;
}

type Request = { op: 'ack'; leases: string[] } | { op: 'nack'; leases: string[]; delayMs: number };

interface Lease {
  readonly instanceId: string;
  readonly name: string;
  readonly ackSubject: string;
  readonly timer: NodeJS.Timeout;
}

interface Entry {
  /** The message's properties. */
  readonly p: Record<string, string>;
  /** When it was first appended (ms). */
  readonly t: number;
  /** Taken from a queue log (of a node that died, or from before): it may have been received before. */
  readonly r?: 1;
}

export class ClusterQueues implements SharedQueues {
  /** Queues this node knows to exist: declared, appended or received here, or in the snapshot. */
  private readonly known = new Map<string, Set<string>>();
  private snapshot: Array<{ instanceId: string } & QueueInfo> = [];
  private readonly leases = new Map<string, Lease>();
  private readonly subscription: Subscription;
  private readonly timers: NodeJS.Timeout[] = [];
  private refreshing: Promise<void> | null = null;
  private soon: NodeJS.Timeout | null = null;
  private appendCounter = 0;
  private readonly idPrefix: string;
  private closed = false;

  constructor(
    private readonly store: QueueStoreAccess,
    private readonly stream: QueueStream,
    private readonly connection: NatsConnection,
    private readonly prefix: string,
    private readonly nodeId: string,
    /** How long a request to another node may take, ms (clusterAckTimeoutMs). */
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {
    this.idPrefix = `${nodeId}/${Date.now() * 1000}`;
    this.subscription = connection.subscribe(this.holderSubject(nodeId), {
      callback: (err, msg) => {
        if (err !== null) return;
        this.serve(msg.data).then(
          (answer) => msg.respond(JSON.stringify(answer)),
          (e: unknown) => msg.respond(JSON.stringify({ error: (e as Error).message })),
        );
      },
    });
  }

  /** Opens the stream, moves this node's queue logs into it, and starts the lease and depth timers. */
  async start(): Promise<void> {
    await this.stream.open();
    await this.migrate();
    // Leases outlasting the ack wait are kept alive; a third of it leaves room for a slow turn.
    this.timers.push(setInterval(() => this.keepLeases(), Math.max(100, Math.floor(this.stream.ackWaitMs / 3))).unref());
    this.timers.push(setInterval(this.refreshNow, REFRESH_MS).unref());
    await this.refresh();
  }

  /** No longer used: every node reads the one queue (kept for the cluster's heartbeat hook). */
  setLive(): void {}

  async append(instanceId: string, name: string, messages: readonly QueueMessageInput[]): Promise<string[]> {
    checkQueueName(name);
    const ids = messages.map((m) => this.stage(instanceId, name, m.payload, { p: m.properties ?? {}, t: Date.now() }));
    await this.store.whenDurable();
    // Answered once the queue can be listed and received from on every node.
    await this.stream.ensureConsumer(instanceId, name);
    return ids;
  }

  appendNoWait(instanceId: string, name: string, message: QueueMessageInput): void {
    this.stage(instanceId, name, message.payload, { p: message.properties ?? {}, t: Date.now() });
  }

  /** An entry of a dead node's queue log (log-adoption.ts), durable with the adopter's next batch. */
  adopt(log: string, meta: string, payload: Buffer, createdAt: number): boolean {
    const queue = queueOfLog(log);
    if (queue === null) return false;
    let properties: Record<string, string>;
    try {
      properties = (JSON.parse(meta) as { p: Record<string, string> }).p;
    } catch {
      return false; // left in place (reported by the adoption)
    }
    this.stage(queue.instanceId, queue.name, payload, { p: properties, t: createdAt, r: 1 });
    return true;
  }

  has(instanceId: string, name: string): boolean {
    return this.known.get(instanceId)?.has(name) === true;
  }

  hasAny(instanceId: string): boolean {
    return (this.known.get(instanceId)?.size ?? 0) > 0;
  }

  declare(instanceId: string, name: string): void {
    checkQueueName(name);
    this.remember(instanceId, name);
  }

  async receive(instanceId: string, name: string, options: { max: number; visibilityTimeoutMs: number; waitMs: number }): Promise<ReceivedQueueMessage[]> {
    checkQueueName(name);
    this.remember(instanceId, name);
    await this.stream.ensureConsumer(instanceId, name);
    const max = Math.max(1, Math.min(options.max, MAX_RECEIVE));
    const deadline = Date.now() + Math.max(0, Math.min(options.waitMs, MAX_WAIT_MS));
    let got = await this.stream.pull(instanceId, name, max, 0);
    while (got.length === 0 && !this.closed) {
      const left = deadline - Date.now();
      if (left < 10) return [];
      // One message ends the long poll; the rest of `max` is what is there then.
      got = await this.stream.pull(instanceId, name, 1, Math.min(left, POLL_SLICE_MS));
      if (got.length > 0 && max > 1) got = got.concat(await this.stream.pull(instanceId, name, max - 1, 0).catch(() => []));
    }
    const until = Date.now() + Math.max(1000, options.visibilityTimeoutMs);
    const out: ReceivedQueueMessage[] = [];
    for (const message of got) {
      const received = this.lease(instanceId, name, message, until);
      if (received !== null) out.push(received);
    }
    this.refreshSoon();
    return out;
  }

  ack(instanceId: string, name: string, receipts: readonly string[]): Promise<number> {
    return this.settle(receipts, (mine) => this.ackHere(instanceId, name, mine), (node, theirs) => this.ask(node, { op: 'ack', leases: theirs }));
  }

  nack(instanceId: string, name: string, receipts: readonly string[], delayMs = 0): Promise<number> {
    return this.settle(
      receipts,
      (mine) => Promise.resolve(this.nackHere(instanceId, name, mine, delayMs)),
      (node, theirs) => this.ask(node, { op: 'nack', leases: theirs, delayMs }),
    );
  }

  /** The instance's queues with their cluster-wide depth, read from JetStream now. */
  async list(instanceId: string): Promise<QueueInfo[]> {
    await this.refresh();
    return this.listed(instanceId);
  }

  /** The instance's queues from the last snapshot (at most REFRESH_MS old): AMQP's queue.declare-ok. */
  listNow(instanceId: string): QueueInfo[] {
    return this.listed(instanceId);
  }

  /** Every queue (metrics), from the last snapshot. */
  all(): Array<{ instanceId: string } & QueueInfo> {
    const out = [...this.snapshot];
    for (const [instanceId, names] of this.known) {
      for (const name of names) if (!out.some((q) => q.instanceId === instanceId && q.name === name)) out.push({ instanceId, name, depth: 0, inFlight: 0, oldestAgeMs: 0 });
    }
    return out;
  }

  /** Deletes an instance's queues (every node does, each gets the deletion: both steps are idempotent). */
  dropInstance(instanceId: string): void {
    const names = new Set([...(this.known.get(instanceId) ?? []), ...this.snapshot.filter((q) => q.instanceId === instanceId).map((q) => q.name)]);
    this.known.delete(instanceId);
    this.snapshot = this.snapshot.filter((q) => q.instanceId !== instanceId);
    for (const [id, lease] of [...this.leases]) {
      if (lease.instanceId !== instanceId) continue;
      clearTimeout(lease.timer);
      this.leases.delete(id);
    }
    Promise.all([...[...names].map((name) => this.stream.drop(instanceId, name)), this.stream.purgeInstance(instanceId)]).catch((err: unknown) =>
      this.logger.warn({ err: (err as Error).message, instance: instanceId }, 'built-in queues of a deleted instance not removed from JetStream'),
    );
  }

  /** Stops; the messages this node holds are visible again at once (to a receive on any node). */
  close(): void {
    this.closed = true;
    this.subscription.unsubscribe();
    for (const timer of this.timers) clearInterval(timer);
    for (const [id, lease] of this.leases) {
      clearTimeout(lease.timer);
      this.stream.nak(lease.ackSubject, 0);
      this.leases.delete(id);
    }
  }

  // Appends.

  private stage(instanceId: string, name: string, payload: Buffer, entry: Entry): string {
    const id = `${this.idPrefix}/${++this.appendCounter}`;
    this.store.stagePublish(this.stream.subject(instanceId, name), encode(entry, payload), id);
    if (!this.has(instanceId, name)) {
      this.remember(instanceId, name);
      // Receives and depths need the consumer; the messages wait in the stream meanwhile.
      this.stream.ensureConsumer(instanceId, name).catch((err: unknown) => this.logger.warn({ err: (err as Error).message, queue: name }, 'built-in queue: its JetStream consumer could not be created'));
    }
    this.refreshSoon();
    return id;
  }

  /** This node's queue logs (from before the queues were in JetStream) move into the stream. */
  private async migrate(): Promise<void> {
    let moved = 0;
    for (const summary of await this.store.logSummaries('queue/')) {
      const queue = queueOfLog(summary.log);
      if (queue === null) continue;
      let after = 0;
      for (;;) {
        const page = await this.store.readLog(summary.log, after, 1000);
        for (const entry of page) {
          if (this.adopt(summary.log, entry.meta, entry.payload, entry.createdAt)) moved++;
        }
        await this.store.whenDurable();
        // Removed only once in the stream: a crash in between delivers them twice, never none.
        for (const entry of page) this.store.removeLog(summary.log, entry.seq);
        await this.store.whenDurable();
        if (page.length < 1000) break;
        after = page[page.length - 1]!.seq;
      }
    }
    if (moved > 0) this.logger.info({ messages: moved }, 'built-in queue messages of this node moved into the cluster-wide queues');
  }

  // Leases.

  private lease(instanceId: string, name: string, message: Pulled, until: number): ReceivedQueueMessage | null {
    const decoded = decode(message.data);
    if (decoded === null) {
      // Not ours to read: kept out of every receive, and said so.
      this.stream.nak(message.ackSubject, 60_000);
      this.logger.error({ queue: name, seq: message.streamSeq }, 'built-in queue: an unreadable message in JetStream (left in place)');
      return null;
    }
    const id = randomBytes(9).toString('base64url');
    const timer = setTimeout(() => {
      // The visibility ended: visible again at once (delivery count + 1).
      if (this.leases.delete(id)) this.stream.nak(message.ackSubject, 0);
    }, until - Date.now());
    timer.unref();
    this.leases.set(id, { instanceId, name, ackSubject: message.ackSubject, timer });
    const { entry, payload } = decoded;
    const received = {
      id: String(message.streamSeq),
      receipt: `${token(this.nodeId)}${AT}${id}`,
      payload,
      properties: entry.p,
      deliveries: message.deliveries,
      enqueuedAt: entry.t,
    };
    return entry.r === 1 ? { ...received, recovered: true } : received;
  }

  private keepLeases(): void {
    for (const lease of this.leases.values()) this.stream.working(lease.ackSubject);
  }

  private async ackHere(instanceId: string, name: string, ids: readonly string[]): Promise<number> {
    const taken: Lease[] = [];
    for (const id of ids) {
      const lease = this.leases.get(id);
      if (lease === undefined || lease.instanceId !== instanceId || lease.name !== name) continue;
      clearTimeout(lease.timer);
      this.leases.delete(id);
      taken.push(lease);
    }
    const results = await Promise.allSettled(taken.map((lease) => this.stream.ack(lease.ackSubject)));
    this.refreshSoon();
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) {
      // Not confirmed: the message may come again (after the ack wait), never lost.
      this.logger.warn({ err: (failed.reason as Error).message, queue: name }, 'built-in queue: JetStream did not confirm an acknowledgement');
      throw new Error(`JetStream did not confirm the acknowledgement: ${(failed.reason as Error).message}`);
    }
    return taken.length;
  }

  private nackHere(instanceId: string, name: string, ids: readonly string[], delayMs: number): number {
    let n = 0;
    for (const id of ids) {
      const lease = this.leases.get(id);
      if (lease === undefined || lease.instanceId !== instanceId || lease.name !== name) continue;
      clearTimeout(lease.timer);
      this.leases.delete(id);
      this.stream.nak(lease.ackSubject, Math.max(0, delayMs));
      n++;
    }
    this.refreshSoon();
    return n;
  }

  /** Splits receipts by the node holding their lease; answers how many were current. */
  private async settle(receipts: readonly string[], here: (ids: string[]) => Promise<number>, there: (node: string, ids: string[]) => Promise<number>): Promise<number> {
    const byNode = new Map<string, string[]>();
    for (const receipt of receipts) {
      const at = receipt.indexOf(AT);
      if (at < 0) continue; // not a receipt of a cluster queue: not current
      const node = untoken(receipt.slice(0, at));
      const list = byNode.get(node) ?? [];
      list.push(receipt.slice(at + 1));
      byNode.set(node, list);
    }
    const counts = await Promise.all([...byNode].map(([node, ids]) => (node === this.nodeId ? here(ids) : there(node, ids))));
    return counts.reduce((sum, n) => sum + n, 0);
  }

  /** Settles leases held by another node; 0 (logged) when it does not answer: gone (its leases with it), or cut off. */
  private async ask(node: string, request: Request): Promise<number> {
    try {
      const reply = await this.connection.request(this.holderSubject(node), JSON.stringify(request), { timeout: this.timeoutMs });
      const answer = JSON.parse(Buffer.from(reply.data).toString('utf8')) as { n?: number; error?: string };
      if (typeof answer.error === 'string') throw new Error(answer.error);
      return typeof answer.n === 'number' ? answer.n : 0;
    } catch (err) {
      this.logger.warn({ node, op: request.op, err: (err as Error).message }, 'built-in queue: the node holding a receipt did not answer');
      return 0;
    }
  }

  /** Another node settling receipts this node holds. */
  private async serve(data: Uint8Array): Promise<unknown> {
    const request = JSON.parse(Buffer.from(data).toString('utf8')) as Request;
    const byQueue = new Map<string, string[]>();
    for (const id of request.leases) {
      const lease = this.leases.get(id);
      if (lease === undefined) continue;
      const k = `${lease.instanceId}\u001f${lease.name}`;
      byQueue.set(k, [...(byQueue.get(k) ?? []), id]);
    }
    let n = 0;
    for (const [k, ids] of byQueue) {
      const [instanceId, name] = k.split('\u001f') as [string, string];
      n += request.op === 'ack' ? await this.ackHere(instanceId, name, ids) : this.nackHere(instanceId, name, ids, request.delayMs);
    }
    return { n };
  }

  private holderSubject(nodeId: string): string {
    return `${this.prefix}.bq.${token(nodeId)}`;
  }

  // Depths.

  private remember(instanceId: string, name: string): void {
    let names = this.known.get(instanceId);
    if (names === undefined) this.known.set(instanceId, (names = new Set()));
    names.add(name);
  }

  private listed(instanceId: string): QueueInfo[] {
    return this.all()
      .filter((q) => q.instanceId === instanceId)
      .map(({ name, depth, inFlight, oldestAgeMs }) => ({ name, depth, inFlight, oldestAgeMs }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  private refreshSoon(): void {
    if (this.soon !== null) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      this.refreshNow();
    }, 50).unref();
  }

  /** refresh() from a timer (it never rejects). */
  private readonly refreshNow = (): void => {
    this.refresh().catch(() => undefined);
  };

  /** Reads every queue's depth from JetStream (one read at a time); a failure keeps the last snapshot (logged at debug). */
  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const now = Date.now();
        const states = await this.stream.states();
        const next: Array<{ instanceId: string } & QueueInfo> = [];
        for (const s of states) {
          const oldest = s.firstSeq > 0 ? await this.stream.oldestTime(s.instanceId, s.name, s.firstSeq) : 0;
          next.push({ instanceId: s.instanceId, name: s.name, depth: s.depth, inFlight: s.inFlight, oldestAgeMs: oldest > 0 ? Math.max(0, now - oldest) : 0 });
          this.remember(s.instanceId, s.name);
        }
        this.snapshot = next;
      } catch (err) {
        this.logger.debug({ err: (err as Error).message }, 'built-in queue depths not read');
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }
}

/** `queue/<instance>/<name>` → its queue (instance ids hold no `/`; names neither). */
function queueOfLog(log: string): { instanceId: string; name: string } | null {
  if (!log.startsWith('queue/')) return null;
  const rest = log.slice('queue/'.length);
  const slash = rest.lastIndexOf('/');
  return slash < 0 ? null : { instanceId: rest.slice(0, slash), name: rest.slice(slash + 1) };
}

/** A stream message: 4 bytes of entry length, the entry as JSON, the payload untouched. */
function encode(entry: Entry, payload: Buffer): Uint8Array {
  const json = Buffer.from(JSON.stringify(entry), 'utf8');
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(json.length, 0);
  return Buffer.concat([head, json, payload]);
}

function decode(data: Uint8Array): { entry: Entry; payload: Buffer } | null {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 4) return null;
  const length = buf.readUInt32BE(0);
  if (4 + length > buf.length) return null;
  try {
    const entry = JSON.parse(buf.subarray(4, 4 + length).toString('utf8')) as Entry;
    if (typeof entry !== 'object' || entry === null || typeof entry.t !== 'number') return null;
    return { entry: { ...entry, p: entry.p ?? {} }, payload: Buffer.from(buf.subarray(4 + length)) };
  } catch {
    return null;
  }
}

/**
 * The cluster's queues on the store's NATS connection, started: the stream exists, this node's
 * queue logs are in it. A message received on a node that dies comes back after the lease time
 * of the node's logs (four heartbeats), the consumers' ack wait.
 */
export async function openClusterQueues(
  store: QueueStoreAccess & { readonly connection: NatsConnection; readonly nodeId: string },
  options: Pick<ClusterOptions, 'subjectPrefix' | 'replicas' | 'heartbeatMs' | 'ackTimeoutMs'>,
  logger: Logger,
): Promise<ClusterQueues> {
  const jsm = await jetstreamManager(store.connection, { timeout: options.ackTimeoutMs });
  const stream = new QueueStream(store.connection, jsm, options.subjectPrefix, options.replicas, options.heartbeatMs * LEASE_HEARTBEATS, options.ackTimeoutMs);
  const queues = new ClusterQueues(store, stream, store.connection, options.subjectPrefix, store.nodeId, options.ackTimeoutMs, logger);
  await queues.start();
  return queues;
}
