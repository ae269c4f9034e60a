/**
 * Dropped offline messages in the log: a client's first drop is logged at once, later ones of
 * the same interval in one line at its end with their counts, so a flood of drops cannot flood
 * the log. The counts themselves are in metrics (ferry_messages_dropped_total,
 * ferry_instance_messages_dropped_total) and per client in the management API
 * (`droppedMessages`).
 */
import type { Logger } from 'pino';
import type { BrokerCounters, QueueDropEvent } from './counters.js';

interface Pending {
  queueFull: number;
  expired: number;
}

export class DropLog {
  private readonly pending = new Map<string, Pending & { instanceId: string; clientId: string }>();
  private readonly timer: NodeJS.Timeout;
  private readonly stop: () => void;

  constructor(counters: BrokerCounters, private readonly logger: Logger, intervalMs = 60_000) {
    this.stop = counters.onQueueDrop((event) => this.record(event));
    this.timer = setInterval(() => this.flush(), intervalMs);
    this.timer.unref();
  }

  private record(event: QueueDropEvent): void {
    const key = `${event.instanceId}\u001f${event.clientId}`;
    let entry = this.pending.get(key);
    if (entry === undefined) {
      entry = { instanceId: event.instanceId, clientId: event.clientId, queueFull: 0, expired: 0 };
      this.pending.set(key, entry);
      // The first drop of an interval is told at once; the rest of the interval in the next line.
      this.logger.warn(
        { instanceId: event.instanceId, clientId: event.clientId, reason: event.reason, cause: event.cause },
        'offline message dropped',
      );
      return;
    }
    if (event.reason === 'queue-full') entry.queueFull++;
    else entry.expired++;
  }

  /** One line per client with drops since its last line; clients without new drops are forgotten. */
  flush(): void {
    for (const [key, entry] of this.pending) {
      this.pending.delete(key);
      if (entry.queueFull + entry.expired === 0) continue;
      this.logger.warn({ instanceId: entry.instanceId, clientId: entry.clientId, queueFull: entry.queueFull, expired: entry.expired }, 'offline messages dropped');
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.stop();
    this.flush();
  }
}
