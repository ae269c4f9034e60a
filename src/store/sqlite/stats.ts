/** Row counts for `Store.stats()`. */
import type Database from 'better-sqlite3';
import type { StoreStats } from '../types.js';
import type { SessionIndex } from './session-index.js';

/**
 * Messages whose every reference is an acknowledged queue row not reclaimed yet (at or below its
 * session's acknowledged-through seq): gone for the store's readers, so not counted. One pass over
 * those rows (the queue_session index); nothing is deleted, so a read never does the reclaim's work.
 */
const HELD_ONLY_BY_ACKED = `
  SELECT count(*) AS n FROM (
    SELECT q.message_id AS id, count(*) AS acked FROM queue_acked a JOIN queue q ON q.sid = a.sid AND q.seq <= a.through
    GROUP BY q.message_id
  ) AS h JOIN messages m ON m.id = h.id WHERE m.refs <= h.acked`;

export function readStats(db: Database.Database, index: SessionIndex): StoreStats {
  const count = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
  let queued = 0;
  let queuedBytes = 0;
  for (const state of index.byClientId.values()) {
    queued += state.depth;
    queuedBytes += state.bytes;
  }
  const heldOnlyByAcked = index.ackedRows > 0 ? count(HELD_ONLY_BY_ACKED) : 0;
  return {
    sessions: index.byClientId.size,
    queued,
    queuedBytes,
    messages: count(`SELECT count(*) AS n FROM messages WHERE refs > 0`) - heldOnlyByAcked,
    retained: count(`SELECT count(*) AS n FROM retained`),
    wills: count(`SELECT count(*) AS n FROM wills`),
  };
}
