/**
 * Rows keyed by plain values that reference no message: pending wills, meta (JSON by key) and
 * records (JSON documents in named collections, paged in UTF-8 key order).
 */
import { RECORD_PAGE_MAX, type RecordQuery, type StoredRecord, type WillRecord } from '../types.js';
import type { Statements } from './statements.js';

export class Documents {
  constructor(private readonly s: Statements) {}

  putWill(will: WillRecord): void {
    this.s.putWill.run(
      will.clientId,
      will.topic,
      will.payload,
      will.qos,
      will.retain ? 1 : 0,
      will.properties,
      will.expiresAt,
      will.publishAt,
    );
  }

  deleteWill(clientId: string): boolean {
    return this.s.deleteWill.run(clientId).changes > 0;
  }

  setMeta(key: string, value: unknown): void {
    const json = JSON.stringify(value);
    if (json === undefined) throw new Error(`meta ${key}: value is not JSON-serializable`);
    this.s.putMeta.run(key, json);
  }

  deleteMeta(key: string): boolean {
    return this.s.deleteMeta.run(key).changes > 0;
  }

  getMeta(key: string): Promise<unknown> {
    const row = this.s.getMeta.get(key) as { value: string } | undefined;
    return Promise.resolve(row === undefined ? undefined : JSON.parse(row.value));
  }

  putRecord(collection: string, key: string, value: unknown): void {
    if (key === '') throw new Error(`record ${collection}: empty key`);
    const json = JSON.stringify(value);
    if (json === undefined) throw new Error(`record ${collection}/${key}: value is not JSON-serializable`);
    this.s.putRecord.run(collection, key, json);
  }

  deleteRecord(collection: string, key: string): boolean {
    return this.s.deleteRecord.run(collection, key).changes > 0;
  }

  getRecord(collection: string, key: string): Promise<unknown> {
    const row = this.s.getRecord.get(collection, key) as { value: string } | undefined;
    return Promise.resolve(row === undefined ? undefined : JSON.parse(row.value));
  }

  listRecords(collection: string, query: RecordQuery = {}): Promise<StoredRecord[]> {
    const prefix = query.prefix ?? '';
    const limit = Math.max(0, Math.min(query.limit ?? RECORD_PAGE_MAX, RECORD_PAGE_MAX));
    const rows = this.s.pageRecords.all({
      collection,
      after: query.after ?? '',
      prefix,
      upper: `${prefix}\u{10FFFF}`,
      limit,
    }) as Array<{ key: string; value: string }>;
    return Promise.resolve(rows.map((row) => ({ key: row.key, value: JSON.parse(row.value) as unknown })));
  }
}
