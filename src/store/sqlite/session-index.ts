/**
 * The in-memory index the store keeps beside its tables: live sessions by client id and by sid,
 * each with its queue depth and queued bytes; the same two totals per instance (instance caps,
 * retention); and the sids of deleted sessions whose queue rows still wait to be reclaimed.
 * Rebuilt at open.
 */
import type Database from 'better-sqlite3';
import type { SessionRecord } from '../types.js';
import { sessionFromRow, type SessionRow } from './rows.js';
import type { Statements } from './statements.js';

export interface SessionState {
  readonly sid: number;
  record: SessionRecord;
  depth: number;
  /** Payload + topic bytes of the queue entries (queue.bytes summed). */
  bytes: number;
  /**
   * Every queue row of the session at or below this seq is acknowledged and gone (queue_acked):
   * its rows stay until reclaimed (`acked`) but no read, cap, count or purge sees them.
   */
  ackedThrough: number;
  /** Rows at or below `ackedThrough` not reclaimed yet. */
  ackedRows: number;
}

/** Queue entries and their bytes over the live sessions of one instance. */
export interface InstanceTotals {
  depth: number;
  bytes: number;
}

export class SessionIndex {
  readonly byClientId = new Map<string, SessionState>();
  readonly bySid = new Map<number, SessionState>();
  /** Instances with queued entries; an instance whose queues empty is removed. */
  readonly instances = new Map<string, InstanceTotals>();
  readonly deadSids = new Set<number>();
  /** Live sessions with acknowledged rows still to reclaim (Queues.reclaimAcked). */
  readonly acked = new Set<SessionState>();
  /** Their rows together. */
  ackedRows = 0;

  /** The session of a client id; throws when there is none. */
  live(clientId: string): SessionState {
    const state = this.byClientId.get(clientId);
    if (state === undefined) throw new Error(`unknown session ${clientId}`);
    return state;
  }

  add(state: SessionState): void {
    this.byClientId.set(state.record.clientId, state);
    this.bySid.set(state.sid, state);
  }

  remove(state: SessionState): void {
    this.byClientId.delete(state.record.clientId);
    this.bySid.delete(state.sid);
    if (this.acked.delete(state)) this.ackedRows -= state.ackedRows;
  }

  /** Rows of a session that became acknowledged (n > 0) or were reclaimed (n < 0). */
  countAcked(state: SessionState, n: number): void {
    state.ackedRows += n;
    this.ackedRows += n;
    if (state.ackedRows > 0) this.acked.add(state);
    else this.acked.delete(state);
  }

  /** Adds entries (negative: removes) to a session's queue and its instance's totals. */
  count(state: SessionState, entries: number, bytes: number): void {
    state.depth += entries;
    state.bytes += bytes;
    this.addInstance(state.record.instanceId, entries, bytes);
  }

  /** Changes an instance's totals alone (a deleted session's queue stops counting at once). */
  addInstance(instanceId: string, entries: number, bytes: number): InstanceTotals {
    let totals = this.instances.get(instanceId);
    if (totals === undefined) this.instances.set(instanceId, (totals = { depth: 0, bytes: 0 }));
    totals.depth += entries;
    totals.bytes += bytes;
    if (totals.depth <= 0) this.instances.delete(instanceId);
    return totals;
  }

  instance(instanceId: string): InstanceTotals {
    return this.instances.get(instanceId) ?? { depth: 0, bytes: 0 };
  }
}

/** Reads sessions, dead sids, queue depths and bytes; queue rows of no session are marked dead. */
export function loadSessionIndex(db: Database.Database, s: Statements): SessionIndex {
  const index = new SessionIndex();
  const rows = db
    .prepare(
      `SELECT client_id, sid, instance_id, protocol_version, expiry_interval, disconnected_at FROM sessions`,
    )
    .all() as SessionRow[];
  for (const row of rows) {
    index.add({ sid: row.sid, record: sessionFromRow(row), depth: 0, bytes: 0, ackedThrough: 0, ackedRows: 0 });
  }
  for (const row of db.prepare(`SELECT sid FROM dead_sessions`).all() as Array<{ sid: number }>) {
    index.deadSids.add(row.sid);
  }
  const depths = db.prepare(`SELECT sid, count(*) AS n, total(bytes) AS b FROM queue GROUP BY sid`).all() as Array<{
    sid: number;
    n: number;
    b: number;
  }>;
  for (const { sid, n, b } of depths) {
    const state = index.bySid.get(sid);
    if (state === undefined) {
      if (!index.deadSids.has(sid)) {
        // Orphaned rows (should not happen): reclaim them like a deleted session's.
        s.insertDead.run(sid);
        index.deadSids.add(sid);
      }
      continue;
    }
    index.count(state, n, b);
  }
  // Rows at or below a session's acknowledged-through seq are not entries: they wait for reclaim.
  for (const row of db.prepare(`SELECT sid, through FROM queue_acked`).all() as Array<{ sid: number; through: number }>) {
    const state = index.bySid.get(row.sid);
    if (state === undefined) continue;
    state.ackedThrough = row.through;
    const [acked, bytes] = s.countQueuedRange.get(row.sid, -1, row.through) as [number, number];
    index.count(state, -acked, -bytes);
    if (acked > 0) index.countAcked(state, acked);
  }
  return index;
}
