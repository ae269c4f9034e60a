/**
 * Push delivery on top of the built-in queues' pull API (src/rules/queues.ts): one feed per queue
 * with consumers leases as many messages as its consumers have room for (prefetch minus unacked,
 * socket not congested, channel.flow active) and hands them out round-robin — competing
 * consumers, each message to one of them. A consumer without room is skipped; none with room:
 * the feed sleeps until a consumer acks, opens up or joins (`kick`). So a slow consumer holds at
 * most its prefetch, and the queue (fed by MQTT publishes) never waits for it. Each ack refills
 * at once (no batching threshold): a consumer that gets nothing back while its acks trickle in
 * would meet Nagle + delayed ACK on its socket (40 ms stalls); reads of recent messages come
 * from the queue's memory, so small refills are cheap.
 *
 * A delivered message is leased for LEASE_MS (RabbitMQ's default consumer timeout, 30 min): an
 * unacked delivery held longer becomes visible again, to be redelivered.
 */
import type { Logger } from 'pino';
import type { BuiltinQueueAccess } from '../rules/queues.js';
import type { ReceivedQueueMessage } from '../rules/runtime.js';

export const LEASE_MS = 30 * 60 * 1000;
/** Most messages one receive leases (the built-in queues' own cap). */
const BATCH = 100;

export interface FeedConsumer {
  /** How many deliveries it may take now (0 = none). */
  room(): number;
  deliver(message: ReceivedQueueMessage): void;
}

class QueueFeed {
  readonly consumers: FeedConsumer[] = [];
  private next = 0;
  private running = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly feeds: QueueFeeds,
    readonly instanceId: string,
    readonly queue: string,
  ) {}

  kick(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
    if (!this.running && this.consumers.length > 0) {
      this.run().catch((error: unknown) => this.feeds.logger.error({ err: error, queue: this.queue }, 'amqp: queue feed stopped'));
    }
  }

  private roomTotal(): number {
    let room = 0;
    for (const c of this.consumers) room += Math.min(c.room(), BATCH);
    return Math.min(room, BATCH);
  }

  /** The next consumer with room, round-robin. */
  private pick(): FeedConsumer | undefined {
    const n = this.consumers.length;
    for (let i = 0; i < n; i++) {
      const c = this.consumers[(this.next + i) % n]!;
      if (c.room() > 0) {
        this.next = (this.next + i + 1) % n;
        return c;
      }
    }
    return undefined;
  }

  private async run(): Promise<void> {
    this.running = true;
    const { queues, logger } = this.feeds;
    try {
      while (this.consumers.length > 0 && !this.feeds.closed) {
        const room = this.roomTotal();
        if (room === 0) {
          await new Promise<void>((resolve) => (this.wake = resolve));
          continue;
        }
        let batch: ReceivedQueueMessage[];
        try {
          batch = await queues.receive(this.instanceId, this.queue, { max: room, visibilityTimeoutMs: LEASE_MS, waitMs: 1000 });
        } catch (error) {
          if (this.feeds.closed) return;
          logger.error({ err: error, queue: this.queue, instance: this.instanceId }, 'amqp: reading the queue failed; retrying in 1 s');
          await new Promise((resolve) => setTimeout(resolve, 1000).unref());
          continue;
        }
        const unwanted: string[] = [];
        for (const message of batch) {
          const consumer = this.feeds.closed ? undefined : this.pick();
          if (consumer === undefined) unwanted.push(message.receipt);
          else consumer.deliver(message);
        }
        // Consumers left (or filled up) while the receive waited: visible again at once.
        if (unwanted.length > 0) await queues.nack(this.instanceId, this.queue, unwanted, 0);
      }
    } finally {
      this.running = false;
      if (this.consumers.length === 0) this.feeds.forget(this);
    }
  }
}

export class QueueFeeds {
  private readonly feeds = new Map<string, QueueFeed>();
  closed = false;

  constructor(
    readonly queues: BuiltinQueueAccess,
    readonly logger: Logger,
  ) {}

  add(instanceId: string, queue: string, consumer: FeedConsumer): void {
    const k = `${instanceId}\u001f${queue}`;
    let feed = this.feeds.get(k);
    if (feed === undefined) this.feeds.set(k, (feed = new QueueFeed(this, instanceId, queue)));
    feed.consumers.push(consumer);
    feed.kick();
  }

  remove(instanceId: string, queue: string, consumer: FeedConsumer): void {
    const feed = this.feeds.get(`${instanceId}\u001f${queue}`);
    if (feed === undefined) return;
    const at = feed.consumers.indexOf(consumer);
    if (at >= 0) feed.consumers.splice(at, 1);
    feed.kick();
  }

  /** A consumer of the queue may take more (acked, flow on, socket drained). */
  kick(instanceId: string, queue: string): void {
    this.feeds.get(`${instanceId}\u001f${queue}`)?.kick();
  }

  consumerCount(instanceId: string, queue: string): number {
    return this.feeds.get(`${instanceId}\u001f${queue}`)?.consumers.length ?? 0;
  }

  forget(feed: QueueFeed): void {
    const k = `${feed.instanceId}\u001f${feed.queue}`;
    if (this.feeds.get(k) === feed && feed.consumers.length === 0) this.feeds.delete(k);
  }

  close(): void {
    this.closed = true;
    for (const feed of this.feeds.values()) feed.kick();
  }
}
