/**
 * Opening the database file: creates a new one atomically, refuses a damaged or foreign file
 * (StoreCorruptError), migrates the schema, sets the pragmas of the fsync policy and takes the
 * exclusive lock.
 */
import { existsSync, mkdirSync, openSync, closeSync, fsyncSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, basename } from 'node:path';
import Database from 'better-sqlite3';
import { StoreCorruptError, StoreVersionError } from '../errors.js';
import type { FsyncPolicy } from '../types.js';
import { mapOpenError, moveAsideCommand } from './open-errors.js';
import { APPLICATION_ID, SCHEMA_VERSION, migrate } from './schema.js';

const FULL_CHECK_MAX_BYTES = 64 * 1024 * 1024;

export function openChecked(
  path: string,
  fsync: FsyncPolicy,
  check: 'auto' | 'quick' | 'full' | 'none',
  cacheSizeKiB: number,
): Database.Database {
  mkdirSync(dirname(path), { recursive: true });
  if (!existsSync(path)) {
    for (const suffix of ['-wal', '-journal']) {
      if (existsSync(path + suffix) && statSync(path + suffix).size > 0) {
        throw new StoreCorruptError(
          path,
          `the database file is missing but ${basename(path + suffix)} exists and may hold data`,
          moveAsideCommand(path),
        );
      }
    }
    createDatabase(path);
  } else if (statSync(path).size === 0) {
    throw new StoreCorruptError(path, 'the file is empty (truncated)', moveAsideCommand(path));
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { fileMustExist: true, timeout: 0 });
    // One process owns the data directory; EXCLUSIVE before the first access also keeps the WAL
    // index in heap memory (no -shm file).
    db.pragma('locking_mode = EXCLUSIVE');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`could not enable WAL mode (got ${String(mode)})`);
    const appId = db.pragma('application_id', { simple: true }) as number;
    if (appId !== APPLICATION_ID) {
      throw new StoreCorruptError(path, `not a Ferry database (application_id ${appId})`, moveAsideCommand(path));
    }
    const size = statSync(path).size;
    const full = check === 'full' || (check === 'auto' && size <= FULL_CHECK_MAX_BYTES);
    if (check !== 'none') {
      const rows = db.pragma(full ? 'integrity_check(20)' : 'quick_check(20)', { simple: false }) as Array<
        Record<string, string>
      >;
      const problems = rows.map((row) => Object.values(row)[0] ?? '').filter((text) => text !== 'ok');
      if (problems.length > 0) {
        throw new StoreCorruptError(
          path,
          `${full ? 'integrity_check' : 'quick_check'} failed: ${problems.slice(0, 3).join('; ')}`,
          moveAsideCommand(path),
        );
      }
    }
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new StoreVersionError(path, version, SCHEMA_VERSION);
    if (version < SCHEMA_VERSION) migrate(db, version, Date.now());
    db.pragma(`synchronous = ${fsync === 'always' ? 'FULL' : fsync === 'interval' ? 'NORMAL' : 'OFF'}`);
    db.pragma(`cache_size = -${cacheSizeKiB}`);
    db.pragma('temp_store = MEMORY');
    db.pragma('journal_size_limit = 67108864');
    // Take the write lock now, so a second process fails at open, not at its first write.
    db.exec('BEGIN IMMEDIATE; COMMIT');
    return db;
  } catch (error) {
    try {
      db?.close();
    } catch {
      // ignore: the original error matters
    }
    throw mapOpenError(error, path);
  }
}

/** Creates a new database next to `path` and renames it into place once it is complete. */
function createDatabase(path: string): void {
  const temp = `${path}.init`;
  for (const leftover of [temp, `${temp}-journal`, `${temp}-wal`]) rmSync(leftover, { force: true });
  const db = new Database(temp);
  try {
    db.pragma('page_size = 4096');
    // Must be set before the first table: free pages are returned by incremental_vacuum.
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = DELETE');
    db.pragma('synchronous = FULL');
    db.pragma(`application_id = ${APPLICATION_ID}`);
    migrate(db, 0, Date.now());
  } finally {
    db.close();
  }
  const fd = openSync(temp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  try {
    const dirFd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // directory fsync is not supported everywhere; the rename is still atomic
  }
}
