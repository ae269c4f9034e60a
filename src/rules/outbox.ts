/**
 * A rule's outbox: the durable log `outbox/<ruleId>` (entries written in the same group commit
 * as the acknowledgement of the message they carry) and its in-memory index — seq, size and time
 * of every entry not yet delivered. The index gives depth, bytes and age at once and lets the
 * outbox stay within its bounds without reading the disk.
 *
 * Entries appended by this process also keep their meta and payload in memory while the outbox's
 * in-memory bytes stay under HOT_BYTES, so a dispatcher that keeps up never reads back what it
 * just wrote (a read is a round trip to the store thread, queued behind its commits). Entries
 * loaded at start, or appended beyond that budget, are read from the log a batch at a time.
 *
 * Bounds (count and bytes): when an append would exceed them, policy 'drop-oldest' (default)
 * removes the oldest entries, 'refuse' drops the new one; either way MQTT traffic goes on, and
 * the drop is counted (`dropped`) and reported through `onOverflow`.
 */
import type { Store } from '../store/types.js';
import type { TargetItem } from './connectors/index.js';
import { detached } from './items.js';

export type OverflowPolicy = 'drop-oldest' | 'refuse';

export interface OutboxBounds {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly overflow: OverflowPolicy;
}

/** Meta + payload bytes one outbox keeps in memory at most (beyond it, entries are read back). */
export const HOT_BYTES = 16 * 1024 * 1024;

/** `sizes` mark of an entry that is gone. */
const REMOVED = -1;

export interface OutboxEntry {
  readonly seq: number;
  readonly meta: string;
  readonly payload: Buffer;
  /** The decoded item, when the appender had it (saves decoding what was just encoded). */
  readonly item?: TargetItem;
  /** The trace MsgId of a message entry, when the appender had it (else it is in the meta). */
  readonly msgId?: string;
}

export class Outbox {
  readonly log: string;
  private seqs: number[] = [];
  /** Bytes of each entry; REMOVED once it is gone (removed out of order: a blocked client's items stay while later ones go). */
  private sizes: number[] = [];
  private times: number[] = [];
  /** The entry itself while it is in the hot window; null when it must be read from the log. */
  private hot: (OutboxEntry | null)[] = [];
  private hotBytes = 0;
  private head = 0;
  private count = 0;
  bytes = 0;
  dropped = 0;
  private waiter: (() => void) | null = null;
  onOverflow: (dropped: number) => void = () => {};
  /** After each append (a feeder schedules its next feed). */
  onAppended: () => void = () => {};
  /** Each entry dropped over the bounds (drop-oldest), after its removal: a feeder forgets it. */
  onDropped: (seq: number) => void = () => {};

  constructor(
    private readonly store: Store,
    ruleId: string,
    private bounds: OutboxBounds,
  ) {
    this.log = `outbox/${ruleId}`;
  }

  setBounds(bounds: OutboxBounds): void {
    this.bounds = bounds;
  }

  get depth(): number {
    return this.count;
  }

  /** Age of the oldest undelivered entry, ms (0 when empty). */
  oldestAge(now: number): number {
    this.compact();
    return this.head < this.seqs.length ? Math.max(0, now - this.times[this.head]!) : 0;
  }

  /** Rebuilds the index from the log at start (entries survive restarts). */
  async load(): Promise<void> {
    let after = 0;
    for (;;) {
      const page = await this.store.readLog(this.log, after, 1000);
      for (const entry of page) this.index(entry.seq, entry.payload.length + entry.meta.length, entry.createdAt, null);
      if (page.length < 1000) break;
      after = page[page.length - 1]!.seq;
    }
  }

  /**
   * Appends in the current batch; false when the entry was refused over the bounds. `lazy`: no
   * acknowledgement waits for it (a QoS 0 message), it rides with the store's next batch
   * (Store.appendLog).
   */
  append(meta: string, payload: Buffer, now: number, item?: TargetItem, lazy = false, msgId?: string): boolean {
    const size = payload.length + meta.length;
    const b = this.bounds;
    if (this.count + 1 > b.maxMessages || this.bytes + size > b.maxBytes) {
      if (b.overflow === 'refuse') {
        this.dropped++;
        this.onOverflow(1);
        return false;
      }
      let freed = 0;
      while (this.count > 0 && (this.count + 1 > b.maxMessages || this.bytes + size > b.maxBytes)) {
        this.compact();
        const oldest = this.seqs[this.head]!;
        this.remove(oldest);
        this.onDropped(oldest);
        freed++;
      }
      this.dropped += freed;
      if (freed > 0) this.onOverflow(freed);
    }
    const seq = this.store.appendLog(this.log, meta, payload, now, lazy);
    const keep = this.hotBytes + size <= HOT_BYTES;
    if (keep) this.hotBytes += size;
    let entry: OutboxEntry | null = null;
    if (keep) {
      // The engine hands in detached bytes (one copy for all its rules): nothing to copy then.
      const own = detached(payload);
      const ownItem = own !== payload && item?.type === 'message' ? { type: 'message' as const, message: { ...item.message, payload: own } } : item;
      if (ownItem !== undefined) entry = { seq, meta, payload: own, item: ownItem };
      else entry = msgId === undefined ? { seq, meta, payload: own } : { seq, meta, payload: own, msgId };
    }
    this.index(seq, size, now, entry);
    this.onAppended();
    const waiter = this.waiter;
    if (waiter !== null) {
      this.waiter = null;
      waiter();
    }
    return true;
  }

  /** The seq of the oldest undelivered entry, or 0. */
  first(): number {
    this.compact();
    return this.head < this.seqs.length ? this.seqs[this.head]! : 0;
  }

  /**
   * Up to `max` undelivered entries from the oldest on (or after seq `after`), from memory, up to the first one that is
   * not in memory; null when the oldest is not (the caller reads the batch from the log instead).
   * Handing out the in-memory run keeps a dispatcher on the cheap path while an outbox that
   * outgrew the window (a flood, a target that was down) has older entries on disk only.
   */
  peek(max: number, after = 0): OutboxEntry[] | null {
    this.compact();
    const out: OutboxEntry[] = [];
    for (let i = after === 0 ? this.head : this.firstAfter(after); i < this.seqs.length && out.length < max; i++) {
      if (this.sizes[i] === REMOVED) continue;
      const entry = this.hot[i];
      if (entry === null || entry === undefined) return out.length === 0 ? null : out;
      out.push(entry);
    }
    return out;
  }

  /** Up to `max` entries of the log after seq `after` (read from the store: the cold path). */
  async readAfter(after: number, max: number): Promise<OutboxEntry[]> {
    return this.store.readLog(this.log, after, max);
  }

  has(seq: number): boolean {
    const at = this.position(seq);
    return at >= 0 && this.sizes[at] !== REMOVED;
  }

  /** Removes an entry (delivered, dead-lettered, dropped) from the log and the index. */
  remove(seq: number): void {
    const at = this.position(seq);
    if (at < 0) return;
    const size = this.sizes[at]!;
    if (size === REMOVED) return;
    this.store.removeLog(this.log, seq);
    this.count--;
    this.bytes -= size;
    if (this.hot[at] !== null) {
      this.hotBytes -= size;
      this.hot[at] = null;
    }
    this.sizes[at] = REMOVED;
    this.compact();
  }

  /** Resolves when the outbox has an entry (at once if it has one). */
  whenNotEmpty(): Promise<void> {
    if (this.count > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** Wakes a dispatcher waiting for entries (on stop). */
  wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }

  /** Forgets everything, on disk too (the rule was deleted). */
  drop(): void {
    this.store.dropLog(this.log);
    this.seqs = [];
    this.sizes = [];
    this.times = [];
    this.hot = [];
    this.hotBytes = 0;
    this.head = 0;
    this.count = 0;
    this.bytes = 0;
  }

  private index(seq: number, size: number, time: number, entry: OutboxEntry | null): void {
    this.seqs.push(seq);
    this.sizes.push(size);
    this.times.push(time);
    this.hot.push(entry);
    this.count++;
    this.bytes += size;
  }

  /** Index of `seq` in the arrays (binary search: seqs increase), -1 if absent. */
  private position(seq: number): number {
    let lo = this.head;
    let hi = this.seqs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.seqs[mid]!;
      if (v === seq) return mid;
      if (v < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Index of the first entry with a seq above `seq` (binary search). */
  private firstAfter(seq: number): number {
    let lo = this.head;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqs[mid]! <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The undelivered seqs up to `last`, oldest first, at most `max` (a feeder's entries in hand). */
  seqsUpTo(last: number, max: number): number[] {
    this.compact();
    const out: number[] = [];
    for (let i = this.head; i < this.seqs.length && out.length < max && this.seqs[i]! <= last; i++) {
      if (this.sizes[i] !== REMOVED) out.push(this.seqs[i]!);
    }
    return out;
  }

  /** Drops removed entries from the front; trims the arrays once the dead prefix is large. */
  private compact(): void {
    while (this.head < this.seqs.length && this.sizes[this.head] === REMOVED) this.head++;
    if (this.head > 4096 && this.head * 2 > this.seqs.length) {
      this.seqs = this.seqs.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.times = this.times.slice(this.head);
      this.hot = this.hot.slice(this.head);
      this.head = 0;
    }
  }
}
