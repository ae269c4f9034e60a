/** Clients of an instance (connected ones and waiting persistent sessions): list, detail, kick. */
import { certificateChainSnOf } from '../auth/principal.js';
import { shownUsername } from '../observability/logger.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import type { ManagementDeps } from './deps.js';
import { FacadeError } from './errors.js';
import type { InstanceCheck } from './instance-check.js';
import { paginate, type Page, type PageQuery } from './paging.js';
import type { Subscriptions, SubscriptionView } from './subscriptions.js';

export interface ClientView {
  readonly clientId: string;
  readonly instanceId: string;
  readonly connected: boolean;
  readonly username?: string;
  readonly protocolVersion?: number;
  readonly transport?: string;
  readonly listener?: string;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  /** Keepalive of the connection, seconds (0 = none). */
  readonly keepalive?: number;
  readonly subscriptions: number;
  /** Messages waiting in memory behind the in-flight window (a stored backlog may hold more). */
  readonly queued: number;
  readonly inflight: number;
  /** Queued messages dropped for this client (queue caps, retention) since its session was made or Ferry started. */
  readonly droppedMessages: number;
  readonly sessionExpiryInterval: number;
  /** X.509 devices: the certificate serials from the device up to its CA (status events' `certificateChainSn`). */
  readonly certificateChainSn?: string;
}

export interface ClientDetail extends ClientView {
  readonly subscriptionList: SubscriptionView[];
}

export class Clients {
  constructor(
    private readonly deps: Pick<ManagementDeps, 'broker'>,
    private readonly check: InstanceCheck,
    private readonly subscriptions: Subscriptions,
  ) {}

  /** True while a client with this id is connected to the instance. */
  isOnline(instanceId: string, clientId: string): boolean {
    this.check.require(instanceId);
    // The session is linked to its channel exactly while the client is connected: O(1).
    return this.deps.broker.session(clientId, instanceId)?.online === true;
  }

  private view(instanceId: string, clientId: string): ClientView | undefined {
    const session = this.deps.broker.session(clientId, instanceId);
    const handle = this.deps.broker.client(clientId, instanceId);
    if (session === undefined && handle === undefined) return undefined;
    const chainSn = handle === undefined ? undefined : certificateChainSnOf(handle);
    return {
      clientId,
      instanceId,
      connected: handle !== undefined,
      ...(handle?.username === undefined ? {} : { username: shownUsername(handle.username)! }),
      ...(handle === undefined
        ? {}
        : {
            protocolVersion: handle.protocolVersion,
            transport: handle.peer.transport,
            listener: handle.peer.listener,
            remoteAddress: handle.peer.remoteAddress,
            remotePort: handle.peer.remotePort,
            ...(handle.keepalive === undefined ? {} : { keepalive: handle.keepalive }),
          }),
      subscriptions: session?.subscriptions.size ?? 0,
      queued: session?.queued ?? 0,
      inflight: session?.inflight.size ?? 0,
      droppedMessages: session?.droppedMessages ?? 0,
      sessionExpiryInterval: session?.expiryInterval ?? 0,
      ...(chainSn === undefined ? {} : { certificateChainSn: chainSn }),
    };
  }

  /**
   * Clients of an instance: connected ones and persistent sessions waiting for their client.
   * Filters: `connected` (true/false), `prefix` of the client id, `username`.
   */
  list(instanceId: string, filter: { connected?: boolean; prefix?: string; username?: string } = {}, page: PageQuery = {}): Page<ClientView> {
    this.check.require(instanceId);
    const ids = new Set<string>();
    for (const client of this.deps.broker.clients(instanceId)) ids.add(client.clientId);
    for (const clientId of this.deps.broker.registry.sessionIds(instanceId)) ids.add(clientId);
    const views: ClientView[] = [];
    for (const id of [...ids].sort()) {
      if (filter.prefix !== undefined && !id.startsWith(filter.prefix)) continue;
      const view = this.view(instanceId, id);
      if (view === undefined) continue;
      if (filter.connected !== undefined && view.connected !== filter.connected) continue;
      if (filter.username !== undefined && view.username !== filter.username) continue;
      views.push(view);
    }
    return paginate(views, (v) => v.clientId, page);
  }

  get(instanceId: string, clientId: string): ClientDetail {
    this.check.require(instanceId);
    const view = this.view(instanceId, clientId);
    if (view === undefined) throw new FacadeError('ClientNotFound', `client ${clientId} has no connection nor session on ${instanceId}`, 'clientId');
    return { ...view, subscriptionList: this.subscriptions.ofSession(instanceId, clientId) };
  }

  /** Discards the session of a disconnected client (subscriptions, queue, stored state). */
  clearSession(instanceId: string, clientId: string): void {
    this.check.require(instanceId);
    const outcome = this.deps.broker.discardSession(instanceId, clientId);
    if (outcome === 'none') throw new FacadeError('SessionNotFound', `client ${clientId} has no session on ${instanceId}`, 'params.clientId');
    if (outcome === 'connected') throw new FacadeError('ClientConnected', `client ${clientId} is connected: kick it first, then clear its session`, 'params.clientId');
  }

  /** Closes a client's connection (MQTT 5 clients get DISCONNECT 0x98 Administrative action). False if not connected. */
  kick(instanceId: string, clientId: string): boolean {
    this.check.require(instanceId);
    const client = this.deps.broker.client(clientId, instanceId);
    client?.disconnect(ReasonCode.AdministrativeAction);
    return client !== undefined;
  }
}
