/**
 * The change feed of the meta bucket (docs/cluster.md, "Metadata across nodes"): one KV watch per
 * node that hands every change of the bucket, in revision order, to the store, which keeps those
 * other nodes made (OwnWrites tells its own apart) and applies them to its mirror.
 *
 * The watch starts at the bucket's revision read before the store loaded it, so nothing written
 * in between is missed (what the load already saw compares equal and is dropped by the store).
 * It resumes after the last revision it delivered whenever it ends or the connection to NATS is
 * back after a loss: a KV bucket keeps each key's latest state (history 1) in revision order,
 * so a resumed watch delivers the latest state of every key changed meanwhile, deletions
 * included (a deletion is a marker that stays the key's latest state).
 */
import type { KV, KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

/**
 * Which changes of the watch are news to this node. The store notes the revision of each of its
 * own meta writes; an entry of a key whose own write is not yet echoed by the watch is either that
 * write (same revision) or older than it (a change made before it that it replaces): neither is
 * news. Entries come in revision order, so once the echo passed every later entry is news.
 */
export class OwnWrites {
  /** Key → revision of this node's last write of it whose echo has not come yet. */
  private readonly unechoed = new Map<string, number>();

  /** A write of this node is in the bucket at `revision`. */
  wrote(key: string, revision: number): void {
    if ((this.unechoed.get(key) ?? 0) < revision) this.unechoed.set(key, revision);
  }

  /** Whether the watch's entry of `key` at `revision` is another node's change not replaced by one of this node's. */
  isNews(key: string, revision: number): boolean {
    const own = this.unechoed.get(key);
    if (own === undefined) return true;
    if (revision < own) return false;
    this.unechoed.delete(key);
    return revision > own;
  }

  /** Writes whose echo has not come yet (tests). */
  get size(): number {
    return this.unechoed.size;
  }
}

export interface MetaWatchOptions {
  readonly kv: KV;
  readonly connection: NatsConnection;
  /** The bucket's last revision before the store loaded it: the watch starts after it. */
  readonly after: number;
  /** Every entry, in revision order (deletions have operation DEL or PURGE). */
  readonly onEntry: (entry: KvEntry) => void;
  /** Pause before a watch that failed or ended is opened again, ms. */
  readonly retryMs: number;
  readonly warn: (message: string, detail: Record<string, unknown>) => void;
}

export class MetaWatch {
  /** The last revision delivered. */
  private seen: number;
  private stopped = false;
  private current: { stop(): void } | null = null;
  private failing = false;
  /** Ends the pause between two watches (stop). */
  private wake: () => void = () => undefined;
  private readonly running: Promise<void>;

  constructor(private readonly options: MetaWatchOptions) {
    this.seen = options.after;
    this.running = this.run();
    this.followConnection().catch((err: unknown) => options.warn('meta watch: NATS status feed failed', { err: (err as Error).message }));
  }

  private async run(): Promise<void> {
    const { kv, onEntry, retryMs, warn } = this.options;
    while (!this.stopped) {
      try {
        const iterator = await kv.watch({ resumeFromRevision: this.seen + 1 });
        if (this.stopped) {
          iterator.stop();
          return;
        }
        this.current = iterator;
        if (this.failing) warn('meta watch: following the metadata of other nodes again', { after: this.seen });
        this.failing = false;
        for await (const entry of iterator) {
          if (entry.revision <= this.seen) continue; // a restarted consumer's repeat
          this.seen = entry.revision;
          onEntry(entry);
        }
      } catch (err) {
        if (this.stopped) return;
        // Once per outage: metadata changed elsewhere reaches this node when the watch is back.
        if (!this.failing) warn('meta watch: cannot follow the metadata of other nodes; retrying', { after: this.seen, err: (err as Error).message });
        this.failing = true;
      } finally {
        this.current = null;
      }
      // A closed connection never comes back (a reconnect keeps it open): nothing to wait for, and
      // the retry timer would keep the process alive.
      if (this.options.connection.isClosed()) this.stopped = true;
      if (!this.stopped) await new Promise<void>((resolve) => (this.wake = resolve, setTimeout(resolve, retryMs)));
    }
  }

  /** After a reconnect the old consumer may be gone or stalled: open a new one after `seen`. */
  private async followConnection(): Promise<void> {
    for await (const status of this.options.connection.status()) {
      if (this.stopped) return;
      if (status.type === 'reconnect') this.current?.stop();
    }
    // The status feed ends when the connection is closed: so does the watch.
    this.stopped = true;
    this.current?.stop();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.stop();
    this.wake();
    await this.running;
  }
}
