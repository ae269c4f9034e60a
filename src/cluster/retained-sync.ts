/**
 * The retained set of the cluster (docs/cluster.md, "Retained messages"): every node keeps all of
 * it, each message and each deletion with its version (retained-versions.ts), and a node only
 * ever takes what is newer than what it has, per topic.
 *
 * - Live: a retained message (or deletion) published on this node gets a new version and goes to
 *   every node on `<prefix>.r`.
 * - Catch-up: a node that starts, or comes back after losing NATS, asks on `<prefix>.r.sync`;
 *   the nodes that hold the cluster's set (synced) answer in one NATS queue group, so exactly one
 *   answers: `{"chunks": n}`, then n chunks of entries, tombstones included, on an inbox of the
 *   asking node. The node merges them (newer wins), then sends on `<prefix>.r` what it holds that
 *   the answer lacked or had older (a message set, or deleted, while the answering node was away):
 *   the others merge it the same way. "No responders" means no node holds the set yet (the first
 *   node, or all starting at once): the node sends its whole set, so nodes that started together
 *   still end up with the same set.
 * - Until it is synced the node answers nobody and is not ready.
 *
 * With the JetStream store every node loads the same retained messages and versions from
 * JetStream at start, so the catch-up finds nothing newer; it still brings a node that lost NATS
 * up to date with what it missed.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import { Message } from '../session/message.js';
import { RECORD_PAGE_MAX } from '../store/types.js';
import { chunkEntries, decodeRetainedEntry, encodeRetainedEntry, splitChunk, type RetainedEntry } from './retained-entry.js';
import { compareVersions, RetainedVersions, ZERO, type Version, type VersionEntry, type VersionJournal } from './retained-versions.js';
import type { Subjects } from './subjects.js';

/** Entries per chunk stop growing past this many bytes (NATS' default max payload is 1 MiB). */
const CHUNK_BYTES = 256 * 1024;
const QUEUE = 'retained-sync';
const RETRY_MS = 1000;
const PRUNE_MS = 60_000;
/** Store records (keyed records of the node's store) holding the versions. */
const COLLECTION = 'cluster-retained';

interface SyncRequest {
  readonly inbox: string;
  readonly node: string;
}

/** A version as stored: `t` timestamp, `n` node, `d` deleted, `x` expiry. */
interface StoredVersion {
  readonly t: number;
  readonly n: string;
  readonly d?: true;
  readonly x?: number;
}

export class RetainedSync {
  readonly versions: RetainedVersions;
  private connection: NatsConnection | null = null;
  private answering: Subscription | null = null;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly pruneTimer: NodeJS.Timeout;
  private stopped = false;
  /** True once this node holds the cluster's retained set. */
  synced = false;
  /** Entries from other nodes that could not be read. */
  unreadable = 0;

  constructor(
    private readonly broker: Broker,
    private readonly subjects: Subjects,
    private readonly nodeId: string,
    private readonly origin: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {
    const store = broker.persistence?.store ?? null;
    const journal: VersionJournal | null =
      store === null
        ? null
        : {
            put: (key, v) => store.putRecord(COLLECTION, key, { t: v.ts, n: v.node, ...(v.deleted ? { d: true } : {}), ...(v.expiresAt !== 0 ? { x: v.expiresAt } : {}) } satisfies StoredVersion),
            delete: (key) => void store.deleteRecord(COLLECTION, key),
          };
    this.versions = new RetainedVersions(nodeId, journal);
    this.pruneTimer = setInterval(() => this.versions.prune(), PRUNE_MS);
    this.pruneTimer.unref();
  }

  /** Reads the versions kept in the store; messages restored without one count as oldest (ZERO). */
  async load(): Promise<void> {
    const store = this.broker.persistence?.store;
    if (store !== undefined) {
      let after: string | undefined;
      for (;;) {
        const page = await store.listRecords(COLLECTION, { limit: RECORD_PAGE_MAX, ...(after === undefined ? {} : { after }) });
        for (const { key, value } of page) {
          const v = value as StoredVersion;
          if (typeof v?.t === 'number' && typeof v.n === 'string') this.versions.restore(key, { ts: v.t, node: v.n, deleted: v.d === true, expiresAt: v.x ?? 0 });
        }
        if (page.length < RECORD_PAGE_MAX) break;
        after = page[page.length - 1]!.key;
      }
    }
    const now = Date.now();
    for (const tenant of this.broker.tenants.values()) {
      for (const m of tenant.retained.all(now)) this.versions.adopt(`${tenant.instanceId}/${m.topic}`, m.expiresAt);
    }
    this.versions.prune();
  }

  /** Connected for the first time. */
  attach(connection: NatsConnection): void {
    this.connection = connection;
    connection.subscribe(this.subjects.retained(), { callback: (err, msg) => void (err === null && this.received(msg.data)) });
    this.start();
  }

  /** Back after a NATS loss: updates may have been missed, so stop answering and take the set again. */
  reconnected(): void {
    if (this.connection === null) return;
    this.answering?.unsubscribe();
    this.answering = null;
    this.synced = false;
    this.start();
  }

  /** A retained message published on this node (an empty payload deletes): versioned and sent to every node. */
  published(instanceId: string, message: Message): void {
    const key = `${instanceId}/${message.topic}`;
    const version = this.versions.local(key, message.payload.length === 0, message.expiresAt);
    const connection = this.connection;
    // Cut off from NATS: the next catch-up sends it (newer than what the others have).
    if (connection === null || connection.isClosed()) return;
    const [chunk] = chunkEntries([this.encode(key, version, message)], CHUNK_BYTES);
    connection.publish(this.subjects.retained(), chunk!);
  }

  /**
   * A retained message an operator deleted on this node (the API): a deletion like an empty
   * retained publish, so every node loses it, and a node that was away gets the tombstone when it
   * catches up.
   */
  deleted(instanceId: string, topic: string): void {
    this.published(instanceId, new Message(topic, Buffer.alloc(0), 0, true, undefined, 0, null));
  }

  /** Entries from another node on `<prefix>.r` (a live update, or what a node catching up had newer). */
  private received(data: Uint8Array): void {
    let entries: Buffer[];
    try {
      entries = splitChunk(data).entries;
    } catch {
      this.unreadable++;
      return;
    }
    for (const bytes of entries) this.take(bytes, null);
  }

  private start(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const attempt = ++this.attempt;
    this.sync(attempt).catch((err: unknown) => {
      if (this.stopped || attempt !== this.attempt) return;
      this.logger.warn({ err: (err as Error).message, retryInMs: RETRY_MS }, 'cannot take the retained messages of the cluster; retrying');
      this.retryTimer = setTimeout(() => this.start(), RETRY_MS);
      this.retryTimer.unref();
    });
  }

  private async sync(attempt: number): Promise<void> {
    const connection = this.connection;
    if (connection === null || this.stopped) return;
    const inbox = `${this.subjects.retainedSync()}.in.${this.origin.replace(/[^A-Za-z0-9_-]/g, '_')}.${attempt}`;
    const chunks = new Map<number, Buffer[]>();
    let wanted = -1;
    let done: (() => void) | null = null;
    const sub = connection.subscribe(inbox, {
      callback: (err, msg) => {
        if (err !== null) return;
        try {
          const { index, entries } = splitChunk(msg.data);
          chunks.set(index, entries);
        } catch {
          this.unreadable++;
          return;
        }
        if (chunks.size === wanted) done?.();
      },
    });
    try {
      let answer: { chunks: number; messages: number };
      try {
        const reply = await connection.request(this.subjects.retainedSync(), JSON.stringify({ inbox, node: this.nodeId } satisfies SyncRequest), { timeout: this.timeoutMs });
        answer = reply.json<{ chunks: number; messages: number }>();
      } catch (err) {
        if (!isNoResponders(err)) throw err;
        if (attempt !== this.attempt || this.stopped) return;
        // Nobody holds the set yet; nodes starting at the same moment all get here, and each
        // sends its set to the others, who keep what is newer.
        const sent = this.send(connection, () => true);
        this.logger.info({ sent }, 'no node holds retained messages yet; this node keeps its own and sent it to the others');
        this.becomeSynced(connection);
        return;
      }
      wanted = answer.chunks;
      if (chunks.size < wanted) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`got ${chunks.size} of ${wanted} chunks within ${this.timeoutMs} ms`)), this.timeoutMs);
          done = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      if (attempt !== this.attempt || this.stopped) return;
      const theirs = new Map<string, Version>();
      let changed = 0;
      for (const index of [...chunks.keys()].sort((a, b) => a - b)) {
        for (const bytes of chunks.get(index)!) if (this.take(bytes, theirs)) changed++;
      }
      // What this node has newer than the answer (set or deleted while the answering node was away) goes to every node.
      const sent = this.send(connection, (key, mine) => {
        const other = theirs.get(key);
        return other === undefined || compareVersions(mine, other) > 0;
      });
      this.logger.info({ messages: answer.messages, changed, sent }, 'took the retained messages of the cluster');
      this.becomeSynced(connection);
    } finally {
      sub.unsubscribe();
    }
  }

  private becomeSynced(connection: NatsConnection): void {
    this.synced = true;
    this.answering?.unsubscribe();
    this.answering = connection.subscribe(this.subjects.retainedSync(), {
      queue: QUEUE,
      callback: (err, msg) => {
        if (err !== null) return;
        try {
          const request = msg.json<SyncRequest>();
          const chunks = chunkEntries(this.own(() => true), CHUNK_BYTES);
          msg.respond(JSON.stringify({ chunks: chunks.length, messages: this.retainedCount() }));
          for (const chunk of chunks) connection.publish(request.inbox, chunk);
          this.logger.info({ to: request.node, chunks: chunks.length }, 'sent the retained messages to a node catching up');
        } catch (e) {
          this.logger.warn({ err: (e as Error).message }, 'cannot answer a retained messages request');
        }
      },
    });
  }

  /** Sends on `<prefix>.r` the entries of this node that `wanted` selects; returns how many. */
  private send(connection: NatsConnection, wanted: (key: string, version: VersionEntry) => boolean): number {
    let count = 0;
    const entries = this.own((key, version) => {
      if (!wanted(key, version)) return false;
      count++;
      return true;
    });
    for (const chunk of chunkEntries(entries, CHUNK_BYTES)) connection.publish(this.subjects.retained(), chunk);
    return count;
  }

  /** This node's retained messages and tombstones, encoded, those `wanted` selects. */
  private *own(wanted: (key: string, version: VersionEntry) => boolean): IterableIterator<Buffer> {
    const now = Date.now();
    for (const tenant of this.broker.tenants.values()) {
      for (const m of tenant.retained.all(now)) {
        const key = `${tenant.instanceId}/${m.topic}`;
        const known = this.versions.get(key);
        const version = known === undefined || known.deleted ? { ...ZERO, deleted: false, expiresAt: m.expiresAt } : known;
        if (wanted(key, version)) yield this.encode(key, version, m);
      }
    }
    for (const [key, version] of this.versions.deletions()) if (wanted(key, version)) yield this.encode(key, version, null);
  }

  private retainedCount(): number {
    let count = 0;
    for (const tenant of this.broker.tenants.values()) count += tenant.retained.size;
    return count;
  }

  private encode(key: string, version: VersionEntry, m: Message | null): Buffer {
    return encodeRetainedEntry({
      version,
      envelope: {
        origin: this.origin,
        seq: 0,
        topic: key,
        qos: m?.qos ?? 0,
        retain: true,
        wantsAck: false,
        expiresAt: m?.expiresAt ?? 0,
        properties: m?.properties,
        payload: m?.payload ?? Buffer.alloc(0),
      },
    });
  }

  /**
   * Takes one entry from another node when it is newer than what this node has for its topic.
   * `seen` collects the versions of an answer. Returns true when it changed something here.
   */
  private take(bytes: Buffer, seen: Map<string, Version> | null): boolean {
    let entry: RetainedEntry;
    try {
      entry = decodeRetainedEntry(bytes);
    } catch {
      this.unreadable++;
      return false;
    }
    const { envelope: e, version } = entry;
    if (e.origin === this.origin) return false;
    const slash = e.topic.indexOf('/');
    if (slash < 0) return false;
    seen?.set(e.topic, version);
    if (!this.versions.offer(e.topic, version)) return false;
    const instanceId = e.topic.slice(0, slash);
    const topic = e.topic.slice(slash + 1);
    if (version.deleted) return this.broker.deleteRetainedFromPeer(instanceId, topic);
    this.broker.retainFromPeer(instanceId, new Message(topic, Buffer.from(e.payload), e.qos, true, e.properties, e.expiresAt, null));
    return true;
  }

  close(): void {
    this.stopped = true;
    this.attempt++;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    clearInterval(this.pruneTimer);
    this.answering = null;
    this.connection = null;
  }
}

/** nats.js wraps the NoResponders error of a request in a RequestError (its cause). */
function isNoResponders(err: unknown): boolean {
  const e = err as { message?: string; name?: string; cause?: { name?: string } };
  return e.name === 'NoResponders' || e.cause?.name === 'NoResponders' || /no responders/i.test(e.message ?? '');
}
