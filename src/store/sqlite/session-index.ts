/**
 * The in-memory index the store keeps beside its tables: live sessions by client id and by sid,
 * each with its queue depth; the queue depth per instance (instance cap, retention); and the
 * sids of deleted sessions whose queue rows still wait to be reclaimed. Rebuilt at open.
 */
import type Database from 'better-sqlite3';
import type { SessionRecord } from '../types.js';
import { sessionFromRow, type SessionRow } from './rows.js';
import type { Statements } from './statements.js';

export interface SessionState {
  readonly sid: number;
  record: SessionRecord;
  depth: number;
}

export class SessionIndex {
  readonly byClientId = new Map<string, SessionState>();
  readonly bySid = new Map<number, SessionState>();
  readonly instanceDepth = new Map<string, number>();
  readonly deadSids = new Set<number>();

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
  }

  addInstanceDepth(instanceId: string, delta: number): number {
    const depth = (this.instanceDepth.get(instanceId) ?? 0) + delta;
    if (depth === 0) this.instanceDepth.delete(instanceId);
    else this.instanceDepth.set(instanceId, depth);
    return depth;
  }
}

/** Reads sessions, dead sids and queue depths; queue rows of no session are marked dead. */
export function loadSessionIndex(db: Database.Database, s: Statements): SessionIndex {
  const index = new SessionIndex();
  const rows = db
    .prepare(
      `SELECT client_id, sid, instance_id, protocol_version, expiry_interval, disconnected_at FROM sessions`,
    )
    .all() as SessionRow[];
  for (const row of rows) {
    index.add({ sid: row.sid, record: sessionFromRow(row), depth: 0 });
  }
  for (const row of db.prepare(`SELECT sid FROM dead_sessions`).all() as Array<{ sid: number }>) {
    index.deadSids.add(row.sid);
  }
  const depths = db.prepare(`SELECT sid, count(*) AS n FROM queue GROUP BY sid`).all() as Array<{
    sid: number;
    n: number;
  }>;
  for (const { sid, n } of depths) {
    const state = index.bySid.get(sid);
    if (state === undefined) {
      if (!index.deadSids.has(sid)) {
        // Orphaned rows (should not happen): reclaim them like a deleted session's.
        s.insertDead.run(sid);
        index.deadSids.add(sid);
      }
      continue;
    }
    state.depth = n;
    const instanceId = state.record.instanceId;
    index.instanceDepth.set(instanceId, (index.instanceDepth.get(instanceId) ?? 0) + n);
  }
  return index;
}
