/**
 * Other nodes' durable logs in the logs stream, for adopting those of a node that is gone
 * (src/cluster/log-adoption.ts): which nodes have entries, a node's entries in stream order, and
 * their deletion once they are durable in this node's own logs. Claims go through LogLeases, so
 * at most one live node moves a dead node's entries, and never while that node holds its lease.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { decodeLogEntry } from './codec.js';
import type { JetStreamLayout } from './layout.js';
import type { Claim, LogLeases } from './log-leases.js';
import { streamEntries } from './resources.js';

const NO_MESSAGE_FOUND = 10037;
/** Deletes sent at once. */
const DELETE_STEP = 64;

export interface ForeignLogEntry {
  readonly streamSeq: number;
  readonly log: string;
  readonly meta: string;
  readonly payload: Buffer;
  readonly createdAt: number;
}

export class ForeignLogs {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly layout: JetStreamLayout,
    private readonly leases: LogLeases,
  ) {}

  /** The other nodes that have entries in the logs stream (one stream-info request). */
  async nodes(): Promise<string[]> {
    const info = await this.jsm.streams.info(this.layout.logsStream, { subjects_filter: this.layout.logSubjects });
    const nodes = new Set<string>();
    for (const subject of Object.keys(info.state.subjects ?? {})) nodes.add(this.layout.logNodeOf(subject));
    nodes.delete(this.layout.nodeId);
    return [...nodes];
  }

  claim(node: string): Promise<Claim | null> {
    return this.leases.claim(node);
  }

  renew(claim: Claim): Promise<boolean> {
    return this.leases.renew(claim);
  }

  release(claim: Claim): Promise<void> {
    return this.leases.release(claim);
  }

  /** The lease time: a claim not renewed within it may be taken by another node. */
  get leaseMs(): number {
    return this.leases.leaseMs;
  }

  /**
   * A node's entries in stream order (append order, so each publishing client's order). An
   * entry that cannot be decoded is reported through `unreadable` and skipped (left in place).
   */
  async *entries(node: string, unreadable: (streamSeq: number, err: Error) => void): AsyncIterable<ForeignLogEntry> {
    for await (const e of streamEntries(this.js, this.layout.logsStream, this.layout.nodeLogSubjects(node))) {
      let decoded: ReturnType<typeof decodeLogEntry>;
      try {
        decoded = decodeLogEntry(e.data);
      } catch (err) {
        unreadable(e.seq, err as Error);
        continue;
      }
      yield { streamSeq: e.seq, ...decoded };
    }
  }

  /** Deletes entries by stream sequence (one already gone counts as deleted). */
  async delete(streamSeqs: readonly number[]): Promise<void> {
    for (let i = 0; i < streamSeqs.length; i += DELETE_STEP) {
      await Promise.all(
        streamSeqs.slice(i, i + DELETE_STEP).map(async (seq) => {
          try {
            await this.jsm.streams.deleteMessage(this.layout.logsStream, seq, false);
          } catch (err) {
            if ((err as { code?: unknown }).code !== NO_MESSAGE_FOUND) throw err;
          }
        }),
      );
    }
  }
}
