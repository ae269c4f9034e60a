/**
 * Everything that is per instance (tenant): the session registry, the subscription index,
 * retained messages and shared groups. Two instances never see each other's client ids,
 * topics or retained messages because they never share one of these structures.
 */
import type { TopicStats } from '../session/message.js';
import type { Session, SubscriptionOptions } from '../session/session.js';
import { SubscriptionTrie } from '../topic/trie.js';
import { RetainedStore } from './retained.js';

export class Tenant {
  readonly sessions = new Map<string, Session>();
  readonly trie = new SubscriptionTrie<Session, SubscriptionOptions>();
  readonly retained: RetainedStore;
  /** Connected clients of this instance (maintained by the broker). */
  connections = 0;
  /** Messages routed in this instance, deliveries written and their bytes (metrics read these). */
  messagesIn = 0;
  messagesOut = 0;
  bytesOut = 0;
  /** Per parent topic (first level) counters; at most MAX_TOPIC_STATS, the rest share OTHER_TOPICS. */
  readonly topics = new Map<string, TopicStats>();

  constructor(
    readonly instanceId: string,
    maxRetainedMessages: number,
  ) {
    this.retained = new RetainedStore(maxRetainedMessages);
  }

  /** The counters of a topic's parent topic (its first level), created on first use. */
  topicStats(topic: string): TopicStats {
    const slash = topic.indexOf('/');
    const parent = slash < 0 ? topic : topic.slice(0, slash);
    const known = this.topics.get(parent);
    if (known !== undefined) return known;
    const key = this.topics.size < MAX_TOPIC_STATS ? parent : OTHER_TOPICS;
    let stats = this.topics.get(key);
    if (stats === undefined) {
      stats = { in: 0, out: 0 };
      this.topics.set(key, stats);
    }
    return stats;
  }
}

/** Parent topics counted one by one per instance (bounds metric label cardinality). */
export const MAX_TOPIC_STATS = 1000;
/** Where parent topics beyond MAX_TOPIC_STATS are counted. */
export const OTHER_TOPICS = '_other';

/**
 * Keys of per-instance records in a store shared by all instances: `<instanceId>\x1f<name>`.
 * Instance ids never contain U+001F, so the first one splits the key unambiguously.
 */
const SEPARATOR = '\u001f';

export function storeKey(instanceId: string, name: string): string {
  return instanceId + SEPARATOR + name;
}

export function splitStoreKey(key: string): { instanceId: string; name: string } {
  const at = key.indexOf(SEPARATOR);
  return at < 0 ? { instanceId: '', name: key } : { instanceId: key.slice(0, at), name: key.slice(at + 1) };
}
