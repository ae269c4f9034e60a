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

  /** `json`: the value as JSON text (serialized on the main thread). */
  setMeta(key: string, json: string): void {
    this.s.putMeta.run(key, json);
  }

  deleteMeta(key: string): boolean {
    return this.s.deleteMeta.run(key).changes > 0;
  }

  getMeta(key: string): unknown {
    const row = this.s.getMeta.get(key) as { value: string } | undefined;
    return row === undefined ? undefined : JSON.parse(row.value);
  }

  /** `json`: the value as JSON text (serialized on the main thread). */
  putRecord(collection: string, key: string, json: string): void {
    this.s.putRecord.run(collection, key, json);
  }

  deleteRecord(collection: string, key: string): boolean {
    return this.s.deleteRecord.run(collection, key).changes > 0;
  }

  getRecord(collection: string, key: string): unknown {
    const row = this.s.getRecord.get(collection, key) as { value: string } | undefined;
    return row === undefined ? undefined : JSON.parse(row.value);
  }

  listRecords(collection: string, query: RecordQuery = {}): StoredRecord[] {
    const prefix = query.prefix ?? '';
    const limit = Math.max(0, Math.min(query.limit ?? RECORD_PAGE_MAX, RECORD_PAGE_MAX));
    const rows = this.s.pageRecords.all({
      collection,
      after: query.after ?? '',
      prefix,
      upper: `${prefix}\u{10FFFF}`,
      limit,
    }) as Array<{ key: string; value: string }>;
    return rows.map((row) => ({ key: row.key, value: JSON.parse(row.value) as unknown }));
  }
}
