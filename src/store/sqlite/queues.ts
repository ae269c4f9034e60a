/**
 * Offline queues (store thread): enqueue under the per-session and per-instance caps, in entries
 * and in bytes (every drop reported through Corrections), removal, and paging in seq order. The
 * queue is never loaded whole.
 */
import type { DeliveryInfo, DropReason, PurgeReason } from '../types.js';
import type { Corrections } from './corrections.js';
import type { Messages } from './messages.js';
import { packQueueColumns, packQueuePage, type QueueColumns, type QueuePage } from './queue-page.js';
import { consecutiveRuns } from './ranges.js';
import { encodeIds, type QueueRow } from './rows.js';
import type { SessionIndex, SessionState } from './session-index.js';
import type { Statements } from './statements.js';

export interface QueueCaps {
  readonly maxPerSession: number;
  readonly maxPerInstance: number;
  /** Bytes (payload + topic per entry); 0 = no cap. */
  readonly maxBytesPerSession: number;
  readonly maxBytesPerInstance: number;
}

interface DroppedRow {
  seq: number;
  sid: number;
  message_id: number;
  bytes: number;
}

export class Queues {
  constructor(
    private readonly s: Statements,
    private readonly index: SessionIndex,
    private readonly messages: Messages,
    private readonly corrections: Corrections,
  ) {}

  /**
   * Appends under `seq` (assigned by the main thread); then drops the oldest while over a cap:
   * the session's count and bytes, then the instance's count and bytes (the instance's oldest
   * may belong to another session). A message bigger than a byte cap ends up dropped itself.
   */
  enqueue(clientId: string, delivery: DeliveryInfo, seq: number, caps: QueueCaps): void {
    const index = this.index;
    const state = index.live(clientId);
    const info = this.messages.times(delivery.messageId);
    const instanceId = state.record.instanceId;
    this.s.insertQueue.run(
      seq,
      state.sid,
      instanceId,
      delivery.messageId,
      delivery.qos,
      delivery.retain ? 1 : 0,
      encodeIds(delivery.subscriptionIds),
      delivery.shareGroup,
      delivery.shareFilter,
      info.createdAt,
      info.expiresAt,
      info.bytes,
    );
    this.messages.ref(delivery.messageId);
    index.count(state, 1, info.bytes);

    if (state.depth > caps.maxPerSession) {
      const rows = this.s.dropSessionOldest.all(state.sid, state.ackedThrough, state.depth - caps.maxPerSession) as DroppedRow[];
      this.dropped(rows, 'session-cap');
    }
    while (caps.maxBytesPerSession > 0 && state.bytes > caps.maxBytesPerSession && state.depth > 0) {
      const rows = this.s.dropSessionOldest.all(state.sid, state.ackedThrough, 1) as DroppedRow[];
      if (rows.length === 0) break;
      this.dropped(rows, 'session-bytes');
    }
    const excess = index.instance(instanceId).depth - caps.maxPerInstance;
    const overBytes = caps.maxBytesPerInstance > 0 && index.instance(instanceId).bytes > caps.maxBytesPerInstance;
    // The instance's oldest rows must be live ones: acknowledged rows go first (not dropped).
    if ((excess > 0 || overBytes) && index.ackedRows > 0) this.reclaimAcked(Number.MAX_SAFE_INTEGER, instanceId);
    if (excess > 0) {
      const rows = this.s.dropInstanceOldest.all(instanceId, excess) as DroppedRow[];
      this.dropped(rows, 'instance-cap');
    }
    while (caps.maxBytesPerInstance > 0 && index.instance(instanceId).bytes > caps.maxBytesPerInstance) {
      const rows = this.s.dropInstanceOldest.all(instanceId, 1) as DroppedRow[];
      if (rows.length === 0) break;
      this.dropped(rows, 'instance-bytes');
    }
  }

  /** Accounts for deleted queue rows (oldest first) and reports them as dropped. */
  private dropped(rows: DroppedRow[], reason: DropReason): void {
    rows.sort((a, b) => a.seq - b.seq);
    for (const row of rows) this.deleted(row.sid, row.seq, row.message_id, row.bytes, reason);
  }

  /**
   * Accounts for a queue row just deleted over a cap or by housekeeping (expiry, retention). A live
   * entry of its session is counted out and reported as dropped for `reason`: true. A row that was
   * no entry any more — at or below its session's acknowledged-through seq, or of a deleted
   * session — is reclaimed instead (its message reference goes), never counted as dropped or
   * expired: false.
   */
  deleted(sid: number, seq: number, messageId: number, bytes: number, reason: DropReason | PurgeReason): boolean {
    const owner = this.index.bySid.get(sid);
    if (owner === undefined || seq <= owner.ackedThrough) {
      this.messages.unref(messageId);
      if (owner !== undefined) this.index.countAcked(owner, -1);
      return false;
    }
    const traceId = this.messages.traceId(messageId);
    this.messages.unref(messageId);
    this.index.count(owner, -1, -bytes);
    this.corrections.dropped({ clientId: owner.record.clientId, seq, messageId, reason, traceId });
    return true;
  }

  /** Removes an entry; when it is already gone (dropped), the main thread's depth is put back. */
  remove(clientId: string, seq: number): void {
    const state = this.index.byClientId.get(clientId);
    if (state === undefined) return;
    const row = this.s.removeQueued.get(seq, state.sid) as { message_id: number; bytes: number } | undefined;
    if (row === undefined) {
      this.corrections.add(clientId, 1);
      return;
    }
    this.messages.unref(row.message_id);
    this.index.count(state, -1, -row.bytes);
  }

  /**
   * Entries of one session delivered and acknowledged (a batch's Delivered ops, in the order
   * they were sent). Those that make up the head of its queue — from the first live entry on,
   * in runs of consecutive seqs with no live entry between them — advance the session's
   * acknowledged-through seq (queue_acked) with one statement, and their rows stay until
   * `reclaimAcked` deletes them off the drain's path; the rest are deleted now.
   */
  delivered(clientId: string, seqs: readonly number[]): void {
    const state = this.index.byClientId.get(clientId);
    if (state === undefined) return;
    const covered = this.acknowledgeHead(state, seqs);
    if (covered === seqs.length) return;
    if (covered === seqs.length - 1) this.remove(clientId, seqs[covered]!);
    else this.removeMany(clientId, covered === 0 ? seqs : seqs.slice(covered));
  }

  /** Advances `state.ackedThrough` over the leading seqs that are its queue's head; how many it covered. */
  private acknowledgeHead(state: SessionState, seqs: readonly number[]): number {
    const s = this.s;
    const from = state.ackedThrough;
    let through = from;
    let i = 0;
    while (i < seqs.length) {
      // A run of consecutive seqs holds no other entry; it must start at the first live one.
      if (s.queueHead.get(state.sid, through) !== seqs[i]) break;
      let j = i + 1;
      while (j < seqs.length && seqs[j] === seqs[j - 1]! + 1) j++;
      through = seqs[j - 1]!;
      i = j;
    }
    if (i === 0) return 0;
    const [rows, bytes] = s.countQueuedRange.get(state.sid, from, through) as [number, number];
    s.setAckedThrough.run(state.sid, through);
    state.ackedThrough = through;
    this.index.count(state, -rows, -bytes);
    this.index.countAcked(state, rows);
    // Covered but not found (dropped meanwhile): the main thread's depth is put back, as in `remove`.
    if (rows < i) this.corrections.add(state.record.clientId, i - rows);
    return i;
  }

  /**
   * Deletes up to `limit` acknowledged rows (at or below their session's acknowledged-through
   * seq), oldest first, and drops their message references; returns how many went. With an
   * instance id, only its sessions' rows (all of them before its oldest are dropped over a cap).
   */
  reclaimAcked(limit: number, instanceId?: string): number {
    let reclaimed = 0;
    for (const state of [...this.index.acked]) {
      if (reclaimed >= limit) break;
      if (instanceId !== undefined && state.record.instanceId !== instanceId) continue;
      const asked = limit - reclaimed;
      const ids = this.s.reclaimAcked.all(state.sid, state.ackedThrough, asked) as number[];
      for (const id of ids) this.messages.unref(id);
      reclaimed += ids.length;
      // Fewer than asked: none are left; as many: it stays listed until a step finds fewer.
      const left = ids.length < asked ? 0 : Math.max(1, state.ackedRows - ids.length);
      this.index.countAcked(state, left - state.ackedRows);
    }
    return reclaimed;
  }

  /**
   * Removes many entries of one session in one statement (a draining session's delivered run);
   * entries already gone put the main thread's depth back, as in `remove`.
   */
  removeMany(clientId: string, seqs: readonly number[]): void {
    const state = this.index.byClientId.get(clientId);
    if (state === undefined) return;
    // Runs of consecutive seqs as ranges (one session draining alone: nearly all of them).
    const { runs, rest } = consecutiveRuns(seqs);
    let removed = 0;
    let bytes = 0;
    const account = (rows: Array<[messageId: number, bytes: number]>): void => {
      for (const [messageId, rowBytes] of rows) {
        this.messages.unref(messageId);
        bytes += rowBytes;
      }
      removed += rows.length;
    };
    for (const [first, last] of runs) account(this.s.removeQueuedRange.all(first, last, state.sid) as Array<[number, number]>);
    if (rest.length > 0) account(this.s.removeQueuedMany.all(JSON.stringify(rest), state.sid) as Array<[number, number]>);
    this.index.count(state, -removed, -bytes);
    if (removed < seqs.length) this.corrections.add(clientId, seqs.length - removed);
  }

  /** A page of the queue after `afterSeq`, packed for the main thread (queue-page.ts). */
  read(clientId: string, afterSeq: number, limit: number): QueuePage {
    const state = this.index.byClientId.get(clientId);
    if (state === undefined || limit <= 0 || state.depth === 0) return packQueuePage([]);
    afterSeq = Math.max(afterSeq, state.ackedThrough);
    this.messages.insertReferenced();
    let packed: [json: string, blobs: Buffer | null];
    try {
      packed = this.s.readQueuePage.get(state.sid, afterSeq, limit) as [string, Buffer | null];
    } catch (error) {
      // One value holds at most SQLite's length limit (1e9 bytes): a page of very large
      // messages is read row by row instead.
      if ((error as { code?: unknown }).code !== 'SQLITE_TOOBIG') throw error;
      return this.readRows(state.sid, afterSeq, limit);
    }
    const rows = JSON.parse(packed[0]) as QueueColumns[];
    // The aggregates' order is the subquery's in practice, but SQL does not promise it.
    for (let i = 0, last = afterSeq; i < rows.length; last = rows[i]![0], i++) {
      if (rows[i]![0] <= last) return this.readRows(state.sid, afterSeq, limit);
    }
    return packQueueColumns(rows, packed[1]);
  }

  /** The same page with one row (and one Buffer per blob) per entry. */
  private readRows(sid: number, afterSeq: number, limit: number): QueuePage {
    return packQueuePage(this.s.readQueue.all(sid, afterSeq, limit) as QueueRow[]);
  }
}
