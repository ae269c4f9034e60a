/**
 * Everything that is per instance (tenant): the session registry, the subscription index,
 * retained messages and shared groups. Two instances never see each other's client ids,
 * topics or retained messages because they never share one of these structures.
 */
import type { Session, SubscriptionOptions } from '../session/session.js';
import { SubscriptionTrie } from '../topic/trie.js';
import { RetainedStore } from './retained.js';

export class Tenant {
  readonly sessions = new Map<string, Session>();
  readonly trie = new SubscriptionTrie<Session, SubscriptionOptions>();
  readonly retained: RetainedStore;
  /** Connected clients of this instance (maintained by the broker). */
  connections = 0;

  constructor(
    readonly instanceId: string,
    maxRetainedMessages: number,
  ) {
    this.retained = new RetainedStore(maxRetainedMessages);
  }
}

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
