/**
 * Errors at open: maps SQLite failures to the store's errors (corrupt, locked) and builds the
 * command that moves damaged files aside (docs/storage.md, "Corruption: detection and recovery").
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StoreCorruptError, StoreLockedError, StoreVersionError } from '../errors.js';

export function moveAsideCommand(path: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const target = join(dirname(path), `${basename(path)}.corrupt-${stamp}`);
  const files = [path, `${path}-wal`, `${path}-shm`, `${path}-journal`].filter((file) => existsSync(file));
  if (files.length === 0) files.push(path);
  return `mkdir -p ${shellQuote(target)} && mv ${files.map(shellQuote).join(' ')} ${shellQuote(target)}/`;
}

function shellQuote(text: string): string {
  return /^[\w./@%+=:,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

export function mapOpenError(error: unknown, path: string): Error {
  if (error instanceof StoreCorruptError || error instanceof StoreVersionError || error instanceof StoreLockedError) {
    return error;
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
      return new StoreCorruptError(path, `${code}: ${(error as Error).message}`, moveAsideCommand(path));
    }
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return new StoreLockedError(path);
  }
  return error as Error;
}
