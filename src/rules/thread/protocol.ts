/** Messages between the broker thread (delivery-thread.ts, feeder.ts) and the rule delivery thread (delivery-worker.ts, lane.ts). */
import type { ConnectorHealth } from '../connectors/types.js';

/**
 * Broker thread → delivery thread. `n` numbers a request that gets a reply; `t` names a target
 * connector, and the lane (the rule's dispatcher on the thread) that delivers to it.
 */
export type ThreadRequest =
  | { readonly type: 'start'; readonly n: number; readonly t: number; readonly url: string; readonly secret?: string }
  | { readonly type: 'health'; readonly n: number; readonly t: number }
  | { readonly type: 'stop'; readonly n: number; readonly t: number }
  /** Closes target t's lane: no new rounds; the reply comes once the rounds in flight are reported. */
  | { readonly type: 'close'; readonly n: number; readonly t: number };

/** Broker thread → a lane, no reply (what comes back is an `outcomes` message). */
export type LaneMessage =
  | { readonly type: 'open'; readonly t: number; readonly maxAttempts: number; readonly paused: boolean }
  /** Entries (feed-packing.ts), and seqs the outbox dropped (overflow) after feeding them. */
  | { readonly type: 'feed'; readonly t: number; readonly data: ArrayBuffer | null; readonly forget: number[] | null }
  | { readonly type: 'pause'; readonly t: number; readonly paused: boolean };

/** Counters of a lane since its last outcomes message (delivered and dead-lettered are the lists' lengths). */
export interface LaneStats {
  failed: number;
  retried: number;
  lastError: string | null;
  lastErrorAt: number | null;
}

/** What left a lane since its last message. */
export interface LaneOutcomes {
  /** Seqs the target took: removed from the outbox. */
  readonly delivered: number[];
  /** Seqs that failed and will be retried (the traces' rule hop). */
  readonly retried: number[];
  /** Entries to move to the dead letters (refused, out of attempts, unreadable). */
  readonly dead: Array<{ readonly seq: number; readonly meta: string; readonly payload: Uint8Array; readonly reason: string; readonly attempts: number }>;
  /** Entries the lane no longer holds (delivered, dead, dropped): the feeder's credit. */
  readonly released: number;
  readonly stats: LaneStats;
}

/** Delivery thread → broker thread. */
export type ThreadReply =
  | { readonly type: 'ready' }
  | { readonly type: 'reply'; readonly n: number; readonly ok: true; readonly value?: ConnectorHealth }
  | { readonly type: 'reply'; readonly n: number; readonly ok: false; readonly error: string }
  | { readonly type: 'outcomes'; readonly t: number; readonly outcomes: LaneOutcomes }
  | { readonly type: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly obj: Record<string, unknown>; readonly msg: string };
