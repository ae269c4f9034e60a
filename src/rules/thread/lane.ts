/**
 * One rule's dispatcher on the rule delivery thread: the broker thread feeds it the rule's outbox
 * entries in seq order (feeder.ts), and it delivers them to the target in rounds, several in
 * flight, and answers with what left the outbox (delivered seqs, dead letters) — no step of a
 * round waits for a broker-thread turn.
 *
 *   feed (seq, attempts, meta, payload …) ─▶ queue ─▶ round ─▶ target.deliver ─▶ outcomes, applied in round order
 *                                             ▲                                      │
 *                                             └──── retry (after backoff) ◀──────────┤
 *   outcomes message (delivered seqs, retried seqs, dead letters, released count) ◀──┘
 *
 * Order per publishing client, at least once: rounds go out in seq order and their outcomes are
 * applied in the order the rounds were sent, whatever order they come back in. When an entry of
 * a client fails and will be retried, that client is blocked from that seq: every later entry of
 * the same client — in the same round or in a round already in flight — stays queued even if the
 * target took it, and goes out again after the failed one. A later message may thus reach the
 * target before an earlier one that failed, but never for good: it is sent again after it (the
 * order of last occurrences is the client's order; without failures each message goes once, in
 * order). After a retryable failure only one round is in flight until a round fully succeeds,
 * and rounds wait for an exponential backoff.
 *
 * The lane holds no state that matters: a thread that dies loses it, and the broker thread feeds
 * every undelivered entry again (the outbox is the truth).
 */
import type { DeliveryOutcome, TargetConnector, TargetItem } from '../connectors/types.js';
import { decodeItem, itemClient } from '../items.js';
import type { FeedEntry } from './feed-packing.js';
import type { LaneOutcomes, LaneStats } from './protocol.js';

export const BATCH = 500;
/** Rounds in flight per target while nothing fails. */
export const MAX_ROUNDS = 4;
/** A round starts at once with this many entries queued (or nothing in flight and LINGER_MS passed). */
const LINGER_ITEMS = 256;
const LINGER_MS = 2;
const BACKOFF_FIRST_MS = 200;
const BACKOFF_MAX_MS = 30_000;

const WAITING = 0;
const SENT = 1;
const DONE = 2;

interface LaneEntry {
  readonly seq: number;
  readonly meta: string;
  readonly payload: Buffer;
  /** Decoded lazily, once (null: unreadable, dead-lettered). */
  item: TargetItem | null | undefined;
  client: string;
  attempts: number;
  state: number;
}

interface Round {
  readonly entries: LaneEntry[];
  outcomes: readonly DeliveryOutcome[] | null;
}

export class Lane {
  private queue: LaneEntry[] = [];
  /** Entries before this index are finished. */
  private head = 0;
  private readonly bySeq = new Map<number, LaneEntry>();
  /** First index of `queue` that may be WAITING. */
  private scan = 0;
  private waiting = 0;
  private readonly rounds: Round[] = [];
  /** Per client: the lowest seq that failed and waits for its retry. */
  private readonly blocked = new Map<string, number>();
  /** Rounds in flight at most: several only for a target that keeps their order (TargetConnector.ordered). */
  private readonly maxRounds: number;
  private limit: number;
  private backoffMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private lingered = false;
  private paused = false;
  private closing: (() => void) | null = null;
  // What the next outcomes message carries.
  private delivered: number[] = [];
  private retried: number[] = [];
  private dead: LaneOutcomes['dead'] = [];
  private released = 0;
  private stats: LaneStats = { failed: 0, retried: 0, lastError: null, lastErrorAt: null };

  constructor(
    private readonly target: TargetConnector,
    private readonly maxAttempts: number,
    private readonly report: (outcomes: LaneOutcomes) => void,
  ) {
    this.maxRounds = target.ordered === true ? MAX_ROUNDS : 1;
    this.limit = this.maxRounds;
  }

  /** New entries (seq order, after every entry fed before) and seqs the outbox dropped. */
  feed(entries: readonly FeedEntry[], forget: readonly number[] | null): void {
    for (const f of entries) {
      if (this.bySeq.has(f.seq)) continue;
      const entry: LaneEntry = { seq: f.seq, meta: f.meta, payload: f.payload, item: undefined, client: '', attempts: f.attempts, state: WAITING };
      this.queue.push(entry);
      this.bySeq.set(f.seq, entry);
      this.waiting++;
    }
    if (forget !== null) {
      for (const seq of forget) {
        const entry = this.bySeq.get(seq);
        if (entry !== undefined) this.finish(entry);
      }
      // The broker thread counts what this lane holds: tell it at once, or it stops feeding.
      this.flush();
    }
    this.pump();
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) this.pump();
  }

  /** No new rounds; resolves once the rounds in flight are applied and reported. */
  close(): Promise<void> {
    this.paused = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.rounds.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.closing = resolve;
    });
  }

  private pump(): void {
    while (!this.paused && this.timer === null && this.rounds.length < this.limit && this.waiting > 0) {
      if (this.waiting < LINGER_ITEMS) {
        // Few entries: with a round in flight, its answer pumps again (and more will have come);
        // with none, wait a moment for more (one round trip per LINGER_MS, not one per entry).
        if (this.rounds.length > 0) return;
        if (!this.lingered) {
          this.lingered = true;
          this.wait(LINGER_MS);
          return;
        }
      }
      this.lingered = false;
      this.send(this.take());
    }
  }

  /** Up to BATCH waiting entries, oldest first (unreadable ones go to the dead letters). */
  private take(): LaneEntry[] {
    const out: LaneEntry[] = [];
    const q = this.queue;
    while (this.scan < q.length && q[this.scan]!.state !== WAITING) this.scan++;
    for (let i = this.scan; i < q.length && out.length < BATCH; i++) {
      const entry = q[i]!;
      if (entry.state !== WAITING) continue;
      if (entry.item === undefined) {
        try {
          entry.item = decodeItem(entry.meta, entry.payload);
          entry.client = itemClient(entry.item);
        } catch (error) {
          entry.item = null;
          this.deadLetter(entry, `unreadable outbox entry: ${(error as Error).message}`);
          continue;
        }
      }
      if (entry.attempts >= this.maxAttempts) {
        // Only crashes of this thread count here (the broker thread carries them across restarts).
        this.deadLetter(entry, `the rule delivery thread exited while this entry was in hand, ${entry.attempts} times`);
        continue;
      }
      entry.state = SENT;
      this.waiting--;
      out.push(entry);
    }
    return out;
  }

  private send(entries: LaneEntry[]): void {
    if (entries.length === 0) {
      this.flush();
      return;
    }
    const round: Round = { entries, outcomes: null };
    this.rounds.push(round);
    const items = entries.map((e) => e.item!);
    this.target.deliver(items).then(
      (outcomes) => this.settled(round, outcomes),
      (error: unknown) => this.settled(round, failAll(entries.length, `target failed: ${(error as Error).message}`)),
    );
  }

  private settled(round: Round, outcomes: readonly DeliveryOutcome[]): void {
    round.outcomes = outcomes;
    let retry = false;
    let applied = false;
    while (this.rounds.length > 0 && this.rounds[0]!.outcomes !== null) {
      const head = this.rounds.shift()!;
      if (this.apply(head)) retry = true;
      applied = true;
    }
    if (!applied) return;
    this.flush();
    if (retry) {
      this.limit = 1;
      this.backoffMs = this.backoffMs === 0 ? BACKOFF_FIRST_MS : Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
      this.wait(this.backoffMs);
    }
    if (this.closing !== null && this.rounds.length === 0) {
      this.closing();
      this.closing = null;
      return;
    }
    this.pump();
  }

  /** Applies one round's outcomes, in entry order; true when something must be retried. */
  private apply(round: Round): boolean {
    const outcomes = round.outcomes!;
    let retry = false;
    for (let i = 0; i < round.entries.length; i++) {
      const entry = round.entries[i]!;
      if (entry.state === DONE) continue; // dropped by the outbox while in flight
      const blockedAt = this.blocked.get(entry.client);
      if (blockedAt !== undefined && entry.seq > blockedAt) {
        // An earlier entry of this client waits for its retry: this one goes again after it.
        this.requeue(entry);
        continue;
      }
      const outcome: DeliveryOutcome = outcomes[i] ?? { ok: false, reason: 'no outcome from the target', retryable: true };
      if (outcome.ok) {
        if (blockedAt === entry.seq) this.blocked.delete(entry.client);
        this.delivered.push(entry.seq);
        this.finish(entry);
        continue;
      }
      this.stats.failed++;
      this.stats.lastError = outcome.reason;
      this.stats.lastErrorAt = Date.now();
      entry.attempts++;
      if (!outcome.retryable || entry.attempts >= this.maxAttempts) {
        const why = outcome.retryable ? `gave up after ${entry.attempts} attempts: ${outcome.reason}` : `refused by the target: ${outcome.reason}`;
        this.deadLetter(entry, why);
        continue;
      }
      this.stats.retried++;
      this.retried.push(entry.seq);
      this.requeue(entry);
      if (blockedAt === undefined || entry.seq < blockedAt) this.blocked.set(entry.client, entry.seq);
      retry = true;
    }
    if (!retry) {
      this.limit = this.maxRounds;
      this.backoffMs = 0;
    }
    return retry;
  }

  private requeue(entry: LaneEntry): void {
    entry.state = WAITING;
    this.waiting++;
    const at = this.indexOf(entry.seq);
    if (at >= 0 && at < this.scan) this.scan = at;
  }

  private deadLetter(entry: LaneEntry, reason: string): void {
    // A copy of its own: a view would drag the whole feed buffer through the structured clone.
    this.dead.push({ seq: entry.seq, meta: entry.meta, payload: new Uint8Array(entry.payload), reason, attempts: entry.attempts });
    this.finish(entry);
  }

  /** The entry leaves the lane (delivered, dead-lettered, dropped by the outbox). */
  private finish(entry: LaneEntry): void {
    if (entry.state === DONE) return;
    if (entry.state === WAITING) this.waiting--;
    entry.state = DONE;
    this.bySeq.delete(entry.seq);
    if (this.blocked.get(entry.client) === entry.seq) this.blocked.delete(entry.client);
    this.released++;
    this.compact();
  }

  /** Sends what left the lane since the last message, if anything. */
  private flush(): void {
    if (this.released === 0 && this.retried.length === 0 && this.stats.failed === 0) return;
    this.report({
      delivered: this.delivered,
      retried: this.retried,
      dead: this.dead,
      released: this.released,
      stats: this.stats,
    });
    this.delivered = [];
    this.retried = [];
    this.dead = [];
    this.released = 0;
    this.stats = { failed: 0, retried: 0, lastError: null, lastErrorAt: null };
  }

  private wait(ms: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, ms);
  }

  /** Index of `seq` in the queue (seqs increase), -1 if absent. */
  private indexOf(seq: number): number {
    let lo = this.head;
    let hi = this.queue.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.queue[mid]!.seq;
      if (v === seq) return mid;
      if (v < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Drops finished entries from the front of the queue. */
  private compact(): void {
    const q = this.queue;
    while (this.head < q.length && q[this.head]!.state === DONE) this.head++;
    if (this.scan < this.head) this.scan = this.head;
    if (this.head < 1024 || this.head * 2 < q.length) return;
    this.queue = q.slice(this.head);
    this.scan -= this.head;
    this.head = 0;
  }
}

function failAll(count: number, reason: string): DeliveryOutcome[] {
  const outcome: DeliveryOutcome = { ok: false, reason, retryable: true };
  return Array.from({ length: count }, () => outcome);
}
