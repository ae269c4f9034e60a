/** Persistence: the Store contract and its implementations. See docs/storage.md. */
export * from './types.js';
export * from './errors.js';
export { encodeProperties, decodeProperties } from './properties.js';
export { MemoryStore } from './memory/memory-store.js';
export { SqliteStore, openSqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';

import { join } from 'node:path';
import { MemoryStore } from './memory/memory-store.js';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
import type { Store, StoreOptions } from './types.js';

/** The database file inside a data directory. */
export const DATABASE_FILE = 'ferry.db';

/** Opens the embedded store in `dataDir`, or an in-memory one when dataDir is null. */
export async function openStore(
  dataDir: string | null,
  options: StoreOptions & Omit<SqliteStoreOptions, 'path'> = {},
): Promise<Store> {
  if (dataDir === null) return new MemoryStore(options);
  return openSqliteStore({ ...options, path: join(dataDir, DATABASE_FILE) });
}
