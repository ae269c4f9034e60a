/**
 * Sessions moving between nodes when they live in JetStream (clusterStore jetstream,
 * docs/cluster.md "Sessions moving between nodes").
 *
 * Before a client opens its session on this node (Broker.sessionFetcher), the node reads who
 * owns its record. When another node does, it asks that node to let go, on the owner's own
 * subject `<prefix>.h.<node>`: the owner closes the client's connection there if it still has
 * one, takes the session out of its broker without deleting it, writes what it had recorded for
 * it (its last queued messages included) and answers. Then this node reads the record and the
 * queue from JetStream and writes the record as its own with the revision it read. An owner that
 * does not answer (gone, cut off) is fenced by that revision: its later writes of the record are
 * refused. A clean start only asks the owner to let go; the new session is claimed by its first write.
 *
 * A node that leaves the cluster leaves its sessions behind: one of the others takes them all over
 * (adoptFrom, started by the cluster's heartbeat), so that they queue again, and with them the
 * wills waiting for their delay and those of clients that were connected to it, so that those go
 * out (once: each record is taken by compare-and-set, and a due will is published only after its
 * record's removal succeeded, see Broker.willClaim).
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import { splitStoreKey, storeKey } from '../broker/tenant.js';
import { RC } from '../channel/reason.js';
import type { JetStreamStore } from '../store/jetstream/jetstream-store.js';
import { token } from '../store/jetstream/layout.js';
import type { ClusterOptions } from './options.js';

/**
 * What the cluster does while a session moves here (index.ts): its plain filters are announced as
 * this node's before the old owner lets go, and messages from other nodes are held until the
 * session is here, so that nothing published meanwhile misses it (duplicates only, as QoS 1 allows).
 */
export interface MoveHooks {
  /** Announces the filters and holds messages; answers the version of this node's interest announcements that has them. */
  begin(instanceId: string, filters: readonly string[]): Promise<number>;
  end(instanceId: string, filters: readonly string[]): void;
  /** On the old owner: true once it knows `nodeId`'s interest at `version` or later, false when that did not come in time. */
  heard(nodeId: string, version: number): Promise<boolean>;
}

interface Release {
  readonly instanceId: string;
  readonly clientId: string;
  /**
   * The node taking the session over and the version of its interest announcements that has the
   * session's filters: the old owner lets go only once it has them (absent for a clean start).
   */
  readonly node?: string;
  readonly interest?: number;
}

/** How long the old owner's connection has to close after it was told the session moved, ms. */
const DETACH_WAIT_MS = 2000;

export class Handover {
  private readonly subscription: Subscription;
  private readonly connection: NatsConnection;
  /** Set by the cluster (index.ts). */
  moving: MoveHooks | null = null;
  /** Sessions handed over from here, and adopted here (counters for the log and tests). */
  released = 0;
  adopted = 0;

  constructor(
    private readonly broker: Broker,
    private readonly store: JetStreamStore,
    private readonly options: ClusterOptions,
    private readonly logger: Logger,
  ) {
    this.connection = store.connection;
    this.subscription = this.connection.subscribe(this.subject(options.nodeId), {
      callback: (err, msg) => {
        if (err !== null) return;
        this.onRelease(msg.data).then(
          (answer) => msg.respond(JSON.stringify(answer)),
          (e: unknown) => {
            this.logger.error({ err: (e as Error).message }, 'could not let go of a session another node takes over');
            msg.respond(JSON.stringify({ released: false, error: (e as Error).message }));
          },
        );
      },
    });
    broker.sessionFetcher = (instanceId, clientId, cleanStart) => this.fetch(instanceId, clientId, cleanStart);
    broker.willClaim = (instanceId, clientId) => this.store.claimWill(storeKey(instanceId, clientId));
    broker.keepWillsOfConnected = true;
  }

  private subject(nodeId: string): string {
    return `${this.options.subjectPrefix}.h.${token(nodeId)}`;
  }

  /** Broker.sessionFetcher: brings the session here if another node holds it. */
  private async fetch(instanceId: string, clientId: string, cleanStart: boolean): Promise<void> {
    if (this.broker.registry.session(instanceId, clientId) !== undefined) return; // held here
    const key = storeKey(instanceId, clientId);
    const record = await this.store.peekSession(key);
    if (record === null || record.owner === null || record.owner === this.options.nodeId) return;
    const filters = cleanStart ? [] : [...new Set(record.subscriptions.filter((s) => s.shareGroup === null).map((s) => s.filter))];
    const moving = cleanStart ? null : this.moving;
    const interest = moving === null ? undefined : await moving.begin(instanceId, filters);
    try {
      await this.move(instanceId, clientId, key, record.owner, cleanStart, interest);
    } finally {
      moving?.end(instanceId, filters);
    }
  }

  private async move(instanceId: string, clientId: string, key: string, from: string, cleanStart: boolean, interest: number | undefined): Promise<void> {
    let owner: string | null = from;
    // The record may name another owner by the time this node takes it (a node took over the
    // sessions of one that left, adoptFrom): that one is asked in turn, never bypassed.
    for (let round = 0; owner !== null && owner !== this.options.nodeId && round < 3; round++) {
      await this.askToLetGo(instanceId, clientId, owner, interest);
      if (cleanStart) return;
      if (this.broker.registry.session(instanceId, clientId) !== undefined) return; // came here meanwhile
      const loaded = await this.store.adoptSession(key, owner);
      if (loaded !== undefined) {
        if (this.broker.registry.session(instanceId, clientId) !== undefined) return;
        this.broker.adoptSession(loaded);
        this.adopted++;
        this.logger.info({ clientId, instanceId, from: owner, queued: loaded.queueDepth }, 'session taken over from another node');
        return;
      }
      const now = await this.store.ownerOf(key);
      if (now === owner) return; // no record any more
      owner = now;
    }
  }

  private async askToLetGo(instanceId: string, clientId: string, owner: string, interest: number | undefined): Promise<void> {
    const request: Release = interest === undefined ? { instanceId, clientId } : { instanceId, clientId, node: this.options.nodeId, interest };
    try {
      const reply = await this.connection.request(this.subject(owner), JSON.stringify(request), { timeout: this.options.ackTimeoutMs });
      const answer = JSON.parse(Buffer.from(reply.data).toString('utf8')) as { released: boolean; error?: string };
      if (!answer.released) this.logger.warn({ clientId, instanceId, owner, err: answer.error }, 'the node holding the session could not let go of it; taking it over anyway');
    } catch (err) {
      // Gone or cut off: the revision check fences it.
      this.logger.warn({ clientId, instanceId, owner, err: (err as Error).message }, 'the node holding the session did not answer; taking it over');
    }
  }

  /**
   * Takes over every session whose record names `nodeId`, a node that left the cluster (killed,
   * cut off, stopped): they are here as if restored at start, disconnected, and queue what their
   * subscriptions match until their clients come back (here, or on another node that asks this
   * one to let go). A record another node took first is left alone. Stops when `gone()` turns
   * false (the node is back). Then its pending wills (adoptWills). Returns how many of each were
   * taken over.
   */
  async adoptFrom(nodeId: string, gone: () => boolean): Promise<{ sessions: number; wills: number }> {
    let adopted = 0;
    for (const key of await this.store.sessionsOwnedBy(nodeId)) {
      if (!gone()) break;
      const { instanceId, name: clientId } = splitStoreKey(key);
      if (this.broker.registry.session(instanceId, clientId) !== undefined) continue;
      const loaded = await this.store.adoptSession(key, nodeId);
      if (loaded === undefined || this.broker.registry.session(instanceId, clientId) !== undefined) continue;
      this.broker.adoptSession(loaded);
      adopted++;
      this.adopted++;
    }
    return { sessions: adopted, wills: gone() ? await this.adoptWills(nodeId, gone) : 0 };
  }

  /**
   * The wills of a node that left: those waiting for their delay, and those of clients that were
   * connected to it (their connection is lost now: due after their delay from now). Each is taken
   * by compare-and-set (so one node gets it, and the node, back, does not load it). Its session is
   * here (adopted just before, or its client reconnected here): armed for its due time (at once
   * when that passed), or dropped when the client is connected [MQTT-3.1.3-9]; its session is
   * owned by another node (the client reconnected there): dropped; no session any more (it
   * ended): published now, as a node restarted on its store does.
   */
  private async adoptWills(nodeId: string, gone: () => boolean): Promise<number> {
    const persistence = this.broker.persistence;
    if (persistence === null) return 0;
    let taken = 0;
    for (const key of await this.store.willsOwnedBy(nodeId)) {
      if (!gone()) break;
      const { instanceId, name: clientId } = splitStoreKey(key);
      const owner = this.broker.registry.session(instanceId, clientId) !== undefined ? this.options.nodeId : await this.store.ownerOf(key);
      if (owner === nodeId) {
        // Its session was not taken over (written after this node looked): left to that node's return.
        this.logger.warn({ clientId, instanceId, from: nodeId }, 'delayed will of a node that left not taken over: its session is still that node\'s');
        continue;
      }
      const record = await this.store.adoptWill(key, nodeId);
      if (record === undefined) continue;
      taken++;
      const will = persistence.willFrom(record);
      const session = this.broker.registry.session(instanceId, clientId);
      if (session !== undefined && session.link === null) {
        // A client still connected when its node died (delayMs): its connection is lost as of now.
        this.broker.armWill(session, will, record.delayMs !== undefined ? record.delayMs : record.publishAt - Date.now());
      } else if (session === undefined && owner === null) {
        this.store.deleteWill(key);
        this.broker.publishWill(null, will, instanceId);
        this.logger.info({ clientId, instanceId, from: nodeId }, 'published the will of a session that ended on a node that left the cluster');
      } else {
        this.store.deleteWill(key); // its client is back, here or on another node
        this.logger.info({ clientId, instanceId, from: nodeId }, 'delayed will of a node that left dropped: its client is back');
      }
    }
    return taken;
  }

  /**
   * Back after losing NATS: the others may have counted this node as gone and taken its sessions
   * over (adoptFrom). Each persistent session whose record now names another owner is let go as
   * if that node had asked (its client is disconnected with 0x8E and reconnects to get it from
   * there), instead of living on here unwritten next to the real one. Returns how many.
   */
  async letGoOfMoved(): Promise<number> {
    let moved = 0;
    for (const tenant of this.broker.tenants.values()) {
      for (const [clientId, session] of [...tenant.sessions]) {
        if (session.journal === null) continue; // not persistent: nothing of it in JetStream
        const owner = await this.store.ownerOf(storeKey(tenant.instanceId, clientId));
        if (owner === null || owner === this.options.nodeId) continue;
        this.logger.warn({ clientId, instanceId: tenant.instanceId, owner }, 'session taken over by another node while this one was cut off; letting go of it');
        if ((await this.release(tenant.instanceId, clientId)).released) moved++;
      }
    }
    return moved;
  }

  /** A node takes over a session of this one: let go of it. */
  private async onRelease(data: Uint8Array): Promise<{ released: boolean }> {
    const { instanceId, clientId, node, interest } = JSON.parse(Buffer.from(data).toString('utf8')) as Release;
    // Until this node routes the session's filters to the new node, what is published here must
    // still be queued here: once let go, a message for it would be acknowledged to nobody.
    if (node !== undefined && interest !== undefined && this.moving !== null && this.broker.registry.session(instanceId, clientId) !== undefined) {
      if (!(await this.moving.heard(node, interest))) {
        this.logger.warn({ clientId, instanceId, to: node, interest }, 'the interest of the node taking the session over has not arrived; letting go anyway');
      }
    }
    return this.release(instanceId, clientId);
  }

  private async release(instanceId: string, clientId: string): Promise<{ released: boolean }> {
    const session = this.broker.registry.session(instanceId, clientId);
    if (session !== undefined && session.link !== null) {
      this.broker.registry.client(instanceId, clientId)?.disconnect(RC.SessionTakenOver);
      const deadline = Date.now() + DETACH_WAIT_MS;
      while (session.link !== null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (session !== undefined && !this.broker.handOverSession(instanceId, clientId)) {
      // Its connection did not close in time: kept here; the new owner's revision fences this node.
      return { released: false };
    }
    await this.store.releaseSession(storeKey(instanceId, clientId));
    this.released++;
    this.logger.info({ clientId, instanceId }, 'session handed over to another node');
    return { released: true };
  }

  close(): void {
    this.broker.sessionFetcher = null;
    this.broker.willClaim = null;
    this.broker.keepWillsOfConnected = false;
    this.subscription.unsubscribe();
  }
}
