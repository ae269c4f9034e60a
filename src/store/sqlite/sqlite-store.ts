/**
 * The embedded Store on SQLite (better-sqlite3@12), WAL mode, one connection held exclusively.
 * This class only composes the parts, each in its own module:
 *   open.ts, open-errors.ts   opening, integrity check, schema migration, errors at open
 *   statements.ts, rows.ts    prepared SQL; row shapes and mapping
 *   batch.ts                  group commit: BEGIN at the first mutation, COMMIT per batch, fsync policy
 *   messages.ts               messages stored once, reference counts written once per batch
 *   session-index.ts          in-memory sessions by client id / sid, queue depths; counters.ts: seq, ids
 *   sessions.ts queues.ts inflight.ts retained.ts documents.ts   the records, one table group each
 *   loading.ts housekeeping.ts stats.ts                          start-up streaming, purge + vacuum, counts
 * Every mutation first joins the batch (`batch.mutate()`), then runs in its module.
 * See docs/storage.md for the contract, what each fsync policy risks and the vacuum policy.
 */
import { resolve as resolvePath } from 'node:path';
import type Database from 'better-sqlite3';
import {
  DEFAULT_QUEUE_LIMITS,
  type DeliveryInfo,
  type EnqueueResult,
  type FsyncPolicy,
  type LoadedSession,
  type MessageId,
  type MessageRecord,
  type NewMessage,
  type PurgeResult,
  type QueuedMessage,
  type RecordQuery,
  type RetainedRecord,
  type SessionRecord,
  type Store,
  type StoreStats,
  type StoredRecord,
  type SubscriptionRecord,
  type WillRecord,
} from '../types.js';
import { SqliteBatch } from './batch.js';
import { readCounters, type Counters } from './counters.js';
import { Documents } from './documents.js';
import { Housekeeping } from './housekeeping.js';
import { Inflight } from './inflight.js';
import { Loader } from './loading.js';
import { Messages } from './messages.js';
import { openChecked } from './open.js';
import { mapOpenError } from './open-errors.js';
import type { SqliteStoreOptions } from './options.js';
import { Queues } from './queues.js';
import { Retained } from './retained.js';
import { loadSessionIndex, type SessionIndex } from './session-index.js';
import { Sessions } from './sessions.js';
import { prepareStatements, type Statements } from './statements.js';
import { readStats } from './stats.js';

export type { SqliteStoreOptions } from './options.js';
export { moveAsideCommand } from './open-errors.js';

/** Opens (creating if absent) and checks the database; rejects with StoreCorruptError if damaged. */
export function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  return new Promise((resolve, reject) => {
    try {
      resolve(new SqliteStore(options));
    } catch (error) {
      reject(error as Error);
    }
  });
}

export class SqliteStore implements Store {
  readonly path: string;
  readonly fsync: FsyncPolicy;
  private readonly db: Database.Database;
  private readonly batch: SqliteBatch;
  private readonly index: SessionIndex;
  private readonly messages: Messages;
  private readonly sessions: Sessions;
  private readonly queues: Queues;
  private readonly inflight: Inflight;
  private readonly retained: Retained;
  private readonly documents: Documents;
  private readonly loader: Loader;
  private readonly housekeeping: Housekeeping;

  constructor(options: SqliteStoreOptions) {
    this.path = resolvePath(options.path);
    this.fsync = options.fsync ?? 'always';
    const limits = options.limits ?? DEFAULT_QUEUE_LIMITS;
    const limitsFor = typeof limits === 'function' ? limits : () => limits;
    const db = openChecked(this.path, this.fsync, options.integrityCheck ?? 'auto', options.cacheSizeKiB ?? 32768);
    let s: Statements;
    let counters: Counters;
    try {
      s = prepareStatements(db);
      this.index = loadSessionIndex(db, s);
      counters = readCounters(db);
    } catch (error) {
      db.close();
      throw mapOpenError(error, this.path);
    }
    this.db = db;
    this.messages = new Messages(s, counters);
    this.batch = new SqliteBatch(db, this.messages, options);
    this.sessions = new Sessions(s, this.index, this.messages, counters);
    this.queues = new Queues(s, this.index, this.messages, counters, this.batch, limitsFor);
    this.inflight = new Inflight(s, this.index, this.messages, counters);
    this.retained = new Retained(s, this.messages);
    this.documents = new Documents(s);
    this.loader = new Loader(s, this.index, this.batch);
    this.housekeeping = new Housekeeping(db, s, this.batch, this.index, this.messages, this.sessions, this.retained, limitsFor);
  }

  // Batching and durability.

  whenDurable(): Promise<void> {
    return this.batch.whenDurable();
  }

  commit(): Promise<void> {
    return this.batch.commit();
  }

  close(): Promise<void> {
    return this.batch.close();
  }

  // Sessions and subscriptions.

  putSession(session: SessionRecord): void {
    this.batch.mutate();
    this.sessions.put(session);
  }

  setDisconnectedAt(clientId: string, at: number | null): boolean {
    this.batch.mutate();
    return this.sessions.setDisconnectedAt(clientId, at);
  }

  getSession(clientId: string): SessionRecord | undefined {
    return this.sessions.get(clientId);
  }

  deleteSession(clientId: string): boolean {
    this.batch.mutate();
    return this.sessions.delete(clientId);
  }

  putSubscription(sub: SubscriptionRecord): void {
    this.batch.mutate();
    this.sessions.putSubscription(sub);
  }

  deleteSubscription(clientId: string, key: string): boolean {
    this.batch.mutate();
    return this.sessions.deleteSubscription(clientId, key);
  }

  // Messages.

  addMessage(message: NewMessage): MessageId {
    this.batch.mutate();
    return this.messages.add(message);
  }

  getMessage(id: MessageId): Promise<MessageRecord | undefined> {
    return this.messages.get(id);
  }

  // Queues.

  enqueue(clientId: string, delivery: DeliveryInfo): EnqueueResult {
    this.batch.mutate();
    return this.queues.enqueue(clientId, delivery);
  }

  removeQueued(clientId: string, seq: number): boolean {
    this.batch.mutate();
    return this.queues.remove(clientId, seq);
  }

  readQueue(clientId: string, afterSeq: number, limit: number): Promise<QueuedMessage[]> {
    return this.queues.read(clientId, afterSeq, limit);
  }

  queueDepth(clientId: string): number {
    return this.queues.depth(clientId);
  }

  // In-flight and inbound QoS 2.

  addInflight(clientId: string, packetId: number, delivery: DeliveryInfo): number {
    this.batch.mutate();
    return this.inflight.add(clientId, packetId, delivery);
  }

  moveToInflight(clientId: string, seq: number, packetId: number): number {
    this.batch.mutate();
    return this.inflight.moveFromQueue(clientId, seq, packetId);
  }

  releaseInflight(clientId: string, packetId: number): boolean {
    this.batch.mutate();
    return this.inflight.release(clientId, packetId);
  }

  removeInflight(clientId: string, packetId: number): boolean {
    this.batch.mutate();
    return this.inflight.remove(clientId, packetId);
  }

  addInboundQos2(clientId: string, packetId: number): void {
    this.batch.mutate();
    this.inflight.addInboundQos2(clientId, packetId);
  }

  removeInboundQos2(clientId: string, packetId: number): boolean {
    this.batch.mutate();
    return this.inflight.removeInboundQos2(clientId, packetId);
  }

  // Retained, wills, metadata, records.

  setRetained(topic: string, messageId: MessageId): void {
    this.batch.mutate();
    this.retained.set(topic, messageId);
  }

  deleteRetained(topic: string): boolean {
    this.batch.mutate();
    return this.retained.delete(topic);
  }

  putWill(will: WillRecord): void {
    this.batch.mutate();
    this.documents.putWill(will);
  }

  deleteWill(clientId: string): boolean {
    this.batch.mutate();
    return this.documents.deleteWill(clientId);
  }

  setMeta(key: string, value: unknown): void {
    this.batch.mutate();
    this.documents.setMeta(key, value);
  }

  deleteMeta(key: string): boolean {
    this.batch.mutate();
    return this.documents.deleteMeta(key);
  }

  getMeta(key: string): Promise<unknown> {
    return this.documents.getMeta(key);
  }

  putRecord(collection: string, key: string, value: unknown): void {
    this.batch.mutate();
    this.documents.putRecord(collection, key, value);
  }

  deleteRecord(collection: string, key: string): boolean {
    this.batch.mutate();
    return this.documents.deleteRecord(collection, key);
  }

  getRecord(collection: string, key: string): Promise<unknown> {
    return this.documents.getRecord(collection, key);
  }

  listRecords(collection: string, query?: RecordQuery): Promise<StoredRecord[]> {
    return this.documents.listRecords(collection, query);
  }

  // Loading, housekeeping, stats.

  loadSessions(): AsyncIterable<LoadedSession> {
    return this.loader.sessions();
  }

  loadRetained(): AsyncIterable<RetainedRecord> {
    return this.loader.retained();
  }

  loadWills(): AsyncIterable<WillRecord> {
    return this.loader.wills();
  }

  purgeExpired(now: number, budget: number): Promise<PurgeResult> {
    return this.housekeeping.purgeExpired(now, budget);
  }

  async stats(): Promise<StoreStats> {
    this.batch.settle();
    return readStats(this.db, this.index);
  }
}
