/**
 * Rebuilds the broker's durable state from the store at start, before any listener accepts:
 * sessions with subscriptions, in-flight windows, inbound QoS 2 ids and queues; retained
 * messages; pending wills. Session expiry and will delays continue from when the client
 * disconnected; a client that was connected when the process died counts as gone now.
 */
import type { LoadedSession } from '../store/types.js';
import type { Message } from '../session/message.js';
import type { SubscriptionOptions } from '../session/session.js';
import type { Broker } from './broker.js';
import type { Persistence } from './persistence.js';
import { splitStoreKey } from './tenant.js';

export interface RestoreSummary {
  sessions: number;
  retained: number;
  wills: number;
}

/**
 * One stored session into the broker: subscriptions (in the trie), in-flight window, inbound QoS 2
 * ids; its queue stays in the store. Its expiry runs from when its client disconnected. Returns
 * the filters it added to the instance (new to the trie), for the interest of a cluster.
 */
export function restoreSession(
  broker: Broker,
  persistence: Persistence,
  loaded: LoadedSession,
  messages: Map<number, Message>,
  now: number,
): Array<{ filter: string; shareGroup: string | null }> {
  const record = loaded.session;
  const { instanceId, name: clientId } = splitStoreKey(record.clientId);
  const tenant = broker.tenant(instanceId);
  const session = broker.newSession(tenant, clientId);
  session.expiryInterval = Math.min(record.expiryInterval, broker.options.maxSessionExpiry);
  session.journal = persistence;
  const added: Array<{ filter: string; shareGroup: string | null }> = [];
  for (const sub of loaded.subscriptions) {
    const options: SubscriptionOptions = {
      qos: sub.qos,
      noLocal: sub.noLocal,
      retainAsPublished: sub.retainAsPublished,
      retainHandling: sub.retainHandling,
      subscriptionId: sub.subscriptionId,
      shareGroup: sub.shareGroup,
      filter: sub.filter,
    };
    session.setSubscription(sub.key, options);
    const isNew =
      options.shareGroup === null ? tenant.trie.add(options.filter, session, options) : tenant.trie.addShared(options.shareGroup, options.filter, session, options);
    if (isNew) added.push({ filter: options.filter, shareGroup: options.shareGroup });
  }
  for (const entry of loaded.inflight) {
    const delivery = entry.message === null ? null : persistence.deliveryFrom(entry, persistence.messageFrom(entry.message, messages));
    session.restoreInflight({ packetId: entry.packetId, qos: entry.qos, delivery, released: entry.released });
  }
  for (const id of loaded.inboundQos2) session.restoreInboundQos2(id);
  // The queue stays in the store; it streams in when the client connects.
  session.hasStored = loaded.queueDepth > 0;
  const gone = record.disconnectedAt ?? now;
  broker.startExpiry(session, session.expiryInterval * 1000 - (now - gone));
  return added;
}

export async function restoreState(broker: Broker, persistence: Persistence): Promise<RestoreSummary> {
  const store = persistence.store;
  const messages = new Map<number, Message>();
  const now = Date.now();
  let sessions = 0;
  for await (const loaded of store.loadSessions()) {
    restoreSession(broker, persistence, loaded, messages, now);
    sessions++;
  }
  let retained = 0;
  for await (const record of store.loadRetained()) {
    const { instanceId } = splitStoreKey(record.topic);
    broker.tenant(instanceId).retained.set(persistence.messageFrom(record.message, messages));
    retained++;
  }
  let wills = 0;
  for await (const record of store.loadWills()) {
    const { instanceId, name: clientId } = splitStoreKey(record.clientId);
    const session = broker.tenant(instanceId).sessions.get(clientId);
    const will = persistence.willFrom(record);
    if (session === undefined) broker.publishWill(null, will, instanceId);
    // A will whose client was connected when the node stopped (delayMs): its connection is lost now.
    else broker.armWill(session, will, record.delayMs !== undefined ? record.delayMs : record.publishAt - now);
    wills++;
  }
  return { sessions, retained, wills };
}
