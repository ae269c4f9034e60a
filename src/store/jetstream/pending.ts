/**
 * What the JetStream store still has to write: the open batch, and (on failure) what a failed
 * batch gives back. Values that are a key's whole state (sessions, retained, wills, metadata) are
 * keyed, so a newer change supersedes an older one that never got written.
 */
import type { MessageRecord, WillRecord } from '../types.js';

export interface QueueAppend {
  readonly clientId: string;
  /** The subject of the session's incarnation when queued (an append of a since-deleted one is not mapped). */
  readonly subject: string;
  readonly data: Uint8Array;
}

export interface InflightWrite {
  readonly key: string;
  /** The entry, null for its deletion. */
  readonly data: Uint8Array | null;
}

export interface LogAppend {
  readonly log: string;
  readonly gen: number;
  readonly data: Uint8Array;
}

/** A message for a stream of another module (the cluster's built-in queues), written with the batch. */
export interface StagedPublish {
  readonly subject: string;
  readonly data: Uint8Array;
  /** JetStream's de-duplication id: a retry whose first answer was lost is dropped. */
  readonly msgID: string;
}

export class Pending {
  /** Sessions whose record (or its deletion) must be written. */
  readonly sessions = new Set<string>();
  /** Queue subjects to empty: those of deleted sessions, once purgeExpired reclaimed them. */
  readonly purges = new Set<string>();
  /** Queue entries to delete by stream sequence: a deleted session's, found at start and reclaimed by purgeExpired. */
  readonly rawDeletes = new Set<number>();
  /** Queue entries to publish, by the store's seq (ascending). */
  appends = new Map<number, QueueAppend>();
  /** Written queue entries to delete: seq → client id. */
  readonly removals = new Map<number, string>();
  /** In-flight entries to write, by client id + packet id. */
  readonly inflight = new Map<string, InflightWrite>();
  /** In-flight windows of deleted sessions to remove whole (stream subject filters). */
  readonly inflightPurges = new Set<string>();
  readonly retained = new Map<string, MessageRecord | null>();
  readonly wills = new Map<string, WillRecord | null>();
  /** Meta bucket key → JSON text, null for a deletion. */
  readonly meta = new Map<string, string | null>();
  logAppends = new Map<number, LogAppend>();
  /** Written log entries to delete: seq → log. */
  readonly logRemovals = new Map<number, string>();
  /** Logs to empty (dropLog), before any append. */
  readonly logDrops = new Set<string>();
  /** Messages of other streams, in the order they were staged. */
  publishes: StagedPublish[] = [];

  get empty(): boolean {
    return (
      this.sessions.size === 0 &&
      this.purges.size === 0 &&
      this.rawDeletes.size === 0 &&
      this.appends.size === 0 &&
      this.removals.size === 0 &&
      this.inflight.size === 0 &&
      this.inflightPurges.size === 0 &&
      this.retained.size === 0 &&
      this.wills.size === 0 &&
      this.meta.size === 0 &&
      this.logAppends.size === 0 &&
      this.logRemovals.size === 0 &&
      this.logDrops.size === 0 &&
      this.publishes.length === 0
    );
  }

  /** Puts back appends that were not written, keeping seq order. */
  restoreAppends(entries: ReadonlyArray<[number, QueueAppend]>): void {
    if (entries.length === 0) return;
    this.appends = new Map([...entries, ...this.appends].sort((a, b) => a[0] - b[0]));
  }

  restoreLogAppends(entries: ReadonlyArray<[number, LogAppend]>): void {
    if (entries.length === 0) return;
    this.logAppends = new Map([...entries, ...this.logAppends].sort((a, b) => a[0] - b[0]));
  }

  /** Puts back a keyed value unless a newer one is pending. */
  static restore<K, V>(map: Map<K, V>, key: K, value: V): void {
    if (!map.has(key)) map.set(key, value);
  }
}
