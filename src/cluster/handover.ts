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
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import { storeKey } from '../broker/tenant.js';
import { RC } from '../channel/reason.js';
import type { JetStreamStore } from '../store/jetstream/jetstream-store.js';
import { token } from '../store/jetstream/layout.js';
import type { ClusterOptions } from './options.js';

interface Release {
  readonly instanceId: string;
  readonly clientId: string;
}

/** How long the old owner's connection has to close after it was told the session moved, ms. */
const DETACH_WAIT_MS = 2000;

export class Handover {
  private readonly subscription: Subscription;
  private readonly connection: NatsConnection;
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
  }

  private subject(nodeId: string): string {
    return `${this.options.subjectPrefix}.h.${token(nodeId)}`;
  }

  /** Broker.sessionFetcher: brings the session here if another node holds it. */
  private async fetch(instanceId: string, clientId: string, cleanStart: boolean): Promise<void> {
    if (this.broker.registry.session(instanceId, clientId) !== undefined) return; // held here
    const key = storeKey(instanceId, clientId);
    const owner = await this.store.ownerOf(key);
    if (owner === null || owner === this.options.nodeId) return;
    const request: Release = { instanceId, clientId };
    try {
      const reply = await this.connection.request(this.subject(owner), JSON.stringify(request), { timeout: this.options.ackTimeoutMs });
      const answer = JSON.parse(Buffer.from(reply.data).toString('utf8')) as { released: boolean; error?: string };
      if (!answer.released) this.logger.warn({ clientId, instanceId, owner, err: answer.error }, 'the node holding the session could not let go of it; taking it over anyway');
    } catch (err) {
      // Gone or cut off: the revision check fences it.
      this.logger.warn({ clientId, instanceId, owner, err: (err as Error).message }, 'the node holding the session did not answer; taking it over');
    }
    if (cleanStart) return;
    if (this.broker.registry.session(instanceId, clientId) !== undefined) return; // came here meanwhile
    const loaded = await this.store.adoptSession(key);
    if (loaded === undefined || this.broker.registry.session(instanceId, clientId) !== undefined) return;
    this.broker.adoptSession(loaded);
    this.adopted++;
    this.logger.info({ clientId, instanceId, from: owner, queued: loaded.queueDepth }, 'session taken over from another node');
  }

  /** A node takes over a session of this one: let go of it. */
  private async onRelease(data: Uint8Array): Promise<{ released: boolean }> {
    const { instanceId, clientId } = JSON.parse(Buffer.from(data).toString('utf8')) as Release;
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
    this.subscription.unsubscribe();
  }
}
