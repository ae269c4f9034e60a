/**
 * The SQLite side of the store, run on the store thread (worker.ts): one connection held
 * exclusively, the modules of each table group, and the transaction the thread's loop opens,
 * fills with a group of batches and commits.
 *
 *   open.ts, open-errors.ts   opening, integrity check, schema migration, errors at open
 *   statements.ts, rows.ts    prepared SQL; row shapes and mapping
 *   messages.ts               messages stored once, reference counts written once per commit
 *   session-index.ts          sessions by client id / sid, queue depths; counters.ts: seq, ids
 *   sessions.ts queues.ts inflight.ts retained.ts documents.ts   the records, one table group each
 *   loading.ts housekeeping.ts stats.ts                          paged loading, purge + vacuum, counts
 *   apply.ts                  decodes a batch's ops into calls of these modules
 */
import type Database from 'better-sqlite3';
import type { FsyncPolicy } from '../types.js';
import { Corrections } from './corrections.js';
import { readCounters, type Counters } from './counters.js';
import { Documents } from './documents.js';
import { Housekeeping } from './housekeeping.js';
import { Inflight } from './inflight.js';
import { Loader } from './loading.js';
import { Logs } from './logs.js';
import { Messages } from './messages.js';
import { openChecked } from './open.js';
import { mapOpenError } from './open-errors.js';
import type { OpenState } from './protocol.js';
import { Queues } from './queues.js';
import { Retained } from './retained.js';
import { loadSessionIndex, type SessionIndex } from './session-index.js';
import { Sessions } from './sessions.js';
import { prepareStatements, type Statements } from './statements.js';
import { readStats } from './stats.js';
import type { StoreStats } from '../types.js';

export interface EngineOptions {
  readonly path: string;
  readonly fsync: FsyncPolicy;
  readonly integrityCheck: 'auto' | 'quick' | 'full' | 'none';
  readonly cacheSizeKiB: number;
}

export class SqliteEngine {
  readonly db: Database.Database;
  readonly corrections = new Corrections();
  private readonly s: Statements;
  index!: SessionIndex;
  counters!: Counters;
  messages!: Messages;
  sessions!: Sessions;
  queues!: Queues;
  inflight!: Inflight;
  retained!: Retained;
  documents!: Documents;
  loader!: Loader;
  housekeeping!: Housekeeping;
  logs!: Logs;
  private inTxn = false;

  constructor(options: EngineOptions) {
    const db = openChecked(options.path, options.fsync, options.integrityCheck, options.cacheSizeKiB);
    try {
      this.s = prepareStatements(db);
      this.db = db;
      this.load();
    } catch (error) {
      db.close();
      throw mapOpenError(error, options.path);
    }
  }

  /** (Re)builds the in-memory state from the committed tables: at open and after a ROLLBACK. */
  private load(): void {
    const s = this.s;
    this.index = loadSessionIndex(this.db, s);
    this.counters = readCounters(this.db);
    this.messages = new Messages(s);
    this.sessions = new Sessions(s, this.index, this.messages, this.counters);
    this.queues = new Queues(s, this.index, this.messages, this.corrections);
    this.inflight = new Inflight(s, this.index, this.messages, this.corrections);
    this.retained = new Retained(s, this.messages);
    this.documents = new Documents(s);
    this.loader = new Loader(s, this.index, this.messages);
    this.logs = new Logs(s);
    this.housekeeping = new Housekeeping(this.db, s, this.index, this.messages, this.sessions, this.queues, this.retained);
  }

  /** What the main thread needs to answer its synchronous calls. */
  openState(): OpenState {
    const sessions = [...this.index.byClientId.values()].map((state) => ({ record: state.record, depth: state.depth }));
    const wills = (this.db.prepare(`SELECT client_id FROM wills`).all() as Array<{ client_id: string }>).map((r) => r.client_id);
    const retained = (this.db.prepare(`SELECT topic FROM retained`).all() as Array<{ topic: string }>).map((r) => r.topic);
    return { nextSeq: this.counters.nextSeq, nextMessageId: this.counters.nextMessageId, sessions, wills, retained };
  }

  /** Opens the transaction if none is open. */
  begin(): void {
    if (this.inTxn) return;
    this.db.exec('BEGIN');
    this.inTxn = true;
  }

  get inTransaction(): boolean {
    return this.inTxn;
  }

  /** Writes the deferred message rows and reference counts, then COMMITs. Throws on failure. */
  commit(): void {
    if (!this.inTxn) return;
    this.messages.applyPending(true);
    this.db.exec('COMMIT');
    this.inTxn = false;
  }

  /** Undoes the open transaction and reloads the in-memory state from the committed tables. */
  rollback(): void {
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } finally {
      this.inTxn = false;
      this.corrections.clear();
      this.load();
    }
  }

  stats(): StoreStats {
    // Counts only: acknowledged rows not reclaimed yet are left to their steps (stats.ts).
    this.messages.applyPending(false);
    return readStats(this.db, this.index);
  }

  /**
   * 'interval' policy: a checkpoint fsyncs the WAL (synchronous=NORMAL). TRUNCATE (after a
   * vacuum step) also empties the WAL file, so the space given back leaves the disk.
   */
  checkpoint(mode: 'PASSIVE' | 'TRUNCATE' = 'PASSIVE'): void {
    this.db.pragma(`wal_checkpoint(${mode})`);
  }

  close(checkpoint: boolean): void {
    try {
      if (this.inTxn) this.db.exec('ROLLBACK');
      if (checkpoint) this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.close();
    }
  }
}
