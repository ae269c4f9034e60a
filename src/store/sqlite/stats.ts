/** Row counts for `Store.stats()`. */
import type Database from 'better-sqlite3';
import type { StoreStats } from '../types.js';
import type { SessionIndex } from './session-index.js';

export function readStats(db: Database.Database, index: SessionIndex): StoreStats {
  const count = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
  let queued = 0;
  let queuedBytes = 0;
  for (const state of index.byClientId.values()) {
    queued += state.depth;
    queuedBytes += state.bytes;
  }
  return {
    sessions: index.byClientId.size,
    queued,
    queuedBytes,
    messages: count(`SELECT count(*) AS n FROM messages WHERE refs > 0`),
    retained: count(`SELECT count(*) AS n FROM retained`),
    wills: count(`SELECT count(*) AS n FROM wills`),
  };
}
