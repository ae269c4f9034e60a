/** Store-wide counters, continued at open from the highest values on disk. */
import type Database from 'better-sqlite3';

export interface Counters {
  /** Orders queue and in-flight entries; increasing across restarts (assigned by the main thread). */
  nextSeq: number;
  /** Assigned by the main thread. */
  nextMessageId: number;
  /** Internal session number: a new session under an old client id never sees the old rows. */
  nextSid: number;
}

export function readCounters(db: Database.Database): Counters {
  const max = (sql: string): number => ((db.prepare(sql).get() as { m: number | null }).m ?? 0);
  return {
    nextSeq:
      Math.max(max(`SELECT max(seq) AS m FROM queue`), max(`SELECT max(seq) AS m FROM inflight`), max(`SELECT max(seq) AS m FROM logs`)) + 1,
    nextMessageId: max(`SELECT max(id) AS m FROM messages`) + 1,
    nextSid: Math.max(max(`SELECT max(sid) AS m FROM sessions`), max(`SELECT max(sid) AS m FROM dead_sessions`)) + 1,
  };
}
