/**
 * The Store on NATS JetStream, for cluster mode (docs/cluster.md, "JetStream state").
 *
 * The node keeps a memory mirror of what it owns (this class IS the memory store, so every read
 * is local and every rule of the contract — caps, drops, reference counts, purge — is the
 * reference implementation's). Each mutation is recorded there synchronously and noted as
 * pending; at the end of the turn (or `commitDelayMs` later) the pending changes go out as one
 * batch of JetStream writes, and `whenDurable()` resolves when every PubAck of the batch is back
 * (JetStream acknowledges once its replicas have it). One batch is written at a time, so a
 * batch that resolves means everything recorded before it is durable.
 *
 * A failed write makes the store degraded as a failed SQLite commit does: the batch's waiters
 * are rejected (nothing may be acknowledged), what was not written goes back into the next
 * batch, which is retried every `retryMs` until it succeeds (recovered).
 *
 * Where things go (layout.ts): a session's record, subscriptions and inbound QoS 2 ids are one
 * KV value, written with the revision this node last wrote or read (compare-and-set: a node that
 * lost the session to another stops writing it); each outbound in-flight entry is a KV value per
 * packet id (so a record never grows with the window's messages); each queued delivery is one
 * stream message on the session's subject, deleted by its stream sequence when delivered or
 * dropped; retained messages, wills, metadata and keyed records are KV values; durable logs are
 * stream messages under the node's own subject.
 */
import { createHash } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { KvEntry } from '@nats-io/kv';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { StoreUnavailableError } from '../errors.js';
import { MemoryStore } from '../memory/memory-store.js';
import type {
  DeliveryInfo,
  DroppedEntry,
  LoadedSession,
  MessageId,
  MessageRecord,
  PurgeResult,
  RecordListener,
  SessionRecord,
  StoreHealth,
  StoreOptions,
  SubscriptionRecord,
  WillRecord,
} from '../types.js';
import {
  deliveryJson,
  decodeInflight,
  decodeLogEntry,
  decodeQueued,
  decodeRetained,
  decodeSession,
  decodeWill,
  encodeInflight,
  encodeLogEntry,
  encodeQueued,
  encodeRetained,
  encodeSession,
  encodeWill,
  sessionOwner,
  type DeliveryJson,
  type InflightEntry,
} from './codec.js';
import { ForeignLogs } from './foreign-logs.js';
import { JetStreamLayout, untoken } from './layout.js';
import { LogLeases } from './log-leases.js';
import { MetaWatch, OwnWrites } from './meta-feed.js';
import { Pending, type InflightWrite, type LogAppend, type QueueAppend, type StagedPublish } from './pending.js';
import { bucketEntries, openResources, streamEntries, type StoreResources } from './resources.js';

export interface JetStreamStoreOptions extends StoreOptions {
  /** An open connection; the store does not close it. */
  readonly connection: NatsConnection;
  /** First token of every bucket, stream and subject (clusterSubjectPrefix). */
  readonly prefix: string;
  /** This node: it owns the sessions of the clients connected to it. */
  readonly nodeId: string;
  /** JetStream replicas of every bucket and stream, when this node creates them. */
  readonly replicas?: number;
  /** How long a write waits for JetStream's answer, ms (default 5000). */
  readonly writeTimeoutMs?: number;
  /** While degraded, how often the pending batch is tried again, ms (default 1000). */
  readonly retryMs?: number;
  /** Lines for an operator (a session taken over by another node, an unreadable record). */
  readonly warn?: (message: string, detail: Record<string, unknown>) => void;
  /**
   * How long this node's lease on its durable logs lasts unrenewed, ms (default 8000; renewed
   * every quarter of it): after that, another node may adopt the logs (log-leases.ts).
   */
  readonly leaseMs?: number;
  /** Called once the store is closed (the owner of the connection closes it here). */
  readonly onClose?: () => Promise<void>;
}

const WRONG_LAST_SEQUENCE = 10071;
const DEFAULT_LEASE_MS = 8000;
/** Room for a queued delivery's header (topic, properties, ids) next to its payload, bytes. */
const WRITE_OVERHEAD = 64 * 1024;
const NO_MESSAGE_FOUND = 10037;

function apiCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** A compare-and-set write refused: the key changed since the revision it named. */
function wrongLastSequence(err: unknown): boolean {
  return apiCode(err) === WRONG_LAST_SEQUENCE || /wrong last sequence/i.test((err as Error).message);
}

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A cut batch: what it writes, computed when it was cut. */
interface Batch {
  readonly sessions: Map<string, Uint8Array | null>;
  readonly purges: Set<string>;
  readonly rawDeletes: Set<number>;
  readonly appends: Array<[number, QueueAppend]>;
  readonly removals: Array<[number, string, number]>;
  readonly inflight: Array<[string, InflightWrite]>;
  readonly inflightPurges: Set<string>;
  readonly retained: Map<string, MessageRecord | null>;
  readonly wills: Map<string, WillRecord | null>;
  readonly meta: Map<string, string | null>;
  readonly logDrops: Set<string>;
  readonly logAppends: Array<[number, LogAppend]>;
  readonly logRemovals: Array<[number, string, number]>;
  readonly publishes: StagedPublish[];
}

/** Opens the buckets and streams (creating them with `replicas`) and loads what this node owns. */
export async function openJetStreamStore(options: JetStreamStoreOptions): Promise<JetStreamStore> {
  const js = jetstream(options.connection, { timeout: options.writeTimeoutMs ?? 5000 });
  const jsm = await jetstreamManager(options.connection, { timeout: options.writeTimeoutMs ?? 5000 });
  const layout = new JetStreamLayout(options.prefix, options.nodeId);
  const resources = await openResources(js, jsm, layout, options.replicas ?? 1, options.leaseMs ?? DEFAULT_LEASE_MS);
  const store = new JetStreamStore(options, js, jsm, layout, resources);
  // The meta bucket's revision before the load: the change feed starts after it (meta-feed.ts).
  const metaRevision = (await jsm.streams.info(`KV_${layout.metaBucket}`)).state.last_seq;
  await store.load();
  store.followMeta(metaRevision);
  return store;
}

export class JetStreamStore extends MemoryStore {
  readonly nodeId: string;
  /** The store's NATS connection (the cluster's session handover uses it too). */
  readonly connection: NatsConnection;
  private pending = new Pending();
  /** Suppresses the noting of writes while the mirror is filled from JetStream. */
  private loading = false;

  // What has been written (the stream sequences of entries, the revisions of session records).
  private readonly queueSeqs = new Map<string, Map<number, number>>();
  /** Each live session's queue generation (layout.queueSubject). */
  private readonly gens = new Map<string, string>();
  private genCounter = 0;
  private readonly genPrefix: string;
  /** Queue subjects of sessions deleted in this run, emptied once purgeExpired reclaimed their entries. */
  private deadSubjects: string[] = [];
  /** Entries of those sessions the mirror has not reclaimed yet. */
  private deadOutstanding = 0;
  /** Stream sequences of entries of deleted sessions found at start (reclaimed by purgeExpired). */
  private loadedDead: number[] = [];
  private readonly logSeqs = new Map<string, Map<number, number>>();
  private readonly logGens = new Map<string, number>();
  /** KV revision of each session record as this node last wrote or read it; 0: absent. */
  private readonly revisions = new Map<string, number>();
  /** Each session's in-flight window as written (seq and delivery of each packet id), for its release record. */
  private readonly windows = new Map<string, Map<number, { seq: number; delivery: DeliveryJson }>>();
  /**
   * KV revision of each will as this node last wrote, loaded or took it: its deletion names it
   * (compare-and-set), so a will another node took over since is neither deleted nor published here.
   */
  private readonly willRevisions = new Map<string, number>();
  /** Sessions another node has claimed: not written by this one until it owns them again (putSession). */
  private readonly fenced = new Set<string>();
  /**
   * After a silence of JetStream (a failed batch, a stall, a cut NATS connection) another node may
   * have taken this node's sessions over: each of these is checked (its record's owner and
   * revision) before its next write, and fenced when it moved (docs/cluster.md, "Ownership"). Null: none to check.
   */
  private unverified: Set<string> | null = null;
  /** When a batch this node sent was last answered (its start, ms). */
  private lastHeard = Date.now();
  /** A silence longer than this makes every session unverified: shorter than any takeover (three heartbeats, clusterAckTimeoutMs). */
  private readonly silenceMs: number;
  /** This node's lease on its durable logs (who may deliver them). */
  private readonly leases: LogLeases;
  private leaseTimer: NodeJS.Timeout | null = null;
  /** Other nodes' logs, for adopting those of a node that is gone (src/cluster/log-adoption.ts). */
  readonly foreignLogs: ForeignLogs;

  // Batching.
  private timer: NodeJS.Immediate | NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private writing = false;
  private openWaiter: Deferred | null = null;
  private writingWaiter: Deferred | null = null;
  private readonly commitDelayMs: number;
  private readonly retryMs: number;
  private readonly writeTimeoutMs: number;
  private readonly idEpoch: number;
  private readonly onClose: (() => Promise<void>) | undefined;
  private stopped = false;
  private closing: Promise<void> | null = null;

  private currentHealth: StoreHealth = { ok: true };
  private readonly healthListeners: Array<(health: StoreHealth) => void> = [];
  private readonly storeDropListeners: Array<(dropped: readonly DroppedEntry[]) => void> = [];
  private readonly warn: (message: string, detail: Record<string, unknown>) => void;

  // The change feed of records other nodes write (meta-feed.ts).
  private metaWatch: MetaWatch | null = null;
  private readonly ownMeta = new OwnWrites();
  /** Meta keys of the batch being written: their changes wait until its answers are back. */
  private writingMeta: ReadonlySet<string> = new Set();
  /** Watch entries waiting for the batch being written, in revision order. */
  private deferredMeta: KvEntry[] = [];
  private readonly recordListeners = new Map<string, RecordListener[]>();

  /** Use openJetStreamStore. */
  constructor(
    options: JetStreamStoreOptions,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly layout: JetStreamLayout,
    private readonly kv: StoreResources,
  ) {
    // Ids and seqs start beyond those of this node's previous run (microseconds of the clock).
    const epoch = Date.now() * 1000;
    super({ ...options, commitDelayMs: 0 }, epoch);
    this.idEpoch = epoch;
    this.genPrefix = `${createHash('sha1').update(options.nodeId).digest('hex').slice(0, 6)}${epoch.toString(36)}`;
    this.nodeId = options.nodeId;
    this.connection = options.connection;
    this.commitDelayMs = options.commitDelayMs ?? 0;
    this.retryMs = options.retryMs ?? 1000;
    this.writeTimeoutMs = options.writeTimeoutMs ?? 5000;
    this.onClose = options.onClose;
    this.warn = options.warn ?? ((message, detail) => process.emitWarning(`${message} ${JSON.stringify(detail)}`, 'FerryStoreWarning'));
    this.leases = new LogLeases(kv.leases, kv.adoptions, layout, options.nodeId, options.leaseMs ?? DEFAULT_LEASE_MS);
    // The lease is renewed every heartbeat (a quarter of it): a healthy node hears JetStream that often.
    const heartbeat = this.leases.leaseMs / 4;
    this.silenceMs = Math.max(1.5 * heartbeat, Math.min(2 * heartbeat, this.writeTimeoutMs / 2));
    this.foreignLogs = new ForeignLogs(js, jsm, layout, this.leases);
    super.onDrop((dropped) => {
      for (const d of dropped) this.queueRemoved(d.clientId, d.seq);
      for (const listener of this.storeDropListeners) listener(dropped);
    });
  }

  // Health and listeners.

  override get health(): StoreHealth {
    return this.currentHealth;
  }

  override onHealthChange(listener: (health: StoreHealth) => void): void {
    this.healthListeners.push(listener);
  }

  override onDrop(listener: (dropped: readonly DroppedEntry[]) => void): void {
    this.storeDropListeners.push(listener);
  }

  /**
   * Why this node may no longer deliver its durable logs: another node adopted them while this
   * one was cut off longer than its lease (restart it to load what is left). Null normally.
   */
  get logsLost(): string | null {
    return this.leases.lost;
  }

  private async renewLease(): Promise<void> {
    const before = this.leases.lost;
    await this.leases.renewOwn();
    const lost = this.leases.lost;
    if (before === null && lost !== null) this.warn('this node lost its durable logs: it delivers none of them until it is restarted', { reason: lost });
  }

  /** True while this node owns its durable logs and confirmed that within the lease time (rule dispatchers wait otherwise). */
  mayDeliverLogs(): boolean {
    return this.leases.mayDeliver();
  }

  private setHealth(health: StoreHealth): void {
    this.currentHealth = health;
    for (const listener of this.healthListeners) listener(health);
  }

  // Batching and durability.

  override whenDurable(): Promise<void> {
    if (this.timer !== null || this.retryTimer !== null || !this.pending.empty) {
      this.openWaiter ??= deferred();
      return this.openWaiter.promise;
    }
    if (this.writing) {
      this.writingWaiter ??= deferred();
      return this.writingWaiter.promise;
    }
    return Promise.resolve();
  }

  override commit(): Promise<void> {
    this.flushMirror(); // the mirror's batch: its drops become removals now
    const durable = this.whenDurable();
    if (this.retryTimer === null) this.run();
    return durable;
  }

  override close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    try {
      await this.commit();
    } catch {
      // degraded: what was never acknowledged stays unwritten; close anyway
    }
    this.stopped = true;
    if (this.leaseTimer !== null) clearInterval(this.leaseTimer);
    await this.metaWatch?.stop();
    // A clean stop lets other nodes adopt what is left at once (not while JetStream cannot be written).
    if (this.currentHealth.ok) await this.leases.releaseOwn();
    this.clearTimer();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const unwritten = new StoreUnavailableError('store is closed');
    this.openWaiter?.reject(unwritten);
    this.openWaiter = null;
    await super.close();
    await this.onClose?.();
  }

  /** Notes that something is pending: the batch goes at the end of the turn (or commitDelayMs). */
  private touch(): void {
    if (this.loading || this.stopped || this.timer !== null || this.retryTimer !== null || this.writing) return;
    this.timer = this.commitDelayMs > 0 ? setTimeout(this.runNow, this.commitDelayMs) : setImmediate(this.runNow);
  }

  private readonly runNow = (): void => this.run();

  /** Ends the mirror's own batch now (synchronous: it frees unreferenced messages and reports drops). */
  private flushMirror(): void {
    super.commit().catch((err: unknown) => this.warn('drop listener failed', { err: (err as Error).message }));
  }

  private clearTimer(): void {
    if (this.timer === null) return;
    if (this.commitDelayMs > 0) clearTimeout(this.timer as NodeJS.Timeout);
    else clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = null;
  }

  /** Cuts the pending changes into a batch and writes it (one batch at a time). */
  private run(): void {
    this.clearTimer();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.writing || this.stopped) return;
    this.flushMirror();
    const waiter = this.openWaiter;
    this.openWaiter = null;
    if (this.pending.empty) {
      waiter?.resolve();
      return;
    }
    if (Date.now() - Math.max(this.lastHeard, this.leases.confirmedAt) > this.silenceMs) this.suspectOwnership('JetStream silent');
    const batch = this.cut();
    const startedAt = Date.now();
    this.writing = true;
    this.writingMeta = new Set(batch.meta.keys());
    this.writeBatch(batch).then(
      () => {
        this.lastHeard = startedAt;
        this.finished(waiter, null);
      },
      (err: unknown) => this.finished(waiter, err instanceof Error ? err : new Error(String(err))),
    );
  }

  private finished(waiter: Deferred | null, error: Error | null): void {
    this.writing = false;
    this.metaWritten();
    const writingWaiter = this.writingWaiter;
    this.writingWaiter = null;
    if (error === null) {
      if (!this.currentHealth.ok) this.setHealth({ ok: true });
      waiter?.resolve();
      writingWaiter?.resolve();
    } else {
      this.suspectOwnership('a batch failed');
      const unavailable = new StoreUnavailableError(`store cannot write to JetStream: ${error.message}`, { cause: error });
      if (this.currentHealth.ok) this.setHealth({ ok: false, reason: `JetStream: ${error.message}`, code: apiCode(error)?.toString() ?? null, since: Date.now() });
      waiter?.reject(unavailable);
      writingWaiter?.reject(unavailable);
    }
    if (this.stopped || this.pending.empty) {
      // Nothing left: a waiter that came while the batch was written with nothing new is answered.
      if (this.pending.empty && this.openWaiter !== null && error === null) {
        this.openWaiter.resolve();
        this.openWaiter = null;
      }
      return;
    }
    if (this.currentHealth.ok) this.run();
    else this.retryTimer = setTimeout(this.runNow, this.retryMs);
  }

  private cut(): Batch {
    const p = this.pending;
    this.pending = new Pending();
    const sessions = new Map<string, Uint8Array | null>();
    for (const clientId of p.sessions) {
      if (this.fenced.has(clientId)) continue;
      const state = this.sessionState(clientId);
      sessions.set(clientId, state === undefined ? null : encodeSession(this.nodeId, this.gens.get(clientId)!, state));
    }
    // A fenced session is another node's now: nothing of it is written here (its entries there are that node's).
    for (const [seq, append] of p.appends) if (this.fenced.has(append.clientId)) p.appends.delete(seq);
    for (const [k] of p.inflight) if (this.fenced.has(k.slice(0, k.indexOf('\u0000')))) p.inflight.delete(k);
    const removals: Array<[number, string, number]> = [];
    for (const [seq, clientId] of p.removals) {
      if (this.fenced.has(clientId)) continue;
      if (p.appends.delete(seq)) continue; // never written: nothing to delete
      const streamSeq = this.queueSeqs.get(clientId)?.get(seq);
      if (streamSeq !== undefined) removals.push([seq, clientId, streamSeq]);
    }
    const logRemovals: Array<[number, string, number]> = [];
    for (const [seq, log] of p.logRemovals) {
      if (p.logAppends.delete(seq)) continue;
      const streamSeq = this.logSeqs.get(log)?.get(seq);
      if (streamSeq !== undefined) logRemovals.push([seq, log, streamSeq]);
    }
    return {
      sessions,
      purges: new Set(p.purges),
      rawDeletes: new Set(p.rawDeletes),
      appends: [...p.appends],
      removals,
      inflight: [...p.inflight],
      inflightPurges: new Set(p.inflightPurges),
      retained: new Map(p.retained),
      wills: new Map(p.wills),
      meta: new Map(p.meta),
      logDrops: new Set(p.logDrops),
      logAppends: [...p.logAppends],
      logRemovals,
      publishes: p.publishes,
    };
  }

  /** Puts a batch's unwritten parts back into the pending changes. */
  private giveBack(batch: Batch): void {
    const p = this.pending;
    for (const clientId of batch.sessions.keys()) p.sessions.add(clientId);
    for (const subject of batch.purges) p.purges.add(subject);
    for (const seq of batch.rawDeletes) p.rawDeletes.add(seq);
    p.restoreAppends(batch.appends.filter(([, a]) => this.isCurrent(a)));
    for (const [seq, clientId] of batch.removals) p.removals.set(seq, clientId);
    for (const [k, v] of batch.inflight) Pending.restore(p.inflight, k, v);
    for (const filter of batch.inflightPurges) p.inflightPurges.add(filter);
    for (const [k, v] of batch.retained) Pending.restore(p.retained, k, v);
    for (const [k, v] of batch.wills) Pending.restore(p.wills, k, v);
    for (const [k, v] of batch.meta) Pending.restore(p.meta, k, v);
    for (const log of batch.logDrops) p.logDrops.add(log);
    p.restoreLogAppends(batch.logAppends.filter(([, a]) => this.logGen(a.log) === a.gen));
    for (const [seq, log] of batch.logRemovals) p.logRemovals.set(seq, log);
    p.publishes = [...batch.publishes, ...p.publishes];
  }

  private async writeBatch(cutBatch: Batch): Promise<void> {
    const { layout, jsm } = this;
    const batch = await this.verified(cutBatch);
    // Emptied queues and logs first: appends of the batch may go to the same subjects.
    const first: Array<Promise<unknown>> = [];
    for (const subject of batch.purges) first.push(jsm.streams.purge(layout.queuesStream, { filter: subject }));
    for (const log of batch.logDrops) first.push(jsm.streams.purge(layout.logsStream, { filter: layout.logSubject(log) }));
    for (const filter of batch.inflightPurges) first.push(jsm.streams.purge(`KV_${layout.inflightBucket}`, { filter }));
    if (first.length > 0) {
      const failed = (await Promise.allSettled(first)).find((r) => r.status === 'rejected');
      if (failed !== undefined) {
        this.giveBack(batch);
        throw failed.reason;
      }
    }

    const p = (): Pending => this.pending;
    const ops: Array<Promise<void>> = [];
    const op = (write: Promise<unknown>, onFail: () => void): void => {
      ops.push(
        write.then(
          () => undefined,
          (err: unknown) => {
            onFail();
            throw err;
          },
        ),
      );
    };
    for (const [clientId, data] of batch.sessions) op(this.writeSession(clientId, data), () => p().sessions.add(clientId));
    const publish = { timeout: this.writeTimeoutMs };
    for (const entry of batch.appends) {
      const [seq, append] = entry;
      op(
        this.js.publish(append.subject, append.data, { ...publish, msgID: `${this.nodeId}/${this.idEpoch}/${seq}` }).then((ack) => {
          if (!this.isCurrent(append)) return; // deleted since: reclaimed with its subject
          let seqs = this.queueSeqs.get(append.clientId);
          if (seqs === undefined) this.queueSeqs.set(append.clientId, (seqs = new Map()));
          seqs.set(seq, ack.seq);
        }),
        () => {
          if (this.isCurrent(append)) p().restoreAppends([entry]);
        },
      );
    }
    for (const [seq, clientId, streamSeq] of batch.removals) {
      op(
        this.deleteEntry(layout.queuesStream, streamSeq).then(() => this.queueSeqs.get(clientId)?.delete(seq)),
        () => p().removals.set(seq, clientId),
      );
    }
    for (const [k, write] of batch.inflight) {
      op(write.data === null ? this.kv.inflight.delete(write.key) : this.kv.inflight.put(write.key, write.data), () => Pending.restore(p().inflight, k, write));
    }
    for (const streamSeq of batch.rawDeletes) op(this.deleteEntry(layout.queuesStream, streamSeq), () => p().rawDeletes.add(streamSeq));
    for (const [topic, message] of batch.retained) {
      const key = layout.retainedKey(topic);
      op(message === null ? this.kv.retained.delete(key) : this.kv.retained.put(key, encodeRetained(topic, message)), () =>
        Pending.restore(p().retained, topic, message),
      );
    }
    for (const [clientId, will] of batch.wills) {
      const write =
        will === null
          ? this.removeWill(clientId)
          : this.kv.wills.put(layout.willKey(clientId), encodeWill(this.nodeId, will)).then((revision) => void this.willRevisions.set(clientId, revision));
      op(write, () => Pending.restore(p().wills, clientId, will));
    }
    for (const [key, json] of batch.meta) {
      op(this.writeMeta(key, json).then((revision) => this.ownMeta.wrote(key, revision)), () => Pending.restore(p().meta, key, json));
    }
    for (const entry of batch.logAppends) {
      const [seq, append] = entry;
      op(
        this.js.publish(layout.logSubject(append.log), append.data, { ...publish, msgID: `${this.nodeId}/${this.idEpoch}/${seq}` }).then((ack) => {
          if (this.logGen(append.log) !== append.gen) return; // dropped since: purged with its subject
          let seqs = this.logSeqs.get(append.log);
          if (seqs === undefined) this.logSeqs.set(append.log, (seqs = new Map()));
          seqs.set(seq, ack.seq);
        }),
        () => {
          if (this.logGen(append.log) === append.gen) p().restoreLogAppends([entry]);
        },
      );
    }
    for (const [seq, log, streamSeq] of batch.logRemovals) {
      op(
        this.deleteEntry(layout.logsStream, streamSeq).then(() => this.logSeqs.get(log)?.delete(seq)),
        () => p().logRemovals.set(seq, log),
      );
    }
    const unpublished: StagedPublish[] = [];
    for (const staged of batch.publishes) {
      op(this.js.publish(staged.subject, staged.data, { ...publish, msgID: staged.msgID }), () => unpublished.push(staged));
    }
    const failed = (await Promise.allSettled(ops)).find((r) => r.status === 'rejected');
    if (unpublished.length > 0) p().publishes = [...batch.publishes.filter((s) => unpublished.includes(s)), ...p().publishes];
    if (failed !== undefined) throw failed.reason;
  }

  /** Every session of this node is checked before its next write (see `unverified`). */
  private suspectOwnership(why: string): void {
    if (this.gens.size === 0) return;
    const before = this.unverified?.size ?? 0;
    this.unverified = new Set([...(this.unverified ?? []), ...this.gens.keys()]);
    if (before === 0) this.warn('checking who owns this node\'s sessions before writing them again', { why, sessions: this.unverified.size });
  }

  /**
   * The batch without the sessions that moved to another node: those of its sessions still
   * unverified are read first (one KV get each, in parallel). A session whose record another node
   * wrote since this node's last write is fenced, and nothing of it is written. When JetStream
   * cannot answer, the batch fails whole (given back, tried again).
   */
  private async verified(batch: Batch): Promise<Batch> {
    const unverified = this.unverified;
    if (unverified === null) return batch;
    const touched = new Set<string>(batch.sessions.keys());
    for (const [, append] of batch.appends) touched.add(append.clientId);
    for (const [, clientId] of batch.removals) touched.add(clientId);
    for (const [k] of batch.inflight) touched.add(k.slice(0, k.indexOf('\u0000')));
    const check = [...touched].filter((clientId) => unverified.has(clientId));
    if (check.length === 0) return batch;
    let entries: Array<KvEntry | null>;
    try {
      entries = await Promise.all(check.map((clientId) => this.kv.sessions.get(this.layout.sessionKey(clientId))));
    } catch (err) {
      this.giveBack(batch);
      throw err;
    }
    const moved = new Set<string>();
    check.forEach((clientId, i) => {
      unverified.delete(clientId);
      const entry = entries[i];
      if (entry === null || entry === undefined || entry.revision === this.revisions.get(clientId)) return; // still as this node wrote it
      const owner = entry.operation === 'PUT' ? sessionOwner(entry.value) : null;
      if (owner === this.nodeId) return;
      moved.add(clientId);
      this.fenced.add(clientId);
      this.warn('session taken over by another node while JetStream did not answer this one: its writes here are dropped', { clientId, owner });
    });
    if (unverified.size === 0) this.unverified = null;
    if (moved.size === 0) return batch;
    return {
      ...batch,
      sessions: new Map([...batch.sessions].filter(([clientId]) => !moved.has(clientId))),
      appends: batch.appends.filter(([, append]) => !moved.has(append.clientId)),
      removals: batch.removals.filter(([, clientId]) => !moved.has(clientId)),
      inflight: batch.inflight.filter(([k]) => !moved.has(k.slice(0, k.indexOf('\u0000')))),
    };
  }

  /**
   * Publishes a message on a stream of another module (the cluster's built-in queues, whose
   * stream it created) in the current batch: `whenDurable()` covers it like the store's own
   * writes (a PUBACK waiting for the batch waits for it), and a failed batch retries it.
   */
  stagePublish(subject: string, data: Uint8Array, msgID: string): void {
    if (this.stopped) throw new StoreUnavailableError('store is closed');
    this.pending.publishes.push({ subject, data, msgID });
    this.touch();
  }

  /**
   * Deletes a will this node wrote, loaded or took, naming its revision: one that another node
   * took over since (this node was counted as gone) is that node's now and stays. A will never
   * written (set and cleared within one batch) needs no write.
   */
  private async removeWill(clientId: string): Promise<void> {
    const revision = this.willRevisions.get(clientId);
    if (revision === undefined) return;
    try {
      await this.kv.wills.delete(this.layout.willKey(clientId), { previousSeq: revision });
    } catch (err) {
      if (!wrongLastSequence(err)) throw err;
    }
    this.willRevisions.delete(clientId);
  }

  /** Puts (or deletes, json null) a meta value and answers its revision, so the change feed knows it as this node's. */
  private async writeMeta(key: string, json: string | null): Promise<number> {
    if (json !== null) return this.kv.meta.put(key, json, { timeout: this.writeTimeoutMs });
    // KV delete answers nothing: the same deletion marker, published here for its revision.
    const h = headers();
    h.set('KV-Operation', 'DEL');
    const ack = await this.js.publish(`$KV.${this.layout.metaBucket}.${key}`, new Uint8Array(0), { headers: h, timeout: this.writeTimeoutMs });
    return ack.seq;
  }

  private async deleteEntry(stream: string, streamSeq: number): Promise<void> {
    try {
      await this.jsm.streams.deleteMessage(stream, streamSeq, false);
    } catch (err) {
      if (apiCode(err) !== NO_MESSAGE_FOUND) throw err; // already gone (a retry whose answer was lost)
    }
  }

  /**
   * Writes (or deletes, data null) a session record with the revision this node knows. A
   * conflict means someone else wrote it: this node's own write whose answer was lost, or a
   * first write here (the client moved to this node) → take the current revision and write; a
   * record another node wrote after this node's → the session moved away: fenced, not written.
   */
  private async writeSession(clientId: string, data: Uint8Array | null): Promise<void> {
    const kv = this.kv.sessions;
    const key = this.layout.sessionKey(clientId);
    for (let attempt = 0; attempt < 4; attempt++) {
      const revision = this.revisions.get(clientId);
      try {
        if (data === null) {
          if (revision === undefined || revision === 0) return;
          await kv.delete(key, { previousSeq: revision });
          this.revisions.set(clientId, 0);
        } else {
          this.revisions.set(clientId, await kv.put(key, data, { previousSeq: revision ?? 0, timeout: this.writeTimeoutMs }));
        }
        return;
      } catch (err) {
        if (!wrongLastSequence(err)) throw err;
      }
      const current = await kv.get(key);
      if (current === null || current.operation !== 'PUT') {
        this.revisions.set(clientId, current?.revision ?? 0);
        if (data === null) return;
        continue;
      }
      const owner = sessionOwner(current.value);
      if (owner === this.nodeId || revision === undefined) {
        this.revisions.set(clientId, current.revision);
        continue;
      }
      this.fenced.add(clientId);
      this.warn('session record written by another node since this one wrote it: the session moved there; this node stops writing it', {
        clientId,
        owner,
      });
      return;
    }
    throw new Error(`session ${clientId}: its record keeps changing under this node's writes`);
  }

  /** How many times a log was dropped in this run (0 for one never dropped): appends of an older generation are not mapped. */
  private logGen(log: string): number {
    return this.logGens.get(log) ?? 0;
  }

  private isCurrent(append: QueueAppend): boolean {
    const gen = this.gens.get(append.clientId);
    return gen !== undefined && this.layout.queueSubject(append.clientId, gen) === append.subject;
  }

  // Noting changes (after the mirror took them: a refused call notes nothing).

  private sessionChanged(clientId: string): void {
    if (this.loading) return;
    this.pending.sessions.add(clientId);
    this.touch();
  }

  private queueRemoved(clientId: string, seq: number): void {
    if (this.pending.appends.delete(seq)) return;
    if (this.loading && !this.queueSeqs.get(clientId)?.has(seq)) return;
    this.pending.removals.set(seq, clientId);
    this.touch();
  }

  // Sessions and subscriptions.

  override putSession(session: SessionRecord): void {
    const created = this.getSession(session.clientId) === undefined;
    super.putSession(session);
    if (created && !this.loading) this.gens.set(session.clientId, `${this.genPrefix}${(++this.genCounter).toString(36)}`);
    // This node owns the session now: write it even if another node had claimed it before.
    if (this.fenced.delete(session.clientId)) this.revisions.delete(session.clientId);
    this.sessionChanged(session.clientId);
  }

  override setDisconnectedAt(clientId: string, at: number | null): boolean {
    const known = super.setDisconnectedAt(clientId, at);
    if (known) this.sessionChanged(clientId);
    return known;
  }

  /**
   * The queue's entries stay in the mirror's reclaim list and on the session's subject until
   * purgeExpired reclaims them (the contract); the subject is then emptied in one purge.
   */
  override deleteSession(clientId: string): boolean {
    const depth = this.queueDepth(clientId);
    if (!super.deleteSession(clientId)) return false;
    const gen = this.gens.get(clientId);
    this.gens.delete(clientId);
    this.queueSeqs.delete(clientId);
    // Appends not written yet still go (to the old subject): after a restart they are the reclaimable entries.
    for (const [seq, owner] of this.pending.removals) if (owner === clientId) this.pending.removals.delete(seq);
    if (gen !== undefined) this.deadSubjects.push(this.layout.queueSubject(clientId, gen));
    // Its in-flight window goes at once, entries not written yet included.
    this.windows.delete(clientId);
    for (const k of this.pending.inflight.keys()) if (k.startsWith(`${clientId}\u0000`)) this.pending.inflight.delete(k);
    if (gen !== undefined) this.pending.inflightPurges.add(this.layout.inflightSubjects(clientId, gen));
    this.deadOutstanding += depth;
    this.sessionChanged(clientId);
    return true;
  }

  override async purgeExpired(now: number, budget: number): Promise<PurgeResult> {
    const result = await super.purgeExpired(now, budget);
    this.deadOutstanding = Math.max(0, this.deadOutstanding - result.reclaimed);
    if (this.deadOutstanding === 0 && this.deadSubjects.length > 0) {
      for (const subject of this.deadSubjects) this.pending.purges.add(subject);
      this.deadSubjects = [];
      this.touch();
    }
    const used = result.expiredSessions.length + result.expiredMessages + result.retentionDropped + result.expiredRetained + result.reclaimed;
    const take = Math.max(0, Math.min(budget - used, this.loadedDead.length));
    if (take === 0) return { ...result, done: result.done && this.loadedDead.length === 0 };
    for (const seq of this.loadedDead.splice(0, take)) this.pending.rawDeletes.add(seq);
    this.touch();
    return { ...result, reclaimed: result.reclaimed + take, done: result.done && this.loadedDead.length === 0 };
  }

  override putSubscription(subscription: SubscriptionRecord): void {
    super.putSubscription(subscription);
    this.sessionChanged(subscription.clientId);
  }

  override deleteSubscription(clientId: string, key: string): boolean {
    const removed = super.deleteSubscription(clientId, key);
    if (removed) this.sessionChanged(clientId);
    return removed;
  }

  // Queues.

  override enqueue(clientId: string, delivery: DeliveryInfo): number {
    const seq = super.enqueue(clientId, delivery);
    if (!this.loading) {
      const message = this.messageRecord(delivery.messageId)!;
      const subject = this.layout.queueSubject(clientId, this.gens.get(clientId)!);
      this.pending.appends.set(seq, { clientId, subject, data: encodeQueued(delivery, message) });
      this.touch();
    }
    return seq;
  }

  override removeQueued(clientId: string, seq: number): boolean {
    const removed = super.removeQueued(clientId, seq);
    if (removed) this.queueRemoved(clientId, seq);
    return removed;
  }

  override moveToInflight(clientId: string, seq: number, packetId: number): number {
    const inflightSeq = super.moveToInflight(clientId, seq, packetId);
    if (inflightSeq > 0) this.queueRemoved(clientId, seq);
    return inflightSeq;
  }

  // In-flight window and inbound QoS 2: parts of the session record.

  override addInflight(clientId: string, packetId: number, delivery: DeliveryInfo): number {
    const seq = super.addInflight(clientId, packetId, delivery);
    let window = this.windows.get(clientId);
    if (window === undefined) this.windows.set(clientId, (window = new Map()));
    const d = deliveryJson(delivery);
    window.set(packetId, { seq, delivery: d });
    if (!this.loading) this.inflightChanged(clientId, packetId, encodeInflight(seq, d, false, this.messageRecord(delivery.messageId)!));
    return seq;
  }

  override releaseInflight(clientId: string, packetId: number): boolean {
    const known = super.releaseInflight(clientId, packetId);
    const entry = this.windows.get(clientId)?.get(packetId);
    if (known && entry !== undefined && !this.loading) this.inflightChanged(clientId, packetId, encodeInflight(entry.seq, entry.delivery, true, null));
    return known;
  }

  override removeInflight(clientId: string, packetId: number): boolean {
    const known = super.removeInflight(clientId, packetId);
    if (known) {
      this.windows.get(clientId)?.delete(packetId);
      this.inflightChanged(clientId, packetId, null);
    }
    return known;
  }

  private inflightChanged(clientId: string, packetId: number, data: Uint8Array | null): void {
    const gen = this.gens.get(clientId);
    if (gen === undefined || this.fenced.has(clientId)) return;
    this.pending.inflight.set(`${clientId}\u0000${packetId}`, { key: this.layout.inflightKey(clientId, gen, packetId), data });
    this.touch();
  }

  override addInboundQos2(clientId: string, packetId: number): void {
    super.addInboundQos2(clientId, packetId);
    this.sessionChanged(clientId);
  }

  override removeInboundQos2(clientId: string, packetId: number): boolean {
    const known = super.removeInboundQos2(clientId, packetId);
    if (known) this.sessionChanged(clientId);
    return known;
  }

  // Retained, wills, metadata, records.

  override setRetained(topic: string, messageId: MessageId): void {
    super.setRetained(topic, messageId);
    if (this.loading) return;
    this.pending.retained.set(topic, this.messageRecord(messageId)!);
    this.touch();
  }

  override deleteRetained(topic: string): boolean {
    if (!super.deleteRetained(topic)) return false;
    if (this.loading) return true;
    this.pending.retained.set(topic, null);
    this.touch();
    return true;
  }

  override putWill(will: WillRecord): void {
    super.putWill(will);
    if (this.loading) return;
    this.pending.wills.set(will.clientId, { ...will });
    this.touch();
  }

  override deleteWill(clientId: string): boolean {
    if (!super.deleteWill(clientId)) return false;
    this.pending.wills.set(clientId, null);
    this.touch();
    return true;
  }

  override setMeta(key: string, value: unknown): void {
    super.setMeta(key, value);
    if (this.loading) return;
    this.pending.meta.set(this.layout.metaKey(key), JSON.stringify(value));
    this.touch();
  }

  override deleteMeta(key: string): boolean {
    if (!super.deleteMeta(key)) return false;
    this.pending.meta.set(this.layout.metaKey(key), null);
    this.touch();
    return true;
  }

  override putRecord(collection: string, key: string, value: unknown): void {
    super.putRecord(collection, key, value);
    if (this.loading) return;
    this.pending.meta.set(this.layout.recordKey(collection, key), JSON.stringify(value));
    this.touch();
  }

  override deleteRecord(collection: string, key: string): boolean {
    if (!super.deleteRecord(collection, key)) return false;
    this.pending.meta.set(this.layout.recordKey(collection, key), null);
    this.touch();
    return true;
  }

  // Claims: values of the meta bucket the nodes agree on, written with create / compare-and-set at
  // once (not batched) and kept out of the mirror and the change feed (src/cluster/bootstrap-claim.ts).

  /** A claim as the bucket holds it now, with its revision; null when none was made. */
  async readClaim(name: string): Promise<{ value: unknown; revision: number } | null> {
    const entry = await this.kv.meta.get(this.layout.claimKey(name));
    if (entry === null || entry.operation !== 'PUT') return null;
    return { value: JSON.parse(Buffer.from(entry.value).toString('utf8')) as unknown, revision: entry.revision };
  }

  /**
   * Makes `value` the claim when the bucket still holds it at `revision` (0: no claim yet).
   * False when another node wrote it first (read it again); rejects when JetStream cannot answer.
   */
  async writeClaim(name: string, value: unknown, revision: number): Promise<boolean> {
    const key = this.layout.claimKey(name);
    const data = Buffer.from(JSON.stringify(value), 'utf8');
    try {
      if (revision === 0) await this.kv.meta.create(key, data);
      else await this.kv.meta.update(key, data, revision);
      return true;
    } catch (err) {
      if (apiCode(err) === WRONG_LAST_SEQUENCE || /wrong last sequence|key exists/i.test((err as Error).message)) return false;
      throw err;
    }
  }

  // Records other nodes write: the change feed (meta-feed.ts, docs/cluster.md).

  onRecordChanged(collection: string, listener: RecordListener): () => void {
    let listeners = this.recordListeners.get(collection);
    if (listeners === undefined) this.recordListeners.set(collection, (listeners = []));
    listeners.push(listener);
    return () => {
      const list = this.recordListeners.get(collection);
      const at = list?.indexOf(listener) ?? -1;
      if (at >= 0) list!.splice(at, 1);
    };
  }

  /** Starts following the meta bucket after `revision` (openJetStreamStore, once loaded). */
  followMeta(revision: number): void {
    this.metaWatch = new MetaWatch({
      kv: this.kv.meta,
      connection: this.connection,
      after: revision,
      onEntry: (entry) => this.metaEntry(entry),
      retryMs: this.retryMs,
      warn: this.warn,
    });
  }

  private metaEntry(entry: KvEntry): void {
    if (this.stopped) return;
    // A key this node is writing now: whether the entry is older than that write is known once its revision is back.
    if (this.deferredMeta.length > 0 || this.writingMeta.has(entry.key)) {
      this.deferredMeta.push(entry);
      return;
    }
    this.applyMeta(entry);
  }

  /** The batch's answers are back (its meta revisions noted): the entries that waited for them go on. */
  private metaWritten(): void {
    this.writingMeta = new Set();
    const deferred = this.deferredMeta;
    this.deferredMeta = [];
    for (const entry of deferred) this.applyMeta(entry);
  }

  /** Applies another node's change to the mirror and tells the collection's listeners; drops this node's own. */
  private applyMeta(entry: KvEntry): void {
    // This node has a newer write of the key pending (it replaces the entry) or this is its own.
    if (this.stopped || this.pending.meta.has(entry.key) || !this.ownMeta.isNews(entry.key, entry.revision)) return;
    const name = this.layout.parseMetaKey(entry.key);
    if (name === null) return;
    const json = entry.operation === 'PUT' ? Buffer.from(entry.value).toString('utf8') : undefined;
    if ('meta' in name) {
      this.readable('meta value', entry.key, () => (json === undefined ? super.deleteMeta(name.meta) : super.setMeta(name.meta, JSON.parse(json))));
      return;
    }
    const before = this.recordJson(name.collection, name.key);
    if (before === json) return; // what this node has already (its load saw it)
    this.readable('record', entry.key, () => {
      const value: unknown = json === undefined ? undefined : JSON.parse(json);
      const previous: unknown = before === undefined ? undefined : JSON.parse(before);
      if (value === undefined) super.deleteRecord(name.collection, name.key);
      else super.putRecord(name.collection, name.key, value);
      for (const listener of this.recordListeners.get(name.collection) ?? []) {
        try {
          listener(name.key, value, previous);
        } catch (err) {
          this.warn('record change listener failed', { collection: name.collection, key: name.key, err: (err as Error).message });
        }
      }
    });
  }

  // Logs.

  override appendLog(log: string, meta: string, payload: Buffer, createdAt: number): number {
    const seq = super.appendLog(log, meta, payload, createdAt);
    if (!this.loading) {
      this.pending.logAppends.set(seq, { log, gen: this.logGen(log), data: encodeLogEntry(log, meta, payload, createdAt) });
      this.touch();
    }
    return seq;
  }

  override removeLog(log: string, seq: number): void {
    super.removeLog(log, seq);
    if (this.pending.logAppends.delete(seq)) return;
    // Noted even when the entry's stream sequence is not known yet: its append may be in the batch
    // being written, whose answer maps it before the next batch is cut (cut() skips one never written).
    this.pending.logRemovals.set(seq, log);
    this.touch();
  }

  override dropLog(log: string): void {
    super.dropLog(log);
    this.logGens.set(log, this.logGen(log) + 1);
    this.logSeqs.delete(log);
    for (const [seq, append] of this.pending.logAppends) if (append.log === log) this.pending.logAppends.delete(seq);
    for (const [seq, owner] of this.pending.logRemovals) if (owner === log) this.pending.logRemovals.delete(seq);
    this.pending.logDrops.add(log);
    this.touch();
  }

  /**
   * The largest message this store can carry: a stream or KV write holds one message with a
   * small header, and NATS refuses a write over its max_payload (1 MiB by default).
   */
  get maxMessageBytes(): number {
    return Math.max(0, (this.connection.info?.max_payload ?? 1024 * 1024) - WRITE_OVERHEAD);
  }

  // Sessions moving between nodes (src/cluster/handover.ts).

  /** The node that last wrote a session's record; null when there is none. */
  async ownerOf(clientId: string): Promise<string | null> {
    const entry = await this.kv.sessions.get(this.layout.sessionKey(clientId));
    return entry === null || entry.operation !== 'PUT' ? null : sessionOwner(entry.value);
  }

  /** A session's record as another node last wrote it (its owner and filters); null when there is none. */
  async peekSession(clientId: string): Promise<{ owner: string | null; subscriptions: readonly SubscriptionRecord[] } | null> {
    const entry = await this.kv.sessions.get(this.layout.sessionKey(clientId));
    if (entry === null || entry.operation !== 'PUT') return null;
    try {
      const doc = decodeSession(entry.value);
      return { owner: doc.owner, subscriptions: doc.subscriptions };
    } catch {
      return { owner: sessionOwner(entry.value), subscriptions: [] };
    }
  }

  /** The sessions (store keys) whose record names `nodeId` as its owner: those of a node that left, for another to take over. */
  async sessionsOwnedBy(nodeId: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const { key, value } of bucketEntries(this.kv.sessions)) {
      this.readable('session', key, () => {
        const doc = decodeSession(value);
        if (doc.owner === nodeId) keys.push(doc.session.clientId);
      });
    }
    return keys;
  }

  /**
   * Takes a session over from the node that held it: reads its record and its queue from
   * JetStream into the mirror and writes the record as this node's with the revision it read
   * (compare-and-set; read again when another write came between). Returns the session as
   * loadSessions would, or undefined when there is none — or, with `from`, when its record
   * names another owner than `from` (someone else took it over first).
   */
  async adoptSession(clientId: string, from?: string): Promise<LoadedSession | undefined> {
    const key = this.layout.sessionKey(clientId);
    for (let attempt = 0; attempt < 4; attempt++) {
      const mine = this.sessionState(clientId);
      if (mine !== undefined) return mine;
      const entry = await this.kv.sessions.get(key);
      if (entry === null || entry.operation !== 'PUT') return undefined;
      const doc = decodeSession(entry.value);
      if (from !== undefined && doc.owner !== from) return undefined;
      const queued: Array<{ seq: number; data: Uint8Array }> = [];
      for await (const e of streamEntries(this.js, this.layout.queuesStream, this.layout.queueSubject(clientId, doc.gen))) queued.push(e);
      const window: Array<{ packetId: number; entry: InflightEntry }> = [];
      for await (const { key: k, value } of bucketEntries(this.kv.inflight, this.layout.inflightKeys(clientId, doc.gen))) {
        this.readable('in-flight entry', k, () => window.push({ packetId: this.layout.parseInflightKey(k).packetId, entry: decodeInflight(value) }));
      }
      if (this.getSession(clientId) !== undefined) continue; // created here meanwhile
      this.loading = true;
      try {
        this.adopt(doc, entry.revision);
        this.adoptInflight(clientId, window);
        for (const e of queued) this.readable('queue entry', `${clientId}#${e.seq}`, () => this.adoptQueued(clientId, e.seq, e.data));
      } finally {
        this.loading = false;
      }
      this.fenced.delete(clientId);
      const state = this.sessionState(clientId)!;
      try {
        this.revisions.set(clientId, await this.kv.sessions.put(key, encodeSession(this.nodeId, doc.gen, state), { previousSeq: entry.revision, timeout: this.writeTimeoutMs }));
        this.flushMirror();
        return this.sessionState(clientId);
      } catch (err) {
        this.forget(clientId);
        if (!wrongLastSequence(err)) throw err;
      }
    }
    throw new Error(`session ${clientId}: its record keeps changing while this node takes it over`);
  }

  /** The wills (store keys) whose record names `nodeId`: those of a node that left, for the node taking its sessions over. */
  async willsOwnedBy(nodeId: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const { key, value } of bucketEntries(this.kv.wills)) {
      this.readable('will', key, () => {
        const { owner, will } = decodeWill(value);
        if (owner === nodeId) keys.push(will.clientId);
      });
    }
    return keys;
  }

  /**
   * Takes over the will of a node that left: rewritten as this node's with the revision read
   * (compare-and-set), so that exactly one node gets it — and the node, back, no longer loads it,
   * or cannot claim it if it loaded it first (claimWill). Undefined when there is none or its
   * record names another node than `from` (someone took it first, or its node is back).
   */
  async adoptWill(clientId: string, from: string): Promise<WillRecord | undefined> {
    const key = this.layout.willKey(clientId);
    const entry = await this.kv.wills.get(key);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    const { owner, will } = decodeWill(entry.value);
    if (owner !== from) return undefined;
    let revision: number;
    try {
      revision = await this.kv.wills.put(key, encodeWill(this.nodeId, will), { previousSeq: entry.revision, timeout: this.writeTimeoutMs });
    } catch (err) {
      if (wrongLastSequence(err)) return undefined;
      throw err;
    }
    this.loading = true;
    try {
      super.putWill(will);
    } finally {
      this.loading = false;
    }
    this.willRevisions.set(clientId, revision);
    return will;
  }

  /**
   * A will of this node is due: deletes its record naming the revision this node knows, and
   * answers whether it is still this node's to publish — false when another node took it over
   * meanwhile (it publishes it, or its client came back there). Rejects when JetStream cannot
   * answer (the caller decides).
   */
  async claimWill(clientId: string): Promise<boolean> {
    // Its write (or the batch writing it) first: then its revision is known.
    if (this.pending.wills.has(clientId) || this.writing) await this.whenDurable();
    const revision = this.willRevisions.get(clientId);
    let mine = true;
    if (revision !== undefined) {
      try {
        await this.kv.wills.delete(this.layout.willKey(clientId), { previousSeq: revision });
      } catch (err) {
        if (!wrongLastSequence(err)) throw err;
        mine = false;
      }
    }
    if (this.willRevisions.get(clientId) === revision) this.willRevisions.delete(clientId);
    // Gone from the mirror without a write of its own (the record is deleted, or another node's),
    // unless a newer will of the client was set meanwhile.
    if (!this.pending.wills.has(clientId)) super.deleteWill(clientId);
    return mine;
  }

  /**
   * Lets go of a session another node takes over: what was recorded for it is written first
   * (as this node's), then it leaves the mirror without being deleted, and this node writes it
   * no more (until its client comes back here: putSession).
   */
  async releaseSession(clientId: string): Promise<void> {
    await this.commit();
    this.forget(clientId);
  }

  /** Removes a session from the mirror only (no write). */
  private forget(clientId: string): void {
    this.loading = true;
    try {
      super.deleteSession(clientId);
    } finally {
      this.loading = false;
    }
    this.fenced.add(clientId);
    this.pending.sessions.delete(clientId);
    this.windows.delete(clientId);
    this.gens.delete(clientId);
    this.queueSeqs.delete(clientId);
    this.revisions.delete(clientId);
  }

  // Loading.

  /** Fills the mirror from JetStream: shared state, and the sessions, wills and logs this node owns. */
  async load(): Promise<void> {
    // Before its logs are read: a node that adopted them after a crash may still be moving them.
    let waited = false;
    const adoptedBy = await this.leases.acquireOwn((holder) => {
      if (!waited) this.warn('waiting for another node to finish moving this node\'s durable logs', { holder });
      waited = true;
    });
    if (adoptedBy !== null) this.warn('another node adopted this node\'s durable logs while it was down: it delivered what was left', { by: adoptedBy });
    this.leaseTimer = setInterval(() => {
      this.renewLease().catch((err: unknown) => this.warn('renewing the lease on this node\'s durable logs failed', { err: (err as Error).message }));
    }, Math.max(50, this.leases.leaseMs / 4));
    this.leaseTimer.unref();
    this.loading = true;
    try {
      for await (const { key, value } of bucketEntries(this.kv.meta)) {
        const name = this.layout.parseMetaKey(key);
        const json = Buffer.from(value).toString('utf8');
        if (name === null) continue;
        if ('meta' in name) super.setMeta(name.meta, JSON.parse(json));
        else super.putRecord(name.collection, name.key, JSON.parse(json));
      }
      for await (const { key, value } of bucketEntries(this.kv.retained)) {
        this.readable('retained message', key, () => {
          const { topic, message } = decodeRetained(value);
          super.setRetained(topic, super.addMessage(message));
        });
      }
      // Every session's queue generation: an entry of none is a deleted session's (reclaimed by purgeExpired).
      const live = new Map<string, string>();
      for await (const { key, revision, value } of bucketEntries(this.kv.sessions)) {
        this.readable('session', key, () => {
          const doc = decodeSession(value);
          live.set(doc.session.clientId, doc.gen);
          if (doc.owner === this.nodeId) this.adopt(doc, revision);
        });
      }
      // In-flight windows of this node's sessions; those of deleted sessions are removed.
      const windows = new Map<string, Array<{ packetId: number; entry: InflightEntry }>>();
      for await (const { key, value } of bucketEntries(this.kv.inflight)) {
        const { clientId, gen, packetId } = this.layout.parseInflightKey(key);
        if (live.get(clientId) !== gen) this.pending.inflightPurges.add(this.layout.inflightSubjects(clientId, gen));
        else if (this.gens.get(clientId) === gen) {
          this.readable('in-flight entry', key, () => {
            let list = windows.get(clientId);
            if (list === undefined) windows.set(clientId, (list = []));
            list.push({ packetId, entry: decodeInflight(value) });
          });
        }
      }
      for (const [clientId, list] of windows) this.adoptInflight(clientId, list);
      for await (const entry of streamEntries(this.js, this.layout.queuesStream, this.layout.queueSubjects)) {
        const { clientId, gen } = this.layout.parseQueueSubject(entry.subject);
        if (live.get(clientId) !== gen) this.loadedDead.push(entry.seq);
        else if (this.gens.get(clientId) === gen) {
          this.readable('queue entry', `${clientId}#${entry.seq}`, () => this.adoptQueued(clientId, entry.seq, entry.data));
        } // else another node's session
      }
      for await (const { key, revision, value } of bucketEntries(this.kv.wills)) {
        this.readable('will', key, () => {
          const { owner, will } = decodeWill(value);
          if (owner !== this.nodeId) return;
          super.putWill(will);
          this.willRevisions.set(will.clientId, revision);
        });
      }
      for await (const entry of streamEntries(this.js, this.layout.logsStream, this.layout.ownLogSubjects)) {
        this.readable('log entry', `${untoken(entry.subject.split('.').at(-1)!)}#${entry.seq}`, () => {
          const { log, meta, payload, createdAt } = decodeLogEntry(entry.data);
          const seq = super.appendLog(log, meta, payload, createdAt);
          let seqs = this.logSeqs.get(log);
          if (seqs === undefined) this.logSeqs.set(log, (seqs = new Map()));
          seqs.set(seq, entry.seq);
        });
      }
    } finally {
      this.loading = false;
    }
    this.flushMirror(); // frees what loading left unreferenced; drops over the caps become removals
    if (!this.pending.empty) this.touch();
  }

  /** Puts a session record read from JetStream into the mirror (as this node's). */
  private adopt(doc: ReturnType<typeof decodeSession>, revision: number): void {
    const clientId = doc.session.clientId;
    super.putSession(doc.session);
    for (const sub of doc.subscriptions) super.putSubscription(sub);
    for (const id of doc.inbound) super.addInboundQos2(clientId, id);
    this.revisions.set(clientId, revision);
    this.gens.set(clientId, doc.gen);
  }

  /** Puts a session's in-flight window read from JetStream into the mirror, in window order. */
  private adoptInflight(clientId: string, entries: Array<{ packetId: number; entry: InflightEntry }>): void {
    entries.sort((x, y) => x.entry.seq - y.entry.seq);
    for (const { packetId, entry } of entries) {
      // A released entry's message is gone (the client has it): a placeholder, freed at once.
      const message = entry.message ?? { topic: '', payload: Buffer.alloc(0), qos: entry.delivery.qos, retain: false, properties: null, expiresAt: 0, createdAt: 0 };
      this.addInflight(clientId, packetId, { ...entry.delivery, messageId: super.addMessage(message) });
      if (entry.released) this.releaseInflight(clientId, packetId);
    }
  }

  private adoptQueued(clientId: string, streamSeq: number, data: Uint8Array): void {
    const { delivery, message } = decodeQueued(data);
    const seq = super.enqueue(clientId, { ...delivery, messageId: super.addMessage(message) });
    let seqs = this.queueSeqs.get(clientId);
    if (seqs === undefined) this.queueSeqs.set(clientId, (seqs = new Map()));
    seqs.set(seq, streamSeq);
  }

  /** Runs a decode; an unreadable record is reported and skipped, never silently. */
  private readable(kind: string, key: string, body: () => void): void {
    try {
      body();
    } catch (err) {
      this.warn(`unreadable ${kind} in JetStream skipped`, { key, err: (err as Error).message });
    }
  }
}

