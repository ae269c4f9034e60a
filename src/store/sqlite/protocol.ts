/**
 * The messages between the main thread (sqlite-store.ts) and the store thread (worker.ts).
 *
 *   main thread                                   store thread
 *   mutation → op appended to the turn's batch
 *   end of turn ── batch {n, ops, blob} ────────▶  drains every queued batch, applies them in one
 *                                                  transaction, COMMIT (fsync per policy)
 *   whenDurable() waiters ≤ n resolved ◀──────────  durable {upTo, drops, depth corrections}
 *                        or rejected   ◀──────────  failed {upTo, reason}  (degraded: retried with
 *                                                   backoff, then recovered {upTo})
 *   reads ── request {id, ...} ─────────────────▶  answered in order, after the batches before them
 *
 * A batch is a flat array of op codes, each followed by its fixed number of arguments (strings
 * and numbers, structured-cloned), plus one blob (an ArrayBuffer, transferred, not copied)
 * holding every payload and property block of the batch; ops refer to it by offset and length.
 * Messages carry `v`: a worker never mixes with a main thread of another layout.
 */
import type {
  DroppedEntry,
  LoadedSession,
  MessageRecord,
  PurgeResult,
  RecordQuery,
  RetainedRecord,
  SessionRecord,
  StoreStats,
  StoredRecord,
  WillRecord,
} from '../types.js';
import type { QueuePage } from './queue-page.js';

export const PROTOCOL_VERSION = 1;

/** Op codes; the comment lists the arguments that follow the code in a batch. */
export const Op = {
  /** clientId, instanceId, protocolVersion, expiryInterval, disconnectedAt */
  PutSession: 1,
  /** clientId, at */
  SetDisconnected: 2,
  /** clientId */
  DeleteSession: 3,
  /** clientId, key, qos, noLocal, retainAsPublished, retainHandling, subscriptionId, shareGroup, filter */
  PutSubscription: 4,
  /** clientId, key */
  DeleteSubscription: 5,
  /** id, topic, payloadOffset, payloadLength, qos, retain, propsOffset, propsLength (-1: none), expiresAt, createdAt */
  AddMessage: 6,
  /**
   * clientId, seq, messageId, qos, retain, subscriptionIds, shareGroup, shareFilter, maxPerSession,
   * maxPerInstance, maxBytesPerSession, maxBytesPerInstance (0 = no byte cap)
   */
  Enqueue: 7,
  /** clientId, seq */
  RemoveQueued: 8,
  /** clientId, packetId, seq, messageId, qos, retain, subscriptionIds, shareGroup, shareFilter */
  AddInflight: 9,
  /** clientId, queueSeq, packetId, inflightSeq */
  MoveToInflight: 10,
  /** clientId, packetId */
  ReleaseInflight: 11,
  /** clientId, packetId */
  RemoveInflight: 12,
  /** clientId, packetId */
  AddInbound: 13,
  /** clientId, packetId */
  RemoveInbound: 14,
  /** topic, messageId */
  SetRetained: 15,
  /** topic */
  DeleteRetained: 16,
  /** clientId, topic, payloadOffset, payloadLength, qos, retain, propsOffset, propsLength, expiresAt, publishAt */
  PutWill: 17,
  /** clientId */
  DeleteWill: 18,
  /** key, json */
  SetMeta: 19,
  /** key */
  DeleteMeta: 20,
  /** collection, key, json */
  PutRecord: 21,
  /** collection, key */
  DeleteRecord: 22,
  /** log, seq, createdAt, metaJson, payloadOffset, payloadLength */
  AppendLog: 23,
  // 24 was RemoveLog (log, seq): removals are RemoveLogs now.
  /** log */
  DropLog: 25,
  /**
   * clientId, queueSeq, packetId, inflightSeq: a MoveToInflight whose entry was completed in the
   * same batch, rewritten in place (same arity): the queue entry is simply removed.
   */
  Delivered: 26,
  /** log, seqs (number[]): consecutive removals of one log's entries, as one op (`removeLog`). */
  RemoveLogs: 27,
} as const;

/** Arguments after each op code. */
export const OP_ARITY: Readonly<Record<number, number>> = {
  [Op.PutSession]: 5,
  [Op.SetDisconnected]: 2,
  [Op.DeleteSession]: 1,
  [Op.PutSubscription]: 9,
  [Op.DeleteSubscription]: 2,
  [Op.AddMessage]: 11,
  [Op.Enqueue]: 12,
  [Op.RemoveQueued]: 2,
  [Op.AddInflight]: 9,
  [Op.MoveToInflight]: 4,
  [Op.ReleaseInflight]: 2,
  [Op.RemoveInflight]: 2,
  [Op.AddInbound]: 2,
  [Op.RemoveInbound]: 2,
  [Op.SetRetained]: 2,
  [Op.DeleteRetained]: 1,
  [Op.PutWill]: 10,
  [Op.DeleteWill]: 1,
  [Op.SetMeta]: 2,
  [Op.DeleteMeta]: 1,
  [Op.PutRecord]: 3,
  [Op.DeleteRecord]: 2,
  [Op.AppendLog]: 6,
  [Op.DropLog]: 1,
  [Op.Delivered]: 4,
  [Op.RemoveLogs]: 2,
};

export type OpValue = string | number | boolean | null | readonly number[];

export interface WorkerData {
  readonly v: typeof PROTOCOL_VERSION;
  readonly path: string;
  readonly fsync: 'always' | 'interval' | 'off';
  readonly fsyncIntervalMs: number;
  readonly integrityCheck: 'auto' | 'quick' | 'full' | 'none';
  readonly cacheSizeKiB: number;
  /** Test-only fault injection (see StoreFaults in options.ts); never set from configuration. */
  readonly faults: SharedArrayBuffer | null;
}

/** What the store thread knows at open and the main thread needs to answer synchronously. */
export interface OpenState {
  readonly nextSeq: number;
  readonly nextMessageId: number;
  readonly sessions: ReadonlyArray<{ record: SessionRecord; depth: number }>;
  readonly wills: readonly string[];
  readonly retained: readonly string[];
}

/** A serializable error (errors lose their class across threads). */
export interface ErrorInfo {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly path?: string;
  readonly detail?: string;
  readonly moveAsideCommand?: string;
  readonly found?: number;
  readonly supported?: number;
}

export type Request =
  | {
      readonly type: 'batch';
      readonly n: number;
      readonly ops: OpValue[];
      readonly blob: ArrayBuffer | null;
      /**
       * False when a read made the main thread send its batch before the end of its turn: the
       * store thread then keeps the transaction open for the rest of the turn (one turn's
       * mutations always commit together).
       */
      readonly final: boolean;
    }
  | { readonly type: 'read'; readonly id: number; readonly read: Read }
  | { readonly type: 'close'; readonly id: number };

export type Read =
  | { readonly kind: 'message'; readonly messageId: number }
  | { readonly kind: 'queue'; readonly clientId: string; readonly afterSeq: number; readonly limit: number }
  | { readonly kind: 'meta'; readonly key: string }
  | { readonly kind: 'record'; readonly collection: string; readonly key: string }
  | { readonly kind: 'records'; readonly collection: string; readonly query: RecordQuery }
  | { readonly kind: 'sessions'; readonly after: string }
  | { readonly kind: 'retained'; readonly after: string }
  | { readonly kind: 'wills'; readonly after: string }
  | {
      readonly kind: 'purge';
      readonly now: number;
      readonly budget: number;
      /** Offline retention (ms) per instance with queued messages. */
      readonly retention: Readonly<Record<string, number>>;
    }
  | { readonly kind: 'stats' }
  | { readonly kind: 'log'; readonly log: string; readonly afterSeq: number; readonly limit: number }
  | { readonly kind: 'log-entries'; readonly log: string; readonly seqs: readonly number[] }
  | { readonly kind: 'log-summaries'; readonly prefix: string };

export type ReadResult =
  | MessageRecord
  | undefined
  | QueuePage
  | unknown
  | StoredRecord[]
  | LoadedSession[]
  | RetainedRecord[]
  | WillRecord[]
  | PurgeResult
  | StoreStats;

/** Queue depth changes only the store thread can know (cap drops, purges, absent entries). */
export type DepthCorrections = Array<[clientId: string, delta: number]>;

export type Reply =
  | { readonly type: 'ready'; readonly v: typeof PROTOCOL_VERSION; readonly state: OpenState }
  | { readonly type: 'open-failed'; readonly error: ErrorInfo }
  | {
      readonly type: 'durable';
      readonly upTo: number;
      readonly drops: readonly DroppedEntry[];
      readonly corrections: DepthCorrections;
      /** Ops refused as invalid (programming errors), with the reason; the rest of the batch stands. */
      readonly invalid: readonly string[];
      /** Time spent in the COMMIT, ms. */
      readonly commitMs: number;
    }
  | { readonly type: 'failed'; readonly upTo: number; readonly reason: string; readonly code: string | null }
  | { readonly type: 'recovered'; readonly upTo: number }
  /** Something went wrong that loses nothing and is tried again (e.g. reclaiming acknowledged rows). */
  | { readonly type: 'warning'; readonly message: string }
  | { readonly type: 'read'; readonly id: number; readonly result: ReadResult }
  | { readonly type: 'read-failed'; readonly id: number; readonly error: ErrorInfo }
  | { readonly type: 'closed'; readonly id: number };
