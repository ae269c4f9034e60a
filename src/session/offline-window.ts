/**
 * The memory a broker lets journaled sessions' queues hold (docs/storage.md, "Offline queues"):
 * an offline persistent session keeps the oldest entries of its queue in memory as well as in
 * the store, up to a byte budget per session and one for all sessions together, so a returning
 * client drains them without reading its backlog back from disk. The store stays the durable
 * copy; what does not fit stays in the store only and is paged in as before.
 *
 * One object per broker (on its counters, shared by every session). `used` counts the entries
 * in memory of every journaled session, online ones included (those are bounded by paging to
 * 768); only an offline session's entries are kept or refused by the budget.
 */
import type { Delivery } from './session.js';

/**
 * Defaults: 32 MiB for all sessions and for one (about 95,000 entries of 64 B). The RSS an entry
 * costs is 1–3× what it is counted as (V8 sizes the old generation by what lives in it): 64 MiB
 * took 1,000 offline sessions × 1,000 queued from 206 to 340–420 MB (bench/RESULTS.md issue 15 §17).
 */
export const OFFLINE_WINDOW_BYTES = 32 * 1024 * 1024;
export const OFFLINE_WINDOW_BYTES_PER_SESSION = 32 * 1024 * 1024;

/**
 * What one entry is counted as besides its payload and topic: the Delivery, its queue slot, and a
 * share of the Message and its Buffer object (measured: ~330 bytes of heap per 64-byte entry).
 */
const ENTRY_OVERHEAD = 256;

export class OfflineWindow {
  /** Bytes counted for entries in memory now (all sessions). */
  used = 0;

  constructor(
    /** Bytes all sessions together may keep while offline; 0 turns the window off. */
    readonly total: number = OFFLINE_WINDOW_BYTES,
    /** Bytes one offline session may keep. */
    readonly perSession: number = OFFLINE_WINDOW_BYTES_PER_SESSION,
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
