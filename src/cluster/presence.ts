/**
 * Node presence in a JetStream KV bucket (`<prefix>_nodes`): each node writes its record every
 * heartbeat; the bucket's max age (three heartbeats) removes the record of a node that stopped
 * writing (crashed, cut off), and a node that stops cleanly deletes its own. Every node reads the
 * bucket each heartbeat, so each knows who is alive within about three heartbeats.
 *
 * Reading takes one stream-info request (the keys, without creating a consumer each heartbeat:
 * consumer creation goes through the JetStream meta leader and stalls while it is re-elected) and
 * one direct get per node, which any replica answers.
 *
 * After a time when presence could not be read, the other nodes' records may be old only because
 * JetStream was down for everyone: a node is then counted as gone only if it still has not written
 * three heartbeats after presence came back.
 *
 * A record that is old is not enough to count its node as gone: JetStream may answer one node
 * seconds later than another (a write waiting out its request timeout after a NATS server died),
 * while that node still routes on core NATS. Counting such a node as gone drops its interest
 * everywhere, and QoS 1/2 messages for its subscribers are then acknowledged with no route at
 * all. So a node whose record went old is asked on its own subject (`<prefix>.live.<node>`, core
 * NATS, the path routing takes) first, and counted as gone only when it does not answer: no
 * responders (its connection is gone) at once, a stalled or cut-off node after the timeout.
 *
 * A node counted as gone must learn it (docs/cluster.md "A node counted as gone ends its
 * clients' sessions"): the others stopped routing to it, so its clean-session clients missed what
 * was published meanwhile. Each record carries its node's incarnation (new at each start and each
 * fencing) and the nodes its writer counted as gone with the incarnation they had. The writer keeps
 * telling, every heartbeat, until that node comes back with another incarnation (or for
 * GONE_MEMORY_MS), so the node reads it at its first heartbeat that gets through, whether it was
 * stalled or cut off, and also when the others took it back a moment before. A node whose presence
 * was not confirmed for longer than the others remember counts itself as gone.
 */
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { createOrOpen } from '../store/jetstream/create-or-open.js';

export interface NodeRecord {
  readonly version: 1;
  readonly nodeId: string;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly clients: number;
  readonly sessions: number;
  readonly subscriptions: number;
  /**
   * The version of the node's interest announcements when it wrote the record (interest.ts): a
   * node that knows an older one asks for the full list. Absent in records of older builds.
   */
  readonly interest?: number;
  /** The node's membership: new at each start and each time it fenced itself. Absent in records of older builds. */
  readonly incarnation?: number;
  /** Nodes its writer counted as gone, with the incarnation each had then (absent when none). */
  readonly gone?: Readonly<Record<string, number>>;
}

/**
 * How long a node keeps telling that it counted another as gone (when that one does not come back
 * with a new incarnation); a node whose presence was not confirmed for longer fences itself anyway.
 */
export const GONE_MEMORY_MS = 10 * 60_000;

/** Why this node must fence itself, found at a heartbeat. */
export interface CountedAsGone {
  /** The nodes whose records say they counted this incarnation as gone. */
  readonly by: readonly string[];
  /** How long this node's presence had not been confirmed before this heartbeat, ms. */
  readonly absentMs: number;
}

/** The bucket key of a node id (KV keys allow fewer characters than node ids). */
function keyOf(nodeId: string): string {
  return Buffer.from(nodeId, 'utf8').toString('base64url');
}

export class Presence {
  private kv: KV | null = null;
  private jsm: JetStreamManager | null = null;
  private connection: NatsConnection | null = null;
  private answering: Subscription | null = null;
  /** Nodes kept although their records are old, because they answer (logged once each time). */
  private readonly answeringOld = new Set<string>();
  /** Alive nodes as last read, this one included once it wrote its record. */
  nodes = new Map<string, NodeRecord>();
  /** Why presence could not be written or read at the last heartbeat; null when it could. */
  problem: string | null = null;
  /** When presence became readable again after it was not (0: no outage to forgive). */
  private recoveredAt = 0;
  /** This node's membership, written into its record (renew() after a fencing). */
  incarnation = Date.now();
  /** Nodes this node counted as gone: the incarnation each had, and when (told in its record). */
  private readonly countedGone = new Map<string, { readonly incarnation: number; readonly at: number }>();
  /** When this node last wrote and read presence (performance.now(); 0: not yet). */
  private confirmedAt = 0;
  /** Set by a heartbeat that found this node counted as gone; null otherwise. */
  countedAsGone: CountedAsGone | null = null;

  constructor(
    private readonly bucket: string,
    private readonly nodeId: string,
    private readonly heartbeatMs: number,
    private readonly replicas: number,
    /** The core NATS subject on which a node answers that it is alive. */
    private readonly liveSubject: (nodeId: string) => string,
    private readonly logger: Logger,
  ) {}

  /** How long a node whose record went old has to answer before it counts as gone. */
  get askTimeoutMs(): number {
    return Math.max(1000, this.heartbeatMs);
  }

  async open(connection: NatsConnection): Promise<void> {
    this.connection = connection;
    // Answered on core NATS from the start: another node may ask before this one's record is readable.
    this.answering ??= connection.subscribe(this.liveSubject(this.nodeId), { callback: (err, msg) => void (err === null && msg.respond()) });
    const kvm = new Kvm(connection);
    this.jsm = await jetstreamManager(connection);
    try {
      this.kv = await createOrOpen(() => kvm.create(this.bucket, { ttl: this.heartbeatMs * 3, replicas: this.replicas, history: 1 }));
    } catch (err) {
      // Created earlier with other settings (another node's heartbeat): use it as it is.
      this.logger.warn({ bucket: this.bucket, err: (err as Error).message }, 'presence bucket exists with other settings; using it');
      this.kv = await kvm.open(this.bucket);
    }
  }

  /** The NATS connection came back: presence counts as unconfirmed until the next heartbeat has written and read it. */
  reconnected(): void {
    // "cluster presence:" like a failed heartbeat: the next one that gets through starts the forgiveness window.
    if (this.kv !== null && this.problem === null) this.problem = 'cluster presence: not yet confirmed after reconnecting to NATS';
  }

  /** This node fenced itself: it joins again as a new member (the others stop telling it was gone). */
  renew(): void {
    this.incarnation = Math.max(Date.now(), this.incarnation + 1);
    this.countedAsGone = null;
  }

  /** Writes this node's record, then reads everyone's. Returns the node ids that appeared and disappeared. */
  async beat(record: Omit<NodeRecord, 'version' | 'nodeId' | 'updatedAt'>): Promise<{ joined: string[]; left: string[] }> {
    const kv = this.kv;
    const jsm = this.jsm;
    if (kv === null || jsm === null) return { joined: [], left: [] };
    try {
      const gone = this.countedGone.size === 0 ? {} : { gone: Object.fromEntries([...this.countedGone].map(([id, g]) => [id, g.incarnation])) };
      const own: NodeRecord = { version: 1, nodeId: this.nodeId, updatedAt: new Date().toISOString(), ...record, incarnation: this.incarnation, ...gone };
      const writtenAt = performance.now();
      await kv.put(keyOf(this.nodeId), JSON.stringify(own));
      const seen = new Map<string, NodeRecord>();
      const now = Date.now();
      const staleBefore = now - this.heartbeatMs * 3;
      const stream = `KV_${this.bucket}`;
      const prefix = `$KV.${this.bucket}.`;
      const info = await jsm.streams.info(stream, { subjects_filter: `${prefix}>` });
      for (const subject of Object.keys(info.state.subjects ?? {})) {
        const entry = await kv.get(subject.slice(prefix.length));
        if (entry === null || entry.operation !== 'PUT' || entry.created.getTime() < staleBefore) continue;
        try {
          const node = entry.json<NodeRecord>();
          if (node.version === 1 && typeof node.nodeId === 'string') seen.set(node.nodeId, node);
        } catch {
          // Not a record of this version: ignored (a newer node would write another version).
        }
      }
      if (this.problem?.startsWith('cluster presence:') === true) {
        this.logger.warn('cluster presence readable again');
        this.recoveredAt = now;
      }
      this.problem = null;
      // Just after an outage, a record may be old because nobody could write: keep known nodes a while.
      if (this.recoveredAt > staleBefore) {
        for (const [id, node] of this.nodes) if (!seen.has(id)) seen.set(id, node);
      }
      await this.keepAnswering(seen);
      const joined = [...seen.keys()].filter((id) => !this.nodes.has(id));
      const left = [...this.nodes.keys()].filter((id) => !seen.has(id));
      this.remember(left, seen, now);
      this.countedAsGone = this.fenceReason(seen, writtenAt);
      this.confirmedAt = writtenAt;
      this.nodes = seen;
      return { joined, left };
    } catch (err) {
      if (this.problem === null || !this.problem.startsWith('cluster presence:')) {
        this.logger.error({ err: (err as Error).message }, 'cannot write or read cluster presence');
      }
      this.problem = `cluster presence: ${(err as Error).message}`;
      return { joined: [], left: [] };
    }
  }

  /**
   * Notes the nodes counted as gone at this heartbeat (those of this build: with an incarnation),
   * and forgets those back with a new incarnation, or told for GONE_MEMORY_MS. A node taken back
   * with the same incarnation (it wrote again a moment after it was counted as gone) is still told:
   * it was not routed to in between.
   */
  private remember(left: readonly string[], seen: ReadonlyMap<string, NodeRecord>, now: number): void {
    for (const id of left) {
      const incarnation = this.nodes.get(id)?.incarnation;
      if (id !== this.nodeId && incarnation !== undefined) this.countedGone.set(id, { incarnation, at: now });
    }
    for (const [id, g] of this.countedGone) {
      const node = seen.get(id);
      if ((node !== undefined && node.incarnation !== g.incarnation) || now - g.at > GONE_MEMORY_MS) this.countedGone.delete(id);
    }
  }

  /** Whether another node's record says it counted this incarnation as gone, or this node was away longer than they remember. */
  private fenceReason(seen: ReadonlyMap<string, NodeRecord>, writtenAt: number): CountedAsGone | null {
    const by: string[] = [];
    for (const node of seen.values()) if (node.nodeId !== this.nodeId && node.gone?.[this.nodeId] === this.incarnation) by.push(node.nodeId);
    const absentMs = this.confirmedAt === 0 ? 0 : Math.round(writtenAt - this.confirmedAt);
    return by.length > 0 || absentMs > GONE_MEMORY_MS ? { by, absentMs } : null;
  }

  /**
   * Nodes known before whose records are now old or gone are asked whether they are alive; those
   * that answer stay in `seen` with their last record (their writes are late, not their routing).
   */
  private async keepAnswering(seen: Map<string, NodeRecord>): Promise<void> {
    const connection = this.connection;
    const quiet = [...this.nodes.keys()].filter((id) => id !== this.nodeId && !seen.has(id));
    for (const id of this.answeringOld) if (seen.has(id)) this.answeringOld.delete(id);
    if (quiet.length === 0 || connection === null || connection.isClosed()) return;
    const answers = await Promise.all(
      quiet.map((id) =>
        connection.request(this.liveSubject(id), '', { timeout: this.askTimeoutMs }).then(
          () => true,
          () => false, // no responders (its connection is gone) or no answer in time (stalled, cut off)
        ),
      ),
    );
    quiet.forEach((id, i) => {
      if (!answers[i]) {
        this.answeringOld.delete(id);
        return;
      }
      seen.set(id, this.nodes.get(id)!);
      if (this.answeringOld.has(id)) return;
      this.answeringOld.add(id);
      this.logger.warn({ nodeId: id, lastWritten: this.nodes.get(id)!.updatedAt }, 'presence record of a node is old, but it answers on NATS: still counted as alive');
    });
  }

  /** A clean stop: the record goes at once instead of after three heartbeats. */
  async leave(): Promise<void> {
    this.answering?.unsubscribe();
    this.answering = null;
    try {
      await this.kv?.delete(keyOf(this.nodeId));
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not remove this node from cluster presence');
    }
  }
}
