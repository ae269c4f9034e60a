/**
 * Retained catch-up: a node that starts, or comes back after losing NATS, takes the retained set
 * of the cluster from one node that has it, then keeps it current from `<prefix>.r` (routing.ts).
 *
 * - Asking: a request on `<prefix>.r.sync` naming an inbox. The nodes that hold the cluster's set
 *   (synced) answer in one NATS queue group, so exactly one answers: `{"chunks": n}`, then n
 *   chunks of envelopes on the inbox. "No responders" means no node holds a set yet (the first
 *   node, or everyone restarting at once): this node's own stored set is the reference.
 * - Applying: the answer replaces this node's set (a retained message cleared while it was away is
 *   cleared here too, one set meanwhile is added); updates arriving on `<prefix>.r` during the
 *   transfer are applied again afterwards, so the newest wins. Unchanged messages are not
 *   rewritten to the store.
 * - Until it is synced the node answers nobody and is not ready (docs/cluster.md).
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import { Message } from '../session/message.js';
import { decodeEnvelope, encodeEnvelope, type Envelope } from './envelope.js';
import type { Subjects } from './subjects.js';

/** Envelopes per chunk stop growing past this many bytes (NATS' default max payload is 1 MiB). */
const CHUNK_BYTES = 256 * 1024;
const QUEUE = 'retained-sync';
const RETRY_MS = 1000;

interface SyncRequest {
  readonly inbox: string;
  readonly node: string;
}

export class RetainedSync {
  private connection: NatsConnection | null = null;
  private answering: Subscription | null = null;
  /** Updates from `<prefix>.r` during a transfer, applied again after it; null when not syncing. */
  private during: Envelope[] | null = null;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** True once this node holds the cluster's retained set. */
  synced = false;

  constructor(
    private readonly broker: Broker,
    private readonly subjects: Subjects,
    private readonly nodeId: string,
    private readonly origin: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  /** Connected for the first time. */
  attach(connection: NatsConnection): void {
    this.connection = connection;
    this.start();
  }

  /** Back after a NATS loss: updates may have been missed, so stop answering and take the set again. */
  reconnected(): void {
    if (this.connection === null) return;
    this.answering?.unsubscribe();
    this.answering = null;
    this.synced = false;
    this.start();
  }

  /** An update from `<prefix>.r`, already applied by routing: kept for re-application while a transfer runs. */
  updated(e: Envelope): void {
    this.during?.push(e);
  }

  private start(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const attempt = ++this.attempt;
    this.sync(attempt).catch((err: unknown) => {
      if (this.stopped || attempt !== this.attempt) return;
      this.logger.warn({ err: (err as Error).message, retryInMs: RETRY_MS }, 'cannot take the retained messages of the cluster; retrying');
      this.retryTimer = setTimeout(() => this.start(), RETRY_MS);
      this.retryTimer.unref();
    });
  }

  private async sync(attempt: number): Promise<void> {
    const connection = this.connection;
    if (connection === null || this.stopped) return;
    const inbox = `${this.subjects.retainedSync()}.in.${this.origin.replace(/[^A-Za-z0-9_-]/g, '_')}.${attempt}`;
    const chunks = new Map<number, Uint8Array>();
    let wanted = -1;
    let done: (() => void) | null = null;
    const sub = connection.subscribe(inbox, {
      callback: (err, msg) => {
        if (err !== null || msg.data.length < 4) return;
        chunks.set(Buffer.from(msg.data.buffer, msg.data.byteOffset, 4).readUInt32BE(0), msg.data.subarray(4));
        if (chunks.size === wanted) done?.();
      },
    });
    this.during = [];
    try {
      let answer: { chunks: number; messages: number };
      try {
        const reply = await connection.request(this.subjects.retainedSync(), JSON.stringify({ inbox, node: this.nodeId } satisfies SyncRequest), { timeout: this.timeoutMs });
        answer = reply.json<{ chunks: number; messages: number }>();
      } catch (err) {
        if (!isNoResponders(err)) throw err;
        if (attempt !== this.attempt) return;
        this.logger.info('no node holds retained messages yet; this node keeps its own');
        this.becomeSynced(connection);
        return;
      }
      wanted = answer.chunks;
      if (chunks.size < wanted) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`got ${chunks.size} of ${wanted} chunks within ${this.timeoutMs} ms`)), this.timeoutMs);
          done = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      if (attempt !== this.attempt || this.stopped) return;
      const changed = this.replace([...chunks.keys()].sort((a, b) => a - b).map((i) => chunks.get(i)!));
      for (const e of this.during) this.apply(e);
      this.logger.info({ messages: answer.messages, changed }, 'took the retained messages of the cluster');
      this.becomeSynced(connection);
    } finally {
      sub.unsubscribe();
      if (attempt === this.attempt) this.during = null;
    }
  }

  private becomeSynced(connection: NatsConnection): void {
    this.synced = true;
    this.answering?.unsubscribe();
    this.answering = connection.subscribe(this.subjects.retainedSync(), {
      queue: QUEUE,
      callback: (err, msg) => {
        if (err !== null) return;
        try {
          const request = msg.json<SyncRequest>();
          this.answer(connection, request, (data) => msg.respond(data));
        } catch (e) {
          this.logger.warn({ err: (e as Error).message }, 'cannot answer a retained messages request');
        }
      },
    });
  }

  /** Sends this node's whole retained set to a node that asked for it. */
  private answer(connection: NatsConnection, request: SyncRequest, respond: (data: string) => void): void {
    const now = Date.now();
    const chunks: Buffer[][] = [];
    let current: Buffer[] = [];
    let size = 0;
    let messages = 0;
    for (const tenant of this.broker.tenants.values()) {
      for (const m of tenant.retained.all(now)) {
        const data = Buffer.from(this.envelopeOf(tenant.instanceId, m));
        const length = Buffer.allocUnsafe(4);
        length.writeUInt32BE(data.length, 0);
        current.push(length, data);
        size += data.length + 4;
        messages++;
        if (size >= CHUNK_BYTES) {
          chunks.push(current);
          current = [];
          size = 0;
        }
      }
    }
    if (current.length > 0) chunks.push(current);
    respond(JSON.stringify({ chunks: chunks.length, messages }));
    chunks.forEach((parts, i) => {
      const index = Buffer.allocUnsafe(4);
      index.writeUInt32BE(i, 0);
      connection.publish(request.inbox, Buffer.concat([index, ...parts]));
    });
    this.logger.info({ to: request.node, messages, chunks: chunks.length }, 'sent the retained messages to a node catching up');
  }

  private envelopeOf(instanceId: string, m: Message): Uint8Array {
    return encodeEnvelope({
      origin: this.origin,
      seq: 0,
      topic: `${instanceId}/${m.topic}`,
      qos: m.qos,
      retain: true,
      wantsAck: false,
      expiresAt: m.expiresAt,
      properties: m.properties,
      payload: m.payload,
    });
  }

  /** Makes this node's retained set the received one. Returns how many messages changed here. */
  private replace(chunks: Uint8Array[]): number {
    const keep = new Map<string, Set<string>>();
    let changed = 0;
    for (const chunk of chunks) {
      const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      for (let at = 0; at + 4 <= buf.length; ) {
        const length = buf.readUInt32BE(at);
        const e = decodeEnvelope(buf.subarray(at + 4, at + 4 + length));
        at += 4 + length;
        const slash = e.topic.indexOf('/');
        const instanceId = e.topic.slice(0, slash);
        const topic = e.topic.slice(slash + 1);
        let topics = keep.get(instanceId);
        if (topics === undefined) keep.set(instanceId, (topics = new Set()));
        topics.add(topic);
        if (this.apply(e)) changed++;
      }
    }
    const now = Date.now();
    for (const tenant of this.broker.tenants.values()) {
      const topics = keep.get(tenant.instanceId);
      for (const m of tenant.retained.all(now)) {
        if (topics?.has(m.topic) !== true && this.broker.deleteRetained(tenant.instanceId, m.topic)) changed++;
      }
    }
    return changed;
  }

  /** Applies one retained update (`<instanceId>/<topic>`) unless this node has it already. */
  private apply(e: Envelope): boolean {
    const slash = e.topic.indexOf('/');
    if (slash < 0) return false;
    const instanceId = e.topic.slice(0, slash);
    const topic = e.topic.slice(slash + 1);
    const current = this.broker.tenants.get(instanceId)?.retained.get(topic);
    if (current !== undefined && sameMessage(current, e)) return false;
    if (current === undefined && e.payload.length === 0) return false;
    this.broker.retainFromPeer(instanceId, new Message(topic, Buffer.from(e.payload), e.qos, true, e.properties, e.expiresAt, null));
    return true;
  }

  close(): void {
    this.stopped = true;
    this.attempt++;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.answering = null;
    this.connection = null;
  }
}

function sameMessage(m: Message, e: Envelope): boolean {
  return (
    m.qos === e.qos &&
    m.expiresAt === e.expiresAt &&
    Buffer.compare(m.payload, e.payload) === 0 &&
    JSON.stringify(m.properties ?? null) === JSON.stringify(e.properties ?? null)
  );
}

/** nats.js wraps the NoResponders error of a request in a RequestError (its cause). */
function isNoResponders(err: unknown): boolean {
  const e = err as { message?: string; name?: string; cause?: { name?: string } };
  return e.name === 'NoResponders' || e.cause?.name === 'NoResponders' || /no responders/i.test(e.message ?? '');
}
