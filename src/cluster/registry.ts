/**
 * The client registry of a cluster node: the local registry for everything on this node, plus
 * what the other nodes must hear about.
 *
 * - Takeover across nodes: a client opening its session here is announced on `<prefix>.c`; a
 *   node where the same client id is connected closes that connection (0x8E Session taken over),
 *   its will going out as on a single node, unless it has a will delay: the client is back (on
 *   another node), so a delayed will waiting here is dropped as a reconnect here would drop it
 *   (also when the old connection had already gone). With clusterStore local the old node's
 *   stored session stays there; with jetstream it moves (handover.ts). A will of a node that
 *   died is taken over with its sessions (handover.ts adoptWills).
 * - P2P targets: each session of this node subscribes to its P2P subject, so a P2P message
 *   published on another node reaches the one node holding the session (routing.ts).
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Channel } from '../channel/channel.js';
import { RC } from '../channel/reason.js';
import type { ClientRegistry } from '../broker/client-registry.js';
import type { ClientHandle } from '../broker/hooks.js';
import type { BrokerCounters } from '../broker/counters.js';
import type { Tenant } from '../broker/tenant.js';
import type { Session } from '../session/session.js';
import type { Subjects } from './subjects.js';

interface Claim {
  readonly node: string;
  readonly instanceId: string;
  readonly clientId: string;
}

export class ClusterClientRegistry implements ClientRegistry {
  private connection: NatsConnection | null = null;
  private readonly p2p = new Map<Session, Subscription | null>();
  /** Takeovers this node did for clients that connected to another node. */
  remoteTakeovers = 0;

  constructor(
    private readonly local: ClientRegistry,
    private readonly subjects: Subjects,
    private readonly nodeId: string,
    private readonly counters: BrokerCounters,
    private readonly onP2p: (subject: string, data: Uint8Array, reply: string | undefined) => void,
    /** Drops the delayed will of a client id that connected to another node; true when there was one. */
    private readonly cancelWill: (instanceId: string, clientId: string) => boolean,
    private readonly logger: Logger,
  ) {}

  attach(connection: NatsConnection): void {
    this.connection = connection;
    connection.subscribe(this.subjects.claims(), { callback: (err, msg) => void (err === null && this.onClaim(msg.data)) });
    for (const session of this.p2p.keys()) this.subscribeP2p(session);
  }

  session(instanceId: string, clientId: string): Session | undefined {
    return this.local.session(instanceId, clientId);
  }

  client(instanceId: string, clientId: string): ClientHandle | undefined {
    return this.local.client(instanceId, clientId);
  }

  clients(instanceId?: string): IterableIterator<ClientHandle> {
    return this.local.clients(instanceId);
  }

  sessionIds(instanceId: string): IterableIterator<string> {
    return this.local.sessionIds(instanceId);
  }

  takeover(tenant: Tenant, clientId: string): Channel | null {
    const previous = this.local.takeover(tenant, clientId);
    const connection = this.connection;
    if (connection !== null && !connection.isClosed()) {
      const claim: Claim = { node: this.nodeId, instanceId: tenant.instanceId, clientId };
      connection.publish(this.subjects.claims(), JSON.stringify(claim));
    }
    return previous;
  }

  sessionCreated(session: Session): void {
    this.local.sessionCreated(session);
    this.p2p.set(session, null);
    this.subscribeP2p(session);
  }

  sessionEnded(session: Session): void {
    this.local.sessionEnded(session);
    this.p2p.get(session)?.unsubscribe();
    this.p2p.delete(session);
  }

  private subscribeP2p(session: Session): void {
    const connection = this.connection;
    if (connection === null || connection.isClosed()) return; // subscribed by attach()
    this.p2p.get(session)?.unsubscribe();
    const subject = this.subjects.p2p(session.instanceId, session.clientId);
    this.p2p.set(session, connection.subscribe(subject, { callback: (err, msg) => void (err === null && this.onP2p(msg.subject, msg.data, msg.reply)) }));
  }

  private onClaim(data: Uint8Array): void {
    let claim: Claim;
    try {
      claim = JSON.parse(Buffer.from(data).toString('utf8')) as Claim;
    } catch {
      return;
    }
    if (claim.node === this.nodeId) return;
    const handle = this.local.client(claim.instanceId, claim.clientId);
    if (handle !== undefined) {
      this.logger.info({ clientId: claim.clientId, instanceId: claim.instanceId, by: claim.node }, 'session taken over by a connection on another node');
      this.counters.takeovers++;
      this.remoteTakeovers++;
      handle.disconnect(RC.SessionTakenOver); // closes at once: a delayed will is pending now
    }
    if (this.cancelWill(claim.instanceId, claim.clientId)) {
      this.logger.info({ clientId: claim.clientId, instanceId: claim.instanceId, by: claim.node }, 'delayed will dropped: the client connected to another node');
    }
  }

  close(): void {
    this.connection = null;
  }
}
