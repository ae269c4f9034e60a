/**
 * Group commit inside SQLite. The first mutation of a batch runs BEGIN; every mutation then runs
 * its statement at once inside that open transaction (so reads see it), and the batch COMMITs at
 * the end of the event-loop turn (or `commitDelayMs` later), after the message rows and reference
 * counts deferred by `Messages` are written. `whenDurable()` resolves after the COMMIT:
 * - fsync 'always'   synchronous=FULL: the WAL is fsynced by COMMIT; resolved = on disk.
 * - fsync 'interval' synchronous=NORMAL: COMMIT writes the WAL (OS page cache), a checkpoint
 *   every `fsyncIntervalMs` fsyncs it; resolved = survives a process crash, not a power loss.
 * - fsync 'off'      synchronous=OFF: never fsynced; resolved = survives a process crash only.
 * A failed COMMIT puts the store into a failed state: every later mutation throws.
 */
import type Database from 'better-sqlite3';
import { StoreUnavailableError } from '../errors.js';
import { GroupCommit } from '../group-commit.js';
import type { Messages } from './messages.js';
import type { SqliteStoreOptions } from './options.js';

export class SqliteBatch {
  private readonly batch: GroupCommit;
  private readonly onError: ((error: Error) => void) | undefined;
  private inTxn = false;
  private checkpointDue = false;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private failure: Error | null = null;

  constructor(
    private readonly db: Database.Database,
    private readonly messages: Messages,
    options: Pick<SqliteStoreOptions, 'commitDelayMs' | 'fsync' | 'fsyncIntervalMs' | 'onError'>,
  ) {
    this.onError = options.onError;
    this.batch = new GroupCommit(options.commitDelayMs ?? 0, () => this.flush());
    if ((options.fsync ?? 'always') === 'interval') {
      this.checkpointTimer = setInterval(() => {
        if (this.inTxn) this.checkpointDue = true;
        else this.checkpoint();
      }, options.fsyncIntervalMs ?? 1000);
      this.checkpointTimer.unref();
    }
  }

  whenDurable(): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.unavailable());
    return this.batch.whenDurable();
  }

  commit(): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.unavailable());
    return this.batch.commitNow();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.failure === null) await this.batch.commitNow();
    } finally {
      this.closed = true;
      if (this.checkpointTimer !== null) clearInterval(this.checkpointTimer);
      try {
        if (this.inTxn) this.db.exec('ROLLBACK');
        if (this.failure === null) this.db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        this.db.close();
      }
    }
  }

  /** Called first by every mutation: refuses work when closed or failed, joins or opens the batch. */
  mutate(): void {
    if (this.closed) throw new StoreUnavailableError('store is closed');
    if (this.failure !== null) throw this.unavailable();
    if (!this.inTxn) {
      this.db.exec('BEGIN');
      this.inTxn = true;
    }
    this.batch.touch();
  }

  /** Before a read that joins messages: writes the deferred rows and counts into the open transaction. */
  settle(): void {
    if (this.inTxn) this.messages.applyPending(false);
  }

  private unavailable(): StoreUnavailableError {
    return new StoreUnavailableError(`store failed earlier and refuses work: ${this.failure?.message ?? ''}`, {
      cause: this.failure,
    });
  }

  private flush(): void {
    if (!this.inTxn) return;
    try {
      this.messages.applyPending(true);
      this.db.exec('COMMIT');
      this.inTxn = false;
    } catch (error) {
      this.failure = error as Error;
      try {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
      } catch {
        // the connection is unusable; the failure is already recorded
      }
      this.inTxn = false;
      this.onError?.(this.failure);
      throw this.unavailable();
    }
    if (this.checkpointDue) this.checkpoint();
  }

  private checkpoint(): void {
    this.checkpointDue = false;
    if (this.closed || this.failure !== null) return;
    try {
      // synchronous=NORMAL: the WAL is fsynced before the checkpoint, the database after it.
      this.db.pragma('wal_checkpoint(PASSIVE)');
    } catch (error) {
      this.onError?.(error as Error);
    }
  }
}
