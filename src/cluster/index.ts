/**
 * Cluster mode (docs/cluster.md): several Ferry nodes as one broker on NATS. Attached to the
 * broker through its named extension points only — the client registry, messagePublished,
 * interestChanged and retainedDeleted — so a single node (clusterNats unset) runs none of this.
 *
 * Start: replace the registry, adopt the sessions and subscriptions restored from the store,
 * then connect in the background (retrying; /readyz says why while it cannot): subscribe,
 * announce interest, write presence every heartbeat.
 */
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import { endCleanSessions, type FencingStats } from './fencing.js';
import type { Handover } from './handover.js';
import { ClusterClientRegistry } from './registry.js';
import { Interest } from './interest.js';
import { NatsLink } from './nats-link.js';
import type { ClusterOptions } from './options.js';
import { Presence, type NodeRecord } from './presence.js';
import { RetainedSync } from './retained-sync.js';
import { ClusterRouting, type RoutingStats } from './routing.js';
import { Subjects } from './subjects.js';

export { clusterOptions, type ClusterOptions } from './options.js';

export interface ClusterNodeView {
  readonly nodeId: string;
  /** This node (the one answering). */
  readonly self: boolean;
  readonly healthy: boolean;
  readonly clients: number;
  readonly sessions: number;
  readonly subscriptions: number;
  readonly startedAt: string;
  readonly lastSeen: string;
}

export interface ClusterStatus {
  readonly enabled: true;
  readonly nodeId: string;
  readonly connected: boolean;
  /** The NATS server this node is connected to; absent while not connected. */
  readonly server?: string;
  /** Why this node is not fully part of the cluster now; absent when it is. */
  readonly problem?: string;
  readonly nodes: ClusterNodeView[];
  readonly routing: RoutingStats;
  /** This node's incarnation in presence and its fencings since it started (docs/cluster.md, "fencing"). */
  readonly fencing: { readonly incarnation: number } & FencingStats;
}

export class Cluster {
  readonly subjects: Subjects;
  private readonly link: NatsLink;
  private readonly interest: Interest;
  private readonly routing: ClusterRouting;
  private readonly registry: ClusterClientRegistry;
  private readonly presence: Presence;
  private readonly retained: RetainedSync;
  private readonly startedAt = new Date().toISOString();
  private heartbeat: NodeJS.Timeout | null = null;
  private joined = false;
  private stopped = false;
  private readonly detach: Array<() => void> = [];
  private readonly beatListeners: Array<(live: ReadonlySet<string>) => void> = [];
  private readonly opening: Promise<void>;
  /** Nodes that left whose sessions may still need taking over (takeOver). */
  private readonly leftBehind = new Set<string>();
  private readonly adopting = new Set<string>();
  /** Back after losing NATS: which of this node's sessions moved is to be checked (letGoOfMoved). */
  private checkMoved = false;
  /** When this node last wrote and read presence. */
  private presentAt = 0;
  private checkingMoved = false;
  /** Fencings of this node (fencing.ts), for the log and /metrics. */
  readonly fencing: FencingStats = { fencings: 0, clientsEnded: 0 };

  private constructor(
    private readonly broker: Broker,
    readonly options: ClusterOptions,
    private readonly logger: Logger,
    /** Sessions moving between nodes (clusterStore jetstream); null when each node keeps its own. */
    private readonly handover: Handover | null,
  ) {
    this.subjects = new Subjects(options.subjectPrefix);
    this.link = new NatsLink(options, logger);
    this.interest = new Interest(this.subjects, options.nodeId, (s, d, r, shared) => this.routing.received(s, d, r, shared), logger);
    this.routing = new ClusterRouting(broker, this.subjects, this.interest, options.nodeId, options.ackTimeoutMs, logger);
    this.interest.keepsOrphans = handover !== null;
    if (handover !== null) {
      handover.moving = {
        begin: async (instanceId, filters) => {
          this.routing.hold();
          for (const filter of filters) this.interest.changed(instanceId, filter, true, null);
          // NATS has the announcement before the old owner is asked to let go; the request goes on
          // another connection and may still arrive first: the old owner waits for this version (heard).
          const flushed = this.link.connection?.flush().catch(() => undefined);
          await Promise.race([flushed, new Promise((resolve) => setTimeout(resolve, this.options.ackTimeoutMs).unref())]);
          return this.interest.announced;
        },
        // Half the asking node's wait: the old owner still has to write the session and answer.
        heard: (nodeId, version) => this.interest.whenHeard(nodeId, version, this.options.ackTimeoutMs / 2),
        end: (instanceId, filters) => {
          this.routing.release();
          for (const filter of filters) this.interest.changed(instanceId, filter, false, null);
        },
      };
    }
    this.registry = new ClusterClientRegistry(
      broker.registry,
      this.subjects,
      options.nodeId,
      broker.counters,
      (s, d, r) => this.routing.received(s, d, r),
      (instanceId, clientId) => broker.cancelWillOf(instanceId, clientId),
      logger,
    );
    this.presence = new Presence(this.subjects.presenceBucket(), options.nodeId, options.heartbeatMs, options.replicas, (id) => this.subjects.live(id), logger);
    this.retained = new RetainedSync(broker, this.subjects, options.nodeId, this.routing.origin, options.ackTimeoutMs, logger);
    broker.registry = this.registry;
    // One delivery per share group cluster-wide: NATS queue groups pick the node (interest.ts).
    broker.routeSharedElsewhere();
    // What the store restored before the cluster started.
    for (const tenant of broker.tenants.values()) {
      for (const session of tenant.sessions.values()) {
        this.registry.sessionCreated(session);
        for (const sub of session.subscriptions.values()) this.interest.changed(tenant.instanceId, sub.filter, true, sub.shareGroup);
      }
    }
    this.detach.push(
      broker.extensions.onMessagePublished((instanceId, message, publisher) => {
        if (message.retain) this.retained.published(instanceId, message);
        this.routing.published(instanceId, message, publisher);
      }),
      broker.extensions.onInterestChanged((instanceId, filter, added, group) => this.interest.changed(instanceId, filter, added, group)),
      broker.extensions.onRetainedDeleted((instanceId, topic) => this.retained.deleted(instanceId, topic)),
    );
    this.link.onChange((up) => {
      if (!up) return;
      // The others may have dropped this node meanwhile, and this node them: exchange full lists,
      // and count as not ready until presence has been written and read again.
      this.interest.resync();
      this.presence.reconnected();
      this.retained.reconnected();
      // The others may have taken this node's sessions over meanwhile (checked at the next heartbeats).
      if (this.handover !== null) this.checkMoved = true;
    });
    this.opening = this.open().catch((err: unknown) => {
      if (!this.stopped) this.logger.error({ err }, 'cluster start failed');
    });
  }

  /** Starts cluster mode on a broker; connecting to NATS goes on in the background. */
  static start(broker: Broker, options: ClusterOptions, logger: Logger, handover: Handover | null = null): Cluster {
    return new Cluster(broker, options, logger, handover);
  }

  private async open(): Promise<void> {
    try {
      await this.retained.load();
    } catch (err) {
      // Without them this node's retained messages count as older than any other node's.
      this.logger.error({ err: (err as Error).message }, 'cannot read the versions of the retained messages from the store');
    }
    const connection = await this.link.open();
    if (this.stopped) return;
    this.interest.attach(connection);
    this.routing.attach(connection);
    this.registry.attach(connection);
    this.retained.attach(connection);
    for (;;) {
      try {
        await this.presence.open(connection);
        break;
      } catch (err) {
        if (this.stopped) return;
        this.presence.problem = `cluster presence bucket: ${(err as Error).message}`;
        this.logger.error({ err: (err as Error).message }, 'cannot open the cluster presence bucket (is JetStream on: nats-server -js?); retrying');
        await new Promise((resolve) => setTimeout(resolve, this.options.heartbeatMs).unref());
      }
    }
    await this.beat();
    this.joined = true;
    this.logger.info({ nodeId: this.options.nodeId, nodes: [...this.presence.nodes.keys()] }, 'joined the cluster');
    this.scheduleBeat();
  }

  /** One heartbeat after the other: a slow JetStream must not pile up overlapping writes and reads. */
  private scheduleBeat(): void {
    if (this.stopped) return;
    this.heartbeat = setTimeout(() => {
      this.beat()
        .catch((err: unknown) => this.logger.error({ err }, 'cluster heartbeat failed'))
        .finally(() => this.scheduleBeat());
    }, this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    let sessions = 0;
    for (const tenant of this.broker.tenants.values()) sessions += tenant.sessions.size;
    const { joined, left } = await this.presence.beat({
      startedAt: this.startedAt,
      clients: this.broker.counters.connected,
      sessions,
      subscriptions: this.broker.subscriptionCount,
      interest: this.interest.announced,
    });
    for (const nodeId of left) {
      if (nodeId === this.options.nodeId) continue;
      this.logger.warn({ nodeId }, 'node left the cluster');
      this.interest.nodeLeft(nodeId);
      this.routing.nodeLeft(nodeId);
      if (this.handover !== null) this.leftBehind.add(nodeId);
    }
    for (const nodeId of joined) if (nodeId !== this.options.nodeId) this.logger.info({ nodeId }, 'node joined the cluster');
    // A node that (re)joined, or whose interest this node lost or is behind on, is asked for its list.
    if (this.presence.problem !== null) return;
    // Presence not written for longer than the others wait (this process stalled, or NATS was
    // away): they may have counted this node as gone and taken its sessions over.
    const now = Date.now();
    if (this.handover !== null && this.presentAt !== 0 && now - this.presentAt > this.options.heartbeatMs * 3) this.checkMoved = true;
    this.presentAt = now;
    if (this.presence.countedAsGone !== null) {
      this.fence();
      // Written at once: the others take the new member back and stop telling it was gone.
      await this.beat();
      return;
    }
    this.interest.reconcile(this.presence.nodes);
    this.takeOver();
    this.letGoOfMoved();
    const live: ReadonlySet<string> = new Set(this.presence.nodes.keys());
    for (const listener of this.beatListeners) {
      try {
        listener(live);
      } catch (err) {
        this.logger.error({ err }, 'cluster heartbeat listener failed');
      }
    }
  }

  /**
   * The other nodes counted this one as gone (presence.ts) and stopped routing to it: its
   * clean-session clients missed what was published meanwhile. Their sessions are ended (fencing.ts),
   * persistent ones taken over meanwhile are let go of (letGoOfMoved), and the node joins again as
   * a new member: a new incarnation in presence, its whole interest announced, the others' asked for.
   */
  private fence(): void {
    const reason = this.presence.countedAsGone!;
    const clientsEnded = endCleanSessions(this.broker);
    this.presence.renew();
    this.interest.resync();
    if (this.handover !== null) this.checkMoved = true;
    this.fencing.fencings++;
    this.fencing.clientsEnded += clientsEnded;
    this.logger.warn(
      { countedAsGoneBy: reason.by, absentMs: reason.absentMs, clientsEnded, incarnation: this.presence.incarnation },
      'this node was counted as gone by the cluster: ended the sessions of its clean-session clients and joins again as a new member',
    );
  }

  /** After a reconnect, until it succeeds once: let go of the sessions another node took over meanwhile. */
  private letGoOfMoved(): void {
    const handover = this.handover;
    if (handover === null || !this.checkMoved || this.checkingMoved) return;
    this.checkingMoved = true;
    this.checkMoved = false;
    handover
      .letGoOfMoved()
      .then(
        (moved) => {
          if (moved > 0) this.logger.warn({ moved }, 'let go of sessions other nodes took over while this node was cut off');
        },
        (err: unknown) => {
          this.checkMoved = true;
          this.logger.error({ err: (err as Error).message }, 'cannot check which sessions other nodes took over while this node was cut off; trying again');
        },
      )
      .finally(() => (this.checkingMoved = false));
  }

  /**
   * Calls `listener` after each heartbeat that read presence, with the live nodes (this one
   * included): how the adoption of dead nodes' logs learns who is gone. Answers its removal.
   */
  onBeat(listener: (live: ReadonlySet<string>) => void): () => void {
    this.beatListeners.push(listener);
    return () => {
      const at = this.beatListeners.indexOf(listener);
      if (at >= 0) this.beatListeners.splice(at, 1);
    };
  }

  /**
   * The sessions of a node that left live on in JetStream; the live node first by id takes them
   * all over, with their delayed wills (Handover.adoptFrom), and then tells the others, who
   * until then refuse QoS 1/2 messages for that node's filters (interest.ts orphans): nothing is
   * acknowledged for a session nobody queues for. Tried again every heartbeat until done, by
   * whichever node is first then.
   */
  private takeOver(): void {
    const handover = this.handover;
    if (handover === null) return;
    const first = [...this.presence.nodes.keys()].sort()[0];
    for (const nodeId of [...this.leftBehind]) {
      if (this.presence.nodes.has(nodeId)) {
        this.leftBehind.delete(nodeId); // back: it has its sessions again
        continue;
      }
      if (first !== this.options.nodeId) {
        // Another node takes them over; this one only waits for it while it refuses for them.
        if (!this.interest.orphaned.has(nodeId)) this.leftBehind.delete(nodeId);
        continue;
      }
      if (this.adopting.has(nodeId)) continue;
      this.adopting.add(nodeId);
      handover
        .adoptFrom(nodeId, () => !this.presence.nodes.has(nodeId) && !this.stopped)
        .then(
          ({ sessions, wills }) => {
            if (this.stopped || this.presence.nodes.has(nodeId)) return;
            this.leftBehind.delete(nodeId);
            this.interest.adopted(nodeId);
            this.logger.info({ nodeId, sessions, wills }, 'took over the sessions of a node that left the cluster');
          },
          (err: unknown) => this.logger.error({ nodeId, err: (err as Error).message }, 'cannot take over the sessions of a node that left the cluster; trying again'),
        )
        .finally(() => this.adopting.delete(nodeId));
    }
  }

  /** Why this node is not fully part of the cluster now (for /readyz); null when it is. */
  problem(): string | null {
    if (this.link.problem !== null) return this.link.problem;
    if (this.presence.problem !== null) return this.presence.problem;
    if (!this.joined) return 'joining the cluster';
    if (!this.retained.synced) return 'taking the retained messages of the cluster';
    // Ready means routing works: this node knows what every live node wants.
    const unknown = this.interest.unknownOf(this.presence.nodes.keys());
    return unknown.length === 0 ? null : `waiting for the interest of ${unknown.join(', ')}`;
  }

  status(): ClusterStatus {
    const staleBefore = Date.now() - this.options.heartbeatMs * 3;
    const nodes = [...this.presence.nodes.values()].map((n: NodeRecord) => ({
      nodeId: n.nodeId,
      self: n.nodeId === this.options.nodeId,
      healthy: Date.parse(n.updatedAt) >= staleBefore,
      clients: n.clients,
      sessions: n.sessions,
      subscriptions: n.subscriptions,
      startedAt: n.startedAt,
      lastSeen: n.updatedAt,
    }));
    nodes.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
    const problem = this.problem();
    const server = this.link.connection?.isClosed() === false && this.link.problem === null ? this.link.connection.getServer() : undefined;
    return {
      enabled: true,
      nodeId: this.options.nodeId,
      connected: this.link.problem === null,
      ...(server === undefined ? {} : { server }),
      ...(problem === null ? {} : { problem }),
      nodes,
      routing: { ...this.routing.stats, unreadable: this.routing.stats.unreadable + this.retained.unreadable },
      fencing: { incarnation: this.presence.incarnation, ...this.fencing },
    };
  }

  /** A clean stop: leave presence and interest at once, then close the connection. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.heartbeat !== null) clearTimeout(this.heartbeat);
    for (const off of this.detach) off();
    if (this.joined) {
      this.interest.leave();
      await this.presence.leave();
    }
    this.retained.close();
    this.routing.close();
    this.registry.close();
    this.interest.close();
    await this.link.close();
    await this.opening;
  }
}
