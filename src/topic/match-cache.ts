/**
 * A bounded cache of match results: topic → the (subscriber, options) pairs and shared groups a
 * walk of the subscription trie visits, in visit order. At high rates the same few topics are
 * published over and over, and matching them was 12–24 % of the broker's CPU (bench/RESULTS.md,
 * issue 2 profiles); replaying a stored result is a map lookup and a loop over flat arrays.
 *
 * Invalidation follows nats-server's Sublist cache, made cheaper: a change to a literal filter
 * can only alter the result of the one topic equal to it, so only that entry goes; a change to a
 * wildcard filter clears the whole cache (checking every entry against the filter would cost a
 * subscribe storm more than rebuilding the few hot entries costs publishers).
 *
 * Bounds: at most `maxEntries` topics (the oldest inserted goes first, tracked in a ring of
 * keys: evicting through the Map's own order is not O(1), as V8 walks past the holes earlier
 * deletes left at its front), no topic longer than `maxTopicLength`, and no result with more than
 * `maxResultSize` matches (a wide fan-out walks its subscriber map about as fast as it would
 * replay a copy of it, and the copy would pin memory per cached topic).
 *
 * Admission: when more distinct topics cycle than the cache holds (10,000 devices each on its
 * own telemetry topic), every lookup misses and every result stored is evicted unused. Those
 * results live just long enough to be promoted to V8's old generation, and collecting them made
 * a miss many times as expensive as a plain walk (bench/RESULTS.md, issue 15); even without
 * storing, the lookup in a large map of cold entries cost ~0.9× a walk. So while a full cache
 * answers fewer than half of a window's lookups, only one lookup in CONSULT_SAMPLE looks at the
 * cache (the rest walk at once), and only one such miss in ADMIT_SAMPLE is stored: a working
 * set that fits still fills the cache (and the hit rate turns the cache fully back on), one that
 * does not costs about a plain walk.
 */
import type { MatchVisitor, SharedGroup } from './trie.js';

export interface MatchCacheLimits {
  readonly maxEntries: number;
  readonly maxTopicLength: number;
  readonly maxResultSize: number;
}

export const DEFAULT_MATCH_CACHE_LIMITS: MatchCacheLimits = {
  maxEntries: 4096,
  maxTopicLength: 512,
  maxResultSize: 256,
};

/** One stored result: parallel arrays, so replay allocates nothing. */
export class MatchResult<S, O> {
  readonly subscribers: S[] = [];
  readonly options: O[] = [];
  readonly groups: Array<SharedGroup<S, O>> = [];

  get size(): number {
    return this.subscribers.length + this.groups.length;
  }

  replay(visitor: MatchVisitor<S, O>): void {
    const subscribers = this.subscribers;
    const options = this.options;
    for (let i = 0; i < subscribers.length; i++) visitor.subscriber(subscribers[i]!, options[i]!);
    const groups = this.groups;
    for (let i = 0; i < groups.length; i++) visitor.sharedGroup(groups[i]!);
  }
}

/** A visitor that records what a walk visits; the walk aborts nothing, the caller checks size. */
export class MatchRecorder<S, O> implements MatchVisitor<S, O> {
  result = new MatchResult<S, O>();

  subscriber(subscriber: S, options: O): void {
    this.result.subscribers.push(subscriber);
    this.result.options.push(options);
  }

  sharedGroup(group: SharedGroup<S, O>): void {
    this.result.groups.push(group);
  }

  /** Hands the recorded result over and starts a fresh one. */
  take(): MatchResult<S, O> {
    const result = this.result;
    this.result = new MatchResult<S, O>();
    return result;
  }
}

/** Lookups per window over which the hit rate is judged. */
const WINDOW = 1024;
/** While the hit rate is low, one lookup in this many consults the cache... */
const CONSULT_SAMPLE = 16;
/** ...and one miss among those in this many is stored. */
const ADMIT_SAMPLE = 64;

export class MatchCache<S, O> {
  private readonly entries = new Map<string, MatchResult<S, O>>();
  /**
   * Keys in insertion order, overwritten round the ring. A key deleted early (invalidation) may
   * still sit here, or twice if re-inserted: evicting it then drops nothing or a newer entry a
   * little early, never leaves more than `maxEntries` in the map.
   */
  private ring: Array<string | undefined> = [];
  private ringNext = 0;
  /** Lookups answered from the cache and lookups that walked the trie (for tests and metrics). */
  hits = 0;
  misses = 0;
  /** Results stored (misses admitted). */
  stores = 0;
  private windowLookups = 0;
  private windowHits = 0;
  /** 1 = store every miss; ADMIT_SAMPLE = store one in that many (low hit rate, see above). */
  private admitEvery = 1;
  private admitSkip = 0;
  /** 1 = every lookup consults the cache; CONSULT_SAMPLE = one in that many (low hit rate). */
  private consultEvery = 1;
  private consultSkip = 0;

  constructor(readonly limits: MatchCacheLimits = DEFAULT_MATCH_CACHE_LIMITS) {}

  get size(): number {
    return this.entries.size;
  }

  cacheable(topic: string): boolean {
    return topic.length <= this.limits.maxTopicLength && this.limits.maxEntries > 0;
  }

  /** True if this lookup should walk the trie without looking at the cache (see Admission). */
  bypass(): boolean {
    return this.consultEvery !== 1 && ++this.consultSkip % this.consultEvery !== 0;
  }

  /** Whether the result of a miss is to be recorded and stored (see Admission above). */
  admit(): boolean {
    return this.admitEvery === 1 || ++this.admitSkip % this.admitEvery === 0;
  }

  get(topic: string): MatchResult<S, O> | undefined {
    const result = this.entries.get(topic);
    if (result === undefined) this.misses++;
    else {
      this.hits++;
      this.windowHits++;
    }
    if (++this.windowLookups === WINDOW) {
      const full = this.entries.size >= this.limits.maxEntries;
      const low = full && this.windowHits * 2 < WINDOW;
      this.admitEvery = low ? ADMIT_SAMPLE : 1;
      this.consultEvery = low ? CONSULT_SAMPLE : 1;
      this.windowLookups = 0;
      this.windowHits = 0;
    }
    return result;
  }

  set(topic: string, result: MatchResult<S, O>): void {
    if (result.size > this.limits.maxResultSize) return;
    const ring = this.ring;
    const slot = this.ringNext;
    if (slot < ring.length) {
      const oldest = ring[slot];
      if (oldest !== undefined) this.entries.delete(oldest);
      ring[slot] = topic;
    } else {
      ring.push(topic); // the ring grows to maxEntries with the cache, not up front
    }
    this.ringNext = slot + 1 === this.limits.maxEntries ? 0 : slot + 1;
    this.entries.set(topic, result);
    this.stores++;
  }

  /** A subscription on `filter` was added, replaced or removed. */
  invalidate(filter: string): void {
    if (this.entries.size === 0) return;
    if (filter.includes('+') || filter.includes('#')) {
      this.entries.clear();
      this.ring = [];
      this.ringNext = 0;
    } else {
      this.entries.delete(filter);
    }
  }
}
