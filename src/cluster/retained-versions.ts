/**
 * Which retained message of a topic is the newest, cluster-wide (docs/cluster.md, "Retained
 * messages"). Every retained message and every deletion (an empty retained publish) gets a
 * version where it is published: a hybrid logical clock in microseconds (wall clock, but never
 * behind what this node has made or seen) with the node id as tie-break. A node takes another
 * node's update of a topic only when it is newer than what it holds for that topic, so merging is
 * commutative and idempotent: nodes that got the same updates, in any order and any number of
 * times, hold the same set, and an answer from a node that missed something never replaces a
 * newer message.
 *
 * A deletion is kept as a tombstone (a version without a message) for TOMBSTONE_MS, at most
 * MAX_TOMBSTONES of them, so that a node that was away when a message was deleted cannot bring it
 * back; a retained message that expires becomes a tombstone too. A node away for longer than
 * that may bring back a message deleted meanwhile (documented).
 *
 * Keys are `<instanceId>/<topic>`. What changes is written through a journal (the node's store,
 * retained-sync.ts) in the same batch as the retained message, so a node restarted on its store
 * knows how new its set is.
 */

export interface Version {
  /** Microseconds since the epoch, from a hybrid logical clock. */
  readonly ts: number;
  /** The node that made the change: the tie-break between equal timestamps. */
  readonly node: string;
}

export interface VersionEntry extends Version {
  /** A deletion (tombstone): the topic has no retained message as of this version. */
  readonly deleted: boolean;
  /** The message's absolute expiry (ms since the epoch), 0 = never; in a tombstone, when the message it stands for expired (0: deleted). */
  readonly expiresAt: number;
}

/** A message held without a known version (restored from a store written before versions): older than every versioned change. */
export const ZERO: Version = { ts: 0, node: '' };

/** How long a deletion is remembered: a node away for longer may bring the deleted message back. */
export const TOMBSTONE_MS = 7 * 24 * 60 * 60 * 1000;
/** At most this many deletions are remembered (the oldest go first): bounded memory. */
export const MAX_TOMBSTONES = 100_000;

export function compareVersions(a: Version, b: Version): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** Where versions are kept across restarts. */
export interface VersionJournal {
  put(key: string, entry: VersionEntry): void;
  delete(key: string): void;
}

export interface VersionLimits {
  readonly tombstoneMs: number;
  readonly maxTombstones: number;
}

export class RetainedVersions {
  private readonly entries = new Map<string, VersionEntry>();
  /** The keys of tombstones, in the order they were recorded: the count cap drops the first. */
  private readonly tombstones = new Set<string>();
  /** The highest timestamp made or seen here (the logical half of the clock). */
  private last = 0;

  constructor(
    private readonly node: string,
    private readonly journal: VersionJournal | null,
    private readonly limits: VersionLimits = { tombstoneMs: TOMBSTONE_MS, maxTombstones: MAX_TOMBSTONES },
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get tombstoneCount(): number {
    return this.tombstones.size;
  }

  get(key: string): VersionEntry | undefined {
    return this.entries.get(key);
  }

  /** The version of a change made on this node: later than everything this node has made or seen. */
  next(): Version {
    const ts = Math.max(this.now() * 1000, this.last + 1);
    this.last = ts;
    return { ts, node: this.node };
  }

  /** A retained message set (`deleted` false) or deleted on this node: recorded with a new version, which it returns. */
  local(key: string, deleted: boolean, expiresAt: number): VersionEntry {
    const entry: VersionEntry = { ...this.next(), deleted, expiresAt: deleted ? 0 : expiresAt };
    this.record(key, entry, true);
    return entry;
  }

  /** Another node's version of a key: recorded, and true (apply it), only when it is newer than this node's. */
  offer(key: string, entry: VersionEntry): boolean {
    if (entry.ts > this.last) this.last = entry.ts;
    const current = this.entries.get(key);
    if (current !== undefined && compareVersions(entry, current) <= 0) return false;
    this.record(key, entry, true);
    return true;
  }

  /** A version loaded from the store at start: kept unless a newer one is known already. */
  restore(key: string, entry: VersionEntry): void {
    if (entry.ts > this.last) this.last = entry.ts;
    const current = this.entries.get(key);
    if (current !== undefined && compareVersions(entry, current) <= 0) return;
    this.record(key, entry, false);
  }

  /** A message this node holds without a version (see ZERO); nothing when the key has one. */
  adopt(key: string, expiresAt: number): void {
    if (!this.entries.has(key)) this.entries.set(key, { ...ZERO, deleted: false, expiresAt });
  }

  /** Every tombstone, oldest first. */
  *deletions(): IterableIterator<[string, VersionEntry]> {
    for (const key of this.tombstones) yield [key, this.entries.get(key)!];
  }

  /**
   * Housekeeping: a message that expired becomes a tombstone (an older copy elsewhere must not
   * come back), tombstones past TOMBSTONE_MS are forgotten. Returns how many tombstones went.
   */
  prune(): number {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (!entry.deleted && entry.expiresAt !== 0 && now >= entry.expiresAt) this.record(key, { ...entry, deleted: true }, true);
    }
    let dropped = 0;
    for (const key of [...this.tombstones]) {
      const entry = this.entries.get(key)!;
      // A tombstone's age counts from the deletion, or from the expiry it stands for.
      if (now - Math.max(entry.ts / 1000, entry.expiresAt) < this.limits.tombstoneMs) continue;
      this.forget(key);
      dropped++;
    }
    return dropped;
  }

  private record(key: string, entry: VersionEntry, journal: boolean): void {
    this.entries.set(key, entry);
    this.tombstones.delete(key);
    if (journal) this.journal?.put(key, entry);
    if (!entry.deleted) return;
    this.tombstones.add(key);
    while (this.tombstones.size > this.limits.maxTombstones) this.forget(this.tombstones.values().next().value!);
  }

  private forget(key: string): void {
    this.entries.delete(key);
    this.tombstones.delete(key);
    this.journal?.delete(key);
  }
}
