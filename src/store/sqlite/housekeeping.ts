/**
 * Housekeeping (store thread): `purgeExpired` removes at most `budget` rows in steps of
 * PURGE_STEP inside the open transaction — expired sessions, queue rows of deleted sessions,
 * expired queue entries, retention, expired retained messages — and then gives free pages back
 * to the file system with a bounded incremental vacuum step. Depth changes of live sessions go
 * to Corrections, so the main thread's depths follow.
 */
import type Database from 'better-sqlite3';
import type { PurgeResult } from '../types.js';
import type { Messages } from './messages.js';
import type { Queues } from './queues.js';
import type { Retained } from './retained.js';
import type { SessionIndex } from './session-index.js';
import type { Sessions } from './sessions.js';
import type { Statements } from './statements.js';

/** Rows per purge statement. */
const PURGE_STEP = 500;
/** Free pages (8 MiB) above which purges start giving pages back, a bounded step at a time... */
const VACUUM_FREE_PAGES = 2048;
/** ...until no more than this many (1 MiB) are left for reuse. */
const VACUUM_KEEP_PAGES = 256;
const VACUUM_STEP_PAGES = 1024;

export class Housekeeping {
  private readonly incremental: boolean;
  private vacuumed = false;
  /** A drain of the free list is under way (down to VACUUM_KEEP_PAGES). */
  private draining = false;

  constructor(
    private readonly db: Database.Database,
    private readonly s: Statements,
    private readonly index: SessionIndex,
    private readonly messages: Messages,
    private readonly sessions: Sessions,
    private readonly queues: Queues,
    private readonly retained: Retained,
  ) {
    // auto_vacuum = INCREMENTAL (2) is set when the file is created; on any other file
    // incremental_vacuum does nothing and the free list is only reused.
    this.incremental = db.pragma('auto_vacuum', { simple: true }) === 2;
  }

  /** `retentionMs`: offline retention per instance (instances not listed keep their entries). */
  purgeExpired(now: number, budget: number, retentionMs: Readonly<Record<string, number>>): PurgeResult {
    let left = budget;
    const expiredSessions: string[] = [];
    let expiredMessages = 0;
    let retentionDropped = 0;
    let expiredRetained = 0;
    let reclaimed = 0;
    const step = (): number => Math.min(PURGE_STEP, left);

    // 1. Expired sessions (their queues become dead and are reclaimed next).
    while (left > 0) {
      const rows = this.s.expiredSessions.all(now, step()) as Array<{ client_id: string }>;
      for (const row of rows) {
        this.sessions.delete(row.client_id);
        expiredSessions.push(row.client_id);
      }
      left -= rows.length;
      if (rows.length < PURGE_STEP) break;
    }
    // 2. Queues of deleted sessions.
    for (const sid of [...this.index.deadSids]) {
      while (left > 0) {
          const limit = step();
        const rows = this.s.reclaimDead.all(sid, limit) as Array<{ message_id: number }>;
        for (const row of rows) this.messages.unref(row.message_id);
        reclaimed += rows.length;
        left -= rows.length;
        if (rows.length < limit) {
          this.s.deleteDead.run(sid);
          this.index.deadSids.delete(sid);
          break;
        }
        }
      if (left <= 0) break;
    }
    // 3. Queue entries whose message expired (MQTT 5 Message Expiry).
    while (left > 0) {
      const limit = step();
      const rows = this.s.expiredQueued.all(now, limit) as Array<{
        seq: number;
        sid: number;
        instance_id: string;
        message_id: number;
        bytes: number;
      }>;
      for (const row of rows) {
        if (this.queues.deleted(row.sid, row.seq, row.message_id, row.bytes, 'expired')) expiredMessages++;
        else reclaimed++;
      }
      left -= rows.length;
      if (rows.length < limit) break;
    }
    // 4. Retention, from the oldest end of each instance's queue order.
    for (const instanceId of [...this.index.instances.keys()]) {
      const retention = retentionMs[instanceId];
      if (retention === undefined) continue;
      const cutoff = now - retention;
      while (left > 0) {
          const limit = step();
        const rows = this.s.oldestOfInstance.all(instanceId, limit) as Array<{ seq: number; sid: number; created_at: number }>;
        let removed = 0;
        for (const row of rows) {
          if (row.created_at > cutoff) break;
          const deleted = this.s.deleteQueuedBySeq.get(row.seq) as { message_id: number; bytes: number } | undefined;
          removed++;
          if (deleted === undefined) continue;
          if (this.queues.deleted(row.sid, row.seq, deleted.message_id, deleted.bytes, 'retention')) retentionDropped++;
          else reclaimed++;
        }
        left -= removed;
        if (removed < limit) break;
        }
      if (left <= 0) break;
    }
    // 5. Expired retained messages.
    while (left > 0) {
      const limit = step();
      const rows = this.s.expiredRetained.all(now, limit) as Array<{ topic: string }>;
      for (const row of rows) this.retained.delete(row.topic);
      expiredRetained += rows.length;
      left -= rows.length;
      if (rows.length < limit) break;
    }
    // 6. Give free pages back to the file system, a bounded step at a time; while more than
    // the threshold stays free the purge is not done, so the caller's next step goes on.
    let morePages = false;
    if (left > 0) {
      // Messages unreferenced above are deleted now, so their pages are free for this step.
      this.messages.applyPending(true);
      morePages = this.vacuumStep();
    }
    return { expiredSessions, expiredMessages, retentionDropped, expiredRetained, reclaimed, done: left > 0 && !morePages };
  }

  /**
   * True once after a purge that gave pages back: the caller checkpoints after its COMMIT, since
   * in WAL mode the file only shrinks when a checkpoint copies the truncated database back.
   */
  takeVacuumed(): boolean {
    const vacuumed = this.vacuumed;
    this.vacuumed = false;
    return vacuumed;
  }

  /**
   * Incremental vacuum: once the free list passes VACUUM_FREE_PAGES, gives back at most
   * VACUUM_STEP_PAGES per call until VACUUM_KEEP_PAGES are left. Returns true while more is to
   * be given back (another step is due).
   */
  private vacuumStep(): boolean {
    if (!this.incremental) return false;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    if (free <= (this.draining ? VACUUM_KEEP_PAGES : VACUUM_FREE_PAGES)) {
      this.draining = false;
      return false;
    }
    this.db.pragma(`incremental_vacuum(${Math.min(VACUUM_STEP_PAGES, free - VACUUM_KEEP_PAGES)})`);
    const left = this.db.pragma('freelist_count', { simple: true }) as number;
    this.vacuumed = left < free;
    this.draining = this.vacuumed && left > VACUUM_KEEP_PAGES;
    return this.draining;
  }
}
