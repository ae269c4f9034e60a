/**
 * Node presence in a JetStream KV bucket (`<prefix>_nodes`): each node writes its record every
 * heartbeat; the bucket's max age (three heartbeats) removes the record of a node that stopped
 * writing (crashed, cut off), and a node that stops cleanly deletes its own. Every node reads the
 * bucket each heartbeat, so each knows who is alive within about three heartbeats.
 */
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';

export interface NodeRecord {
  readonly version: 1;
  readonly nodeId: string;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly clients: number;
  readonly sessions: number;
  readonly subscriptions: number;
}

/** The bucket key of a node id (KV keys allow fewer characters than node ids). */
function keyOf(nodeId: string): string {
  return Buffer.from(nodeId, 'utf8').toString('base64url');
}

export class Presence {
  private kv: KV | null = null;
  /** Alive nodes as last read, this one included once it wrote its record. */
  nodes = new Map<string, NodeRecord>();
  /** Why presence could not be written or read at the last heartbeat; null when it could. */
  problem: string | null = null;

  constructor(
    private readonly bucket: string,
    private readonly nodeId: string,
    private readonly heartbeatMs: number,
    private readonly replicas: number,
    private readonly logger: Logger,
  ) {}

  async open(connection: NatsConnection): Promise<void> {
    const kvm = new Kvm(connection);
    try {
      this.kv = await kvm.create(this.bucket, { ttl: this.heartbeatMs * 3, replicas: this.replicas, history: 1 });
    } catch (err) {
      // Created earlier with other settings (another node's heartbeat): use it as it is.
      this.logger.warn({ bucket: this.bucket, err: (err as Error).message }, 'presence bucket exists with other settings; using it');
      this.kv = await kvm.open(this.bucket);
    }
  }

  /** Writes this node's record, then reads everyone's. Returns the node ids that appeared and disappeared. */
  async beat(record: Omit<NodeRecord, 'version' | 'nodeId' | 'updatedAt'>): Promise<{ joined: string[]; left: string[] }> {
    const kv = this.kv;
    if (kv === null) return { joined: [], left: [] };
    try {
      const own: NodeRecord = { version: 1, nodeId: this.nodeId, updatedAt: new Date().toISOString(), ...record };
      await kv.put(keyOf(this.nodeId), JSON.stringify(own));
      const seen = new Map<string, NodeRecord>();
      const staleBefore = Date.now() - this.heartbeatMs * 3;
      for await (const key of await kv.keys()) {
        const entry = await kv.get(key);
        if (entry === null || entry.operation !== 'PUT' || entry.created.getTime() < staleBefore) continue;
        try {
          const node = entry.json<NodeRecord>();
          if (node.version === 1 && typeof node.nodeId === 'string') seen.set(node.nodeId, node);
        } catch {
          // Not a record of this version: ignored (a newer node would write another version).
        }
      }
      const joined = [...seen.keys()].filter((id) => !this.nodes.has(id));
      const left = [...this.nodes.keys()].filter((id) => !seen.has(id));
      this.nodes = seen;
      if (this.problem !== null) this.logger.warn('cluster presence readable again');
      this.problem = null;
      return { joined, left };
    } catch (err) {
      if (this.problem === null) this.logger.error({ err: (err as Error).message }, 'cannot write or read cluster presence');
      this.problem = `cluster presence: ${(err as Error).message}`;
      return { joined: [], left: [] };
    }
  }

  /** A clean stop: the record goes at once instead of after three heartbeats. */
  async leave(): Promise<void> {
    try {
      await this.kv?.delete(keyOf(this.nodeId));
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not remove this node from cluster presence');
    }
  }
}
