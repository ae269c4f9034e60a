/**
 * Offline queues: enqueue with the per-session and per-instance caps (every drop reported),
 * removal, and paging in seq order. The queue is never loaded whole.
 */
import type { DeliveryInfo, DroppedEntry, EnqueueResult, QueueLimits, QueuedMessage, StoreQoS } from '../types.js';
import type { SqliteBatch } from './batch.js';
import type { Counters } from './counters.js';
import type { Messages } from './messages.js';
import { decodeIds, encodeIds, messageFromRow, type QueueRow } from './rows.js';
import type { SessionIndex } from './session-index.js';
import type { Statements } from './statements.js';

const NO_DROPS: readonly DroppedEntry[] = Object.freeze([]);

export class Queues {
  constructor(
    private readonly s: Statements,
    private readonly index: SessionIndex,
    private readonly messages: Messages,
    private readonly counters: Counters,
    private readonly batch: SqliteBatch,
    private readonly limitsFor: (instanceId: string) => QueueLimits,
  ) {}

  enqueue(clientId: string, delivery: DeliveryInfo): EnqueueResult {
    const index = this.index;
    const state = index.live(clientId);
    const times = this.messages.times(delivery.messageId);
    const seq = this.counters.nextSeq++;
    const instanceId = state.record.instanceId;
    this.s.insertQueue.run(
      seq,
      state.sid,
      instanceId,
      delivery.messageId,
      delivery.qos,
      delivery.retain ? 1 : 0,
      encodeIds(delivery.subscriptionIds),
      delivery.shareGroup,
      delivery.shareFilter,
      times.createdAt,
      times.expiresAt,
    );
    this.messages.ref(delivery.messageId);
    state.depth++;
    const instanceDepth = index.addInstanceDepth(instanceId, 1);

    const limits = this.limitsFor(instanceId);
    let dropped: DroppedEntry[] | null = null;
    if (state.depth > limits.maxQueuedPerSession) {
      const rows = this.s.dropSessionOldest.all(state.sid, state.depth - limits.maxQueuedPerSession) as Array<{
        seq: number;
        message_id: number;
      }>;
      rows.sort((a, b) => a.seq - b.seq);
      dropped = [];
      for (const row of rows) {
        this.messages.unref(row.message_id);
        dropped.push({ clientId, seq: row.seq, messageId: row.message_id, reason: 'session-cap' });
      }
      state.depth -= rows.length;
      index.addInstanceDepth(instanceId, -rows.length);
    }
    const excess = (index.instanceDepth.get(instanceId) ?? instanceDepth) - limits.maxQueuedPerInstance;
    if (excess > 0) {
      const rows = this.s.dropInstanceOldest.all(instanceId, excess) as Array<{
        seq: number;
        sid: number;
        message_id: number;
      }>;
      rows.sort((a, b) => a.seq - b.seq);
      dropped ??= [];
      for (const row of rows) {
        this.messages.unref(row.message_id);
        const owner = index.bySid.get(row.sid);
        if (owner === undefined) continue;
        owner.depth--;
        index.addInstanceDepth(instanceId, -1);
        dropped.push({ clientId: owner.record.clientId, seq: row.seq, messageId: row.message_id, reason: 'instance-cap' });
      }
    }
    return { seq, dropped: dropped ?? NO_DROPS };
  }

  remove(clientId: string, seq: number): boolean {
    const state = this.index.byClientId.get(clientId);
    if (state === undefined) return false;
    const row = this.s.removeQueued.get(seq, state.sid) as { message_id: number } | undefined;
    if (row === undefined) return false;
    this.messages.unref(row.message_id);
    state.depth--;
    this.index.addInstanceDepth(state.record.instanceId, -1);
    return true;
  }

  read(clientId: string, afterSeq: number, limit: number): Promise<QueuedMessage[]> {
    const state = this.index.byClientId.get(clientId);
    if (state === undefined || limit <= 0 || state.depth === 0) return Promise.resolve([]);
    this.batch.settle();
    const rows = this.s.readQueue.all(state.sid, afterSeq, limit) as QueueRow[];
    return Promise.resolve(
      rows.map((row) => ({
        clientId,
        seq: row.seq,
        messageId: row.message_id,
        qos: row.dqos as StoreQoS,
        retain: row.dretain === 1,
        subscriptionIds: decodeIds(row.sub_ids),
        shareGroup: row.share_group,
        shareFilter: row.share_filter,
        message: messageFromRow(row),
      })),
    );
  }

  depth(clientId: string): number {
    return this.index.byClientId.get(clientId)?.depth ?? 0;
  }
}
