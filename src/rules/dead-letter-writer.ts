/**
 * Moves outbox entries to a rule's dead-letter log (`dead/<ruleId>`), with the reason and the
 * attempts, and says so in the log — one line per rule per interval with the count: a flood of
 * refusals must not flood the log. Used by both dispatchers (dispatcher.ts on the broker thread,
 * thread/feeder.ts for rules whose dispatch runs on the delivery thread).
 */
import type { Logger } from 'pino';
import type { Store } from '../store/types.js';

const DEAD_LOG_INTERVAL_MS = 10_000;

export class DeadLetterWriter {
  private lastLog = 0;
  private sinceLog = 0;

  constructor(
    private readonly ruleId: string,
    private readonly store: Store,
    private readonly logger: Logger,
    readonly deadLog: string,
  ) {}

  /** Appends the dead letter in the store's current batch (the caller removes the outbox entry). */
  write(meta: string, payload: Buffer, reason: string, attempts: number): void {
    const at = Date.now();
    this.store.appendLog(this.deadLog, JSON.stringify({ v: 1, item: meta, reason, attempts, at }), payload, at);
    this.sinceLog++;
    if (at - this.lastLog >= DEAD_LOG_INTERVAL_MS) {
      this.logger.warn({ rule: this.ruleId, reason, count: this.sinceLog }, 'rule items dead-lettered');
      this.lastLog = at;
      this.sinceLog = 0;
    }
  }
}
