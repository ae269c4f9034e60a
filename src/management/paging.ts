/** Cursor pagination of the facade's lists, and the sort helper they use. */
import { invalid } from './errors.js';

/** A page of a list: `next` is the cursor of the following page, null on the last one. */
export interface Page<T> {
  readonly items: T[];
  readonly total: number;
  readonly next: string | null;
}

export interface PageQuery {
  readonly limit?: number;
  /** Cursor from a previous page (opaque). */
  readonly cursor?: string;
}

export const MAX_PAGE_SIZE = 1000;

/** Pages a list sorted by `key`; the cursor is the key of the last item returned. */
export function paginate<T>(sorted: readonly T[], key: (item: T) => string, query: PageQuery = {}): Page<T> {
  const limit = query.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) throw invalid('limit', `limit must be 1-${MAX_PAGE_SIZE}`);
  let start = 0;
  if (query.cursor !== undefined) {
    const after = Buffer.from(query.cursor, 'base64url').toString('utf8');
    start = sorted.findIndex((item) => key(item) > after);
    if (start < 0) start = sorted.length;
  }
  const items = sorted.slice(start, start + limit);
  const more = start + limit < sorted.length;
  return { items, total: sorted.length, next: more && items.length > 0 ? Buffer.from(key(items[items.length - 1]!), 'utf8').toString('base64url') : null };
}

/** A comparator ordering items by a string key. */
export function byKey<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}
