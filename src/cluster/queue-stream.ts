/**
 * The cluster's built-in queues in JetStream (docs/cluster.md, "Built-in queues across nodes"):
 * one work-queue stream `<prefix>_bqueues` with a subject per queue
 * (`<prefix>.bm.<instance>.<name>`, tokens as in the store's layout), and per queue one durable
 * pull consumer that every node shares. JetStream keeps the order and the count; this module only
 * speaks its API:
 *
 *   append   ─▶ a stream message (published in the store's batch, JetStreamStore.stagePublish)
 *   pull     ─▶ $JS.API.CONSUMER.MSG.NEXT (no_wait, or a long poll for one message)
 *   ack      ─▶ +ACK on the message's reply subject, confirmed (the stream deletes it: work queue)
 *   nak      ─▶ -NAK {delay} (visible again then, delivery count + 1)
 *   working  ─▶ +WPI (its ack wait starts again: a receive's visibility longer than the ack wait)
 *   depths   ─▶ the consumers' info: not yet delivered + delivered and not acknowledged
 *
 * Pulls go over core NATS with an inbox of their own, so a receive returns as soon as there is
 * something (the client library's fetch waits for its whole batch or its expiry).
 */
import { createHash } from 'node:crypto';
import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type ConsumerInfo, type JetStreamManager, type MsgRequest } from '@nats-io/jetstream';
import { StoreUnavailableError } from '../store/errors.js';
import { token } from '../store/jetstream/layout.js';
import { ensureStream } from '../store/jetstream/create-or-open.js';

const NS = 1_000_000;
/** JetStream drops a re-published message with the same id within this window (a retried batch). */
const DUPLICATE_WINDOW_MS = 30_000;
/** Messages a queue may have delivered and not acknowledged (AMQP prefetch across every node). */
const MAX_ACK_PENDING = 20_000;

/** A message pulled from a queue: its ack subject settles it from any connection. */
export interface Pulled {
  readonly ackSubject: string;
  readonly streamSeq: number;
  /** 1 on the first delivery. */
  readonly deliveries: number;
  readonly data: Uint8Array;
}

/** A queue as the stream's consumers describe it. */
export interface QueueState {
  readonly instanceId: string;
  readonly name: string;
  readonly depth: number;
  readonly inFlight: number;
  /** Stream sequence of the oldest message not yet acknowledged, 0 when none. */
  readonly firstSeq: number;
}

export class QueueStream {
  readonly stream: string;
  private readonly consumers = new Map<string, Promise<void>>();

  constructor(
    private readonly connection: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly prefix: string,
    private readonly replicas: number,
    /** How long a delivered message stays invisible without news from its holder (+WPI): a dead node's messages come back after it. */
    readonly ackWaitMs: number,
    /** How long JetStream may take to answer, ms. */
    private readonly timeoutMs: number,
  ) {
    this.stream = `${prefix}_bqueues`;
  }

  /** Creates the stream unless it exists (the first node, with the cluster's replicas). */
  open(): Promise<void> {
    return ensureStream(this.jsm, {
      name: this.stream,
      subjects: [`${this.prefix}.bm.>`],
      storage: StorageType.File,
      // A message is gone once acknowledged; consumers must not overlap (one per queue subject).
      retention: RetentionPolicy.Workqueue,
      discard: DiscardPolicy.Old,
      num_replicas: this.replicas,
      duplicate_window: DUPLICATE_WINDOW_MS * NS,
    });
  }

  subject(instanceId: string, name: string): string {
    return `${this.prefix}.bm.${token(instanceId)}.${token(name)}`;
  }

  /** Every queue subject of an instance (to purge them). */
  instanceSubjects(instanceId: string): string {
    return `${this.prefix}.bm.${token(instanceId)}.>`;
  }

  /** A consumer name (no dots, bounded length) for a queue; the description says which queue it is. */
  consumerName(instanceId: string, name: string): string {
    return `q${createHash('sha256').update(`${instanceId}\u0000${name}`).digest('hex').slice(0, 40)}`;
  }

  /** The queue's consumer, created once (the same config on every node: a create of an existing one is a no-op). */
  ensureConsumer(instanceId: string, name: string): Promise<void> {
    const consumer = this.consumerName(instanceId, name);
    let ready = this.consumers.get(consumer);
    if (ready === undefined) {
      ready = this.createConsumer(instanceId, name, consumer);
      this.consumers.set(consumer, ready);
      ready.catch(() => this.consumers.delete(consumer)); // asked again next time
    }
    return ready;
  }

  private async createConsumer(instanceId: string, name: string, consumer: string): Promise<void> {
    try {
      await this.jsm.consumers.info(this.stream, consumer);
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 10014 && !/consumer not found/i.test((err as Error).message)) throw err;
    }
    await this.jsm.consumers.add(this.stream, {
      durable_name: consumer,
      description: JSON.stringify({ i: instanceId, n: name }),
      filter_subject: this.subject(instanceId, name),
      ack_policy: AckPolicy.Explicit,
      ack_wait: this.ackWaitMs * NS,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: MAX_ACK_PENDING,
      // A long poll per receive waiting on every node; the server's default (512) is plenty, made explicit.
      max_waiting: 512,
    });
  }

  /**
   * Up to `batch` messages: those available now (`waitMs` 0), or the first one to come within
   * `waitMs`. Rejects (StoreUnavailableError) when JetStream does not answer.
   */
  pull(instanceId: string, name: string, batch: number, waitMs: number): Promise<Pulled[]> {
    const consumer = this.consumerName(instanceId, name);
    const request = waitMs > 0 ? { batch, expires: waitMs * NS } : { batch, no_wait: true };
    return new Promise((resolve, reject) => {
      const out: Pulled[] = [];
      const inbox = createInbox();
      const done = (error: Error | null): void => {
        clearTimeout(timer);
        subscription.unsubscribe();
        if (error === null || out.length > 0) resolve(out);
        else reject(error);
      };
      const subscription = this.connection.subscribe(inbox, {
        callback: (err, msg) => {
          if (err !== null) return done(new StoreUnavailableError(`built-in queue read failed: ${err.message}`));
          const code = msg.headers?.code ?? 0;
          // 404 No Messages, 408 Request Timeout: the pull is over; 409: the consumer refused it (deleted, limits).
          if (code !== 0) return done(code === 404 || code === 408 ? null : new StoreUnavailableError(`built-in queue read refused: ${code} ${msg.headers?.description ?? ''}`));
          out.push(pulled(msg));
          if (out.length >= batch) done(null);
        },
      });
      // JetStream answers every pull (messages, then a status); silence means it cannot.
      const timer = setTimeout(() => done(new StoreUnavailableError('built-in queue read: JetStream did not answer')), waitMs + this.timeoutMs);
      this.connection.publish(`$JS.API.CONSUMER.MSG.NEXT.${this.stream}.${consumer}`, JSON.stringify(request), { reply: inbox });
    });
  }

  /** Acknowledges (the stream deletes the message); resolves once JetStream confirmed it. */
  async ack(ackSubject: string): Promise<void> {
    await this.connection.request(ackSubject, '+ACK', { timeout: this.timeoutMs });
  }

  /** Visible again after `delayMs` (at once for 0). */
  nak(ackSubject: string, delayMs: number): void {
    this.connection.publish(ackSubject, delayMs > 0 ? `-NAK ${JSON.stringify({ delay: delayMs * NS })}` : '-NAK');
  }

  /** Restarts the message's ack wait (its holder still leases it). */
  working(ackSubject: string): void {
    this.connection.publish(ackSubject, '+WPI');
  }

  /** Every queue's depth (one paged consumer list). */
  async states(): Promise<QueueState[]> {
    const out: QueueState[] = [];
    for await (const info of this.jsm.consumers.list(this.stream)) {
      const queue = describedQueue(info);
      if (queue === null) continue;
      const depth = info.num_pending + info.num_ack_pending;
      out.push({ ...queue, depth, inFlight: info.num_ack_pending, firstSeq: depth > 0 ? info.ack_floor.stream_seq + 1 : 0 });
    }
    return out;
  }

  /** When the oldest message of a queue at or after `seq` was appended (ms), 0 when there is none. */
  async oldestTime(instanceId: string, name: string, seq: number): Promise<number> {
    try {
      // The server's MSG.GET takes next_by_subj (2.9); the client's types list it for direct gets only.
      const request = { next_by_subj: this.subject(instanceId, name), seq } as unknown as MsgRequest;
      const message = await this.jsm.streams.getMessage(this.stream, request);
      return message === null ? 0 : message.time.getTime();
    } catch {
      return 0; // acknowledged meanwhile
    }
  }

  /** Deletes a queue's consumer and messages (its instance was deleted). */
  async drop(instanceId: string, name: string): Promise<void> {
    const consumer = this.consumerName(instanceId, name);
    this.consumers.delete(consumer);
    await this.jsm.consumers.delete(this.stream, consumer).catch(() => false); // another node deleted it first
  }

  async purgeInstance(instanceId: string): Promise<void> {
    await this.jsm.streams.purge(this.stream, { filter: this.instanceSubjects(instanceId) });
  }
}

function describedQueue(info: ConsumerInfo): { instanceId: string; name: string } | null {
  try {
    const d = JSON.parse(info.config.description ?? '') as { i?: unknown; n?: unknown };
    return typeof d.i === 'string' && typeof d.n === 'string' ? { instanceId: d.i, name: d.n } : null;
  } catch {
    return null;
  }
}

/**
 * A pulled message with what its ack subject says: `$JS.ACK.<stream>.<consumer>.<delivered>.
 * <stream seq>.<consumer seq>.<time>.<pending>`, or the newer form with a domain and an account
 * hash after `ACK` and a token at the end.
 */
function pulled(msg: Msg): Pulled {
  const tokens = msg.reply?.split('.') ?? [];
  const at = tokens.length === 9 ? 4 : 6;
  return { ackSubject: msg.reply ?? '', deliveries: Number(tokens[at]) || 1, streamSeq: Number(tokens[at + 1]) || 0, data: msg.data };
}
