/**
 * The trace database: `<dataDir>/traces.db`, a SQLite file of its own next to ferry.db.
 *
 * Why not a table in ferry.db: that file is opened in EXCLUSIVE locking mode by one connection on
 * the event-loop thread, and every write there joins the broker's group commit (fsynced under
 * `always`, ahead of PUBACKs). Trace rows are diagnostics: they need no fsync, may be lost in a
 * crash, and are written at up to two rows per delivered message. Here they are written by a
 * worker thread (writer-worker.ts) with `synchronous = OFF`, and read by the main thread through
 * a second, read-only connection (WAL lets both work at once).
 *
 * A database of another schema version is set aside and a new one started (traces are disposable).
 *
 * Rows are only ever appended (rowid grows) and deleted from the oldest end, so
 * max(rowid) - min(rowid) + 1 is the row count, and rowid order is time order (give or take the
 * few ms between a record and its batch).
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

export const TRACE_DB_FILE = 'traces.db';

/** 'FRTR' — marks the file as Ferry's trace database. */
const TRACE_APPLICATION_ID = 0x46525452;
export const TRACE_SCHEMA_VERSION = 2;

/**
 * Rows hold integers only, so an insert costs about a microsecond:
 * - `channel` points at `channels` (one row per connection, plus one per instance for
 *   server-made messages), which holds the instance, client id and ChannelId text;
 * - `msg` is the MsgId as a number: epoch × 2^40 + the recorder's counter, where the epoch is a
 *   row of `epochs` holding the 20-hex prefix of one process run (MsgId = prefix + 12 hex of the
 *   counter). Epoch numbers wrap at MAX_EPOCHS; with retention of days that never collides.
 */
const SCHEMA = `
  CREATE TABLE epochs (
    id     INTEGER PRIMARY KEY,
    prefix TEXT NOT NULL UNIQUE
  );
  CREATE TABLE channels (
    id          INTEGER PRIMARY KEY,
    instance_id TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    channel_id  TEXT NOT NULL
  );
  CREATE INDEX channels_client ON channels(instance_id, client_id);
  CREATE TABLE traces (
    time    INTEGER NOT NULL,          -- ms since the epoch
    channel INTEGER NOT NULL,          -- channels.id
    code    INTEGER NOT NULL,          -- codes.ts TraceCode
    msg     INTEGER NOT NULL           -- epoch * 2^40 + counter; 0 for device events
  );
  CREATE INDEX traces_channel ON traces(channel, time);
  CREATE INDEX traces_msg ON traces(msg) WHERE msg > 0;
`;

export const MSG_EPOCH_FACTOR = 2 ** 40;
export const MAX_EPOCHS = 8192;

/** Opens the trace database for writing, creating or migrating it; a damaged file is set aside. */
export function openTraceDbForWriting(path: string): Database.Database {
  mkdirSync(dirname(path), { recursive: true });
  try {
    return openWriter(path);
  } catch (error) {
    // Traces are diagnostics: never refuse to start over them. Keep the old file for a look.
    const aside = `${path}.corrupt-${Date.now()}`;
    if (existsSync(path)) renameSync(path, aside);
    for (const suffix of ['-wal', '-shm', '-journal']) rmSync(path + suffix, { force: true });
    const db = openWriter(path);
    process.emitWarning(`trace database ${path} could not be opened (${(error as Error).message}); moved to ${aside}`);
    return db;
  }
}

function openWriter(path: string): Database.Database {
  const db = new Database(path, { timeout: 1000 });
  try {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`could not enable WAL mode (got ${String(mode)})`);
    db.pragma('synchronous = OFF');
    db.pragma('auto_vacuum = INCREMENTAL');
    const appId = db.pragma('application_id', { simple: true }) as number;
    const version = db.pragma('user_version', { simple: true }) as number;
    if (appId !== 0 && appId !== TRACE_APPLICATION_ID) throw new Error(`not a Ferry trace database (application_id ${appId})`);
    if (version !== 0 && version !== TRACE_SCHEMA_VERSION) throw new Error(`trace schema ${version}, this build writes ${TRACE_SCHEMA_VERSION}`);
    if (version === 0) {
      db.transaction(() => {
        db.exec(SCHEMA);
        db.pragma(`application_id = ${TRACE_APPLICATION_ID}`);
        db.pragma(`user_version = ${TRACE_SCHEMA_VERSION}`);
      })();
    }
    db.pragma('journal_size_limit = 67108864');
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** A read-only connection for queries (main thread). */
export function openTraceDbForReading(path: string): Database.Database {
  return new Database(path, { readonly: true, fileMustExist: true, timeout: 1000 });
}

/** One stored event: integers only (see SCHEMA). */
export interface TraceRow {
  readonly time: number;
  /** channels.id */
  readonly channel: number;
  readonly code: number;
  /** epoch * MSG_EPOCH_FACTOR + counter, 0 for device events. */
  readonly msg: number;
}

export interface PurgeLimits {
  /** Rows older than this (ms since the epoch) are deleted. */
  readonly before: number;
  /** At most this many rows are kept; the oldest go first. */
  readonly maxRows: number;
}

export interface PurgeResult {
  readonly expired: number;
  readonly overCap: number;
}

/** Prepared writes: inserts in one transaction per batch, purges in bounded steps. */
export class TraceWriter {
  private readonly insert: Database.Statement;
  private readonly insertChannel: Database.Statement;
  private readonly insertMany: (rows: readonly TraceRow[]) => void;

  constructor(readonly db: Database.Database) {
    this.insert = db.prepare('INSERT INTO traces (time, channel, code, msg) VALUES (?, ?, ?, ?)');
    this.insertChannel = db.prepare('INSERT INTO channels (instance_id, client_id, channel_id) VALUES (?, ?, ?)');
    this.insertMany = db.transaction((rows: readonly TraceRow[]) => {
      for (const r of rows) this.insert.run(r.time, r.channel, r.code, r.msg);
    });
  }

  /** Registers one process run's MsgId prefix; returns its epoch number. */
  epoch(prefix: string): number {
    const last = this.db.prepare('SELECT id FROM epochs ORDER BY rowid DESC LIMIT 1').get() as { id: number } | undefined;
    // Epochs are reused round-robin; the oldest one's rows are long gone by then.
    const id = last === undefined ? 1 : (last.id % (MAX_EPOCHS - 1)) + 1;
    this.db.prepare('DELETE FROM epochs WHERE id = ? OR prefix = ?').run(id, prefix);
    this.db.prepare('INSERT INTO epochs (id, prefix) VALUES (?, ?)').run(id, prefix);
    return id;
  }

  /** Stores a connection's identity; returns the id rows refer to. */
  channel(instanceId: string, clientId: string, channelId: string): number {
    return Number(this.insertChannel.run(instanceId, clientId, channelId).lastInsertRowid);
  }

  write(rows: readonly TraceRow[]): void {
    if (rows.length > 0) this.insertMany(rows);
  }

  /** Row count (exact: rows are appended and deleted from the oldest end only). */
  count(): number {
    const row = this.db.prepare('SELECT min(rowid) AS lo, max(rowid) AS hi FROM traces').get() as { lo: number | null; hi: number | null };
    return row.lo === null || row.hi === null ? 0 : row.hi - row.lo + 1;
  }

  /**
   * Deletes expired rows, then the oldest rows over the cap, `step` rows per transaction, then
   * channels no row refers to any more (except `keep`, the channels still in use).
   */
  purge(limits: PurgeLimits, step = 5000, keep: ReadonlySet<number> = new Set()): PurgeResult {
    let expired = 0;
    const expire = this.db.prepare(
      'DELETE FROM traces WHERE rowid IN (SELECT rowid FROM traces ORDER BY rowid LIMIT ?) AND time < ?',
    );
    for (;;) {
      const changes = expire.run(step, limits.before).changes;
      expired += changes;
      if (changes < step) break;
    }
    let overCap = 0;
    const dropOldest = this.db.prepare('DELETE FROM traces WHERE rowid IN (SELECT rowid FROM traces ORDER BY rowid LIMIT ?)');
    for (let excess = this.count() - limits.maxRows; excess > 0; excess -= step) {
      overCap += dropOldest.run(Math.min(step, excess)).changes;
    }
    if (expired + overCap > 0) {
      const unused = this.db
        .prepare('SELECT id FROM channels c WHERE NOT EXISTS (SELECT 1 FROM traces t WHERE t.channel = c.id)')
        .pluck()
        .all() as number[];
      const remove = this.db.prepare('DELETE FROM channels WHERE id = ?');
      this.db.transaction(() => {
        for (const id of unused) if (!keep.has(id)) remove.run(id);
      })();
      const free = this.db.pragma('freelist_count', { simple: true }) as number;
      if (free > 2048) this.db.pragma('incremental_vacuum(1024)');
    }
    return { expired, overCap };
  }
}
