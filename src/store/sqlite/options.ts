import type { FsyncPolicy, StoreOptions } from '../types.js';

export interface SqliteStoreOptions extends StoreOptions {
  /** Path of the database file (e.g. `<data-dir>/ferry.db`). Its directory is created. */
  readonly path: string;
  /** Default 'always'. */
  readonly fsync?: FsyncPolicy;
  /** 'interval' policy: ms between checkpoints that fsync the WAL. Default 1000. */
  readonly fsyncIntervalMs?: number;
  /**
   * Check run at open. 'auto' (default): full integrity_check for files up to 64 MiB, else
   * quick_check. 'none' skips it (a damaged file is then found only when a page is read).
   */
  readonly integrityCheck?: 'auto' | 'quick' | 'full' | 'none';
  /** SQLite page cache in KiB. Default 32768 (32 MiB). */
  readonly cacheSizeKiB?: number;
}
