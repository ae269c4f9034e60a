/**
 * The broker-thread side of a rule whose dispatcher runs on the rule delivery thread (lane.ts):
 * it feeds the lane the outbox's entries in seq order, packed (feed-packing.ts), and applies
 * what comes back — delivered seqs leave the outbox, dead letters move to `dead/<ruleId>`, the
 * counters and the traces' rule hop are updated here. No round waits for this thread's turn:
 * the lane holds up to IN_HAND entries and keeps several rounds in flight on its own.
 *
 *   Outbox.append ─▶ (linger) ─▶ feed ─────────▶ lane ─▶ target
 *   Outbox.remove / dead/<ruleId> ◀── outcomes ◀──┘
 *
 * Feeding piggybacks on the outcomes: while the lane holds LOW_WATER entries or more, new
 * entries wait in the outbox for the next outcomes message (one feed per round at full speed,
 * not one per turn: each message wakes the other thread). Entries not in the outbox's memory
 * (loaded at start, beyond its hot window) are read from the log first.
 *
 * The cluster seam stays here: while `mayDeliver()` is false the lane is paused (entries in hand
 * are not sent); adopted entries arrive through Outbox.append like any other. A thread that dies
 * takes the lane with it: the lane is opened again and fed from the outbox's start (entries
 * delivered but not yet reported go twice: at least once). Entries in hand at a crash count an
 * attempt from their second crash on, so a batch that crashes the thread ends in the dead
 * letters instead of crashing it forever.
 */
import type { Logger } from 'pino';
import type { Store } from '../../store/types.js';
import { DeadLetterWriter } from '../dead-letter-writer.js';
import type { DispatchStats } from '../dispatcher.js';
import { decodeItem } from '../items.js';
import type { Outbox, OutboxEntry } from '../outbox.js';
import type { RuleHop } from '../tracer.js';
import type { LaneHandle, LaneLink, PackedTarget } from './delivery-thread.js';
import { packFeed } from './feed-packing.js';
import { BATCH, MAX_ROUNDS } from './lane.js';
import type { LaneOutcomes } from './protocol.js';

/** Entries a lane holds at most (queued and in flight). */
const IN_HAND = 8 * BATCH;
/** Below this many in hand, new entries are fed after FEED_LINGER_MS instead of with the next outcomes. */
const LOW_WATER = 2 * BATCH;
/**
 * How long new entries wait for more before a feed, unless FEED_AT_ONCE wait: each feed wakes the
 * delivery thread, which on a 2-core machine costs the broker thread a context switch (measured:
 * feeds every millisecond were ~2 % of its time in the fleet benchmark).
 */
const FEED_LINGER_MS = 5;
const FEED_AT_ONCE = BATCH / 2;
/** Bytes of one feed at most. */
const FEED_MAX_BYTES = 4 * 1024 * 1024;
/** How often a paused lane's owner looks at mayDeliver() again. */
const PAUSED_POLL_MS = 250;
/** The first crash with an entry in hand is free (it was probably not the entry's fault). */
const FREE_CRASHES = 1;

export class LaneDispatcher implements LaneHandle {
  readonly stats: DispatchStats = { delivered: 0, failed: 0, retried: 0, deadLettered: 0, lastError: null, lastErrorAt: null };
  private link: LaneLink | null = null;
  private stopped = false;
  /** Highest seq fed to the lane (since it was opened). */
  private cursor = 0;
  private inHand = 0;
  private reading = false;
  private timer: NodeJS.Timeout | null = null;
  private timerMs = 0;
  private pollTimer: NodeJS.Timeout | null = null;
  private paused = false;
  /** Seqs dropped by the outbox after they were fed: the lane forgets them. */
  private forget: number[] = [];
  /** Crashes of the thread per entry in hand at them. */
  private readonly crashes = new Map<number, number>();
  /** The trace MsgId of entries in hand (only with tracing on). */
  private readonly msgIds = new Map<number, string>();
  private readonly dead: DeadLetterWriter;

  constructor(
    private readonly ruleId: string,
    store: Store,
    private readonly outbox: Outbox,
    private readonly target: PackedTarget,
    private readonly maxAttempts: number,
    logger: Logger,
    deadLog: string,
    private readonly hop: RuleHop | null = null,
    private readonly mayDeliver: () => boolean = () => true,
  ) {
    this.dead = new DeadLetterWriter(ruleId, store, logger, deadLog);
    outbox.onDropped = (seq) => {
      if (seq > this.cursor) return;
      this.forget.push(seq);
      this.msgIds.delete(seq);
      this.crashes.delete(seq);
      this.schedule(0);
    };
  }

  start(): void {
    if (this.link !== null || this.stopped) return;
    this.link = this.target.openLane(this);
    this.open();
    this.outbox.onAppended = () => this.schedule(this.outbox.depth - this.inHand >= FEED_AT_ONCE ? 0 : FEED_LINGER_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.outbox.onAppended = () => {};
    this.outbox.onDropped = () => {};
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    this.timer = null;
    this.pollTimer = null;
    // The rounds in flight finish and are applied (their entries leave the outbox) before this resolves.
    await this.link?.close();
  }

  // LaneHandle

  outcomes(o: LaneOutcomes): void {
    this.inHand -= o.released;
    for (const seq of o.delivered) {
      this.outbox.remove(seq);
      this.crashes.delete(seq);
      const msgId = this.msgIds.get(seq);
      if (msgId !== undefined) {
        this.msgIds.delete(seq);
        this.hop?.delivered(msgId);
      }
    }
    this.stats.delivered += o.delivered.length;
    for (const seq of o.retried) {
      const msgId = this.msgIds.get(seq);
      if (msgId !== undefined) this.hop?.retried(msgId);
    }
    for (const d of o.dead) {
      // The lane only dead-letters what the outbox holds; one dropped meanwhile is gone already.
      if (this.outbox.has(d.seq)) {
        this.dead.write(d.meta, Buffer.from(d.payload.buffer, d.payload.byteOffset, d.payload.byteLength), d.reason, d.attempts);
        this.outbox.remove(d.seq);
        this.stats.deadLettered++;
      }
      this.crashes.delete(d.seq);
      const msgId = this.msgIds.get(d.seq);
      if (msgId !== undefined) {
        this.msgIds.delete(d.seq);
        this.hop?.deadLettered(msgId);
      }
    }
    this.stats.failed += o.stats.failed;
    this.stats.retried += o.stats.retried;
    if (o.stats.lastError !== null) {
      this.stats.lastError = o.stats.lastError;
      this.stats.lastErrorAt = o.stats.lastErrorAt;
    }
    // Credit came back: feed at once what waits (one feed per round at full speed).
    if (!this.stopped) this.feed();
  }

  restarted(): void {
    if (this.stopped) return;
    // Entries the lane held at the crash: the oldest ones were in its rounds.
    for (const seq of this.outbox.seqsUpTo(this.cursor, MAX_ROUNDS * BATCH)) this.crashes.set(seq, (this.crashes.get(seq) ?? 0) + 1);
    this.cursor = 0;
    this.inHand = 0;
    this.forget = [];
    this.open();
  }

  // Feeding.

  private open(): void {
    this.paused = !this.mayDeliver();
    this.link!.post({ type: 'open', maxAttempts: this.maxAttempts, paused: this.paused });
    // While this node may not deliver (cluster lease), the lane holds its entries and sends none.
    this.pollTimer ??= setInterval(() => this.checkLease(), PAUSED_POLL_MS);
    this.pollTimer.unref();
    this.feed();
  }

  private checkLease(): void {
    const paused = !this.mayDeliver();
    if (paused === this.paused || this.link === null) return;
    this.paused = paused;
    this.link.post({ type: 'pause', paused });
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    // Plenty in hand: the next outcomes message feeds (forgets still go at once).
    if (this.inHand >= LOW_WATER && this.forget.length === 0) return;
    if (this.timer !== null) {
      if (ms > 0 || this.timerMs === 0) return;
      clearTimeout(this.timer); // enough waits now: do not linger
    }
    this.timerMs = ms;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.feed();
    }, ms);
  }

  private feed(): void {
    if (this.stopped || this.link === null || this.reading) return;
    const room = IN_HAND - this.inHand;
    let entries: OutboxEntry[] | null = room > 0 ? this.outbox.peek(room, this.cursor) : [];
    if (entries === null) {
      // The next entry is on disk only: read a batch, then go on (feed() again when it is in).
      this.readCold(Math.min(room, BATCH));
      entries = [];
    }
    if (entries.length === 0 && this.forget.length === 0) return;
    this.send(entries);
  }

  private readCold(max: number): void {
    this.reading = true;
    const link = this.link;
    const after = this.cursor;
    this.outbox
      .readAfter(after, max)
      .then(
        (entries) => {
          this.reading = false;
          // The thread restarted meanwhile (the cursor went back), or the rule stopped: read again.
          if (this.stopped || link !== this.link || this.cursor !== after) {
            this.feed();
            return;
          }
          if (entries.length === 0) {
            // The index is ahead of what the store shows (an entry being dropped): let it settle.
            setTimeout(() => this.feed(), 10).unref();
            return;
          }
          const kept = entries.filter((e) => this.outbox.has(e.seq));
          if (kept.length > 0) this.send(kept);
          else this.cursor = entries[entries.length - 1]!.seq; // all gone meanwhile: skip them
          this.feed();
        },
        (error: unknown) => {
          this.reading = false;
          this.stats.lastError = `reading the outbox failed: ${(error as Error).message}`;
          this.stats.lastErrorAt = Date.now();
          setTimeout(() => this.feed(), PAUSED_POLL_MS).unref();
        },
      );
  }

  private send(entries: readonly OutboxEntry[]): void {
    let count = 0;
    let bytes = 0;
    for (const e of entries) {
      if (bytes > FEED_MAX_BYTES) break;
      bytes += e.meta.length + e.payload.length;
      count++;
      if (this.hop !== null) {
        const msgId = msgIdOf(e);
        if (msgId !== '') this.msgIds.set(e.seq, msgId);
      }
    }
    if (count > 0) this.cursor = entries[count - 1]!.seq;
    this.inHand += count;
    const forget = this.forget.length === 0 ? null : this.forget;
    this.forget = [];
    if (count === 0) {
      this.link!.post({ type: 'feed', data: null, forget });
      return;
    }
    // Packed straight from the outbox's entries (no feed object per entry).
    const data = packFeed(entries, count, this.attemptsOf);
    this.link!.post({ type: 'feed', data, forget }, [data]);
    // More than one feed's worth waits: go on next turn.
    if (count < entries.length) this.schedule(0);
  }

  /** Delivery attempts an entry already had: its crashes of the thread beyond the free one. */
  private readonly attemptsOf = (seq: number): number => (this.crashes.size === 0 ? 0 : Math.max(0, (this.crashes.get(seq) ?? 0) - FREE_CRASHES));
}

function msgIdOf(entry: OutboxEntry): string {
  if (entry.msgId !== undefined) return entry.msgId;
  if (entry.item !== undefined) return entry.item.type === 'message' ? entry.item.message.msgId : '';
  try {
    const item = decodeItem(entry.meta, entry.payload);
    return item.type === 'message' ? item.message.msgId : '';
  } catch {
    return '';
  }
}
