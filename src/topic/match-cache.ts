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
 * Bounds: at most `maxEntries` topics (the oldest inserted goes first, like Sublist's sweep of
 * a random slice), no topic longer than `maxTopicLength`, and no result with more than
 * `maxResultSize` matches (a wide fan-out walks its subscriber map about as fast as it would
 * replay a copy of it, and the copy would pin memory per cached topic).
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

export class MatchCache<S, O> {
  private readonly entries = new Map<string, MatchResult<S, O>>();
  /** Lookups answered from the cache and lookups that walked the trie (for tests and metrics). */
  hits = 0;
  misses = 0;

  constructor(readonly limits: MatchCacheLimits = DEFAULT_MATCH_CACHE_LIMITS) {}

  get size(): number {
    return this.entries.size;
  }

  cacheable(topic: string): boolean {
    return topic.length <= this.limits.maxTopicLength && this.limits.maxEntries > 0;
  }

  get(topic: string): MatchResult<S, O> | undefined {
    const result = this.entries.get(topic);
    if (result === undefined) this.misses++;
    else this.hits++;
    return result;
  }

  set(topic: string, result: MatchResult<S, O>): void {
    if (result.size > this.limits.maxResultSize) return;
    if (this.entries.size >= this.limits.maxEntries) {
      // Map iteration is insertion order: the first key is the oldest entry.
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(topic, result);
  }

  /** A subscription on `filter` was added, replaced or removed. */
  invalidate(filter: string): void {
    if (this.entries.size === 0) return;
    if (filter.includes('+') || filter.includes('#')) this.entries.clear();
    else this.entries.delete(filter);
  }
}
