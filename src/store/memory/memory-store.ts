/**
 * In-memory Store: the reference for behaviour (every other implementation must pass the same
 * contract suite), and the store of a broker run without a data directory. Nothing survives the
 * process; "durable" here means "recorded".
 */
import { StoreUnavailableError } from '../errors.js';
import { GroupCommit } from '../group-commit.js';
import { ListedQueuePage } from '../listed-page.js';
import {
  DEFAULT_QUEUE_LIMITS,
  SESSION_NEVER_EXPIRES,
  queuedBytes,
  type DeliveryInfo,
  type DroppedEntry,
  type StoreHealth,
  type InflightRecord,
  type LoadedSession,
  type LogEntry,
  type LogSummary,
  type MessageId,
  type MessageRecord,
  type NewMessage,
  type PurgeResult,
  type QueueLimits,
  type QueuedMessage,
  type StoredQueuePage,
  type RetainedRecord,
  type SessionRecord,
  type Store,
  type StoreOptions,
  type StoreStats,
  type SubscriptionRecord,
  type WillRecord,
  type RecordQuery,
  type StoredRecord,
  RECORD_PAGE_MAX,
} from '../types.js';

interface StoredMessage {
  readonly record: MessageRecord;
  refs: number;
}

interface QEntry {
  readonly seq: number;
  readonly delivery: DeliveryInfo;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** What the entry counts against the byte caps (payload + topic). */
  readonly bytes: number;
  readonly owner: MemSession;
}

interface IEntry {
  readonly packetId: number;
  readonly seq: number;
  readonly delivery: DeliveryInfo;
  released: boolean;
  messageId: MessageId | null;
}

interface MemSession {
  record: SessionRecord;
  readonly subscriptions: Map<string, SubscriptionRecord>;
  /** Insertion order = seq order. */
  readonly queue: Map<number, QEntry>;
  /** Bytes of the queue's entries. */
  queueBytes: number;
  readonly inflight: Map<number, IEntry>;
  readonly inbound: Set<number>;
}

/** Rows handled between two yields to the event loop in purgeExpired. */
const PURGE_STEP = 500;

const HEALTHY: StoreHealth = { ok: true };

export class MemoryStore implements Store {
  private readonly sessions = new Map<string, MemSession>();
  /** Per instance, every live queue entry in seq order (for the instance cap and retention). */
  private readonly instanceQueues = new Map<string, Map<number, QEntry>>();
  /** Per instance, the bytes of those entries. */
  private readonly instanceBytes = new Map<string, number>();
  private readonly messages = new Map<MessageId, StoredMessage>();
  /** Messages whose count reached (or started at) zero in this batch. */
  private readonly unreferenced = new Set<MessageId>();
  /** Queue entries of deleted sessions, reclaimed by purgeExpired. */
  private dead: QEntry[] = [];
  private readonly retained = new Map<string, MessageId>();
  private readonly wills = new Map<string, WillRecord>();
  private readonly meta = new Map<string, string>();
  /** collection → key → JSON; `sorted` caches each collection's keys in byte order. */
  private readonly records = new Map<string, Map<string, string>>();
  private readonly sortedKeys = new Map<string, string[]>();
  private nextSeq = 1;
  /** Durable logs by name; entries in seq order (Map insertion order). */
  private readonly logs = new Map<string, Map<number, LogEntry>>();
  private nextMessageId = 1;
  private closed = false;
  private readonly limitsFor: (instanceId: string) => QueueLimits;
  private readonly batch: GroupCommit;
  private readonly dropListeners: Array<(dropped: readonly DroppedEntry[]) => void> = [];
  /** Drops of the open batch, reported when it commits (as the SQLite store does). */
  private pendingDrops: DroppedEntry[] = [];

  /**
   * `firstId`: where seqs and message ids start (a store that rebuilds its memory from elsewhere
   * at every start, as the JetStream store, starts beyond the ids of its previous run).
   */
  constructor(options: StoreOptions = {}, firstId = 1) {
    const limits = options.limits ?? DEFAULT_QUEUE_LIMITS;
    this.limitsFor = typeof limits === 'function' ? limits : () => limits;
    this.batch = new GroupCommit(options.commitDelayMs ?? 0, () => this.flush());
    this.nextSeq = firstId;
    this.nextMessageId = firstId;
  }

  // Lifecycle.

  /** Memory never fails to write. */
  get health(): StoreHealth {
    return HEALTHY;
  }

  onHealthChange(_listener: (health: StoreHealth) => void): void {
    // never changes
  }

  onDrop(listener: (dropped: readonly DroppedEntry[]) => void): void {
    this.dropListeners.push(listener);
  }

  whenDurable(): Promise<void> {
    return this.batch.whenDurable();
  }

  commit(): Promise<void> {
    return this.batch.commitNow();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.batch.commitNow();
    this.closed = true;
  }

  private flush(): void {
    for (const id of this.unreferenced) {
      const stored = this.messages.get(id);
      if (stored !== undefined && stored.refs <= 0) this.messages.delete(id);
    }
    this.unreferenced.clear();
    if (this.pendingDrops.length > 0) {
      const drops = this.pendingDrops;
      this.pendingDrops = [];
      for (const listener of this.dropListeners) listener(drops);
    }
  }

  private mutate(): void {
    if (this.closed) throw new StoreUnavailableError('store is closed');
    this.batch.touch();
  }

  // Sessions and subscriptions.

  putSession(session: SessionRecord): void {
    this.mutate();
    const existing = this.sessions.get(session.clientId);
    if (existing === undefined) {
      this.sessions.set(session.clientId, {
        record: { ...session },
        subscriptions: new Map(),
        queue: new Map(),
        queueBytes: 0,
        inflight: new Map(),
        inbound: new Set(),
      });
      return;
    }
    if (existing.record.instanceId !== session.instanceId) {
      throw new Error(`session ${session.clientId}: instanceId cannot change (delete the session first)`);
    }
    existing.record = { ...session };
  }

  setDisconnectedAt(clientId: string, at: number | null): boolean {
    this.mutate();
    const session = this.sessions.get(clientId);
    if (session === undefined) return false;
    session.record = { ...session.record, disconnectedAt: at };
    return true;
  }

  getSession(clientId: string): SessionRecord | undefined {
    const session = this.sessions.get(clientId);
    return session === undefined ? undefined : { ...session.record };
  }

  deleteSession(clientId: string): boolean {
    this.mutate();
    const session = this.sessions.get(clientId);
    if (session === undefined) return false;
    this.sessions.delete(clientId);
    const instanceQueue = this.instanceQueues.get(session.record.instanceId);
    for (const entry of session.queue.values()) {
      instanceQueue?.delete(entry.seq);
      this.dead.push(entry);
    }
    this.addInstanceBytes(session.record.instanceId, -session.queueBytes);
    session.queue.clear();
    session.queueBytes = 0;
    for (const entry of session.inflight.values()) {
      if (entry.messageId !== null) this.unref(entry.messageId);
    }
    session.inflight.clear();
    return true;
  }

  putSubscription(subscription: SubscriptionRecord): void {
    this.mutate();
    this.live(subscription.clientId).subscriptions.set(subscription.key, { ...subscription });
  }

  deleteSubscription(clientId: string, key: string): boolean {
    this.mutate();
    return this.sessions.get(clientId)?.subscriptions.delete(key) ?? false;
  }

  // Messages.

  addMessage(message: NewMessage): MessageId {
    this.mutate();
    const id = this.nextMessageId++;
    this.messages.set(id, { record: { ...message, id }, refs: 0 });
    this.unreferenced.add(id);
    return id;
  }

  getMessage(id: MessageId): Promise<MessageRecord | undefined> {
    return Promise.resolve(this.messages.get(id)?.record);
  }

  private ref(id: MessageId): StoredMessage {
    const stored = this.messages.get(id);
    if (stored === undefined) throw new Error(`unknown message ${id}`);
    stored.refs++;
    return stored;
  }

  private unref(id: MessageId): void {
    const stored = this.messages.get(id);
    if (stored === undefined) return;
    if (--stored.refs <= 0) this.unreferenced.add(id);
  }

  // Queues.

  enqueue(clientId: string, delivery: DeliveryInfo): number {
    this.mutate();
    const session = this.live(clientId);
    const stored = this.ref(delivery.messageId);
    const seq = this.nextSeq++;
    const entry: QEntry = {
      seq,
      delivery: copyDelivery(delivery),
      createdAt: stored.record.createdAt,
      expiresAt: stored.record.expiresAt,
      bytes: queuedBytes(stored.record),
      owner: session,
    };
    session.queue.set(seq, entry);
    session.queueBytes += entry.bytes;
    const instanceId = session.record.instanceId;
    let instanceQueue = this.instanceQueues.get(instanceId);
    if (instanceQueue === undefined) {
      instanceQueue = new Map();
      this.instanceQueues.set(instanceId, instanceQueue);
    }
    instanceQueue.set(seq, entry);
    this.addInstanceBytes(instanceId, entry.bytes);

    // Oldest first: the session's count and bytes, then the instance's count and bytes.
    const limits = this.limitsFor(instanceId);
    const sessionBytes = limits.maxQueuedBytesPerSession ?? 0;
    const instanceBytes = limits.maxQueuedBytesPerInstance ?? 0;
    while (session.queue.size > limits.maxQueuedPerSession) {
      this.pendingDrops.push(this.dropEntry(first(session.queue)!, 'session-cap'));
    }
    while (sessionBytes > 0 && session.queueBytes > sessionBytes && session.queue.size > 0) {
      this.pendingDrops.push(this.dropEntry(first(session.queue)!, 'session-bytes'));
    }
    while (instanceQueue.size > limits.maxQueuedPerInstance) {
      this.pendingDrops.push(this.dropEntry(first(instanceQueue)!, 'instance-cap'));
    }
    while (instanceBytes > 0 && (this.instanceBytes.get(instanceId) ?? 0) > instanceBytes && instanceQueue.size > 0) {
      this.pendingDrops.push(this.dropEntry(first(instanceQueue)!, 'instance-bytes'));
    }
    return seq;
  }

  private addInstanceBytes(instanceId: string, delta: number): void {
    const bytes = (this.instanceBytes.get(instanceId) ?? 0) + delta;
    if (bytes <= 0) this.instanceBytes.delete(instanceId);
    else this.instanceBytes.set(instanceId, bytes);
  }

  private dropEntry(entry: QEntry, reason: DroppedEntry['reason']): DroppedEntry {
    const traceId = this.messages.get(entry.delivery.messageId)?.record.traceId ?? 0;
    this.removeEntry(entry);
    return { clientId: entry.owner.record.clientId, seq: entry.seq, messageId: entry.delivery.messageId, reason, traceId };
  }

  private removeEntry(entry: QEntry): void {
    entry.owner.queue.delete(entry.seq);
    entry.owner.queueBytes -= entry.bytes;
    this.instanceQueues.get(entry.owner.record.instanceId)?.delete(entry.seq);
    this.addInstanceBytes(entry.owner.record.instanceId, -entry.bytes);
    this.unref(entry.delivery.messageId);
  }

  removeQueued(clientId: string, seq: number): boolean {
    this.mutate();
    const entry = this.sessions.get(clientId)?.queue.get(seq);
    if (entry === undefined) return false;
    this.removeEntry(entry);
    return true;
  }

  readQueuePage(clientId: string, afterSeq: number, limit: number): Promise<StoredQueuePage> {
    return this.readQueue(clientId, afterSeq, limit).then((entries) => new ListedQueuePage(entries));
  }

  private readQueue(clientId: string, afterSeq: number, limit: number): Promise<QueuedMessage[]> {
    const out: QueuedMessage[] = [];
    const session = this.sessions.get(clientId);
    if (session !== undefined && limit > 0) {
      for (const entry of session.queue.values()) {
        if (entry.seq <= afterSeq) continue;
        out.push({
          ...copyDelivery(entry.delivery),
          clientId,
          seq: entry.seq,
          message: this.messages.get(entry.delivery.messageId)!.record,
        });
        if (out.length >= limit) break;
      }
    }
    return Promise.resolve(out);
  }

  queueDepth(clientId: string): number {
    return this.sessions.get(clientId)?.queue.size ?? 0;
  }

  // In-flight.

  addInflight(clientId: string, packetId: number, delivery: DeliveryInfo): number {
    this.mutate();
    const session = this.live(clientId);
    if (session.inflight.has(packetId)) throw new Error(`${clientId}: packet id ${packetId} is already in flight`);
    this.ref(delivery.messageId);
    const seq = this.nextSeq++;
    session.inflight.set(packetId, {
      packetId,
      seq,
      delivery: copyDelivery(delivery),
      released: false,
      messageId: delivery.messageId,
    });
    return seq;
  }

  moveToInflight(clientId: string, seq: number, packetId: number): number {
    this.mutate();
    const session = this.live(clientId);
    const entry = session.queue.get(seq);
    if (entry === undefined) return -1;
    if (session.inflight.has(packetId)) throw new Error(`${clientId}: packet id ${packetId} is already in flight`);
    const inflightSeq = this.addInflight(clientId, packetId, entry.delivery);
    this.removeEntry(entry);
    return inflightSeq;
  }

  releaseInflight(clientId: string, packetId: number): boolean {
    this.mutate();
    const entry = this.sessions.get(clientId)?.inflight.get(packetId);
    if (entry === undefined) return false;
    if (!entry.released) {
      entry.released = true;
      if (entry.messageId !== null) this.unref(entry.messageId);
      entry.messageId = null;
    }
    return true;
  }

  removeInflight(clientId: string, packetId: number): boolean {
    this.mutate();
    const session = this.sessions.get(clientId);
    const entry = session?.inflight.get(packetId);
    if (session === undefined || entry === undefined) return false;
    session.inflight.delete(packetId);
    if (entry.messageId !== null) this.unref(entry.messageId);
    return true;
  }

  // Inbound QoS 2.

  addInboundQos2(clientId: string, packetId: number): void {
    this.mutate();
    this.live(clientId).inbound.add(packetId);
  }

  removeInboundQos2(clientId: string, packetId: number): boolean {
    this.mutate();
    return this.sessions.get(clientId)?.inbound.delete(packetId) ?? false;
  }

  // Retained, wills, metadata.

  setRetained(topic: string, messageId: MessageId): void {
    this.mutate();
    this.ref(messageId);
    const previous = this.retained.get(topic);
    this.retained.set(topic, messageId);
    if (previous !== undefined) this.unref(previous);
  }

  deleteRetained(topic: string): boolean {
    this.mutate();
    const previous = this.retained.get(topic);
    if (previous === undefined) return false;
    this.retained.delete(topic);
    this.unref(previous);
    return true;
  }

  putWill(will: WillRecord): void {
    this.mutate();
    this.wills.set(will.clientId, { ...will });
  }

  deleteWill(clientId: string): boolean {
    this.mutate();
    return this.wills.delete(clientId);
  }

  setMeta(key: string, value: unknown): void {
    this.mutate();
    this.meta.set(key, JSON.stringify(value));
  }

  deleteMeta(key: string): boolean {
    this.mutate();
    return this.meta.delete(key);
  }

  getMeta(key: string): Promise<unknown> {
    const json = this.meta.get(key);
    return Promise.resolve(json === undefined ? undefined : JSON.parse(json));
  }

  putRecord(collection: string, key: string, value: unknown): void {
    this.mutate();
    if (key === '') throw new Error(`record ${collection}: empty key`);
    const json = JSON.stringify(value);
    if (json === undefined) throw new Error(`record ${collection}/${key}: value is not JSON-serializable`);
    let records = this.records.get(collection);
    if (records === undefined) this.records.set(collection, (records = new Map()));
    if (!records.has(key)) this.sortedKeys.delete(collection);
    records.set(key, json);
  }

  deleteRecord(collection: string, key: string): boolean {
    this.mutate();
    const removed = this.records.get(collection)?.delete(key) ?? false;
    if (removed) this.sortedKeys.delete(collection);
    return removed;
  }

  /** A record's JSON text as stored, or undefined (for a subclass that compares changes). */
  protected recordJson(collection: string, key: string): string | undefined {
    return this.records.get(collection)?.get(key);
  }

  getRecord(collection: string, key: string): Promise<unknown> {
    const json = this.records.get(collection)?.get(key);
    return Promise.resolve(json === undefined ? undefined : JSON.parse(json));
  }

  listRecords(collection: string, query: RecordQuery = {}): Promise<StoredRecord[]> {
    const records = this.records.get(collection);
    if (records === undefined) return Promise.resolve([]);
    let keys = this.sortedKeys.get(collection);
    if (keys === undefined) {
      // SQLite compares TEXT as UTF-8 bytes; JS compares UTF-16 units. Sort like SQLite.
      keys = [...records.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      this.sortedKeys.set(collection, keys);
    }
    const prefix = query.prefix ?? '';
    const after = query.after === undefined ? null : Buffer.from(query.after);
    const limit = Math.max(0, Math.min(query.limit ?? RECORD_PAGE_MAX, RECORD_PAGE_MAX));
    const out: StoredRecord[] = [];
    for (const key of keys) {
      if (out.length >= limit) break;
      if (after !== null && Buffer.compare(Buffer.from(key), after) <= 0) continue;
      if (!key.startsWith(prefix)) continue;
      out.push({ key, value: JSON.parse(records.get(key)!) as unknown });
    }
    return Promise.resolve(out);
  }

  // Loading.

  async *loadSessions(): AsyncIterable<LoadedSession> {
    const ids = [...this.sessions.keys()].sort();
    for (const clientId of ids) {
      const state = this.sessionState(clientId);
      if (state !== undefined) yield state;
    }
  }

  /** A session with its small state, as loadSessions yields it, at once (stores built on this one write it elsewhere). */
  sessionState(clientId: string): LoadedSession | undefined {
    const session = this.sessions.get(clientId);
    if (session === undefined) return undefined;
    const inflight: InflightRecord[] = [...session.inflight.values()]
      .sort((a, b) => a.seq - b.seq)
      .map((entry) => ({
        clientId,
        packetId: entry.packetId,
        seq: entry.seq,
        qos: entry.delivery.qos,
        retain: entry.delivery.retain,
        subscriptionIds: entry.delivery.subscriptionIds === null ? null : [...entry.delivery.subscriptionIds],
        shareGroup: entry.delivery.shareGroup,
        shareFilter: entry.delivery.shareFilter,
        released: entry.released,
        message: entry.messageId === null ? null : this.messages.get(entry.messageId)!.record,
      }));
    return {
      session: { ...session.record },
      subscriptions: [...session.subscriptions.values()]
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
        .map((s) => ({ ...s })),
      inflight,
      inboundQos2: [...session.inbound].sort((a, b) => a - b),
      queueDepth: session.queue.size,
    };
  }

  /** A stored message at once (getMessage without the promise). */
  messageRecord(id: MessageId): MessageRecord | undefined {
    return this.messages.get(id)?.record;
  }

  async *loadRetained(): AsyncIterable<RetainedRecord> {
    for (const [topic, id] of [...this.retained].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const stored = this.messages.get(id);
      if (stored !== undefined) yield { topic, message: stored.record };
    }
  }

  async *loadWills(): AsyncIterable<WillRecord> {
    for (const will of [...this.wills.values()].sort((a, b) => (a.clientId < b.clientId ? -1 : 1))) yield { ...will };
  }

  // Housekeeping.

  async purgeExpired(now: number, budget: number): Promise<PurgeResult> {
    let left = budget;
    const expiredSessions: string[] = [];
    let expiredMessages = 0;
    let retentionDropped = 0;
    let expiredRetained = 0;
    let reclaimed = 0;
    let steps = 0;
    const pause = async (): Promise<void> => {
      if (++steps % PURGE_STEP === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    };

    for (const session of [...this.sessions.values()]) {
      if (left <= 0) break;
      if (!sessionExpired(session.record, now)) continue;
      this.deleteSession(session.record.clientId);
      expiredSessions.push(session.record.clientId);
      left--;
      await pause();
    }
    while (left > 0 && this.dead.length > 0) {
      const entry = this.dead.pop()!;
      this.mutate();
      this.unref(entry.delivery.messageId);
      reclaimed++;
      left--;
      await pause();
    }
    // MQTT 5 message expiry: every queued entry whose message has expired.
    for (const session of this.sessions.values()) {
      for (const entry of [...session.queue.values()]) {
        if (left <= 0) break;
        if (entry.expiresAt === 0 || entry.expiresAt > now) continue;
        this.mutate();
        this.pendingDrops.push(this.dropEntry(entry, 'expired'));
        expiredMessages++;
        left--;
        await pause();
      }
    }
    // Retention: from the oldest end of each instance's queue.
    for (const [instanceId, queue] of this.instanceQueues) {
      const cutoff = now - this.limitsFor(instanceId).retentionMs;
      for (const entry of [...queue.values()]) {
        if (left <= 0 || entry.createdAt > cutoff) break;
        this.mutate();
        this.pendingDrops.push(this.dropEntry(entry, 'retention'));
        retentionDropped++;
        left--;
        await pause();
      }
    }
    for (const [topic, id] of [...this.retained]) {
      if (left <= 0) break;
      const expiresAt = this.messages.get(id)?.record.expiresAt ?? 0;
      if (expiresAt === 0 || expiresAt > now) continue;
      this.deleteRetained(topic);
      expiredRetained++;
      left--;
      await pause();
    }
    return { expiredSessions, expiredMessages, retentionDropped, expiredRetained, reclaimed, done: left > 0 };
  }

  // Logs.

  appendLog(log: string, meta: string, payload: Buffer, createdAt: number): number {
    this.mutate();
    const seq = this.nextSeq++;
    let entries = this.logs.get(log);
    if (entries === undefined) this.logs.set(log, (entries = new Map()));
    entries.set(seq, { log, seq, createdAt, meta, payload });
    return seq;
  }

  removeLog(log: string, seq: number): void {
    this.mutate();
    const entries = this.logs.get(log);
    if (entries?.delete(seq) === true && entries.size === 0) this.logs.delete(log);
  }

  dropLog(log: string): void {
    this.mutate();
    this.logs.delete(log);
  }

  readLog(log: string, afterSeq: number, limit: number): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    for (const entry of this.logs.get(log)?.values() ?? []) {
      if (out.length >= limit) break;
      if (entry.seq > afterSeq) out.push(entry);
    }
    return Promise.resolve(out);
  }

  getLogEntries(log: string, seqs: readonly number[]): Promise<LogEntry[]> {
    const entries = this.logs.get(log);
    const out: LogEntry[] = [];
    for (const seq of seqs) {
      const entry = entries?.get(seq);
      if (entry !== undefined) out.push(entry);
    }
    return Promise.resolve(out);
  }

  logSummaries(prefix: string): Promise<LogSummary[]> {
    const out: LogSummary[] = [];
    for (const [log, entries] of [...this.logs].sort(([a], [b]) => (Buffer.compare(Buffer.from(a), Buffer.from(b))))) {
      if (!log.startsWith(prefix) || entries.size === 0) continue;
      let bytes = 0;
      let oldest = Infinity;
      for (const e of entries.values()) {
        bytes += e.payload.length + Buffer.byteLength(e.meta);
        oldest = Math.min(oldest, e.createdAt);
      }
      const seqs = [...entries.keys()];
      out.push({ log, count: entries.size, bytes, firstSeq: seqs[0]!, lastSeq: seqs[seqs.length - 1]!, oldestCreatedAt: oldest });
    }
    return Promise.resolve(out);
  }

  stats(): Promise<StoreStats> {
    let queued = 0;
    let queuedBytes = 0;
    for (const session of this.sessions.values()) {
      queued += session.queue.size;
      queuedBytes += session.queueBytes;
    }
    let messages = 0;
    for (const stored of this.messages.values()) if (stored.refs > 0) messages++;
    return Promise.resolve({
      sessions: this.sessions.size,
      queued,
      queuedBytes,
      messages,
      retained: this.retained.size,
      wills: this.wills.size,
    });
  }

  private live(clientId: string): MemSession {
    const session = this.sessions.get(clientId);
    if (session === undefined) throw new Error(`unknown session ${clientId}`);
    return session;
  }
}

export function sessionExpired(session: SessionRecord, now: number): boolean {
  return (
    session.disconnectedAt !== null &&
    session.expiryInterval !== SESSION_NEVER_EXPIRES &&
    session.disconnectedAt + session.expiryInterval * 1000 <= now
  );
}

function copyDelivery(delivery: DeliveryInfo): DeliveryInfo {
  return {
    messageId: delivery.messageId,
    qos: delivery.qos,
    retain: delivery.retain,
    subscriptionIds:
      delivery.subscriptionIds === null || delivery.subscriptionIds.length === 0 ? null : [...delivery.subscriptionIds],
    shareGroup: delivery.shareGroup,
    shareFilter: delivery.shareFilter,
  };
}

function first<K, V>(map: Map<K, V>): V | undefined {
  for (const value of map.values()) return value;
  return undefined;
}
