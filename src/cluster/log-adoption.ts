/**
 * A dead node's durable logs — rule outboxes, dead letters, built-in queues — are taken over by a
 * live node (docs/cluster.md, "A dead node's logs"), so what a killed node had acknowledged is
 * delivered without waiting for that node to come back:
 *
 *   heartbeat (presence read) ─▶ nodes with entries in the logs stream, not alive, not this one
 *        └▶ claim the node's lease (KV create: fails while the node, or another adopter, holds it)
 *             └▶ its entries in stream order ─▶ this node's log of the same name, through the rule
 *                or queue it belongs to (the sink) ─▶ durable here ─▶ deleted there; lease released
 *
 * At least once: an entry is deleted from the dead node's subjects only after it is durable in
 * this node's; a crash in between delivers it twice. The claim is renewed while moving; a claim
 * that cannot be renewed stops the move before anything more is deleted.
 */
import type { Logger } from 'pino';
import type { ForeignLogs } from '../store/jetstream/foreign-logs.js';

/** Where adopted entries go: the rule runtime's outboxes, dead letters and queues. */
export interface AdoptedLogSink {
  /**
   * Appends an entry of another node's log to this node's log of the same name (through the
   * rule or queue it belongs to); false when this node cannot take it (a rule it does not know).
   */
  adoptLogEntry(log: string, meta: string, payload: Buffer, createdAt: number): boolean;
}

/** Entries made durable here, then deleted there, at a time. */
const BATCH = 256;
/** A node whose logs held entries this node could not take is looked at again after this long. */
const RETRY_LEFT_MS = 30_000;

export class LogAdoption {
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly retryAfter = new Map<string, number>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly foreign: ForeignLogs,
    private readonly sink: AdoptedLogSink,
    /** Resolves once what this node appended is durable (the store's whenDurable). */
    private readonly durable: () => Promise<void>,
    private readonly logger: Logger,
  ) {}

  /** Looks for dead nodes' logs and moves them (one pass at a time; a heartbeat during a pass is skipped). */
  scan(live: ReadonlySet<string>): void {
    if (this.running !== null || this.stopped) return;
    this.running = this.run(live)
      .catch((err: unknown) => {
        this.logger.error({ err: (err as Error).message }, "adopting a dead node's durable logs failed; tried again at the next heartbeat");
      })
      .finally(() => {
        this.running = null;
      });
  }

  /** Stops after the entry being moved (what was appended here is deleted there first). */
  async close(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async run(live: ReadonlySet<string>): Promise<void> {
    const now = Date.now();
    for (const node of await this.foreign.nodes()) {
      if (this.stopped) return;
      if (live.has(node) || (this.retryAfter.get(node) ?? 0) > now) continue;
      const claim = await this.foreign.claim(node);
      if (claim === null) continue; // alive (its lease holds), or another node is adopting
      try {
        await this.move(claim);
      } finally {
        await this.foreign.release(claim);
      }
    }
  }

  private async move(claim: Parameters<ForeignLogs['renew']>[0]): Promise<void> {
    const { node } = claim;
    this.logger.warn({ node }, 'adopting the durable logs of a node that left the cluster');
    let moved = 0;
    let left = 0;
    let batch: number[] = [];
    /** Entries moved per log, for the operator's line. */
    const logs: Record<string, number> = {};
    const keepClaim = async (): Promise<void> => {
      if (!(await this.foreign.renew(claim))) throw new Error(`lost the claim on the durable logs of node ${node}`);
    };
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await this.durable();
      // Deleting needs the claim: one that lapsed may be another node's by now.
      await keepClaim();
      await this.foreign.delete(batch);
      moved += batch.length;
      batch = [];
    };
    const entries = this.foreign.entries(node, (streamSeq, err) => {
      left++;
      this.logger.error({ node, streamSeq, err: err.message }, 'unreadable entry in a dead node\'s durable logs left in place');
    });
    for await (const entry of entries) {
      if (this.sink.adoptLogEntry(entry.log, entry.meta, entry.payload, entry.createdAt)) {
        batch.push(entry.streamSeq);
        logs[entry.log] = (logs[entry.log] ?? 0) + 1;
      } else {
        left++;
        if (!this.warned.has(`${node}\u0000${entry.log}`)) {
          this.warned.add(`${node}\u0000${entry.log}`);
          this.logger.warn({ node, log: entry.log }, "a dead node's durable log left in place: its rule is not known on this node");
        }
      }
      if (batch.length >= BATCH) await flush();
      else if (Date.now() - claim.renewedAt > this.foreign.leaseMs / 4) await keepClaim();
      if (this.stopped) break;
    }
    await flush();
    if (left > 0) this.retryAfter.set(node, Date.now() + RETRY_LEFT_MS);
    else this.retryAfter.delete(node);
    this.logger.warn({ node, moved, left, logs }, 'adopted the durable logs of a node that left the cluster');
  }
}
