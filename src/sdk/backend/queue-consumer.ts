/**
 * A consumer of Ferry's built-in queues (`queue://NAME` rule targets; docs/rules.md "Built-in
 * queues") over the HTTP long-poll API:
 *
 *   for await (const message of consumer)        receive → yield; at most `concurrency` messages
 *     message.ack() / message.nack(delaySeconds)  are in hand (yielded, not yet acked/nacked):
 *                                                 the next receive waits for one to settle
 *   consumer.run(handler)                         the same with `concurrency` handlers at once:
 *                                                 ack when the handler resolves, nack when it throws
 *
 * A message not settled within `visibilityTimeout` comes again (with `deliveries` + 1). With
 * `maxDeliveries`, a message delivered more often than that is moved to `deadLetterQueue` (its
 * properties plus `deadLetterSourceQueue`, `deadLetterDeliveries`) and acked, so a message that
 * always fails stops coming back without being lost. Dead letters of rules (a target that refused
 * a message) are read through RestClient.deadLetters / replayDeadLetters.
 */
import { FerryApiError, FerryInputError } from '../errors.js';
import type { ReceivedMessage, RestClient } from './rest-client.js';

export interface QueueConsumerOptions {
  readonly rest: RestClient;
  readonly instanceId: string;
  readonly queue: string;
  /** Messages in hand at once (and handlers run at once by run()); default 1. */
  readonly concurrency?: number;
  /** Seconds a received message stays invisible to others; default 30. */
  readonly visibilityTimeout?: number;
  /** Long-poll wait, seconds (≤ 20); default 20. */
  readonly wait?: number;
  readonly maxDeliveries?: number;
  readonly deadLetterQueue?: string;
  /** Failures that do not end the consumer (a handler's error, a retried receive); default console.error. */
  readonly onError?: (error: Error, message?: QueueMessage) => void;
}

export interface QueueMessage {
  readonly id: string;
  readonly receipt: string;
  readonly payload: Buffer;
  readonly properties: Readonly<Record<string, string>>;
  /** 1 on the first delivery. */
  readonly deliveries: number;
  readonly enqueuedAt: number;
  /** The payload as UTF-8 text. */
  text(): string;
  /** The payload parsed as JSON. */
  json<T = unknown>(): T;
  /** Deletes the message from the queue. */
  ack(): Promise<void>;
  /** Gives it back: visible again after `delaySeconds` (default 0). */
  nack(delaySeconds?: number): Promise<void>;
}

/** Statuses a retry cannot fix: the consumer stops and the iterator throws. */
const FATAL = new Set([400, 401, 403, 404, 501]);
const MAX_BACKOFF_MS = 5_000;

export class QueueConsumer implements AsyncIterable<QueueMessage> {
  private readonly concurrency: number;
  private inHand = 0;
  private readonly waiters: Array<() => void> = [];
  private readonly abort = new AbortController();
  private stopped = false;

  constructor(private readonly options: QueueConsumerOptions) {
    this.concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new FerryInputError('concurrency must be a positive integer');
    if (options.maxDeliveries !== undefined && options.deadLetterQueue === undefined) {
      throw new FerryInputError('maxDeliveries needs a deadLetterQueue: a message past it is moved there, never dropped');
    }
  }

  /** Ends the iteration: a pending long poll is abandoned; messages not yet yielded are given back. */
  stop(): void {
    this.stopped = true;
    this.abort.abort();
    for (const wake of this.waiters.splice(0)) wake();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<QueueMessage> {
    const { rest, instanceId, queue } = this.options;
    let backoff = 100;
    while (!this.stopped) {
      while (this.inHand >= this.concurrency && !this.stopped) await new Promise<void>((resolve) => this.waiters.push(resolve));
      if (this.stopped) return;
      let batch: ReceivedMessage[];
      try {
        batch = await rest.receive(instanceId, queue, { max: this.concurrency - this.inHand, visibilityTimeout: this.options.visibilityTimeout ?? 30, wait: this.options.wait ?? 20 }, this.abort.signal);
        backoff = 100;
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof FerryApiError && FATAL.has(err.status)) throw err;
        this.report(err as Error);
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        continue;
      }
      let given = 0; // handed out or dead-lettered
      try {
        while (given < batch.length && !this.stopped) {
          const received = batch[given++]!;
          if (this.options.maxDeliveries !== undefined && received.deliveries > this.options.maxDeliveries) {
            await this.deadLetter(received);
            continue;
          }
          this.inHand++;
          yield this.message(received);
        }
      } finally {
        // Stopped, or the loop left early: give back what was not handed out at once rather
        // than after the visibility timeout.
        const back = batch.slice(given).map((m) => m.receipt);
        if (back.length > 0) await rest.nack(instanceId, queue, back).catch((e: unknown) => this.report(e as Error));
      }
    }
  }

  /**
   * Runs `handler` for every message, `concurrency` at once: ack when it resolves, nack (visible
   * again after `nackDelaySeconds`) when it throws. Resolves after stop(), once running handlers end.
   */
  async run(handler: (message: QueueMessage) => Promise<void>, nackDelaySeconds = 0): Promise<void> {
    const running = new Set<Promise<void>>();
    for await (const message of this) {
      const task = (async () => {
        try {
          await handler(message);
        } catch (err) {
          this.report(err instanceof Error ? err : new Error(String(err)), message);
          await message.nack(nackDelaySeconds).catch((e: unknown) => this.report(e as Error, message));
          return;
        }
        await message.ack().catch((e: unknown) => this.report(e as Error, message));
      })();
      running.add(task);
      void task.finally(() => running.delete(task)); // eslint-disable-line @typescript-eslint/no-floating-promises -- cannot reject: task catches everything
    }
    await Promise.all(running);
  }

  private message(received: ReceivedMessage): QueueMessage {
    const { rest, instanceId, queue } = this.options;
    const payload = Buffer.from(received.payload, 'base64');
    let settled = false;
    const settle = async (op: () => Promise<number>): Promise<void> => {
      if (settled) return;
      settled = true;
      try {
        await op();
      } finally {
        this.inHand--;
        this.waiters.shift()?.();
      }
    };
    return {
      id: received.id,
      receipt: received.receipt,
      payload,
      properties: received.properties,
      deliveries: received.deliveries,
      enqueuedAt: received.enqueuedAt,
      text: () => payload.toString('utf8'),
      json: <T>() => JSON.parse(payload.toString('utf8')) as T,
      ack: () => settle(() => rest.ack(instanceId, queue, [received.receipt])),
      nack: (delaySeconds = 0) => settle(() => rest.nack(instanceId, queue, [received.receipt], delaySeconds)),
    };
  }

  private async deadLetter(received: ReceivedMessage): Promise<void> {
    const { rest, instanceId, queue } = this.options;
    try {
      await rest.sendToQueue(instanceId, this.options.deadLetterQueue!, [
        { payload: Buffer.from(received.payload, 'base64'), properties: { ...received.properties, deadLetterSourceQueue: queue, deadLetterDeliveries: String(received.deliveries) } },
      ]);
      await rest.ack(instanceId, queue, [received.receipt]);
    } catch (err) {
      // Not moved: it stays in the queue and comes again after its visibility timeout.
      this.report(err as Error);
    }
  }

  private report(error: Error, message?: QueueMessage): void {
    if (this.options.onError !== undefined) this.options.onError(error, message);
    else console.error(`ferry sdk: queue ${this.options.queue}: ${error.message}`);
  }
}
