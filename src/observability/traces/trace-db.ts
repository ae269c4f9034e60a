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
 * Events are stored a batch per row (SCHEMA below), appended in time order and deleted from the
 * oldest end; retention and the cap count events ("rows" in settings and metrics), and a batch
 * that is only partly past them is stored again without its oldest events.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { DecodedBatch, encodeBatch, type ChannelSummary, type TraceColumns } from './batch-codec.js';
import { BlockSummaries } from './block-summaries.js';

export const TRACE_DB_FILE = 'traces.db';

/** 'FRTR' — marks the file as Ferry's trace database. */
const TRACE_APPLICATION_ID = 0x46525452;
export const TRACE_SCHEMA_VERSION = 4;

/**
 * Each batch of events the recorder sends is one row of `batches` (batch-codec.ts: a BLOB of
 * columns, 17 bytes per event), so storing an event costs a few typed-array writes rather than
 * a row insert with its index entries. Queries find batches through two summaries:
 * - `channel_blocks`: per channel and block of BLOCK_BATCHES batches, for each batch of the
 *   block the channel has events in, its device and message event counts and time span. A
 *   client's query reads the blocks of its channels and decodes only the batches that straddle
 *   its time range or hold the page asked for. Blocks are written when complete;
 *   `meta.summarized_below` says up to which batch, and queries read the newer batches whole.
 * - `batch_msgs`: the MsgId buckets (msg ÷ MSG_BUCKET) of each batch's message events, written
 *   with the batch (a MsgId query decodes only the batches of its bucket).
 * Other tables:
 * - `channels`: one row per connection, plus one per instance for server-made messages, one per
 *   running rule (its events' ActionInfo detail in `info`: `rule <id>, <scheme>`) and one per
 *   client with dropped offline messages; holds the instance, client id and ChannelId text;
 * - `epochs`: the 20-hex MsgId prefix of each process run. A stored msg number is
 *   epoch × 2^40 + the recorder's counter (MsgId = prefix + 12 hex of the counter). Epoch
 *   numbers wrap at MAX_EPOCHS; with retention of days that never collides.
 *
 * Batch ids grow with time (a batch holds the events of up to one flush interval), so batch
 * order is time order; events within a batch are in the order they were recorded.
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
    channel_id  TEXT NOT NULL,
    info        TEXT NOT NULL DEFAULT ''
  );
  CREATE INDEX channels_client ON channels(instance_id, client_id);
  CREATE TABLE batches (
    id         INTEGER PRIMARY KEY,
    first_time INTEGER NOT NULL,       -- ms since the epoch, earliest event
    last_time  INTEGER NOT NULL,       -- latest event
    count      INTEGER NOT NULL,       -- events in data
    data       BLOB NOT NULL           -- batch-codec.ts
  );
  CREATE INDEX batches_first ON batches(first_time);
  CREATE INDEX batches_last ON batches(last_time);
  CREATE TABLE channel_blocks (
    channel INTEGER NOT NULL,          -- channels.id
    block   INTEGER NOT NULL,          -- batches.id ÷ BLOCK_BATCHES
    data    BLOB NOT NULL,             -- f64 [batch, first_time, last_time, devices, messages] per batch
    PRIMARY KEY (channel, block)
  ) WITHOUT ROWID;
  CREATE INDEX channel_blocks_block ON channel_blocks(block);
  CREATE TABLE batch_msgs (
    bucket INTEGER NOT NULL,           -- msg ÷ MSG_BUCKET
    batch  INTEGER NOT NULL,
    PRIMARY KEY (bucket, batch)
  ) WITHOUT ROWID;
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO meta (key, value) VALUES ('summarized_below', 1);
`;

/**
 * Batches per block of channel summaries: the writer keeps the summaries of the current block
 * in memory and writes them when the block is complete, one row per channel, so a channel
 * costs one index entry per block rather than one per batch (an index keyed by channel is
 * written at random places: per batch that was most of the writer's time with many clients).
 */
export const BLOCK_BATCHES = 64;

/** Values of an entry of channel_blocks.data: batch, first_time, last_time, devices, messages. */
export const BLOCK_ENTRY = 5;

/** Batches below this id have their channel summaries in channel_blocks; newer ones are read whole. */
export function summarizedBelow(db: Database.Database): number {
  return (db.prepare("SELECT value FROM meta WHERE key = 'summarized_below'").pluck().get() as number | undefined) ?? 1;
}

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
    // Before WAL mode: switching to WAL writes the header, after which auto_vacuum only changes
    // with a VACUUM. Incremental vacuum is how deleted traces give their space back (traceMaxBytes).
    db.pragma('auto_vacuum = INCREMENTAL');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`could not enable WAL mode (got ${String(mode)})`);
    db.pragma('synchronous = OFF');
    // A file made by an older build without it is converted once (this runs on the writer thread).
    if ((db.pragma('auto_vacuum', { simple: true }) as number) !== 2) db.exec('VACUUM');
    const appId = db.pragma('application_id', { simple: true }) as number;
    const version = db.pragma('user_version', { simple: true }) as number;
    if (appId !== 0 && appId !== TRACE_APPLICATION_ID) throw new Error(`not a Ferry trace database (application_id ${appId})`);
    if (version !== 0 && version !== 3 && version !== TRACE_SCHEMA_VERSION) throw new Error(`trace schema ${version}, this build writes ${TRACE_SCHEMA_VERSION}`);
    if (version === 3) {
      // Schema 4 only adds channels.info (rule events): kept in place, old traces stay.
      db.transaction(() => {
        db.exec(`ALTER TABLE channels ADD COLUMN info TEXT NOT NULL DEFAULT ''`);
        db.pragma(`user_version = ${TRACE_SCHEMA_VERSION}`);
      })();
    }
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

/** One stored event (see batch-codec.ts for the stored form). */
export interface TraceRow {
  readonly time: number;
  /** channels.id */
  readonly channel: number;
  readonly code: number;
  /** epoch * MSG_EPOCH_FACTOR + counter, 0 for device events. */
  readonly msg: number;
}

export interface PurgeLimits {
  /** Events older than this (ms since the epoch) are deleted. */
  readonly before: number;
  /** At most this many events are kept; the oldest go first. */
  readonly maxRows: number;
  /** traces.db may use at most this many bytes of pages (0 = no cap); the oldest batches go first. */
  readonly maxBytes?: number;
}

export interface PurgeResult {
  readonly expired: number;
  readonly overCap: number;
}

/** Events of rows, as the columns a batch is stored from. */
export function rowColumns(rows: readonly TraceRow[]): TraceColumns {
  const n = rows.length;
  const c: TraceColumns = { count: n, time: new Float64Array(n), code: new Uint8Array(n), channel: new Float64Array(n), msg: new Float64Array(n) };
  rows.forEach((r, i) => {
    c.time[i] = r.time;
    c.code[i] = r.code;
    c.channel[i] = r.channel;
    c.msg[i] = r.msg;
  });
  return c;
}

interface BatchHead {
  id: number;
  first_time: number;
  last_time: number;
  count: number;
}

/** The writer's side: one transaction per batch, purges from the oldest batch. */
export class TraceWriter {
  private readonly insertBatch: Database.Statement;
  private readonly insertBlock: Database.Statement;
  private readonly setSummarized: Database.Statement;
  private readonly insertBucket: Database.Statement;
  private readonly insertChannel: Database.Statement;
  private readonly deleteBucket: Database.Statement;
  private readonly deleteBatch: Database.Statement;
  private readonly store: (c: TraceColumns, id: number) => void;
  private nextBatch: number;
  private events: number;
  /** Summaries of the block being filled: per channel, BLOCK_ENTRY values per batch. */
  private readonly pending = new BlockSummaries();
  private block: number;

  constructor(readonly db: Database.Database) {
    this.insertBatch = db.prepare('INSERT INTO batches (id, first_time, last_time, count, data) VALUES (?, ?, ?, ?, ?)');
    this.insertBlock = db.prepare('INSERT OR REPLACE INTO channel_blocks (channel, block, data) VALUES (?, ?, ?)');
    this.deleteBucket = db.prepare('DELETE FROM batch_msgs WHERE bucket = ? AND batch = ?');
    this.deleteBatch = db.prepare('DELETE FROM batches WHERE id = ?');
    this.setSummarized = db.prepare("UPDATE meta SET value = ? WHERE key = 'summarized_below'");
    this.insertBucket = db.prepare('INSERT INTO batch_msgs (bucket, batch) VALUES (?, ?)');
    this.insertChannel = db.prepare('INSERT INTO channels (instance_id, client_id, channel_id, info) VALUES (?, ?, ?, ?)');
    this.store = db.transaction((c: TraceColumns, id: number) => this.insert(c, id, true));
    const head = db.prepare('SELECT max(id) AS id, coalesce(sum(count), 0) AS n FROM batches').get() as { id: number | null; n: number };
    this.events = head.n;
    // Batches a crash left without summaries get them now; new batches start a new block.
    const below = summarizedBelow(db);
    this.block = Math.floor(below / BLOCK_BATCHES);
    db.transaction(() => {
      for (const id of db.prepare('SELECT id FROM batches WHERE id >= ? ORDER BY id').pluck().all(below) as number[]) {
        const batch = this.load(id);
        this.summarize(encodeBatch(batch.columns(() => true)).channels, id);
      }
      this.flushBlock((head.id ?? 0) + 1);
    })();
    this.nextBatch = (Math.floor((head.id ?? 0) / BLOCK_BATCHES) + 1) * BLOCK_BATCHES;
    this.block = Math.floor(this.nextBatch / BLOCK_BATCHES);
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

  /** The epoch of an earlier run's MsgId prefix, while its rows are kept. */
  epochOf(prefix: string): number | undefined {
    return this.db.prepare('SELECT id FROM epochs WHERE prefix = ?').pluck().get(prefix) as number | undefined;
  }

  /** Stores a connection's identity (`info`: a rule's ActionInfo detail); returns the id rows refer to. */
  channel(instanceId: string, clientId: string, channelId: string, info = ''): number {
    return Number(this.insertChannel.run(instanceId, clientId, channelId, info).lastInsertRowid);
  }

  /** Runs `fn` in one transaction (a batch's channel registrations with its events: one commit). */
  inTransaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Stores events as one batch (one row plus its summaries, one transaction). */
  writeColumns(c: TraceColumns): void {
    if (c.count === 0) return;
    this.store(c, this.nextBatch++);
  }

  /** Stores rows as one batch. */
  write(rows: readonly TraceRow[]): void {
    this.writeColumns(rowColumns(rows));
  }

  /** Writes the summaries of the current block and closes the database. */
  close(): void {
    this.db.transaction(() => this.flushBlock(this.nextBatch))();
    this.db.close();
  }

  /** Events stored. */
  count(): number {
    return this.events;
  }

  /**
   * Deletes expired events, then the oldest events over the cap (a batch only partly past
   * either is stored again without them), up to `step` batches per transaction, then channels
   * no batch refers to any more (except `keep`, the channels still in use).
   */
  purge(limits: PurgeLimits, step = 64, keep: ReadonlySet<number> = new Set()): PurgeResult {
    const oldest = this.db.prepare('SELECT id, first_time, last_time, count FROM batches ORDER BY id LIMIT ?');
    let expired = 0;
    for (let done = false; !done; ) {
      const heads = oldest.all(step) as BatchHead[];
      if (heads.length === 0) break;
      this.db.transaction(() => {
        for (const b of heads) {
          if (b.first_time >= limits.before) {
            done = true;
            return;
          }
          if (b.last_time < limits.before) {
            this.drop(b.id);
            expired += b.count;
          } else {
            const batch = this.load(b.id);
            expired += this.rewrite(batch, (i) => batch.timeAt(i) >= limits.before);
            done = true;
            return;
          }
        }
      })();
    }
    let overCap = 0;
    while (this.events > limits.maxRows) {
      const heads = oldest.all(step) as BatchHead[];
      if (heads.length === 0) break;
      this.db.transaction(() => {
        for (const b of heads) {
          const excess = this.events - limits.maxRows;
          if (excess <= 0) return;
          if (b.count <= excess) {
            this.drop(b.id);
            overCap += b.count;
          } else {
            overCap += this.rewrite(this.load(b.id), (i) => i >= excess);
            return;
          }
        }
      })();
    }
    const overBytes = this.purgeBytes(limits.maxBytes ?? 0, step);
    overCap += overBytes;
    if (expired + overCap > 0) {
      const oldest = this.db.prepare('SELECT min(id) FROM batches').pluck().get() as number | null;
      this.db.prepare('DELETE FROM channel_blocks WHERE block < ?').run(Math.floor((oldest ?? this.nextBatch) / BLOCK_BATCHES));
      const unused = this.db
        .prepare('SELECT id FROM channels c WHERE NOT EXISTS (SELECT 1 FROM channel_blocks b WHERE b.channel = c.id)')
        .pluck()
        .all() as number[];
      const remove = this.db.prepare('DELETE FROM channels WHERE id = ?');
      const pending = unused.length === 0 ? new Set<number>() : this.pending.channels();
      this.db.transaction(() => {
        for (const id of unused) if (!keep.has(id) && !pending.has(id)) remove.run(id);
      })();
      const free = this.db.pragma('freelist_count', { simple: true }) as number;
      if (free > 2048) this.db.pragma('incremental_vacuum(1024)');
    }
    // The cap is on the file: free pages count until they are given back.
    const maxBytes = limits.maxBytes ?? 0;
    if (maxBytes > 0 && this.fileBytes() > maxBytes) this.returnSpace();
    return { expired, overCap };
  }

  /** Bytes of all pages, free ones included: the size of the file. */
  fileBytes(): number {
    return (this.db.pragma('page_count', { simple: true }) as number) * (this.db.pragma('page_size', { simple: true }) as number);
  }

  /** Bytes of pages in use (the file's size once free pages are returned). */
  usedBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    const size = this.db.pragma('page_size', { simple: true }) as number;
    return (pages - free) * size;
  }

  /**
   * Deletes the oldest batches while the pages in use exceed `maxBytes` (0 = no cap), keeping a
   * tenth of headroom so the cap is not hit again at once; returns the events deleted. The
   * caller returns the freed pages to the file system (returnSpace).
   */
  purgeBytes(maxBytes: number, step = 64): number {
    if (maxBytes <= 0 || this.usedBytes() <= maxBytes) return 0;
    const target = Math.floor(maxBytes * 0.9);
    const oldest = this.db.prepare('SELECT id, count FROM batches ORDER BY id LIMIT ?');
    let deleted = 0;
    while (this.usedBytes() > target) {
      const heads = oldest.all(step) as Array<{ id: number; count: number }>;
      if (heads.length === 0) break;
      this.db.transaction(() => {
        for (const b of heads) {
          this.drop(b.id);
          deleted += b.count;
        }
      })();
    }
    return deleted;
  }

  /** Gives free pages back to the file system and truncates the write-ahead log. */
  returnSpace(): void {
    this.db.pragma('incremental_vacuum');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /**
   * Stores one batch. `summarize`: add its channel summaries to the block (not for a batch
   * stored again by purge: queries read the oldest batch whole).
   */
  private insert(c: TraceColumns, id: number, summarize: boolean): void {
    const e = encodeBatch(c);
    this.insertBatch.run(id, e.firstTime, e.lastTime, e.count, e.data);
    for (const bucket of e.buckets) this.insertBucket.run(bucket, id);
    this.events += e.count;
    if (summarize) this.summarize(e.channels, id);
  }

  private summarize(channels: readonly ChannelSummary[], id: number): void {
    const block = Math.floor(id / BLOCK_BATCHES);
    if (block !== this.block) {
      this.flushBlock(id);
      this.block = block;
    }
    for (const s of channels) this.pending.add(s.channel, id, s.first, s.last, s.devices, s.messages);
  }

  /** Writes the pending block (in the caller's transaction); batches below `below` are summarized. */
  private flushBlock(below: number): void {
    this.pending.forEachChannel((channel, entries) => {
      this.insertBlock.run(channel, this.block, Buffer.from(entries.buffer, entries.byteOffset, entries.byteLength));
    });
    this.pending.clear();
    this.setSummarized.run(below);
  }

  private load(id: number): DecodedBatch {
    const row = this.db.prepare('SELECT first_time, count, data FROM batches WHERE id = ?').get(id) as { first_time: number; count: number; data: Buffer };
    return new DecodedBatch(id, row.first_time, row.count, row.data);
  }

  /** Deletes a batch and its MsgId buckets (in the caller's transaction; blocks go in purge). */
  private drop(id: number, batch: DecodedBatch = this.load(id)): void {
    for (const b of batch.buckets()) this.deleteBucket.run(b, id);
    this.deleteBatch.run(id);
    this.events -= batch.count;
  }

  /** Stores a batch again with only the events `keep` accepts; returns how many went. */
  private rewrite(batch: DecodedBatch, keep: (i: number) => boolean): number {
    const kept = batch.columns(keep);
    this.drop(batch.id, batch);
    if (kept.count > 0) this.insert(kept, batch.id, false);
    return batch.count - kept.count;
  }
}
