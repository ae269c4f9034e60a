/**
 * The memory a broker lets journaled sessions' queues hold (docs/storage.md, "Offline queues"):
 * an offline persistent session keeps the oldest entries of its queue in memory as well as in
 * the store, up to a byte budget per session and one for all sessions together, so a returning
 * client drains them without reading its backlog back from disk. The store stays the durable
 * copy; what does not fit stays in the store only and is paged in as before.
 *
 * One object per broker (on its counters, shared by every session). `used` counts the entries
 * in memory of every journaled session, online ones included, except stored pages read back in
 * (bounded by the session's read-ahead, and columnar until taken); only an offline session's
 * entries are kept or refused by the budget.
 */
import type { Delivery } from './session.js';

/**
 * What one entry is counted as besides its payload and topic: the Delivery, its queue slot, and a
 * share of the Message and its Buffer object (measured: ~330 bytes of heap per 64-byte entry).
 */
const ENTRY_OVERHEAD = 256;

export class OfflineWindow {
  /** Bytes counted for entries in memory now (all sessions). */
  used = 0;

  constructor(
    /** Bytes all sessions together may keep while offline (broker.offlineWindowBytes). */
    readonly total: number,
    /** Bytes one offline session may keep. */
    readonly perSession: number,
  ) {}

  /** What an entry is counted as: payload + topic (UTF-16, as the string is held) + overhead. */
  static cost(delivery: Delivery): number {
    return delivery.message.payload.byteLength + 2 * delivery.message.topic.length + ENTRY_OVERHEAD;
  }

  /** True when an offline session holding `held` bytes may keep one more entry of `cost`. */
  fits(held: number, cost: number): boolean {
    return held + cost <= this.perSession && this.used + cost <= this.total;
  }
}
