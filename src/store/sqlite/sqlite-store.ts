/**
 * The embedded Store on SQLite (better-sqlite3@12, WAL), main-thread side. SQLite itself runs on
 * the store thread (worker.ts, engine.ts); this class never touches the disk:
 *
 * - a mutation appends an op to the current turn's batch (protocol.ts) and returns what the
 *   caller needs from memory: ids and seqs it assigns itself, sessions and their queue depths,
 *   the client ids with a will, the retained topics (the mirror below);
 * - at the end of the turn (or `commitDelayMs` later) the batch goes to the store thread with
 *   its payloads in one transferred blob; `whenDurable()` waits for the store thread's
 *   `durable` answer for that batch, or rejects when it answers `failed`;
 * - reads are requests answered in order after the batches sent before them.
 * See docs/storage.md for the contract, the fsync policies and the degraded mode.
 */
import { resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { StoreCorruptError, StoreLockedError, StoreUnavailableError, StoreVersionError } from '../errors.js';
import {
  DEFAULT_QUEUE_LIMITS,
  type CommitTiming,
  type DeliveryInfo,
  type DroppedEntry,
  type FsyncPolicy,
  type LoadedSession,
  type LogEntry,
  type LogSummary,
  type MessageId,
  type MessageRecord,
  type NewMessage,
  type PurgeResult,
  type QueueLimits,
  type RecordQuery,
  type RetainedRecord,
  type SessionRecord,
  type Store,
  type StoreHealth,
  type StoreStats,
  type StoredRecord,
  type SubscriptionRecord,
  type WillRecord,
} from '../types.js';
import { FAULT_FAIL_COMMITS, FAULT_SLOTS } from './faults.js';
import { LOAD_PAGE } from './loading.js';
import { Mirror } from './mirror.js';
import { ColumnPage, packQueuePage, type QueuePage } from './queue-page.js';
import type { SqliteStoreOptions } from './options.js';
import { Op, OP_ARITY, PROTOCOL_VERSION, type ErrorInfo, type OpenState, type OpValue, type Read, type Reply, type WorkerData } from './protocol.js';

/** The page of a queue that is empty or unknown here. */
const NO_PAGE = new ColumnPage('', packQueuePage([]));

/** How long a batch of lazy ops alone (log removals) waits for other writes to ride with, ms. */
const LAZY_FLUSH_MS = 50;
/** Op slots of lazy ops alone after which they leave at the end of the turn without waiting (~1,600 moves). */
const LAZY_MAX_SLOTS = 8192;
/**
 * Op slots of completed lazy ops (~800 deliveries) from which they leave behind a queue page read
 * (see `read`); fewer wait for the next read. A COMMIT holds the store thread for milliseconds with
 * `fsync always`: 8–12 µs of wall time per delivered message at one COMMIT per 512 deliveries, 5–8
 * at one per 1,024, 2–5 at one per 1,600 (bench/store-thread.bench.ts timed by the clock, 2 vCPUs,
 * virtio disk). Below LAZY_MAX_SLOTS by more than a page's worth (512 × 5 slots), so that limit
 * does not send them ahead of a read first.
 */
const LAZY_AFTER_READ_SLOTS = 4096;
/**
 * Op slots after which a waiter sends the open batch at once instead of at the end of the turn.
 * A turn that reads a whole window of PUBLISHes (64 from one client, say) would otherwise hand
 * the store thread nothing until all of them are routed, and the store thread nothing back
 * until all are committed: one strictly serial cycle. Sent early, the first part commits while
 * the rest is routed, its acknowledgements go out first, and the client's next messages arrive
 * while the store works: commits and routing overlap. A whenDurable() call is a safe place to
 * cut: it comes after its caller recorded all of its work.
 */
const EARLY_SEND_SLOTS = 128;

export type { SqliteStoreOptions } from './options.js';
export { moveAsideCommand } from './open-errors.js';

/** Opens (creating if absent) and checks the database; rejects with StoreCorruptError if damaged. */
export function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  return SqliteStore.open(options);
}

/** A sent batch's promise, settled by the store thread's answer for it (or a later one). */
interface Waiter {
  readonly upTo: number;
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class SqliteStore implements Store {
  readonly path: string;
  readonly fsync: FsyncPolicy;
  private readonly worker: Worker;
  private readonly mirror: Mirror;
  private readonly limitsFor: (instanceId: string) => QueueLimits;
  private readonly commitDelayMs: number;
  private readonly faults: Int32Array;
  private nextSeq: number;
  private nextMessageId: number;

  // The open batch.
  private ops: OpValue[] = [];
  private blobParts: Buffer[] = [];
  private blobBytes = 0;
  private flushScheduled = false;
  /** A non-final part of this turn's batch was sent (see protocol.ts, `final`). */
  private partialSent = false;
  private flushTimer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  /** Set while the open batch holds only lazy ops (see `removeLog`): they wait for company. */
  private lazyTimer: NodeJS.Timeout | null = null;
  /**
   * The open batch's MoveToInflight ops by client and packet id (their index in `ops`): when the
   * delivery completes before the batch leaves, the pair becomes one queue removal (Op.Delivered)
   * and the store thread skips the in-flight row's insert and delete.
   */
  private openMoves = new Map<string, Map<number, number>>();
  /** Index in `ops` of the open batch's last Op.RemoveLogs (-1: none); see `removeLog`. */
  private openRemoves = -1;

  // Batches sent and their waiters (upTo ascending).
  private batchNumber = 0;
  /** Batches up to this one were answered (durable or failed). */
  private settledUpTo = 0;
  private waiters: Waiter[] = [];
  /** The promise of the open batch, shared by its callers; settled through `waiters` once sent. */
  private openWait: Waiter | null = null;
  private nextRequest = 1;
  private readonly requests = new Map<number, { resolve: (value: never) => void; reject: (error: Error) => void }>();

  private currentHealth: StoreHealth = { ok: true };
  private readonly healthListeners: Array<(health: StoreHealth) => void> = [];
  private readonly dropListeners: Array<(dropped: readonly DroppedEntry[]) => void> = [];
  private readonly timingListeners: Array<(timing: CommitTiming) => void> = [];
  /** Batch numbers sent and not answered yet, with when they were sent (performance.now), for onCommitTiming. */
  private sentAt: number[] = [];
  private closed = false;
  private closing: Promise<void> | null = null;
  /** Set when the store thread died: nothing can be written any more. */
  private dead: Error | null = null;

  private constructor(worker: Worker, options: SqliteStoreOptions, state: OpenState, faults: Int32Array) {
    this.worker = worker;
    this.path = resolvePath(options.path);
    this.fsync = options.fsync ?? 'always';
    const limits = options.limits ?? DEFAULT_QUEUE_LIMITS;
    this.limitsFor = typeof limits === 'function' ? limits : () => limits;
    this.commitDelayMs = options.commitDelayMs ?? 0;
    this.faults = faults;
    this.nextSeq = state.nextSeq;
    this.nextMessageId = state.nextMessageId;
    this.mirror = new Mirror(state);
    worker.on('message', (reply: Reply) => this.onReply(reply));
    worker.on('error', (error) => this.onDeath(error));
    worker.on('exit', (code) => {
      if (!this.closed) this.onDeath(new Error(`store thread exited (code ${code})`));
    });
  }

  /** Starts the store thread and waits until the database is open and checked. */
  static open(options: SqliteStoreOptions): Promise<SqliteStore> {
    const faults = new Int32Array(new SharedArrayBuffer(4 * FAULT_SLOTS));
    const data: WorkerData = {
      v: PROTOCOL_VERSION,
      path: resolvePath(options.path),
      fsync: options.fsync ?? 'always',
      fsyncIntervalMs: options.fsyncIntervalMs ?? 1000,
      integrityCheck: options.integrityCheck ?? 'auto',
      cacheSizeKiB: options.cacheSizeKiB ?? 32768,
      faults: faults.buffer as SharedArrayBuffer,
    };
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: data });
    return new Promise((resolve, reject) => {
      const onMessage = (reply: Reply): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        if (reply.type === 'ready' && reply.v === PROTOCOL_VERSION) {
          resolve(new SqliteStore(worker, options, reply.state, faults));
        } else {
          // eslint-disable-next-line @typescript-eslint/no-floating-promises -- cannot reject: Worker.terminate() only resolves, with the exit code
          void worker.terminate();
          reject(reply.type === 'open-failed' ? rebuildError(reply.error) : new Error(`store thread: unexpected ${reply.type}`));
        }
      };
      const onError = (error: Error): void => {
        worker.off('message', onMessage);
        reject(error);
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
    });
  }

  // Health, drops and test faults.

  get health(): StoreHealth {
    return this.currentHealth;
  }

  onHealthChange(listener: (health: StoreHealth) => void): void {
    this.healthListeners.push(listener);
  }

  onDrop(listener: (dropped: readonly DroppedEntry[]) => void): void {
    this.dropListeners.push(listener);
  }

  onCommitTiming(listener: (timing: CommitTiming) => void): void {
    this.timingListeners.push(listener);
  }

  /** Test only: make every COMMIT of the store thread fail (as a disk I/O error) while set. */
  injectFaults(faults: { failCommits: boolean }): void {
    Atomics.store(this.faults, FAULT_FAIL_COMMITS, faults.failCommits ? 1 : 0);
  }

  // Batching and durability.

  whenDurable(): Promise<void> {
    if (this.dead !== null) return Promise.reject(this.unavailable());
    if (this.ops.length > 0) {
      this.record(); // someone waits: lazy ops go at the end of this turn, not later
      this.openWait ??= newWaiter(0);
      const promise = this.openWait.promise;
      // Not after a read sent part of this turn: that part waits for the turn's final one.
      if (this.ops.length >= EARLY_SEND_SLOTS && !this.partialSent) this.flush();
      return promise;
    }
    if (this.batchNumber > this.settledUpTo) {
      // Sent (by a read, say) but not answered yet.
      const last = this.waiters.at(-1);
      if (last !== undefined && last.upTo === this.batchNumber) return last.promise;
      const waiter = newWaiter(this.batchNumber);
      this.waiters.push(waiter);
      return waiter.promise;
    }
    return Promise.resolve();
  }

  commit(): Promise<void> {
    const durable = this.whenDurable();
    this.flush();
    return durable;
  }

  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    if (this.dead === null) {
      try {
        await this.commit();
      } catch {
        // degraded: what was never acknowledged stays unwritten; close anyway
      }
      const id = this.nextRequest++;
      const closed = new Promise<void>((resolve, reject) => this.requests.set(id, { resolve: resolve as (value: never) => void, reject }));
      this.worker.postMessage({ type: 'close', id });
      await closed;
    }
    this.closed = true;
    await this.worker.terminate();
  }

  private record(): void {
    // A write after close is a caller's bug; it must not pass silently.
    if (this.closed) throw new StoreUnavailableError('store is closed');
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.flushTimer =
      this.commitDelayMs > 0 ? setTimeout(this.flushNow, this.commitDelayMs) : setImmediate(this.flushNow);
  }

  /**
   * A lazy op (a delivered or acknowledged log entry's removal, a rule's copy of a QoS 0 message) schedules no batch of its own: it
   * rides with the next one, at most LAZY_FLUSH_MS later. A consumer acknowledging as fast as a
   * producer appends would otherwise double the commits (and fsyncs) the producer waits for.
   * The delivery ops of a session draining its stored queue (a queue entry moved into the
   * window, an in-flight entry completed) are lazy too: no acknowledgement waits for them (after
   * a crash, what they did not record yet is delivered again), so a drain commits once per two
   * pages (they follow its read, see `read`) instead of once per event-loop turn, and a batch holding
   * both a delivery's move and its completion writes neither (`openMoves`).
   */
  private recordLazy(): void {
    if (this.closed) throw new StoreUnavailableError('store is closed');
    if (this.flushScheduled) return;
    if (this.ops.length >= LAZY_MAX_SLOTS) this.record();
    else this.lazyTimer ??= setTimeout(this.flushNow, LAZY_FLUSH_MS);
  }

  private readonly flushNow = (): void => this.flush();

  /** Sends the open batch to the store thread; `final` false: the turn goes on (a read). */
  private flush(final = true): void {
    if (this.lazyTimer !== null) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = null;
    }
    if (this.flushTimer !== null) {
      if (this.commitDelayMs > 0) clearTimeout(this.flushTimer as NodeJS.Timeout);
      else clearImmediate(this.flushTimer as NodeJS.Immediate);
      this.flushTimer = null;
    }
    this.flushScheduled = false;
    if (this.ops.length === 0) {
      if (final && this.partialSent) {
        // The turn's earlier part went ahead of a read: an empty final part ends its transaction.
        this.partialSent = false;
        this.worker.postMessage({ type: 'batch', n: ++this.batchNumber, ops: [], blob: null, final: true });
      }
      return;
    }
    const n = ++this.batchNumber;
    let blob: ArrayBuffer | null = null;
    if (this.blobBytes > 0) {
      const joined = Buffer.allocUnsafeSlow(this.blobBytes);
      let offset = 0;
      for (const part of this.blobParts) {
        part.copy(joined, offset);
        offset += part.length;
      }
      blob = joined.buffer as ArrayBuffer;
    }
    const ops = this.ops;
    this.ops = [];
    this.openRemoves = -1;
    if (this.openMoves.size > 0) this.openMoves = new Map();
    this.blobParts = [];
    this.blobBytes = 0;
    if (this.openWait !== null) {
      this.waiters.push({ ...this.openWait, upTo: n });
      this.openWait = null;
    }
    if (this.dead !== null) {
      this.settle(n, this.unavailable());
      return;
    }
    this.partialSent = !final;
    if (!final) this.record(); // the turn's end still sends its final part
    if (this.timingListeners.length > 0) this.sentAt.push(n, performance.now());
    this.worker.postMessage({ type: 'batch', n, ops, blob, final }, blob === null ? [] : [blob]);
  }

  /** Adds a buffer to the batch's blob; returns its offset. */
  private blob(bytes: Buffer): number {
    const offset = this.blobBytes;
    this.blobParts.push(bytes);
    this.blobBytes += bytes.length;
    return offset;
  }

  private onReply(reply: Reply): void {
    switch (reply.type) {
      case 'durable':
        if (this.sentAt.length > 0) this.timed(reply.upTo, reply.commitMs);
        this.settledUpTo = Math.max(this.settledUpTo, reply.upTo);
        for (const [clientId, delta] of reply.corrections) this.mirror.addDepth(clientId, delta);
        this.settle(reply.upTo, null);
        if (reply.invalid.length > 0) {
          // Programming errors: the op was refused, the rest of the batch stands. Never silent.
          process.emitWarning(`store refused ${reply.invalid.length} invalid op(s): ${reply.invalid.slice(0, 3).join('; ')}`, 'FerryStoreWarning');
        }
        if (reply.drops.length > 0) for (const listener of this.dropListeners) listener(reply.drops);
        return;
      case 'failed':
        if (this.sentAt.length > 0) this.timed(reply.upTo, null);
        this.settledUpTo = Math.max(this.settledUpTo, reply.upTo);
        this.settle(reply.upTo, new StoreUnavailableError(`store cannot write: ${reply.reason}`));
        if (this.currentHealth.ok) this.setHealth({ ok: false, reason: reply.reason, code: reply.code, since: Date.now() });
        return;
      case 'recovered':
        this.settledUpTo = Math.max(this.settledUpTo, reply.upTo);
        this.settle(reply.upTo, null);
        this.setHealth({ ok: true });
        return;
      case 'warning':
        process.emitWarning(reply.message, 'FerryStoreWarning');
        return;
      case 'read':
      case 'closed': {
        const request = this.requests.get(reply.id);
        this.requests.delete(reply.id);
        request?.resolve((reply.type === 'read' ? reply.result : undefined) as never);
        return;
      }
      case 'read-failed': {
        const request = this.requests.get(reply.id);
        this.requests.delete(reply.id);
        request?.reject(rebuildError(reply.error));
        return;
      }
      default:
        return;
    }
  }

  /** Reports a commit that made the batches up to `upTo` durable (commitMs null: failed, not reported). */
  private timed(upTo: number, commitMs: number | null): void {
    let i = 0;
    while (i < this.sentAt.length && this.sentAt[i]! <= upTo) i += 2;
    if (i === 0) return;
    const oldest = this.sentAt[1]!;
    this.sentAt.splice(0, i);
    if (commitMs === null) return;
    const timing: CommitTiming = { waitSeconds: (performance.now() - oldest) / 1000, commitSeconds: commitMs / 1000, batches: i / 2 };
    for (const listener of this.timingListeners) listener(timing);
  }

  /** Resolves (error null) or rejects the waiters of batches up to `upTo`. */
  private settle(upTo: number, error: Error | null): void {
    let count = 0;
    for (const waiter of this.waiters) {
      if (waiter.upTo > upTo) break;
      count++;
      if (error === null) waiter.resolve();
      else waiter.reject(error);
    }
    if (count > 0) this.waiters.splice(0, count);
  }

  private setHealth(health: StoreHealth): void {
    this.currentHealth = health;
    for (const listener of this.healthListeners) listener(health);
  }

  private onDeath(error: Error): void {
    if (this.dead !== null) return;
    this.dead = error;
    const unavailable = this.unavailable();
    for (const waiter of this.waiters) waiter.reject(unavailable);
    this.openWait?.reject(unavailable);
    this.waiters = [];
    this.openWait = null;
    for (const request of this.requests.values()) request.reject(unavailable);
    this.requests.clear();
    this.setHealth({ ok: false, reason: `store thread failed: ${error.message}`, code: null, since: Date.now() });
  }

  private unavailable(): StoreUnavailableError {
    return new StoreUnavailableError(`store unavailable: ${this.dead?.message ?? 'closed'}`, { cause: this.dead });
  }

  /** Sends the open batch, then a read; answered after everything recorded before it. */
  private read<T>(read: Read): Promise<T> {
    if (this.dead !== null) return Promise.reject(this.unavailable());
    if (this.closed) return Promise.reject(new StoreUnavailableError('store is closed'));
    // A queue page after a cursor does not need an open batch of lazy ops only: those touch
    // entries at or before the session's cursor (moved into its window, completed), never one
    // the page can hold. They leave right behind the read instead of ahead of it: the store
    // thread answers the page first and applies and commits them while the main thread sends
    // the page out. A draining session gets its next page without waiting for a commit, and
    // commits once per two pages. (Sent ahead of the read — on their timer or slot limit, or before
    // it — a batch of them held the page up for its whole apply and COMMIT, while the session's
    // window ran dry.)
    const lazyFollows = read.kind === 'queue' && read.afterSeq > 0 && !this.flushScheduled;
    if (!lazyFollows) this.flush(read.kind === 'purge');
    const id = this.nextRequest++;
    const answered = new Promise<T>((resolve, reject) => {
      this.requests.set(id, { resolve: resolve as (value: never) => void, reject });
      this.worker.postMessage({ type: 'read', id, read });
    });
    if (lazyFollows && this.ops.length > 0) this.flushCompleted();
    return answered;
  }

  /**
   * Sends an open batch of lazy ops only once it holds LAZY_AFTER_READ_SLOTS of completed ones,
   * except the moves whose deliveries are still in flight:
   * those stay open, so that their completion, which comes next, still makes each of them one
   * queue removal (Op.Delivered) instead of an in-flight row written and deleted. Keeping them
   * back is safe: no op sent now can touch their entries or packet ids (a completion of one of
   * them would have rewritten it, a release or a new in-flight entry under its packet id takes
   * it out of `openMoves` and is not lazy). They leave with the next batch, at the latest on the
   * lazy timer.
   */
  private flushCompleted(): void {
    let inFlight = 0;
    for (const moves of this.openMoves.values()) inFlight += moves.size;
    if (this.ops.length - inFlight * (1 + OP_ARITY[Op.MoveToInflight]!) < LAZY_AFTER_READ_SLOTS) return;
    if (inFlight === 0) {
      this.flush();
      return;
    }
    const ops = this.ops;
    const sent: OpValue[] = [];
    const kept: OpValue[] = [];
    const keptMoves = new Map<string, Map<number, number>>();
    for (let i = 0; i < ops.length; ) {
      const code = ops[i] as number;
      const end = i + 1 + OP_ARITY[code]!;
      const clientId = ops[i + 1] as string;
      const packetId = ops[i + 3] as number;
      if (code === Op.MoveToInflight && this.openMoves.get(clientId)?.get(packetId) === i) {
        let moves = keptMoves.get(clientId);
        if (moves === undefined) keptMoves.set(clientId, (moves = new Map()));
        moves.set(packetId, kept.length);
        for (let k = i; k < end; k++) kept.push(ops[k]!);
      } else {
        for (let k = i; k < end; k++) sent.push(ops[k]!);
      }
      i = end;
    }
    this.ops = sent;
    this.flush(); // moves carry no blob: the batch's blob goes with what is sent
    this.ops = kept;
    this.openRemoves = -1;
    this.openMoves = keptMoves;
    if (kept.length > 0) this.lazyTimer ??= setTimeout(this.flushNow, LAZY_FLUSH_MS);
  }

  // Sessions and subscriptions.

  /**
   * Lazy, as setDisconnectedAt: nothing acknowledged waits for a session record (a SUBSCRIBE's or
   * a queued message's commit carries it along), so a reconnect storm sends its records in a few
   * large batches instead of one per event-loop turn. Lost in a crash: the session restarts as
   * unknown (a new client) or, for a lost disconnect time, counts its expiry from the restart.
   */
  putSession(session: SessionRecord): void {
    this.mirror.putSession(session);
    this.recordLazy();
    this.ops.push(
      Op.PutSession,
      session.clientId,
      session.instanceId,
      session.protocolVersion,
      session.expiryInterval,
      session.disconnectedAt,
    );
  }

  setDisconnectedAt(clientId: string, at: number | null): boolean {
    if (!this.mirror.setDisconnectedAt(clientId, at)) return false;
    this.recordLazy();
    this.ops.push(Op.SetDisconnected, clientId, at);
    return true;
  }

  getSession(clientId: string): SessionRecord | undefined {
    return this.mirror.getSession(clientId);
  }

  deleteSession(clientId: string): boolean {
    if (!this.mirror.deleteSession(clientId)) return false;
    this.openMoves.delete(clientId);
    this.record();
    this.ops.push(Op.DeleteSession, clientId);
    return true;
  }

  putSubscription(sub: SubscriptionRecord): void {
    this.mirror.live(sub.clientId);
    this.record();
    this.ops.push(
      Op.PutSubscription,
      sub.clientId,
      sub.key,
      sub.qos,
      sub.noLocal,
      sub.retainAsPublished,
      sub.retainHandling,
      sub.subscriptionId,
      sub.shareGroup,
      sub.filter,
    );
  }

  deleteSubscription(clientId: string, key: string): void {
    if (!this.mirror.has(clientId)) return;
    this.record();
    this.ops.push(Op.DeleteSubscription, clientId, key);
  }

  // Messages.

  addMessage(message: NewMessage): MessageId {
    const id = this.nextMessageId++;
    this.record();
    const payloadOffset = this.blob(message.payload);
    const props = message.properties;
    const propsOffset = props === null ? 0 : this.blob(props);
    this.ops.push(
      Op.AddMessage,
      id,
      message.topic,
      payloadOffset,
      message.payload.length,
      message.qos,
      message.retain,
      propsOffset,
      props === null ? -1 : props.length,
      message.expiresAt,
      message.createdAt,
      message.traceId ?? 0,
    );
    return id;
  }

  async getMessage(id: MessageId): Promise<MessageRecord | undefined> {
    const record = await this.read<MessageRecord | undefined>({ kind: 'message', messageId: id });
    return record === undefined ? undefined : reviveMessage(record);
  }

  /** An id no message ever had is a caller's bug: refused at once (a deleted one is refused by the store thread). */
  private knownMessage(id: MessageId): void {
    if (!Number.isSafeInteger(id) || id <= 0 || id >= this.nextMessageId) throw new Error(`unknown message ${id}`);
  }

  // Queues.

  enqueue(clientId: string, delivery: DeliveryInfo): number {
    const session = this.mirror.live(clientId);
    this.knownMessage(delivery.messageId);
    const seq = this.nextSeq++;
    const limits = this.limitsFor(session.record.instanceId);
    session.depth++;
    this.record();
    this.ops.push(
      Op.Enqueue,
      clientId,
      seq,
      delivery.messageId,
      delivery.qos,
      delivery.retain,
      delivery.subscriptionIds,
      delivery.shareGroup,
      delivery.shareFilter,
      limits.maxQueuedPerSession,
      limits.maxQueuedPerInstance,
      limits.maxQueuedBytesPerSession ?? 0,
      limits.maxQueuedBytesPerInstance ?? 0,
    );
    return seq;
  }

  removeQueued(clientId: string, seq: number): void {
    if (!this.mirror.addDepth(clientId, -1)) return;
    this.record();
    this.ops.push(Op.RemoveQueued, clientId, seq);
  }

  readQueuePage(clientId: string, afterSeq: number, limit: number): Promise<ColumnPage> {
    if (limit <= 0 || !this.mirror.has(clientId)) return Promise.resolve(NO_PAGE);
    return this.read<QueuePage>({ kind: 'queue', clientId, afterSeq, limit }).then((page) => new ColumnPage(clientId, page));
  }

  queueDepth(clientId: string): number {
    return this.mirror.depth(clientId);
  }

  // In-flight and inbound QoS 2.

  addInflight(clientId: string, packetId: number, delivery: DeliveryInfo): number {
    this.mirror.live(clientId);
    this.openMoves.get(clientId)?.delete(packetId);
    this.knownMessage(delivery.messageId);
    const seq = this.nextSeq++;
    this.record();
    this.ops.push(
      Op.AddInflight,
      clientId,
      packetId,
      seq,
      delivery.messageId,
      delivery.qos,
      delivery.retain,
      delivery.subscriptionIds,
      delivery.shareGroup,
      delivery.shareFilter,
    );
    return seq;
  }

  moveToInflight(clientId: string, seq: number, packetId: number): number {
    this.mirror.live(clientId);
    this.mirror.addDepth(clientId, -1);
    const inflightSeq = this.nextSeq++;
    this.recordLazy();
    let moves = this.openMoves.get(clientId);
    if (moves === undefined) this.openMoves.set(clientId, (moves = new Map()));
    moves.set(packetId, this.ops.length);
    this.ops.push(Op.MoveToInflight, clientId, seq, packetId, inflightSeq);
    return inflightSeq;
  }

  releaseInflight(clientId: string, packetId: number): void {
    // The release needs the in-flight row: the move stays as it is.
    this.openMoves.get(clientId)?.delete(packetId);
    this.clientOp(Op.ReleaseInflight, clientId, packetId);
  }

  removeInflight(clientId: string, packetId: number): void {
    const moves = this.openMoves.get(clientId);
    const at = moves?.get(packetId);
    if (at !== undefined) {
      // Moved into the window and completed within this batch: only the queue entry goes.
      moves!.delete(packetId);
      this.ops[at] = Op.Delivered;
      return;
    }
    if (!this.mirror.has(clientId)) return;
    this.recordLazy();
    this.ops.push(Op.RemoveInflight, clientId, packetId);
  }

  addInboundQos2(clientId: string, packetId: number): void {
    this.mirror.live(clientId);
    this.clientOp(Op.AddInbound, clientId, packetId);
  }

  removeInboundQos2(clientId: string, packetId: number): void {
    this.clientOp(Op.RemoveInbound, clientId, packetId);
  }

  private clientOp(code: number, clientId: string, packetId: number): void {
    if (!this.mirror.has(clientId)) return;
    this.record();
    this.ops.push(code, clientId, packetId);
  }

  // Retained, wills, metadata, records.

  setRetained(topic: string, messageId: MessageId): void {
    this.knownMessage(messageId);
    this.mirror.retained.add(topic);
    this.record();
    this.ops.push(Op.SetRetained, topic, messageId);
  }

  deleteRetained(topic: string): boolean {
    if (!this.mirror.retained.delete(topic)) return false;
    this.record();
    this.ops.push(Op.DeleteRetained, topic);
    return true;
  }

  putWill(will: WillRecord): void {
    this.mirror.wills.add(will.clientId);
    this.record();
    const payloadOffset = this.blob(will.payload);
    const props = will.properties;
    const propsOffset = props === null ? 0 : this.blob(props);
    this.ops.push(
      Op.PutWill,
      will.clientId,
      will.topic,
      payloadOffset,
      will.payload.length,
      will.qos,
      will.retain,
      propsOffset,
      props === null ? -1 : props.length,
      will.expiresAt,
      will.publishAt,
    );
  }

  deleteWill(clientId: string): boolean {
    if (!this.mirror.wills.delete(clientId)) return false;
    this.record();
    this.ops.push(Op.DeleteWill, clientId);
    return true;
  }

  setMeta(key: string, value: unknown): void {
    const json = toJson(value, `meta ${key}`);
    this.record();
    this.ops.push(Op.SetMeta, key, json);
  }

  deleteMeta(key: string): void {
    this.record();
    this.ops.push(Op.DeleteMeta, key);
  }

  getMeta(key: string): Promise<unknown> {
    return this.read({ kind: 'meta', key });
  }

  putRecord(collection: string, key: string, value: unknown): void {
    if (key === '') throw new Error(`record ${collection}: empty key`);
    const json = toJson(value, `record ${collection}/${key}`);
    this.record();
    this.ops.push(Op.PutRecord, collection, key, json);
  }

  deleteRecord(collection: string, key: string): void {
    this.record();
    this.ops.push(Op.DeleteRecord, collection, key);
  }

  getRecord(collection: string, key: string): Promise<unknown> {
    return this.read({ kind: 'record', collection, key });
  }

  listRecords(collection: string, query: RecordQuery = {}): Promise<StoredRecord[]> {
    return this.read({ kind: 'records', collection, query });
  }

  // Logs.

  appendLog(log: string, meta: string, payload: Buffer, createdAt: number, lazy = false): number {
    const seq = this.nextSeq++;
    if (lazy) this.recordLazy();
    else this.record();
    const offset = this.blob(payload);
    this.ops.push(Op.AppendLog, log, seq, createdAt, meta, offset, payload.length);
    return seq;
  }

  removeLog(log: string, seq: number): void {
    this.recordLazy();
    // A run of removals of one log (a rule's delivered round) is one op with the seqs: no log
    // name and op code per entry to clone across the thread. Only onto the batch's last op, so
    // that the order of log ops is kept.
    const at = this.openRemoves;
    if (at >= 0 && at === this.ops.length - 3 && this.ops[at + 1] === log) {
      (this.ops[at + 2] as number[]).push(seq);
      return;
    }
    this.openRemoves = this.ops.length;
    this.ops.push(Op.RemoveLogs, log, [seq]);
  }

  dropLog(log: string): void {
    this.record();
    this.ops.push(Op.DropLog, log);
  }

  async readLog(log: string, afterSeq: number, limit: number): Promise<LogEntry[]> {
    if (limit <= 0) return [];
    return reviveEntries(await this.read<LogEntry[]>({ kind: 'log', log, afterSeq, limit }));
  }

  async getLogEntries(log: string, seqs: readonly number[]): Promise<LogEntry[]> {
    if (seqs.length === 0) return [];
    return reviveEntries(await this.read<LogEntry[]>({ kind: 'log-entries', log, seqs }));
  }

  logSummaries(prefix: string): Promise<LogSummary[]> {
    return this.read({ kind: 'log-summaries', prefix });
  }

  // Loading, housekeeping, stats.

  loadSessions(): AsyncIterable<LoadedSession> {
    return this.pages<LoadedSession>('sessions', (s) => s.session.clientId, (s) => {
      for (const entry of s.inflight) if (entry.message !== null) reviveMessage(entry.message);
    });
  }

  loadRetained(): AsyncIterable<RetainedRecord> {
    return this.pages<RetainedRecord>('retained', (r) => r.topic, (r) => reviveMessage(r.message));
  }

  loadWills(): AsyncIterable<WillRecord> {
    return this.pages<WillRecord>('wills', (w) => w.clientId, reviveMessage);
  }

  private async *pages<T>(
    kind: 'sessions' | 'retained' | 'wills',
    keyOf: (item: T) => string,
    revive: (item: T) => void,
  ): AsyncIterable<T> {
    let after = '';
    for (;;) {
      const page = await this.read<T[]>({ kind, after });
      for (const item of page) {
        revive(item);
        yield item;
      }
      if (page.length < LOAD_PAGE) return;
      after = keyOf(page[page.length - 1]!);
    }
  }

  async purgeExpired(now: number, budget: number): Promise<PurgeResult> {
    const retention: Record<string, number> = {};
    for (const instanceId of this.mirror.instancesWithQueues()) retention[instanceId] = this.limitsFor(instanceId).retentionMs;
    const result = await this.read<PurgeResult>({ kind: 'purge', now, budget, retention });
    for (const clientId of result.expiredSessions) this.mirror.deleteSession(clientId);
    return result;
  }

  stats(): Promise<StoreStats> {
    return this.read({ kind: 'stats' });
  }
}

function newWaiter(upTo: number): Waiter {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { upTo, promise, resolve, reject };
}

/** Byte arrays come back from the store thread as Uint8Array: made Buffers again, without a copy. */
function reviveMessage<T extends { payload: Buffer; properties: Buffer | null }>(record: T): T {
  const mutable = record as { payload: Buffer; properties: Buffer | null };
  mutable.payload = asBuffer(record.payload);
  if (record.properties !== null) mutable.properties = asBuffer(record.properties);
  return record;
}

function reviveEntries(entries: LogEntry[]): LogEntry[] {
  for (const entry of entries) (entry as { payload: Buffer }).payload = asBuffer(entry.payload);
  return entries;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function toJson(value: unknown, what: string): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new Error(`${what}: value is not JSON-serializable`);
  return json;
}

/** Errors cross the thread as plain data; the store's own classes are rebuilt here. */
function rebuildError(info: ErrorInfo): Error {
  switch (info.name) {
    case 'StoreCorruptError':
      return new StoreCorruptError(info.path ?? '', info.detail ?? info.message, info.moveAsideCommand ?? '');
    case 'StoreLockedError':
      return new StoreLockedError(info.path ?? '');
    case 'StoreVersionError':
      return new StoreVersionError(info.path ?? '', info.found ?? 0, info.supported ?? 0);
    default:
      return Object.assign(new Error(info.message), { name: info.name, code: info.code });
  }
}

