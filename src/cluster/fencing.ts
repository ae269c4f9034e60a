/**
 * Fencing (docs/cluster.md, "A node counted as gone"): a node the others counted as gone (stalled
 * or cut off past the gone threshold, presence.ts) was not routed to meanwhile, so what other nodes
 * published and acknowledged then never reached its clients. Its clean-session clients must be
 * told: their connections are ended (MQTT 5: DISCONNECT 0x9C Use another server; 3.1.1: the socket
 * closes), they reconnect and subscribe again, and from then on get what is published. Their
 * sessions hold nothing that outlives the connection, so ending them loses nothing. A session
 * without subscriptions missed nothing (P2P messages go to the node holding the session, which
 * answers them, whatever the others know of its interest): a publishing-only client stays.
 *
 * Persistent sessions are not ended here: with clusterStore jetstream another node took them over
 * with their queues (Handover.letGoOfMoved lets go of them, 0x8E), or kept refusing QoS 1/2 for
 * them until it had; with clusterStore local they stay on this node (docs/cluster.md "Not yet").
 */
import { Counter, type Registry } from 'prom-client';
import type { Broker } from '../broker/broker.js';
import type { ClientHandle } from '../broker/hooks.js';
import { RC } from '../channel/reason.js';

export interface FencingStats {
  /** Times this node found itself counted as gone and fenced itself. */
  fencings: number;
  /** Client connections ended by those fencings. */
  clientsEnded: number;
}

/** Ends the connection of every client of `broker` whose session is not persistent and subscribes; answers how many. */
export function endCleanSessions(broker: Broker): number {
  const handles: ClientHandle[] = [];
  for (const tenant of broker.tenants.values()) {
    for (const [clientId, session] of tenant.sessions) {
      if (session.journal !== null || session.link === null || session.subscriptions.size === 0) continue;
      const handle = broker.registry.client(tenant.instanceId, clientId);
      if (handle !== undefined) handles.push(handle);
    }
  }
  // Collected first: a closing connection ends its session, which changes the maps above.
  for (const handle of handles) handle.disconnect(RC.UseAnotherServer);
  return handles.length;
}

/** ferry_cluster_fencings_total and ferry_cluster_fenced_clients_total (cluster mode). */
export function registerFencingMetrics(registry: Registry, stats: FencingStats): void {
  new Counter({
    name: 'ferry_cluster_fencings_total',
    help: 'Times this node found that the other nodes had counted it as gone (stalled or cut off past the gone threshold) and ended the sessions of its clean-session clients (cluster mode).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.fencings);
    },
  });
  new Counter({
    name: 'ferry_cluster_fenced_clients_total',
    help: 'Client connections ended because this node had been counted as gone by the cluster (cluster mode; MQTT 5 clients get DISCONNECT 0x9C).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.clientsEnded);
    },
  });
}
