/**
 * The persistence contract for everything that outlives a connection or a process: sessions and
 * their subscriptions, offline queues, in-flight QoS 1/2 state in both directions, retained
 * messages, pending wills and small metadata. See docs/storage.md.
 *
 * Shape:
 * - Record-oriented and keyed by plain values (client id, topic, key), so that a NATS JetStream
 *   implementation (KV buckets + streams) fits behind the same interface.
 * - Mutations are SYNCHRONOUS and never fail: they only record the change in the current batch
 *   and return at once (no await per message on the hot path; no I/O on the caller's thread).
 *   Reads made after a mutation see it. What they return is answered from memory (ids, seqs
 *   and a few small indexes the implementation keeps).
 * - Durability is signalled per batch: `whenDurable()` resolves when everything recorded so far
 *   is durable under the store's fsync policy, and REJECTS (StoreUnavailableError) when the
 *   commit holding it failed: nothing may be acknowledged then. `commit()` does the same but
 *   ends the batch now. An implementation groups every mutation of one turn (or of
 *   `commitDelayMs`) into one transaction (group commit).
 * - A store that cannot write is `degraded` (health): it keeps what was recorded, retries by
 *   itself and reports recovery; the first commit after recovery holds everything recorded.
 * - Entries dropped over the queue caps, and queue entries of live sessions purged by expiry or
 *   retention (purgeExpired), are reported to `onDrop` listeners (possibly later than the call
 *   that caused them: the store decides when it writes).
 * - Loads are async and paged, so a backlog of a million messages never sits in memory at once.
 *
 * A message is stored ONCE and referenced by queue entries, in-flight entries and the retained
 * table; it is deleted when its last reference goes. A message that nothing references when its
 * batch commits is never written.
 */
export type StoreQoS = 0 | 1 | 2;
export type StoredProtocolVersion = 3 | 4 | 5;

/** Store-assigned message identity: a positive safe integer, unique within one store. */
export type MessageId = number;

/** Session Expiry Interval meaning "never expires" (MQTT 5 3.1.2.11.2). */
export const SESSION_NEVER_EXPIRES = 0xffffffff;

export interface SessionRecord {
  readonly clientId: string;
  /** Tenant the session belongs to; the per-instance queue cap counts over it. */
  readonly instanceId: string;
  readonly protocolVersion: StoredProtocolVersion;
  /** Session Expiry Interval in seconds; 0xFFFFFFFF = never. */
  readonly expiryInterval: number;
  /** When the client disconnected (ms since epoch), null while it is connected. */
  readonly disconnectedAt: number | null;
}

export interface SubscriptionRecord {
  readonly clientId: string;
  /** The filter as subscribed, including any `$share/<group>/` prefix; unique per session. */
  readonly key: string;
  readonly qos: StoreQoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  /** MQTT 5 Subscription Identifier, 0 when none. */
  readonly subscriptionId: number;
  /** Shared subscription group, null for an ordinary subscription. */
  readonly shareGroup: string | null;
  /** The filter without the `$share/<group>/` prefix. */
  readonly filter: string;
}

/** A message as given to the store (the store assigns the id). */
export interface NewMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: StoreQoS;
  readonly retain: boolean;
  /** Forwardable MQTT 5 properties, serialized with `encodeProperties` (null when none). */
  readonly properties: Buffer | null;
  /** Absolute expiry in ms since the epoch, 0 = never (MQTT 5 Message Expiry Interval). */
  readonly expiresAt: number;
  /** When the message was published (ms since epoch); offline retention counts from here. */
  readonly createdAt: number;
  /**
   * The message's trace number in the process run that stored it (Message.traceId; 0 or absent
   * = none). Kept only to name a dropped message in traces (DroppedEntry.traceId).
   */
  readonly traceId?: number;
}

export interface MessageRecord extends NewMessage {
  readonly id: MessageId;
}

/** How one message goes to one session (the persistent half of a session `Delivery`). */
export interface DeliveryInfo {
  readonly messageId: MessageId;
  /** QoS granted for this delivery (1 or 2 for queued and in-flight entries). */
  readonly qos: StoreQoS;
  /** RETAIN flag to send with this delivery. */
  readonly retain: boolean;
  /** MQTT 5 subscription identifiers that matched, null when none. */
  readonly subscriptionIds: readonly number[] | null;
  /** Shared subscription group and filter when delivered through one, else null. */
  readonly shareGroup: string | null;
  readonly shareFilter: string | null;
}

export interface QueueEntry extends DeliveryInfo {
  readonly clientId: string;
  /** Store-wide increasing sequence: queue order within a session, age across sessions. */
  readonly seq: number;
}

export interface QueuedMessage extends QueueEntry {
  readonly message: MessageRecord;
}

/**
 * A page of a session's stored queue (`readQueuePage`), read one entry at a time. The SQLite store
 * keeps it columnar until an entry is asked for, so a page read ahead holds no object per entry
 * (bench/RESULTS.md issue 15 §31); the others wrap their entries (`ListedQueuePage`).
 */
export interface StoredQueuePage {
  readonly length: number;
  /** Payload and properties bytes the page holds. */
  readonly bytes: number;
  seq(index: number): number;
  /**
   * Entry `index` as what `maker` makes of its fields, handed over directly: what a session sends
   * is made straight from the page, with no record objects in between (issue 15 §37). SQLite:
   * small payloads and properties are views into the page's buffer.
   */
  take<T>(index: number, maker: QueueEntryMaker<T>): T;
  /** Entry `index` as a record (tests, tools; `take` with `queuedRecords`). */
  entry(index: number): QueuedMessage;
}

/**
 * Makes one thing from a queued entry's fields (`StoredQueuePage.take`). Integers that fit in
 * 32 bits arrive as such, never as a float read from a column: a message or delivery made from a
 * page must look to V8 exactly like one made from a live publish (issue 15 §37).
 */
export interface QueueEntryMaker<T> {
  make(
    seq: number,
    messageId: number,
    /** The delivery's QoS and RETAIN flag. */
    qos: StoreQoS,
    retain: boolean,
    /** An array of the caller's own (the maker may keep it), or null. */
    subscriptionIds: number[] | null,
    shareGroup: string | null,
    shareFilter: string | null,
    topic: string,
    payload: Buffer,
    /** The message's QoS and RETAIN flag, as published. */
    messageQos: StoreQoS,
    messageRetain: boolean,
    properties: Buffer | null,
    expiresAt: number,
    createdAt: number,
    /** 0: none. */
    traceId: number,
  ): T;
}

export interface InflightRecord {
  readonly clientId: string;
  readonly packetId: number;
  /** Order in which entries entered the window; resend in this order on reconnect. */
  readonly seq: number;
  readonly qos: StoreQoS;
  readonly retain: boolean;
  readonly subscriptionIds: readonly number[] | null;
  readonly shareGroup: string | null;
  readonly shareFilter: string | null;
  /** QoS 2 PUBREC received and PUBREL sent: only PUBCOMP is awaited, the message is dropped. */
  readonly released: boolean;
  /** The message; null once released (the client has it, only the packet id matters). */
  readonly message: MessageRecord | null;
}

/**
 * Which cap dropped a queue entry: the count caps (`session-cap`, `instance-cap`) or the byte
 * caps (`session-bytes`, `instance-bytes`). Either way the oldest entry goes first.
 */
export type DropReason = 'session-cap' | 'instance-cap' | 'session-bytes' | 'instance-bytes';

/** A queue entry of a live session that housekeeping purged: its expiry passed, or the offline retention. */
export type PurgeReason = 'expired' | 'retention';

export interface DroppedEntry {
  readonly clientId: string;
  readonly seq: number;
  readonly messageId: MessageId;
  readonly reason: DropReason | PurgeReason;
  /** The message's NewMessage.traceId (0 when it had none). */
  readonly traceId?: number;
}

/** One entry of a durable log (see Store.appendLog). */
export interface LogEntry {
  readonly log: string;
  /** Store-wide increasing: order within the log. */
  readonly seq: number;
  readonly createdAt: number;
  /** JSON text made by the log's owner. */
  readonly meta: string;
  readonly payload: Buffer;
}

/** A log with entries, as listed at start-up. */
export interface LogSummary {
  readonly log: string;
  readonly count: number;
  /** Payload + meta bytes. */
  readonly bytes: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly oldestCreatedAt: number;
}

/** Whether the store can write; `since`/`reason` tell an operator why not. */
export type StoreHealth =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string; readonly code: string | null; readonly since: number };

export interface WillRecord {
  readonly clientId: string;
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: StoreQoS;
  readonly retain: boolean;
  readonly properties: Buffer | null;
  /** Absolute message expiry of the will message (0 = never). */
  readonly expiresAt: number;
  /** When the will is to be published (ms since epoch); 0 while its client is connected (delayMs). */
  readonly publishAt: number;
  /**
   * Set while the will's client is still connected (a cluster node keeps such wills in JetStream,
   * Broker.keepWillsOfConnected): the will goes out this long after the connection is found lost
   * — when the node, restarted, loads it, or when another node takes the node's sessions over.
   */
  readonly delayMs?: number;
}

export interface RetainedRecord {
  readonly topic: string;
  readonly message: MessageRecord;
}

/** A session as loaded at start, with all its small state (the queue is paged separately). */
export interface LoadedSession {
  readonly session: SessionRecord;
  readonly subscriptions: readonly SubscriptionRecord[];
  /** In window order (seq ascending). */
  readonly inflight: readonly InflightRecord[];
  /** Inbound QoS 2 packet ids whose PUBREC went out and whose PUBREL has not come. */
  readonly inboundQos2: readonly number[];
  /** Entries in the session's offline queue; read them with readQueuePage. */
  readonly queueDepth: number;
}

export interface QueueLimits {
  /** Per-session cap on queued entries; the oldest is dropped first. */
  readonly maxQueuedPerSession: number;
  /** Cap on queued entries over all sessions of one instance; the oldest is dropped first. */
  readonly maxQueuedPerInstance: number;
  /** Offline retention in ms, counted from the message's createdAt. */
  readonly retentionMs: number;
  /**
   * Per-session cap on the bytes of queued entries (payload + topic in UTF-8 of each entry's
   * message); the oldest is dropped first. Absent or 0 = no per-session byte cap.
   */
  readonly maxQueuedBytesPerSession?: number;
  /**
   * Cap on the bytes of queued entries over all sessions of one instance; the oldest entry of the
   * instance is dropped first. A message queued for n sessions counts n times (every entry can
   * keep it on disk). Absent or 0 = no per-instance byte cap.
   */
  readonly maxQueuedBytesPerInstance?: number;
}

export const DEFAULT_QUEUE_LIMITS: QueueLimits = {
  maxQueuedPerSession: 1_000_000,
  maxQueuedPerInstance: 1_000_000,
  retentionMs: 3 * 24 * 3600 * 1000,
  maxQueuedBytesPerInstance: 1024 * 1024 * 1024,
};

/** What one queue entry counts against the byte caps: its message's payload and topic (UTF-8). */
export function queuedBytes(message: { readonly topic: string; readonly payload: Buffer }): number {
  return Buffer.byteLength(message.topic, 'utf8') + message.payload.length;
}

export interface PurgeResult {
  /** Client ids of sessions that had expired and were deleted. */
  readonly expiredSessions: readonly string[];
  /** Queue entries removed because their message expired (MQTT 5 Message Expiry). */
  readonly expiredMessages: number;
  /** Queue entries removed because they were older than the retention. */
  readonly retentionDropped: number;
  /** Retained messages removed because they expired. */
  readonly expiredRetained: number;
  /** Queue entries of deleted sessions reclaimed. */
  readonly reclaimed: number;
  /** True when nothing more was due at `now`; false when the budget ran out first. */
  readonly done: boolean;
}

/** One keyed record of a collection (see Store.putRecord). */
export interface StoredRecord {
  readonly key: string;
  readonly value: unknown;
}

/**
 * Told that a record of a collection was created or replaced (`value`) or deleted (`value`
 * undefined) by another node sharing the store; `previous` is what this node had (undefined when
 * none). See Store.onRecordChanged.
 */
export type RecordListener = (key: string, value: unknown, previous: unknown) => void;

/** Which records of a collection listRecords returns: keys in byte order (UTF-8), paged. */
export interface RecordQuery {
  /** Only keys starting with this string. */
  readonly prefix?: string;
  /** Only keys after this one (keyset paging: pass the last key of the previous page). */
  readonly after?: string;
  /** At most this many records (default and maximum RECORD_PAGE_MAX). */
  readonly limit?: number;
}

export const RECORD_PAGE_MAX = 1000;

/** How long a commit took (`Store.onCommitTiming`), seconds. */
export interface CommitTiming {
  /** From its oldest batch leaving the caller's thread to the durable answer arriving back. */
  readonly waitSeconds: number;
  /** The COMMIT itself (with its fsync, per the policy), on the store's side. */
  readonly commitSeconds: number;
  /** Batches (event-loop turns of the caller) it made durable. */
  readonly batches: number;
}

export interface StoreStats {
  readonly sessions: number;
  readonly queued: number;
  /** Bytes of the queued entries as the byte caps count them (payload + topic per entry). */
  readonly queuedBytes: number;
  readonly messages: number;
  readonly retained: number;
  readonly wills: number;
}

export interface Store {
  // Lifecycle and durability.

  /** Resolves when everything recorded so far is durable (at the batch's scheduled commit). */
  whenDurable(): Promise<void>;
  /** Ends the current batch now; resolves when everything recorded so far is durable. */
  commit(): Promise<void>;
  /** Commits what is pending, then releases the store. Mutations afterwards throw. */
  close(): Promise<void>;
  /** Whether writes currently commit. */
  readonly health: StoreHealth;
  /** Called on every change of health (degraded, recovered). Any number of listeners. */
  onHealthChange(listener: (health: StoreHealth) => void): void;
  /** Called with the entries dropped over the queue caps (oldest first). Any number of listeners. */
  onDrop(listener: (dropped: readonly DroppedEntry[]) => void): void;
  /**
   * Called once per commit, with how long it took (stores that commit elsewhere, on a thread or
   * a server; absent where a commit is a function call). Failed commits are not reported (health
   * says so). Any number of listeners.
   */
  onCommitTiming?(listener: (timing: CommitTiming) => void): void;

  // Sessions and subscriptions.

  /** Creates or replaces the session record (its subscriptions, queue and in-flight stay). */
  putSession(session: SessionRecord): void;
  /** Marks a session connected (null) or disconnected at `at`. Returns false if unknown. */
  setDisconnectedAt(clientId: string, at: number | null): boolean;
  getSession(clientId: string): SessionRecord | undefined;
  /**
   * Deletes a session with its subscriptions, in-flight state, inbound QoS 2 ids and queue.
   * Queue entries become invisible at once; their storage is reclaimed by purgeExpired in steps.
   * Returns false if unknown. The will is separate (deleteWill).
   */
  deleteSession(clientId: string): boolean;
  putSubscription(subscription: SubscriptionRecord): void;
  deleteSubscription(clientId: string, key: string): void;

  // Messages (stored once, reference counted).

  /** Records a message and returns its id. Unreferenced when the batch commits: never stored. */
  addMessage(message: NewMessage): MessageId;
  getMessage(id: MessageId): Promise<MessageRecord | undefined>;

  // Offline queues.

  /**
   * Appends to the session's queue (takes a reference) and returns the entry's seq; drops the
   * oldest over the caps (reported to onDrop). Throws for an unknown session (a caller's bug).
   */
  enqueue(clientId: string, delivery: DeliveryInfo): number;
  /** Removes a queue entry (delivered, expired, redispatched); nothing if absent. */
  removeQueued(clientId: string, seq: number): void;
  /** Pages the queue in order: up to `limit` entries with seq > afterSeq, each made only when asked for. */
  readQueuePage(clientId: string, afterSeq: number, limit: number): Promise<StoredQueuePage>;
  queueDepth(clientId: string): number;

  // Outbound in-flight window (server → client QoS 1/2).

  /** Records a delivery entering the window under packetId (takes a reference). Returns its seq. */
  addInflight(clientId: string, packetId: number, delivery: DeliveryInfo): number;
  /**
   * Moves a queue entry into the window in one step and returns the in-flight seq. An entry
   * already dropped over a cap is not moved (the window then lacks it after a restart).
   */
  moveToInflight(clientId: string, seq: number, packetId: number): number;
  /** QoS 2 PUBREC: marks the entry released and drops its message reference. */
  releaseInflight(clientId: string, packetId: number): void;
  /** PUBACK / PUBCOMP (or a failed PUBREC, or a redispatch): forgets the entry. */
  removeInflight(clientId: string, packetId: number): void;

  // Inbound QoS 2 (client → server) packet ids awaiting PUBREL.

  addInboundQos2(clientId: string, packetId: number): void;
  removeInboundQos2(clientId: string, packetId: number): void;

  // Retained messages, wills, metadata.

  /** Sets the retained message of a topic (takes a reference, releases the previous one). */
  setRetained(topic: string, messageId: MessageId): void;
  deleteRetained(topic: string): boolean;
  putWill(will: WillRecord): void;
  deleteWill(clientId: string): boolean;
  /** Small JSON values (instance settings, node identity, counters). */
  setMeta(key: string, value: unknown): void;
  deleteMeta(key: string): void;
  getMeta(key: string): Promise<unknown>;

  // Keyed records: JSON documents in named collections (tenancy and auth: instances, parent
  // topics, groups, access keys, device credentials, ...). Same batching as every mutation.

  /** Creates or replaces the record `key` of `collection`. */
  putRecord(collection: string, key: string, value: unknown): void;
  deleteRecord(collection: string, key: string): void;
  /** The record's value, or undefined when absent. */
  getRecord(collection: string, key: string): Promise<unknown>;
  /** A page of a collection in key order (UTF-8 byte order). */
  listRecords(collection: string, query?: RecordQuery): Promise<StoredRecord[]>;
  /**
   * The change feed of a collection: records created, replaced or deleted by ANOTHER node that
   * shares this store (cluster mode, clusterStore jetstream), called once this store's own reads
   * (getRecord, listRecords) see the change; never for this store's own writes. A module that
   * keeps records in memory subscribes before it loads them and applies each change (replace or
   * delete: a change may repeat what it loaded). Stores no one else writes (SQLite, memory) never
   * emit and may lack the method. Returns a function that removes the listener.
   */
  onRecordChanged?(collection: string, listener: RecordListener): () => void;

  // Durable FIFO logs: rule outboxes, dead letters, built-in queues (src/rules). Entries are
  // batched like every mutation: an entry appended in the turn of a PUBLISH is durable when its
  // PUBACK goes out.

  /**
   * Appends an entry and returns its seq. `meta` is JSON text. `lazy`: no acknowledgement waits
   * for this entry (a rule's copy of a QoS 0 message), so it schedules no batch of its own and
   * rides with the next one, like `removeLog` (within ~50 ms, or at once when someone awaits
   * `whenDurable()`); a crash before that loses it. Stores that batch otherwise may ignore it.
   */
  appendLog(log: string, meta: string, payload: Buffer, createdAt: number, lazy?: boolean): number;
  /**
   * Removes an entry (delivered, acknowledged); nothing if absent. Lazy: the removal schedules no
   * commit of its own but rides with the next batch (within ~50 ms at most), or at once when
   * someone awaits `whenDurable()`. Losing it in a crash redelivers the entry (at least once).
   */
  removeLog(log: string, seq: number): void;
  /** Removes every entry of a log. */
  dropLog(log: string): void;
  /** Up to `limit` entries with seq > afterSeq, in order. */
  readLog(log: string, afterSeq: number, limit: number): Promise<LogEntry[]>;
  /** The entries with these seqs that still exist, in the order given. */
  getLogEntries(log: string, seqs: readonly number[]): Promise<LogEntry[]>;
  /** Every log whose name starts with `prefix` that has entries (start-up). */
  logSummaries(prefix: string): Promise<LogSummary[]>;

  // Loading (async, streaming).

  loadSessions(): AsyncIterable<LoadedSession>;
  loadRetained(): AsyncIterable<RetainedRecord>;
  loadWills(): AsyncIterable<WillRecord>;

  // Housekeeping.

  /**
   * Deletes what is due at `now` — expired sessions, queue entries whose message expired or is
   * past retention, expired retained messages, queues of deleted sessions — removing at most
   * `budget` rows, in small steps that yield to the event loop between them.
   */
  purgeExpired(now: number, budget: number): Promise<PurgeResult>;
  stats(): Promise<StoreStats>;
}

export type FsyncPolicy = 'always' | 'interval' | 'off';

export interface StoreOptions {
  /** Queue caps and retention per instance; a function lets every instance have its own. */
  readonly limits?: QueueLimits | ((instanceId: string) => QueueLimits);
  /**
   * 0 (default): a batch commits at the end of the event-loop turn (setImmediate).
   * > 0: a batch commits this many ms after its first mutation (larger groups, more latency).
   */
  readonly commitDelayMs?: number;
}
