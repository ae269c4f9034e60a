/**
 * Who may deliver a node's durable logs (rule outboxes, dead letters, built-in queues) in cluster
 * mode (docs/cluster.md, "A dead node's logs"): one lease per node in the KV bucket
 * `<prefix>_leases`, whose max age is the lease time, so a lease nobody renews goes by itself —
 * expiry is decided by the NATS server, never by comparing two nodes' clocks.
 *
 *   node a running     ── holds `<a>` = {holder: a}, renews it every lease/4 (compare-and-set)
 *   node a gone        ── `<a>` expires; a live node b creates it = {holder: b} (create fails
 *                         when it exists: exactly one adopter), marks `<a>` in `<prefix>_adoptions`,
 *                         moves a's entries into its own logs, renewing, then deletes the lease
 *   node a back        ── waits while another node holds `<a>`, takes it, reads and clears the
 *                         adoption mark, and only then loads what is left of its logs
 *   node a cut off longer than the lease, and meanwhile adopted
 *                      ── its renewal finds the lease held by another node, or the adoption mark:
 *                         it has lost its logs (they are moved, or being moved) and must not
 *                         deliver them; it says so (lost) until it is restarted
 *
 * A node delivers only while its lease was confirmed within the lease time (mayDeliver), so a
 * node that stalled past its lease stops until a renewal says whether it still owns its logs.
 */
import type { KV } from '@nats-io/kv';
import type { JetStreamLayout } from './layout.js';

const WRONG_LAST_SEQUENCE = 10071;

function wrongLastSequence(err: unknown): boolean {
  return (err as { code?: unknown }).code === WRONG_LAST_SEQUENCE || /wrong last sequence/i.test((err as Error).message);
}

interface LeaseValue {
  readonly v: 1;
  /** The node that may deliver the logs. */
  readonly holder: string;
  /** The node whose logs they are. */
  readonly node: string;
}

/** A lease this node holds on another node's logs while it moves them. */
export interface Claim {
  readonly node: string;
  revision: number;
  renewedAt: number;
}

export class LogLeases {
  private ownRevision = 0;
  private lastConfirmed = 0;

  /** When the lease was last confirmed by JetStream (ms; 0 before the first time). */
  get confirmedAt(): number {
    return this.lastConfirmed;
  }
  private lostReason: string | null = null;
  private renewing = false;

  constructor(
    private readonly leases: KV,
    private readonly adoptions: KV,
    private readonly layout: JetStreamLayout,
    private readonly nodeId: string,
    readonly leaseMs: number,
  ) {}

  /** Why this node may no longer deliver its logs (another node adopted them); null while it owns them. */
  get lost(): string | null {
    return this.lostReason;
  }

  /** True while this node owns its logs and confirmed its lease within the lease time. */
  mayDeliver(now = Date.now()): boolean {
    return this.lostReason === null && now - this.lastConfirmed < this.leaseMs;
  }

  /**
   * Takes this node's own lease before it loads its logs: waits (calling `waiting` each time)
   * while another node holds it — that node is moving this node's logs after a crash. Answers
   * the node that had adopted them since this node last ran, if one did (the mark is cleared).
   */
  async acquireOwn(waiting: (holder: string) => void): Promise<string | null> {
    const key = this.layout.leaseKey(this.nodeId);
    for (;;) {
      const taken = await this.take(key, this.nodeId);
      if (taken.revision !== null) {
        this.ownRevision = taken.revision;
        this.lastConfirmed = Date.now();
        break;
      }
      waiting(taken.holder ?? 'another node');
      await new Promise((resolve) => setTimeout(resolve, Math.max(100, this.leaseMs / 4)));
    }
    const mark = await this.adoptions.get(key);
    if (mark === null || mark.operation !== 'PUT') return null;
    await this.adoptions.delete(key, { previousSeq: mark.revision });
    return (mark.json<{ by?: string }>().by ?? 'another node').toString();
  }

  /**
   * Renews this node's own lease (compare-and-set). A lease that lapsed (nobody renewed it in
   * time) is taken again unless another node holds it or has marked these logs adopted; then the
   * logs are lost to this node. A write that cannot reach JetStream is tried at the next renewal.
   */
  async renewOwn(): Promise<void> {
    if (this.lostReason !== null || this.ownRevision === 0 || this.renewing) return;
    this.renewing = true;
    const key = this.layout.leaseKey(this.nodeId);
    try {
      try {
        this.ownRevision = await this.leases.update(key, this.value(this.nodeId), this.ownRevision);
        this.lastConfirmed = Date.now();
        return;
      } catch (err) {
        if (!wrongLastSequence(err)) return; // unreachable: mayDeliver turns false once the lease time has passed
      }
      const taken = await this.take(key, this.nodeId);
      if (taken.revision === null) {
        this.lostReason = `node ${taken.holder ?? 'another node'} adopted this node's durable logs while its lease had lapsed`;
        return;
      }
      this.ownRevision = taken.revision;
      const mark = await this.adoptions.get(key);
      if (mark !== null && mark.operation === 'PUT') {
        this.lostReason = `node ${mark.json<{ by?: string }>().by ?? 'another node'} adopted this node's durable logs while its lease had lapsed`;
        return;
      }
      this.lastConfirmed = Date.now();
    } catch {
      // JetStream unreachable: tried again at the next renewal.
    } finally {
      this.renewing = false;
    }
  }

  /** Lets go of the own lease (a clean stop): another node may adopt what is left at once. */
  async releaseOwn(): Promise<void> {
    if (this.ownRevision === 0 || this.lostReason !== null) return;
    try {
      await this.leases.delete(this.layout.leaseKey(this.nodeId), { previousSeq: this.ownRevision });
    } catch {
      // Expires by itself.
    }
    this.ownRevision = 0;
  }

  /** Claims a dead node's logs; null when its lease is held (alive, or adopted by another node). */
  async claim(node: string): Promise<Claim | null> {
    const taken = await this.take(this.layout.leaseKey(node), node);
    if (taken.revision === null) return null;
    await this.adoptions.put(this.layout.leaseKey(node), JSON.stringify({ v: 1, by: this.nodeId, at: Date.now() }));
    return { node, revision: taken.revision, renewedAt: Date.now() };
  }

  /** Renews a claim; false when it was lost (it lapsed and was taken, or cannot be written). */
  async renew(claim: Claim): Promise<boolean> {
    try {
      claim.revision = await this.leases.update(this.layout.leaseKey(claim.node), this.value(claim.node), claim.revision);
      claim.renewedAt = Date.now();
      return true;
    } catch {
      return false;
    }
  }

  /** Ends a claim: the node, if it comes back, need not wait for the lease to expire. */
  async release(claim: Claim): Promise<void> {
    try {
      await this.leases.delete(this.layout.leaseKey(claim.node), { previousSeq: claim.revision });
    } catch {
      // Expires by itself.
    }
  }

  /**
   * Creates the lease `key` for this node, or takes it over when this node already holds it (a
   * previous run of it, or a write whose answer was lost). Answers the new revision, or null and
   * the holder when another node holds it.
   */
  private async take(key: string, node: string): Promise<{ revision: number | null; holder?: string }> {
    try {
      return { revision: await this.leases.create(key, this.value(node)) };
    } catch (err) {
      if (!wrongLastSequence(err)) throw err;
    }
    const entry = await this.leases.get(key);
    if (entry === null || entry.operation !== 'PUT') return { revision: null }; // changing right now: next time
    const holder = entry.json<LeaseValue>().holder;
    if (holder !== this.nodeId) return { revision: null, holder };
    try {
      return { revision: await this.leases.update(key, this.value(node), entry.revision) };
    } catch (err) {
      if (!wrongLastSequence(err)) throw err;
      return { revision: null };
    }
  }

  private value(node: string): string {
    return JSON.stringify({ v: 1, holder: this.nodeId, node } satisfies LeaseValue);
  }
}
