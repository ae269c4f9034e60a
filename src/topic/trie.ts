/**
 * Subscription index: a trie over topic levels. Wildcard children are fields, not map entries
 * (as in NATS' Sublist), so a match walks at most three branches per level without hashing '+'
 * or '#'. Values are keyed by subscriber, so one subscriber holds at most one entry per filter.
 *
 *   root ─ "sensors" ─ plus ─ "temp"      holds subscribers of  sensors/+/temp
 *                    └ hash               holds subscribers of  sensors/#
 *
 * Shared subscriptions ($share/<group>/<filter>) live on the same node as their filter, in a
 * map of groups; the router picks one member per group.
 *
 * Results are cached per topic (./match-cache.ts); every change below invalidates what it can
 * affect.
 *
 * The index never throws on input: filters and topics are validated at the edge (channel/).
 */
import { MatchCache, MatchRecorder, type MatchCacheLimits } from './match-cache.js';

export interface SharedGroup<S, O> {
  readonly name: string;
  readonly filter: string;
  readonly members: Map<S, O>;
  /** The members in join order, for round-robin selection by index. */
  readonly order: S[];
  cursor: number;
}

class TrieNode<S, O> {
  literal: Map<string, TrieNode<S, O>> | null = null;
  plus: TrieNode<S, O> | null = null;
  hash: TrieNode<S, O> | null = null;
  subscribers: Map<S, O> | null = null;
  shared: Map<string, SharedGroup<S, O>> | null = null;

  isEmpty(): boolean {
    return (
      this.literal === null &&
      this.plus === null &&
      this.hash === null &&
      this.subscribers === null &&
      this.shared === null
    );
  }
}

/** Receives matches; called once per (subscriber, filter) pair and once per shared group. */
export interface MatchVisitor<S, O> {
  subscriber(subscriber: S, options: O): void;
  sharedGroup(group: SharedGroup<S, O>): void;
}

export class SubscriptionTrie<S, O> {
  private readonly root = new TrieNode<S, O>();
  private subscriptionCount = 0;
  readonly cache: MatchCache<S, O>;
  private readonly recorder = new MatchRecorder<S, O>();

  constructor(cacheLimits?: MatchCacheLimits) {
    this.cache = new MatchCache<S, O>(cacheLimits);
  }

  get size(): number {
    return this.subscriptionCount;
  }

  /** Adds or replaces the subscriber's entry for `filter`. Returns true if it was new. */
  add(filter: string, subscriber: S, options: O): boolean {
    const node = this.nodeFor(filter, true)!;
    node.subscribers ??= new Map();
    const isNew = !node.subscribers.has(subscriber);
    node.subscribers.set(subscriber, options);
    if (isNew) this.subscriptionCount++;
    this.cache.invalidate(filter);
    return isNew;
  }

  remove(filter: string, subscriber: S): boolean {
    const path = this.pathTo(filter);
    const node = path?.[path.length - 1];
    if (!path || !node?.subscribers?.delete(subscriber)) return false;
    if (node.subscribers.size === 0) node.subscribers = null;
    this.subscriptionCount--;
    this.prune(path, filter);
    this.cache.invalidate(filter);
    return true;
  }

  addShared(group: string, filter: string, subscriber: S, options: O): boolean {
    const node = this.nodeFor(filter, true)!;
    node.shared ??= new Map();
    let entry = node.shared.get(group);
    if (!entry) {
      entry = { name: group, filter, members: new Map(), order: [], cursor: 0 };
      node.shared.set(group, entry);
      // A new group is a new match; members of an existing one are read through the group.
      this.cache.invalidate(filter);
    }
    const isNew = !entry.members.has(subscriber);
    entry.members.set(subscriber, options);
    if (isNew) {
      entry.order.push(subscriber);
      this.subscriptionCount++;
    }
    return isNew;
  }

  removeShared(group: string, filter: string, subscriber: S): boolean {
    const path = this.pathTo(filter);
    const node = path?.[path.length - 1];
    const entry = node?.shared?.get(group);
    if (!path || !node || !entry?.members.delete(subscriber)) return false;
    entry.order.splice(entry.order.indexOf(subscriber), 1);
    this.subscriptionCount--;
    if (entry.members.size === 0) {
      node.shared!.delete(group);
      if (node.shared!.size === 0) node.shared = null;
      this.prune(path, filter);
      this.cache.invalidate(filter);
    }
    return true;
  }

  getShared(group: string, filter: string): SharedGroup<S, O> | undefined {
    const path = this.pathTo(filter);
    return path?.[path.length - 1]?.shared?.get(group);
  }

  /**
   * Visits every subscription whose filter matches `topic`.
   * [MQTT-4.7.2-1] A topic starting with '$' is not matched by a filter starting with a wildcard.
   */
  match(topic: string, visitor: MatchVisitor<S, O>): void {
    const cache = this.cache;
    if (!cache.cacheable(topic) || cache.bypass()) {
      this.walk(topic, visitor);
      return;
    }
    let result = cache.get(topic);
    if (result === undefined) {
      if (!cache.admit()) {
        this.walk(topic, visitor);
        return;
      }
      // Record first, then replay: the walk sees a trie no visitor can have changed.
      this.walk(topic, this.recorder);
      result = this.recorder.take();
      cache.set(topic, result);
    }
    result.replay(visitor);
  }

  /** The plain matcher, without the cache. */
  walk(topic: string, visitor: MatchVisitor<S, O>): void {
    const levels = topic.split('/');
    this.matchLevel(this.root, levels, 0, visitor, topic.charCodeAt(0) === 0x24 /* $ */);
  }

  private matchLevel(
    node: TrieNode<S, O>,
    levels: string[],
    depth: number,
    visitor: MatchVisitor<S, O>,
    dollar: boolean,
  ): void {
    const wildcardsAllowed = !(dollar && depth === 0);
    // '#' matches the parent level too: "a/#" matches "a" [MQTT-4.7.1-2].
    if (node.hash !== null && wildcardsAllowed) visitNode(node.hash, visitor);
    if (depth === levels.length) {
      visitNode(node, visitor);
      return;
    }
    const level = levels[depth]!;
    if (node.plus !== null && wildcardsAllowed) {
      this.matchLevel(node.plus, levels, depth + 1, visitor, dollar);
    }
    const child = node.literal?.get(level);
    if (child !== undefined) this.matchLevel(child, levels, depth + 1, visitor, dollar);
  }

  private nodeFor(filter: string, create: boolean): TrieNode<S, O> | undefined {
    let node = this.root;
    for (const level of filter.split('/')) {
      let next: TrieNode<S, O> | null | undefined;
      if (level === '+') {
        next = node.plus;
        if (!next && create) next = node.plus = new TrieNode();
      } else if (level === '#') {
        next = node.hash;
        if (!next && create) next = node.hash = new TrieNode();
      } else {
        next = node.literal?.get(level);
        if (!next && create) {
          next = new TrieNode();
          (node.literal ??= new Map()).set(level, next);
        }
      }
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  /** Nodes from the root to the filter's node, or undefined if the filter has no node. */
  private pathTo(filter: string): TrieNode<S, O>[] | undefined {
    const path: TrieNode<S, O>[] = [this.root];
    let node = this.root;
    for (const level of filter.split('/')) {
      const next = level === '+' ? node.plus : level === '#' ? node.hash : node.literal?.get(level);
      if (!next) return undefined;
      path.push(next);
      node = next;
    }
    return path;
  }

  /** Drops empty nodes bottom-up so unsubscribed filters leave no garbage behind. */
  private prune(path: TrieNode<S, O>[], filter: string): void {
    const levels = filter.split('/');
    for (let i = path.length - 1; i > 0; i--) {
      const node = path[i]!;
      if (!node.isEmpty()) return;
      const parent = path[i - 1]!;
      const level = levels[i - 1]!;
      if (level === '+') parent.plus = null;
      else if (level === '#') parent.hash = null;
      else {
        parent.literal!.delete(level);
        if (parent.literal!.size === 0) parent.literal = null;
      }
    }
  }
}

function visitNode<S, O>(node: TrieNode<S, O>, visitor: MatchVisitor<S, O>): void {
  if (node.subscribers !== null) {
    for (const [subscriber, options] of node.subscribers) visitor.subscriber(subscriber, options);
  }
  if (node.shared !== null) {
    for (const group of node.shared.values()) visitor.sharedGroup(group);
  }
}
