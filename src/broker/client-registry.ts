/**
 * Where the broker finds sessions and connected clients by client id (EMQX's emqx_cm): takeover
 * at CONNECT, the target of a P2P message, kicks, and the session queries of the API and auth.
 *
 * The broker and the management layer reach clients only through this interface, so a cluster
 * (src/cluster) can sit behind it: the local registry answers for this node; a cluster registry
 * wraps it and also tells the other nodes (a takeover there, a P2P target held elsewhere) without
 * the single-node code learning about NATS.
 */
import type { Channel } from '../channel/channel.js';
import { RC } from '../channel/reason.js';
import type { Connection } from '../connection/connection.js';
import type { Session } from '../session/session.js';
import type { ClientHandle } from './hooks.js';
import type { Tenant } from './tenant.js';

export interface ClientRegistry {
  /** The session of a client id in an instance on this node, connected or not. */
  session(instanceId: string, clientId: string): Session | undefined;
  /** The connected client with this id on this node. */
  client(instanceId: string, clientId: string): ClientHandle | undefined;
  /** Connected clients on this node, of one instance or of all. */
  clients(instanceId?: string): IterableIterator<ClientHandle>;
  /** Client ids with a session on this node (connected or waiting for their client). */
  sessionIds(instanceId: string): IterableIterator<string>;
  /**
   * A client with this id is opening its session here: whoever holds the id lets go first
   * [MQTT-3.1.4-3] (the old connection closes with 0x8E Session taken over). Returns the
   * channel that was taken over on this node, if any.
   */
  takeover(tenant: Tenant, clientId: string): Channel | null;
  /** A session began on this node (a new client id, or one restored from the store). */
  sessionCreated(session: Session): void;
  /** A session of this node ended (clean disconnect, expiry, discard, instance deleted). */
  sessionEnded(session: Session): void;
}

/** The registry of one node: the tenants' session maps and the broker's connections. */
export class LocalClientRegistry implements ClientRegistry {
  constructor(
    private readonly tenants: ReadonlyMap<string, Tenant>,
    private readonly connections: ReadonlySet<Connection>,
  ) {}

  session(instanceId: string, clientId: string): Session | undefined {
    return this.tenants.get(instanceId)?.sessions.get(clientId);
  }

  client(instanceId: string, clientId: string): ClientHandle | undefined {
    const link = this.session(instanceId, clientId)?.link;
    return link === null || link === undefined ? undefined : (link as Channel);
  }

  *clients(instanceId?: string): IterableIterator<ClientHandle> {
    for (const connection of this.connections) {
      const channel = connection.channel;
      if (channel.state === 'connected' && (instanceId === undefined || channel.instanceId === instanceId)) yield channel;
    }
  }

  *sessionIds(instanceId: string): IterableIterator<string> {
    const sessions = this.tenants.get(instanceId)?.sessions;
    if (sessions !== undefined) yield* sessions.keys();
  }

  takeover(tenant: Tenant, clientId: string): Channel | null {
    const session = tenant.sessions.get(clientId);
    if (session === undefined || session.link === null) return null;
    const previous = session.link as Channel;
    previous.log.info('session taken over');
    previous.terminate(RC.SessionTakenOver);
    return previous;
  }

  sessionCreated(): void {}

  sessionEnded(): void {}
}
