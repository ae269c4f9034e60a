/**
 * Delivers one outbound or status rule's outbox to its target, at least once, in order per
 * publishing client:
 *
 *   outbox (durable; recent entries from memory, else readLog) ── batch ──▶ target.deliver(batch) ──▶ outcomes
 *        ▲                                                          │
 *        └── removeLog(delivered) · dead/<ruleId> (refused or out of attempts) · retry ◀──┘
 *
 * A retryable failure blocks that client's later items for this round (they are sent again with
 * it, so a client's order holds; later items of other clients go on), and the next round waits
 * with exponential backoff. An item the target refused outright, or that failed `maxAttempts`
 * times, moves to the dead-letter log with the reason. Nothing here ever blocks the broker: the
 * loop is asynchronous and its store writes join the broker's batches.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/types.js';
import type { DeliveryOutcome, TargetConnector, TargetItem } from './connectors/index.js';
import { DeadLetterWriter } from './dead-letter-writer.js';
import { decodeItem, itemClient } from './items.js';
import type { Outbox, OutboxEntry } from './outbox.js';
import type { RuleHop } from './tracer.js';

const BATCH = 500;
const BACKOFF_FIRST_MS = 200;
const BACKOFF_MAX_MS = 30_000;
/** A round starts at once with this many entries waiting, else after LINGER_MS. */
const LINGER_ITEMS = 256;
const LINGER_MS = 2;
/** How often a dispatcher that may not deliver (mayDeliver) looks again. */
const PAUSED_POLL_MS = 250;

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface DispatchStats {
  delivered: number;
  failed: number;
  retried: number;
  deadLettered: number;
  lastError: string | null;
  lastErrorAt: number | null;
}

export class Dispatcher {
  readonly stats: DispatchStats = { delivered: 0, failed: 0, retried: 0, deadLettered: 0, lastError: null, lastErrorAt: null };
  /** Attempts per entry seq (in memory: a restart starts counting again). */
  private readonly attempts = new Map<number, number>();
  private stopped = false;
  private running: Promise<void> | null = null;
  private sleepTimer: NodeJS.Timeout | null = null;
  private sleepWake: (() => void) | null = null;
  private backoffMs = 0;
  private readonly dead: DeadLetterWriter;

  constructor(
    private readonly ruleId: string,
    private readonly store: Store,
    private readonly outbox: Outbox,
    private readonly target: TargetConnector,
    private readonly maxAttempts: number,
    private readonly logger: Logger,
    /** Where dead letters go (a log per rule). */
    readonly deadLog: string,
    /** The rule hop of message traces (rule_out / rule_retry / rule_dead), null when tracing is off. */
    private readonly hop: RuleHop | null = null,
    /** False while this node may not deliver its logs (cluster: its lease is unconfirmed or lost); the loop waits. */
    private readonly mayDeliver: () => boolean = () => true,
  ) {
    this.dead = new DeadLetterWriter(ruleId, store, logger, deadLog);
  }

  start(): void {
    this.running ??= this.loop().catch((error: unknown) => {
      // A bug, not a delivery failure: reported, and the rule stays stopped until it is updated.
      this.stats.lastError = `dispatcher stopped: ${(error as Error).message}`;
      this.stats.lastErrorAt = Date.now();
      this.logger.error({ err: error, rule: this.ruleId }, 'rule dispatcher failed');
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.outbox.wake();
    if (this.sleepTimer !== null) clearTimeout(this.sleepTimer);
    this.sleepWake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await this.outbox.whenNotEmpty();
      // Woken by an append, this continuation would run in the same turn as the PUBLISHes,
      // before the store sends their batch (setImmediate, scheduled by the append): building
      // and writing the target's command would then delay every acknowledgement of the turn.
      // Later the batch is on its way and the target's work overlaps the commit. With few
      // entries waiting, it lingers a moment for more: one round trip to the target per
      // LINGER_MS instead of one per commit cycle (each round trip wakes the target and this
      // thread again, which costs the broker's turns on a busy machine).
      if (this.outbox.depth < LINGER_ITEMS) await this.sleep(LINGER_MS);
      else await nextTurn();
      if (this.stopped) return;
      if (!this.mayDeliver()) {
        await this.sleep(PAUSED_POLL_MS);
        continue;
      }
      const first = this.outbox.first();
      if (first === 0) continue;
      const entries: readonly OutboxEntry[] =
        this.outbox.peek(BATCH) ?? (await this.store.readLog(this.outbox.log, first - 1, BATCH)).filter((e) => this.outbox.has(e.seq));
      if (entries.length === 0) {
        // The index is ahead of what the store shows (an entry being dropped): let it settle.
        await this.sleep(10);
        continue;
      }
      const items: TargetItem[] = [];
      const seqs: number[] = [];
      const sent: OutboxEntry[] = [];
      for (const entry of entries) {
        try {
          items.push(entry.item ?? decodeItem(entry.meta, entry.payload));
          seqs.push(entry.seq);
          sent.push(entry);
        } catch (error) {
          this.deadLetter(entry.seq, entry.meta, entry.payload, `unreadable outbox entry: ${(error as Error).message}`, 0);
        }
      }
      if (items.length === 0) continue;
      const outcomes = await this.target.deliver(items);
      if (this.stopped && outcomes.some((o) => !o.ok)) return;
      const retry = this.apply(items, seqs, outcomes, sent);
      if (retry) {
        this.backoffMs = this.backoffMs === 0 ? BACKOFF_FIRST_MS : Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
        await this.sleep(this.backoffMs);
      } else {
        this.backoffMs = 0;
      }
    }
  }

  /** Applies a round's outcomes; true when something must be retried. */
  private apply(
    items: readonly TargetItem[],
    seqs: readonly number[],
    outcomes: readonly DeliveryOutcome[],
    /** The entries of `items`, index for index. */
    entries: ReadonlyArray<{ seq: number; meta: string; payload: Buffer }>,
  ): boolean {
    const blocked = new Set<string>();
    let retry = false;
    for (let i = 0; i < items.length; i++) {
      const seq = seqs[i]!;
      const client = itemClient(items[i]!);
      const outcome: DeliveryOutcome = outcomes[i] ?? { ok: false, reason: 'no outcome from the target', retryable: true };
      if (blocked.has(client)) {
        // An earlier item of this client failed: this one goes again after it (a duplicate if it
        // was delivered now; at least once, in order).
        continue;
      }
      const item = items[i]!;
      const msgId = item.type === 'message' ? item.message.msgId : '';
      if (outcome.ok) {
        this.stats.delivered++;
        this.attempts.delete(seq);
        this.outbox.remove(seq);
        if (msgId !== '') this.hop?.delivered(msgId);
        continue;
      }
      this.stats.failed++;
      this.stats.lastError = outcome.reason;
      this.stats.lastErrorAt = Date.now();
      const attempts = (this.attempts.get(seq) ?? 0) + 1;
      const entry = entries[i]!;
      if (!outcome.retryable || attempts >= this.maxAttempts) {
        const why = outcome.retryable ? `gave up after ${attempts} attempts: ${outcome.reason}` : `refused by the target: ${outcome.reason}`;
        this.deadLetter(seq, entry.meta, entry.payload, why, attempts);
        if (msgId !== '') this.hop?.deadLettered(msgId);
        continue;
      }
      this.attempts.set(seq, attempts);
      this.stats.retried++;
      if (msgId !== '') this.hop?.retried(msgId);
      blocked.add(client);
      retry = true;
    }
    return retry;
  }

  private deadLetter(seq: number, meta: string, payload: Buffer, reason: string, attempts: number): void {
    this.dead.write(meta, payload, reason, attempts);
    this.attempts.delete(seq);
    this.outbox.remove(seq);
    this.stats.deadLettered++;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.sleepWake = resolve;
      this.sleepTimer = setTimeout(() => {
        this.sleepTimer = null;
        this.sleepWake = null;
        resolve();
      }, ms);
    });
  }
}
