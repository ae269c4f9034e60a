/**
 * The embedded Store on SQLite (better-sqlite3@12), WAL mode, one connection held exclusively.
 *
 * Group commit: the first mutation of a batch runs BEGIN; every mutation then executes its
 * prepared statement at once inside that open transaction (so reads see it), and the batch
 * COMMITs at the end of the event-loop turn (or `commitDelayMs` later). Message reference counts
 * are accumulated in memory and written once per message per batch; a message added and never
 * referenced in its batch is never written. `whenDurable()` resolves after the COMMIT:
 * - fsync 'always'   synchronous=FULL: the WAL is fsynced by COMMIT; resolved = on disk.
 * - fsync 'interval' synchronous=NORMAL: COMMIT writes the WAL (OS page cache), a checkpoint
 *   every `fsyncIntervalMs` fsyncs it; resolved = survives a process crash, not a power loss.
 * - fsync 'off'      synchronous=OFF: never fsynced; resolved = survives a process crash only.
 * See docs/storage.md for what each risks, the corruption check and the vacuum policy.
 */
import { existsSync, mkdirSync, openSync, closeSync, fsyncSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, basename, resolve as resolvePath, join } from 'node:path';
import Database from 'better-sqlite3';
import { StoreCorruptError, StoreLockedError, StoreUnavailableError, StoreVersionError } from '../errors.js';
import { GroupCommit } from '../group-commit.js';
import {
  DEFAULT_QUEUE_LIMITS,
  SESSION_NEVER_EXPIRES,
  type DeliveryInfo,
  type DroppedEntry,
  type EnqueueResult,
  type FsyncPolicy,
  type InflightRecord,
  type LoadedSession,
  type MessageId,
  type MessageRecord,
  type NewMessage,
  type PurgeResult,
  type QueueLimits,
  type QueuedMessage,
  type RetainedRecord,
  type SessionRecord,
  type Store,
  type StoreOptions,
  type StoreQoS,
  type StoreStats,
  type RecordQuery,
  type StoredRecord,
  RECORD_PAGE_MAX,
  type StoredProtocolVersion,
  type SubscriptionRecord,
  type WillRecord,
} from '../types.js';
import { APPLICATION_ID, SCHEMA_VERSION, migrate } from './schema.js';

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
  /** Called when a commit fails; the store then refuses all further work. */
  readonly onError?: (error: Error) => void;
}

const FULL_CHECK_MAX_BYTES = 64 * 1024 * 1024;
/** Rows per purge step; the event loop gets a turn between steps. */
const PURGE_STEP = 500;
/** Free pages above which a purge runs an incremental vacuum step. */
const VACUUM_FREE_PAGES = 2048;
const VACUUM_STEP_PAGES = 1024;
const LOAD_PAGE = 256;
const NO_DROPS: readonly DroppedEntry[] = Object.freeze([]);

interface SessionState {
  readonly sid: number;
  record: SessionRecord;
  depth: number;
}

interface SessionRow {
  client_id: string;
  sid: number;
  instance_id: string;
  protocol_version: number;
  expiry_interval: number;
  disconnected_at: number | null;
}

interface MessageRow {
  id: number;
  topic: string;
  payload: Buffer;
  qos: number;
  retain: number;
  properties: Buffer | null;
  expires_at: number;
  created_at: number;
}

interface QueueRow extends MessageRow {
  seq: number;
  message_id: number;
  dqos: number;
  dretain: number;
  sub_ids: string | null;
  share_group: string | null;
  share_filter: string | null;
}

interface InflightRow {
  packet_id: number;
  seq: number;
  message_id: number | null;
  qos: number;
  retain: number;
  sub_ids: string | null;
  share_group: string | null;
  share_filter: string | null;
  released: number;
}

type Stmt = Database.Statement<unknown[], unknown>;

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
  private readonly batch: GroupCommit;
  private readonly limitsFor: (instanceId: string) => QueueLimits;
  private readonly onError: ((error: Error) => void) | undefined;
  private readonly s: Record<string, Stmt>;
  private readonly sessions = new Map<string, SessionState>();
  private readonly bySid = new Map<number, SessionState>();
  private readonly instanceDepth = new Map<string, number>();
  private readonly deadSids = new Set<number>();
  private readonly pendingMessages = new Map<MessageId, NewMessage>();
  private readonly refDelta = new Map<MessageId, number>();
  private readonly maybeUnreferenced = new Set<MessageId>();
  private nextSeq = 1;
  private nextMessageId = 1;
  private nextSid = 1;
  private inTxn = false;
  private checkpointDue = false;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private failure: Error | null = null;

  constructor(options: SqliteStoreOptions) {
    this.path = resolvePath(options.path);
    this.fsync = options.fsync ?? 'always';
    this.onError = options.onError;
    const limits = options.limits ?? DEFAULT_QUEUE_LIMITS;
    this.limitsFor = typeof limits === 'function' ? limits : () => limits;
    this.db = openChecked(this.path, this.fsync, options.integrityCheck ?? 'auto', options.cacheSizeKiB ?? 32768);
    try {
      this.s = this.prepareAll();
      this.loadState();
    } catch (error) {
      this.db.close();
      throw mapOpenError(error, this.path);
    }
    this.batch = new GroupCommit(options.commitDelayMs ?? 0, () => this.flush());
    if (this.fsync === 'interval') {
      this.checkpointTimer = setInterval(() => {
        if (this.inTxn) this.checkpointDue = true;
        else this.checkpoint();
      }, options.fsyncIntervalMs ?? 1000);
      this.checkpointTimer.unref();
    }
  }

  private prepareAll(): Record<string, Stmt> {
    const p = (sql: string): Stmt => this.db.prepare(sql);
    return {
      insertSession: p(
        `INSERT INTO sessions (client_id, sid, instance_id, protocol_version, expiry_interval, disconnected_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateSession: p(
        `UPDATE sessions SET protocol_version = ?, expiry_interval = ?, disconnected_at = ?, expires_at = ? WHERE sid = ?`,
      ),
      updateDisconnected: p(`UPDATE sessions SET disconnected_at = ?, expires_at = ? WHERE sid = ?`),
      deleteSession: p(`DELETE FROM sessions WHERE sid = ?`),
      deleteSubsOf: p(`DELETE FROM subscriptions WHERE sid = ?`),
      deleteInboundOf: p(`DELETE FROM inbound_qos2 WHERE sid = ?`),
      deleteInflightOf: p(`DELETE FROM inflight WHERE sid = ? RETURNING message_id`),
      insertDead: p(`INSERT OR IGNORE INTO dead_sessions (sid) VALUES (?)`),
      deleteDead: p(`DELETE FROM dead_sessions WHERE sid = ?`),
      putSub: p(
        `INSERT OR REPLACE INTO subscriptions
         (sid, key, qos, no_local, retain_as_published, retain_handling, subscription_id, share_group, filter)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteSub: p(`DELETE FROM subscriptions WHERE sid = ? AND key = ?`),
      insertMessage: p(
        `INSERT INTO messages (id, topic, payload, qos, retain, properties, expires_at, created_at, refs)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      messageTimes: p(`SELECT created_at, expires_at FROM messages WHERE id = ?`),
      getMessage: p(`SELECT id, topic, payload, qos, retain, properties, expires_at, created_at FROM messages WHERE id = ?`),
      addRefs: p(`UPDATE messages SET refs = refs + ? WHERE id = ? RETURNING refs`),
      deleteUnreferenced: p(`DELETE FROM messages WHERE id = ? AND refs <= 0`),
      insertQueue: p(
        `INSERT INTO queue (seq, sid, instance_id, message_id, qos, retain, sub_ids, share_group, share_filter, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      dropSessionOldest: p(
        `DELETE FROM queue WHERE seq IN (SELECT seq FROM queue WHERE sid = ? ORDER BY seq LIMIT ?) RETURNING seq, message_id`,
      ),
      dropInstanceOldest: p(
        `DELETE FROM queue WHERE seq IN (
           SELECT seq FROM queue WHERE instance_id = ? AND sid NOT IN (SELECT sid FROM dead_sessions) ORDER BY seq LIMIT ?)
         RETURNING seq, sid, message_id`,
      ),
      removeQueued: p(`DELETE FROM queue WHERE seq = ? AND sid = ? RETURNING message_id`),
      takeQueued: p(
        `DELETE FROM queue WHERE seq = ? AND sid = ?
         RETURNING message_id, qos, retain, sub_ids, share_group, share_filter`,
      ),
      readQueue: p(
        `SELECT q.seq, q.message_id, q.qos AS dqos, q.retain AS dretain, q.sub_ids, q.share_group, q.share_filter,
                m.id, m.topic, m.payload, m.qos, m.retain, m.properties, m.expires_at, m.created_at
         FROM queue q JOIN messages m ON m.id = q.message_id
         WHERE q.sid = ? AND q.seq > ? ORDER BY q.seq LIMIT ?`,
      ),
      insertInflight: p(
        `INSERT INTO inflight (sid, packet_id, seq, message_id, qos, retain, sub_ids, share_group, share_filter, released)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
      ),
      hasInflight: p(`SELECT 1 FROM inflight WHERE sid = ? AND packet_id = ?`),
      getInflight: p(`SELECT message_id, released FROM inflight WHERE sid = ? AND packet_id = ?`),
      releaseInflight: p(`UPDATE inflight SET released = 1, message_id = NULL WHERE sid = ? AND packet_id = ?`),
      removeInflight: p(`DELETE FROM inflight WHERE sid = ? AND packet_id = ? RETURNING message_id`),
      addInbound: p(`INSERT OR IGNORE INTO inbound_qos2 (sid, packet_id) VALUES (?, ?)`),
      removeInbound: p(`DELETE FROM inbound_qos2 WHERE sid = ? AND packet_id = ?`),
      getRetained: p(`SELECT message_id FROM retained WHERE topic = ?`),
      putRetained: p(`INSERT OR REPLACE INTO retained (topic, message_id, expires_at) VALUES (?, ?, ?)`),
      deleteRetained: p(`DELETE FROM retained WHERE topic = ? RETURNING message_id`),
      putWill: p(
        `INSERT OR REPLACE INTO wills (client_id, topic, payload, qos, retain, properties, expires_at, publish_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteWill: p(`DELETE FROM wills WHERE client_id = ?`),
      putMeta: p(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`),
      deleteMeta: p(`DELETE FROM meta WHERE key = ?`),
      getMeta: p(`SELECT value FROM meta WHERE key = ?`),
      putRecord: p(`INSERT OR REPLACE INTO records (collection, key, value) VALUES (?, ?, ?)`),
      deleteRecord: p(`DELETE FROM records WHERE collection = ? AND key = ?`),
      getRecord: p(`SELECT value FROM records WHERE collection = ? AND key = ?`),
      // The range bounds the scan; substr keeps the prefix test exact.
      pageRecords: p(
        `SELECT key, value FROM records
         WHERE collection = @collection AND key > @after
           AND (@prefix = '' OR (key >= @prefix AND key < @upper AND substr(key, 1, length(@prefix)) = @prefix))
         ORDER BY key LIMIT @limit`,
      ),
      pageSessions: p(
        `SELECT client_id, sid, instance_id, protocol_version, expiry_interval, disconnected_at
         FROM sessions WHERE client_id > ? ORDER BY client_id LIMIT ?`,
      ),
      subsOf: p(
        `SELECT key, qos, no_local, retain_as_published, retain_handling, subscription_id, share_group, filter
         FROM subscriptions WHERE sid = ? ORDER BY key`,
      ),
      inflightOf: p(
        `SELECT packet_id, seq, message_id, qos, retain, sub_ids, share_group, share_filter, released
         FROM inflight WHERE sid = ? ORDER BY seq`,
      ),
      inboundOf: p(`SELECT packet_id FROM inbound_qos2 WHERE sid = ? ORDER BY packet_id`),
      pageRetained: p(
        `SELECT r.topic AS rtopic, m.id, m.topic, m.payload, m.qos, m.retain, m.properties, m.expires_at, m.created_at
         FROM retained r JOIN messages m ON m.id = r.message_id WHERE r.topic > ? ORDER BY r.topic LIMIT ?`,
      ),
      pageWills: p(
        `SELECT client_id, topic, payload, qos, retain, properties, expires_at, publish_at
         FROM wills WHERE client_id > ? ORDER BY client_id LIMIT ?`,
      ),
      expiredSessions: p(`SELECT client_id FROM sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT ?`),
      reclaimDead: p(`DELETE FROM queue WHERE seq IN (SELECT seq FROM queue WHERE sid = ? LIMIT ?) RETURNING message_id`),
      expiredQueued: p(
        `DELETE FROM queue WHERE seq IN (SELECT seq FROM queue WHERE expires_at > 0 AND expires_at <= ? LIMIT ?)
         RETURNING seq, sid, instance_id, message_id`,
      ),
      oldestOfInstance: p(`SELECT seq, sid, created_at FROM queue WHERE instance_id = ? ORDER BY seq LIMIT ?`),
      deleteQueuedBySeq: p(`DELETE FROM queue WHERE seq = ? RETURNING message_id`),
      expiredRetained: p(`SELECT topic FROM retained WHERE expires_at > 0 AND expires_at <= ? LIMIT ?`),
    };
  }

  private loadState(): void {
    const rows = this.db
      .prepare(
        `SELECT client_id, sid, instance_id, protocol_version, expiry_interval, disconnected_at FROM sessions`,
      )
      .all() as SessionRow[];
    for (const row of rows) {
      const state: SessionState = { sid: row.sid, record: sessionFromRow(row), depth: 0 };
      this.sessions.set(row.client_id, state);
      this.bySid.set(row.sid, state);
    }
    for (const row of this.db.prepare(`SELECT sid FROM dead_sessions`).all() as Array<{ sid: number }>) {
      this.deadSids.add(row.sid);
    }
    const depths = this.db.prepare(`SELECT sid, count(*) AS n FROM queue GROUP BY sid`).all() as Array<{
      sid: number;
      n: number;
    }>;
    for (const { sid, n } of depths) {
      const state = this.bySid.get(sid);
      if (state === undefined) {
        if (!this.deadSids.has(sid)) {
          // Orphaned rows (should not happen): reclaim them like a deleted session's.
          this.s.insertDead!.run(sid);
          this.deadSids.add(sid);
        }
        continue;
      }
      state.depth = n;
      const instanceId = state.record.instanceId;
      this.instanceDepth.set(instanceId, (this.instanceDepth.get(instanceId) ?? 0) + n);
    }
    const max = (sql: string): number => ((this.db.prepare(sql).get() as { m: number | null }).m ?? 0);
    this.nextSeq = Math.max(max(`SELECT max(seq) AS m FROM queue`), max(`SELECT max(seq) AS m FROM inflight`)) + 1;
    this.nextMessageId = max(`SELECT max(id) AS m FROM messages`) + 1;
    this.nextSid = Math.max(max(`SELECT max(sid) AS m FROM sessions`), max(`SELECT max(sid) AS m FROM dead_sessions`)) + 1;
  }

  // Batching and durability.

  whenDurable(): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.unavailable());
    return this.batch.whenDurable();
  }

  commit(): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.unavailable());
    return this.batch.commitNow();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.failure === null) await this.batch.commitNow();
    } finally {
      this.closed = true;
      if (this.checkpointTimer !== null) clearInterval(this.checkpointTimer);
      try {
        if (this.inTxn) this.db.exec('ROLLBACK');
        if (this.failure === null) this.db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        this.db.close();
      }
    }
  }

  private mutate(): void {
    if (this.closed) throw new StoreUnavailableError('store is closed');
    if (this.failure !== null) throw this.unavailable();
    if (!this.inTxn) {
      this.db.exec('BEGIN');
      this.inTxn = true;
    }
    this.batch.touch();
  }

  private unavailable(): StoreUnavailableError {
    return new StoreUnavailableError(`store failed earlier and refuses work: ${this.failure?.message ?? ''}`, {
      cause: this.failure,
    });
  }

  private flush(): void {
    if (!this.inTxn) return;
    try {
      this.applyPending(true);
      this.db.exec('COMMIT');
      this.inTxn = false;
    } catch (error) {
      this.failure = error as Error;
      try {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
      } catch {
        // the connection is unusable; the failure is already recorded
      }
      this.inTxn = false;
      this.onError?.(this.failure);
      throw this.unavailable();
    }
    if (this.checkpointDue) this.checkpoint();
  }

  private checkpoint(): void {
    this.checkpointDue = false;
    if (this.closed || this.failure !== null) return;
    try {
      // synchronous=NORMAL: the WAL is fsynced before the checkpoint, the database after it.
      this.db.pragma('wal_checkpoint(PASSIVE)');
    } catch (error) {
      this.onError?.(error as Error);
    }
  }

  /**
   * Writes the accumulated reference counts (and the new messages that are referenced) into
   * the open transaction. `final` (at COMMIT) also drops what ended unreferenced.
   */
  private applyPending(final: boolean): void {
    const s = this.s;
    for (const [id, message] of this.pendingMessages) {
      const refs = this.refDelta.get(id) ?? 0;
      if (refs <= 0 && !final) continue;
      this.pendingMessages.delete(id);
      this.refDelta.delete(id);
      if (refs <= 0) continue;
      s.insertMessage!.run(
        id,
        message.topic,
        message.payload,
        message.qos,
        message.retain ? 1 : 0,
        message.properties,
        message.expiresAt,
        message.createdAt,
        refs,
      );
    }
    for (const [id, delta] of this.refDelta) {
      if (delta === 0) continue;
      const row = s.addRefs!.get(delta, id) as { refs: number } | undefined;
      if (row !== undefined && row.refs <= 0) this.maybeUnreferenced.add(id);
    }
    this.refDelta.clear();
    if (final) {
      for (const id of this.maybeUnreferenced) s.deleteUnreferenced!.run(id);
      this.maybeUnreferenced.clear();
    }
  }

  /** Validates a message id and returns its times; throws for an unknown message. */
  private messageTimes(id: MessageId): { createdAt: number; expiresAt: number } {
    const pending = this.pendingMessages.get(id);
    if (pending !== undefined) return pending;
    const row = this.s.messageTimes!.get(id) as { created_at: number; expires_at: number } | undefined;
    if (row === undefined) throw new Error(`unknown message ${id}`);
    return { createdAt: row.created_at, expiresAt: row.expires_at };
  }

  private ref(id: MessageId): void {
    this.refDelta.set(id, (this.refDelta.get(id) ?? 0) + 1);
  }

  private unref(id: MessageId): void {
    this.refDelta.set(id, (this.refDelta.get(id) ?? 0) - 1);
  }

  private live(clientId: string): SessionState {
    const state = this.sessions.get(clientId);
    if (state === undefined) throw new Error(`unknown session ${clientId}`);
    return state;
  }

  // Sessions and subscriptions.

  putSession(session: SessionRecord): void {
    this.mutate();
    const existing = this.sessions.get(session.clientId);
    const expiresAt = sessionExpiresAt(session);
    if (existing !== undefined) {
      if (existing.record.instanceId !== session.instanceId) {
        throw new Error(`session ${session.clientId}: instanceId cannot change (delete the session first)`);
      }
      this.s.updateSession!.run(session.protocolVersion, session.expiryInterval, session.disconnectedAt, expiresAt, existing.sid);
      existing.record = { ...session };
      return;
    }
    const sid = this.nextSid++;
    this.s.insertSession!.run(
      session.clientId,
      sid,
      session.instanceId,
      session.protocolVersion,
      session.expiryInterval,
      session.disconnectedAt,
      expiresAt,
    );
    const state: SessionState = { sid, record: { ...session }, depth: 0 };
    this.sessions.set(session.clientId, state);
    this.bySid.set(sid, state);
  }

  setDisconnectedAt(clientId: string, at: number | null): boolean {
    this.mutate();
    const state = this.sessions.get(clientId);
    if (state === undefined) return false;
    state.record = { ...state.record, disconnectedAt: at };
    this.s.updateDisconnected!.run(at, sessionExpiresAt(state.record), state.sid);
    return true;
  }

  getSession(clientId: string): SessionRecord | undefined {
    const state = this.sessions.get(clientId);
    return state === undefined ? undefined : { ...state.record };
  }

  deleteSession(clientId: string): boolean {
    this.mutate();
    const state = this.sessions.get(clientId);
    if (state === undefined) return false;
    const sid = state.sid;
    this.s.deleteSession!.run(sid);
    this.s.deleteSubsOf!.run(sid);
    this.s.deleteInboundOf!.run(sid);
    for (const row of this.s.deleteInflightOf!.all(sid) as Array<{ message_id: number | null }>) {
      if (row.message_id !== null) this.unref(row.message_id);
    }
    if (state.depth > 0) {
      this.s.insertDead!.run(sid);
      this.deadSids.add(sid);
      this.addInstanceDepth(state.record.instanceId, -state.depth);
    }
    this.sessions.delete(clientId);
    this.bySid.delete(sid);
    return true;
  }

  putSubscription(sub: SubscriptionRecord): void {
    this.mutate();
    const state = this.live(sub.clientId);
    this.s.putSub!.run(
      state.sid,
      sub.key,
      sub.qos,
      sub.noLocal ? 1 : 0,
      sub.retainAsPublished ? 1 : 0,
      sub.retainHandling,
      sub.subscriptionId,
      sub.shareGroup,
      sub.filter,
    );
  }

  deleteSubscription(clientId: string, key: string): boolean {
    this.mutate();
    const state = this.sessions.get(clientId);
    if (state === undefined) return false;
    return this.s.deleteSub!.run(state.sid, key).changes > 0;
  }

  // Messages.

  addMessage(message: NewMessage): MessageId {
    this.mutate();
    const id = this.nextMessageId++;
    this.pendingMessages.set(id, {
      topic: message.topic,
      payload: message.payload,
      qos: message.qos,
      retain: message.retain,
      properties: message.properties,
      expiresAt: message.expiresAt,
      createdAt: message.createdAt,
    });
    return id;
  }

  getMessage(id: MessageId): Promise<MessageRecord | undefined> {
    const pending = this.pendingMessages.get(id);
    if (pending !== undefined) return Promise.resolve({ ...pending, id });
    const row = this.s.getMessage!.get(id) as MessageRow | undefined;
    return Promise.resolve(row === undefined ? undefined : messageFromRow(row));
  }

  // Queues.

  enqueue(clientId: string, delivery: DeliveryInfo): EnqueueResult {
    this.mutate();
    const state = this.live(clientId);
    const times = this.messageTimes(delivery.messageId);
    const seq = this.nextSeq++;
    const instanceId = state.record.instanceId;
    this.s.insertQueue!.run(
      seq,
      state.sid,
      instanceId,
      delivery.messageId,
      delivery.qos,
      delivery.retain ? 1 : 0,
      encodeIds(delivery.subscriptionIds),
      delivery.shareGroup,
      delivery.shareFilter,
      times.createdAt,
      times.expiresAt,
    );
    this.ref(delivery.messageId);
    state.depth++;
    const instanceDepth = this.addInstanceDepth(instanceId, 1);

    const limits = this.limitsFor(instanceId);
    let dropped: DroppedEntry[] | null = null;
    if (state.depth > limits.maxQueuedPerSession) {
      const rows = this.s.dropSessionOldest!.all(state.sid, state.depth - limits.maxQueuedPerSession) as Array<{
        seq: number;
        message_id: number;
      }>;
      rows.sort((a, b) => a.seq - b.seq);
      dropped = [];
      for (const row of rows) {
        this.unref(row.message_id);
        dropped.push({ clientId, seq: row.seq, messageId: row.message_id, reason: 'session-cap' });
      }
      state.depth -= rows.length;
      this.addInstanceDepth(instanceId, -rows.length);
    }
    const excess = (this.instanceDepth.get(instanceId) ?? instanceDepth) - limits.maxQueuedPerInstance;
    if (excess > 0) {
      const rows = this.s.dropInstanceOldest!.all(instanceId, excess) as Array<{
        seq: number;
        sid: number;
        message_id: number;
      }>;
      rows.sort((a, b) => a.seq - b.seq);
      dropped ??= [];
      for (const row of rows) {
        this.unref(row.message_id);
        const owner = this.bySid.get(row.sid);
        if (owner === undefined) continue;
        owner.depth--;
        this.addInstanceDepth(instanceId, -1);
        dropped.push({ clientId: owner.record.clientId, seq: row.seq, messageId: row.message_id, reason: 'instance-cap' });
      }
    }
    return { seq, dropped: dropped ?? NO_DROPS };
  }

  private addInstanceDepth(instanceId: string, delta: number): number {
    const depth = (this.instanceDepth.get(instanceId) ?? 0) + delta;
    if (depth === 0) this.instanceDepth.delete(instanceId);
    else this.instanceDepth.set(instanceId, depth);
    return depth;
  }

  removeQueued(clientId: string, seq: number): boolean {
    this.mutate();
    const state = this.sessions.get(clientId);
    if (state === undefined) return false;
    const row = this.s.removeQueued!.get(seq, state.sid) as { message_id: number } | undefined;
    if (row === undefined) return false;
    this.unref(row.message_id);
    state.depth--;
    this.addInstanceDepth(state.record.instanceId, -1);
    return true;
  }

  readQueue(clientId: string, afterSeq: number, limit: number): Promise<QueuedMessage[]> {
    const state = this.sessions.get(clientId);
    if (state === undefined || limit <= 0 || state.depth === 0) return Promise.resolve([]);
    if (this.inTxn) this.applyPending(false);
    const rows = this.s.readQueue!.all(state.sid, afterSeq, limit) as QueueRow[];
    return Promise.resolve(
      rows.map((row) => ({
        clientId,
        seq: row.seq,
        messageId: row.message_id,
        qos: row.dqos as StoreQoS,
        retain: row.dretain === 1,
        subscriptionIds: decodeIds(row.sub_ids),
        shareGroup: row.share_group,
        shareFilter: row.share_filter,
        message: messageFromRow(row),
      })),
    );
  }

  queueDepth(clientId: string): number {
    return this.sessions.get(clientId)?.depth ?? 0;
  }

  // In-flight.

  addInflight(clientId: string, packetId: number, delivery: DeliveryInfo): number {
    this.mutate();
    const state = this.live(clientId);
    this.messageTimes(delivery.messageId);
    if (this.s.hasInflight!.get(state.sid, packetId) !== undefined) {
      throw new Error(`${clientId}: packet id ${packetId} is already in flight`);
    }
    const seq = this.nextSeq++;
    this.s.insertInflight!.run(
      state.sid,
      packetId,
      seq,
      delivery.messageId,
      delivery.qos,
      delivery.retain ? 1 : 0,
      encodeIds(delivery.subscriptionIds),
      delivery.shareGroup,
      delivery.shareFilter,
    );
    this.ref(delivery.messageId);
    return seq;
  }

  moveToInflight(clientId: string, seq: number, packetId: number): number {
    this.mutate();
    const state = this.live(clientId);
    if (this.s.hasInflight!.get(state.sid, packetId) !== undefined) {
      throw new Error(`${clientId}: packet id ${packetId} is already in flight`);
    }
    const row = this.s.takeQueued!.get(seq, state.sid) as
      | { message_id: number; qos: number; retain: number; sub_ids: string | null; share_group: string | null; share_filter: string | null }
      | undefined;
    if (row === undefined) return -1;
    state.depth--;
    this.addInstanceDepth(state.record.instanceId, -1);
    const inflightSeq = this.nextSeq++;
    // The queue's reference moves to the in-flight entry: no count change.
    this.s.insertInflight!.run(
      state.sid,
      packetId,
      inflightSeq,
      row.message_id,
      row.qos,
      row.retain,
      row.sub_ids,
      row.share_group,
      row.share_filter,
    );
    return inflightSeq;
  }

  releaseInflight(clientId: string, packetId: number): boolean {
    this.mutate();
    const state = this.sessions.get(clientId);
    if (state === undefined) return false;
    const row = this.s.getInflight!.get(state.sid, packetId) as { message_id: number | null; released: number } | undefined;
    if (row === undefined) return false;
    if (row.released === 0) {
      this.s.releaseInflight!.run(state.sid, packetId);
      if (row.message_id !== null) this.unref(row.message_id);
    }
    return true;
  }

  removeInflight(clientId: string, packetId: number): boolean {
    this.mutate();
    const state = this.sessions.get(clientId);
    if (state === undefined) return false;
    const row = this.s.removeInflight!.get(state.sid, packetId) as { message_id: number | null } | undefined;
    if (row === undefined) return false;
    if (row.message_id !== null) this.unref(row.message_id);
    return true;
  }

  // Inbound QoS 2.

  addInboundQos2(clientId: string, packetId: number): void {
    this.mutate();
    this.s.addInbound!.run(this.live(clientId).sid, packetId);
  }

  removeInboundQos2(clientId: string, packetId: number): boolean {
    this.mutate();
    const state = this.sessions.get(clientId);
    if (state === undefined) return false;
    return this.s.removeInbound!.run(state.sid, packetId).changes > 0;
  }

  // Retained, wills, metadata.

  setRetained(topic: string, messageId: MessageId): void {
    this.mutate();
    const times = this.messageTimes(messageId);
    const previous = this.s.getRetained!.get(topic) as { message_id: number } | undefined;
    this.s.putRetained!.run(topic, messageId, times.expiresAt);
    this.ref(messageId);
    if (previous !== undefined) this.unref(previous.message_id);
  }

  deleteRetained(topic: string): boolean {
    this.mutate();
    const row = this.s.deleteRetained!.get(topic) as { message_id: number } | undefined;
    if (row === undefined) return false;
    this.unref(row.message_id);
    return true;
  }

  putWill(will: WillRecord): void {
    this.mutate();
    this.s.putWill!.run(
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
    this.mutate();
    return this.s.deleteWill!.run(clientId).changes > 0;
  }

  setMeta(key: string, value: unknown): void {
    this.mutate();
    const json = JSON.stringify(value);
    if (json === undefined) throw new Error(`meta ${key}: value is not JSON-serializable`);
    this.s.putMeta!.run(key, json);
  }

  deleteMeta(key: string): boolean {
    this.mutate();
    return this.s.deleteMeta!.run(key).changes > 0;
  }

  getMeta(key: string): Promise<unknown> {
    const row = this.s.getMeta!.get(key) as { value: string } | undefined;
    return Promise.resolve(row === undefined ? undefined : JSON.parse(row.value));
  }

  putRecord(collection: string, key: string, value: unknown): void {
    this.mutate();
    if (key === '') throw new Error(`record ${collection}: empty key`);
    const json = JSON.stringify(value);
    if (json === undefined) throw new Error(`record ${collection}/${key}: value is not JSON-serializable`);
    this.s.putRecord!.run(collection, key, json);
  }

  deleteRecord(collection: string, key: string): boolean {
    this.mutate();
    return this.s.deleteRecord!.run(collection, key).changes > 0;
  }

  getRecord(collection: string, key: string): Promise<unknown> {
    const row = this.s.getRecord!.get(collection, key) as { value: string } | undefined;
    return Promise.resolve(row === undefined ? undefined : JSON.parse(row.value));
  }

  listRecords(collection: string, query: RecordQuery = {}): Promise<StoredRecord[]> {
    const prefix = query.prefix ?? '';
    const limit = Math.max(0, Math.min(query.limit ?? RECORD_PAGE_MAX, RECORD_PAGE_MAX));
    const rows = this.s.pageRecords!.all({
      collection,
      after: query.after ?? '',
      prefix,
      upper: `${prefix}\u{10FFFF}`,
      limit,
    }) as Array<{ key: string; value: string }>;
    return Promise.resolve(rows.map((row) => ({ key: row.key, value: JSON.parse(row.value) as unknown })));
  }

  // Loading: keyset pages, never an open cursor across an await.

  async *loadSessions(): AsyncIterable<LoadedSession> {
    let after = '';
    for (;;) {
      if (this.inTxn) this.applyPending(false);
      const rows = this.s.pageSessions!.all(after, LOAD_PAGE) as SessionRow[];
      if (rows.length === 0) return;
      const page: LoadedSession[] = [];
      for (const row of rows) {
        const session = sessionFromRow(row);
        const subscriptions = (this.s.subsOf!.all(row.sid) as Array<Record<string, unknown>>).map(
          (sub): SubscriptionRecord => ({
            clientId: row.client_id,
            key: sub.key as string,
            qos: sub.qos as StoreQoS,
            noLocal: sub.no_local === 1,
            retainAsPublished: sub.retain_as_published === 1,
            retainHandling: sub.retain_handling as 0 | 1 | 2,
            subscriptionId: sub.subscription_id as number,
            shareGroup: sub.share_group as string | null,
            filter: sub.filter as string,
          }),
        );
        const inflight = (this.s.inflightOf!.all(row.sid) as InflightRow[]).map((entry): InflightRecord => {
          let message: MessageRecord | null = null;
          if (entry.message_id !== null) {
            const m = this.s.getMessage!.get(entry.message_id) as MessageRow | undefined;
            if (m !== undefined) message = messageFromRow(m);
          }
          return {
            clientId: row.client_id,
            packetId: entry.packet_id,
            seq: entry.seq,
            qos: entry.qos as StoreQoS,
            retain: entry.retain === 1,
            subscriptionIds: decodeIds(entry.sub_ids),
            shareGroup: entry.share_group,
            shareFilter: entry.share_filter,
            released: entry.released === 1,
            message,
          };
        });
        const inboundQos2 = (this.s.inboundOf!.all(row.sid) as Array<{ packet_id: number }>).map((r) => r.packet_id);
        page.push({
          session,
          subscriptions,
          inflight,
          inboundQos2,
          queueDepth: this.bySid.get(row.sid)?.depth ?? 0,
        });
      }
      after = rows[rows.length - 1]!.client_id;
      for (const loaded of page) yield loaded;
    }
  }

  async *loadRetained(): AsyncIterable<RetainedRecord> {
    let after = '';
    for (;;) {
      if (this.inTxn) this.applyPending(false);
      const rows = this.s.pageRetained!.all(after, LOAD_PAGE) as Array<MessageRow & { rtopic: string }>;
      if (rows.length === 0) return;
      after = rows[rows.length - 1]!.rtopic;
      for (const row of rows) yield { topic: row.rtopic, message: messageFromRow(row) };
    }
  }

  async *loadWills(): AsyncIterable<WillRecord> {
    let after = '';
    for (;;) {
      const rows = this.s.pageWills!.all(after, LOAD_PAGE) as Array<{
        client_id: string;
        topic: string;
        payload: Buffer;
        qos: number;
        retain: number;
        properties: Buffer | null;
        expires_at: number;
        publish_at: number;
      }>;
      if (rows.length === 0) return;
      after = rows[rows.length - 1]!.client_id;
      for (const row of rows) {
        yield {
          clientId: row.client_id,
          topic: row.topic,
          payload: row.payload,
          qos: row.qos as StoreQoS,
          retain: row.retain === 1,
          properties: row.properties,
          expiresAt: row.expires_at,
          publishAt: row.publish_at,
        };
      }
    }
  }

  // Housekeeping.

  async purgeExpired(now: number, budget: number): Promise<PurgeResult> {
    let left = budget;
    const expiredSessions: string[] = [];
    let expiredMessages = 0;
    let retentionDropped = 0;
    let expiredRetained = 0;
    let reclaimed = 0;
    const step = (): number => Math.min(PURGE_STEP, left);
    const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

    // 1. Expired sessions (their queues become dead and are reclaimed next).
    while (left > 0) {
      this.mutate();
      const rows = this.s.expiredSessions!.all(now, step()) as Array<{ client_id: string }>;
      for (const row of rows) {
        this.deleteSession(row.client_id);
        expiredSessions.push(row.client_id);
      }
      left -= rows.length;
      if (rows.length < PURGE_STEP) break;
      await pause();
    }
    // 2. Queues of deleted sessions.
    for (const sid of [...this.deadSids]) {
      while (left > 0) {
        this.mutate();
        const limit = step();
        const rows = this.s.reclaimDead!.all(sid, limit) as Array<{ message_id: number }>;
        for (const row of rows) this.unref(row.message_id);
        reclaimed += rows.length;
        left -= rows.length;
        if (rows.length < limit) {
          this.s.deleteDead!.run(sid);
          this.deadSids.delete(sid);
          break;
        }
        await pause();
      }
      if (left <= 0) break;
    }
    // 3. Queue entries whose message expired (MQTT 5 Message Expiry).
    while (left > 0) {
      this.mutate();
      const limit = step();
      const rows = this.s.expiredQueued!.all(now, limit) as Array<{
        seq: number;
        sid: number;
        instance_id: string;
        message_id: number;
      }>;
      for (const row of rows) {
        this.unref(row.message_id);
        const owner = this.bySid.get(row.sid);
        if (owner === undefined) {
          reclaimed++;
          continue;
        }
        owner.depth--;
        this.addInstanceDepth(row.instance_id, -1);
        expiredMessages++;
      }
      left -= rows.length;
      if (rows.length < limit) break;
      await pause();
    }
    // 4. Retention, from the oldest end of each instance's queue order.
    for (const instanceId of [...this.instanceDepth.keys()]) {
      const cutoff = now - this.limitsFor(instanceId).retentionMs;
      while (left > 0) {
        this.mutate();
        const limit = step();
        const rows = this.s.oldestOfInstance!.all(instanceId, limit) as Array<{ seq: number; sid: number; created_at: number }>;
        let removed = 0;
        for (const row of rows) {
          if (row.created_at > cutoff) break;
          const deleted = this.s.deleteQueuedBySeq!.get(row.seq) as { message_id: number } | undefined;
          removed++;
          if (deleted === undefined) continue;
          this.unref(deleted.message_id);
          const owner = this.bySid.get(row.sid);
          if (owner === undefined) {
            reclaimed++;
            continue;
          }
          owner.depth--;
          this.addInstanceDepth(instanceId, -1);
          retentionDropped++;
        }
        left -= removed;
        if (removed < limit) break;
        await pause();
      }
      if (left <= 0) break;
    }
    // 5. Expired retained messages.
    while (left > 0) {
      this.mutate();
      const limit = step();
      const rows = this.s.expiredRetained!.all(now, limit) as Array<{ topic: string }>;
      for (const row of rows) this.deleteRetained(row.topic);
      expiredRetained += rows.length;
      left -= rows.length;
      if (rows.length < limit) break;
      await pause();
    }
    // 6. Give free pages back to the file system, a bounded step at a time.
    if (left > 0) this.vacuumStep();
    return { expiredSessions, expiredMessages, retentionDropped, expiredRetained, reclaimed, done: left > 0 };
  }

  /** Incremental vacuum: at most VACUUM_STEP_PAGES pages when the free list is large. */
  private vacuumStep(): void {
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    if (free < VACUUM_FREE_PAGES) return;
    this.mutate();
    this.db.pragma(`incremental_vacuum(${VACUUM_STEP_PAGES})`);
  }

  async stats(): Promise<StoreStats> {
    if (this.inTxn) this.applyPending(false);
    const count = (sql: string): number => (this.db.prepare(sql).get() as { n: number }).n;
    let queued = 0;
    for (const state of this.sessions.values()) queued += state.depth;
    return {
      sessions: this.sessions.size,
      queued,
      messages: count(`SELECT count(*) AS n FROM messages WHERE refs > 0`),
      retained: count(`SELECT count(*) AS n FROM retained`),
      wills: count(`SELECT count(*) AS n FROM wills`),
    };
  }
}

// Opening and checking the file.

function openChecked(
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

function mapOpenError(error: unknown, path: string): Error {
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

// Row mapping.

function sessionExpiresAt(session: SessionRecord): number | null {
  if (session.disconnectedAt === null || session.expiryInterval === SESSION_NEVER_EXPIRES) return null;
  return session.disconnectedAt + session.expiryInterval * 1000;
}

function sessionFromRow(row: SessionRow): SessionRecord {
  return {
    clientId: row.client_id,
    instanceId: row.instance_id,
    protocolVersion: row.protocol_version as StoredProtocolVersion,
    expiryInterval: row.expiry_interval,
    disconnectedAt: row.disconnected_at,
  };
}

function messageFromRow(row: MessageRow): MessageRecord {
  return {
    id: row.id,
    topic: row.topic,
    payload: row.payload,
    qos: row.qos as StoreQoS,
    retain: row.retain === 1,
    properties: row.properties,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
  };
}

function encodeIds(ids: readonly number[] | null): string | null {
  return ids === null || ids.length === 0 ? null : ids.join(',');
}

function decodeIds(text: string | null): number[] | null {
  return text === null || text === '' ? null : text.split(',').map(Number);
}
