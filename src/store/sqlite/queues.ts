/**
 * Offline queues (store thread): enqueue under the per-session and per-instance caps (every drop
 * reported through Corrections), removal, and paging in seq order. The queue is never loaded whole.
 */
import type { DeliveryInfo, QueuedMessage, StoreQoS } from '../types.js';
import type { Corrections } from './corrections.js';
import type { Messages } from './messages.js';
import { decodeIds, encodeIds, messageFromRow, type QueueRow } from './rows.js';
import type { SessionIndex } from './session-index.js';
import type { Statements } from './statements.js';

export interface QueueCaps {
  readonly maxPerSession: number;
  readonly maxPerInstance: number;
}

export class Queues {
  constructor(
    private readonly s: Statements,
    private readonly index: SessionIndex,
    private readonly messages: Messages,
    private readonly corrections: Corrections,
  ) {}

  /** Appends under `seq` (assigned by the main thread); drops the oldest over the caps. */
  enqueue(clientId: string, delivery: DeliveryInfo, seq: number, caps: QueueCaps): void {
    const index = this.index;
    const state = index.live(clientId);
    const times = this.messages.times(delivery.messageId);
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

    if (state.depth > caps.maxPerSession) {
      const rows = this.s.dropSessionOldest.all(state.sid, state.depth - caps.maxPerSession) as Array<{
        seq: number;
        message_id: number;
      }>;
      rows.sort((a, b) => a.seq - b.seq);
      for (const row of rows) {
        this.messages.unref(row.message_id);
        this.corrections.dropped({ clientId, seq: row.seq, messageId: row.message_id, reason: 'session-cap' });
      }
      state.depth -= rows.length;
      index.addInstanceDepth(instanceId, -rows.length);
    }
    const excess = (index.instanceDepth.get(instanceId) ?? instanceDepth) - caps.maxPerInstance;
    if (excess > 0) {
      const rows = this.s.dropInstanceOldest.all(instanceId, excess) as Array<{
        seq: number;
        sid: number;
        message_id: number;
      }>;
      rows.sort((a, b) => a.seq - b.seq);
      for (const row of rows) {
        this.messages.unref(row.message_id);
        const owner = index.bySid.get(row.sid);
        if (owner === undefined) continue;
        owner.depth--;
        index.addInstanceDepth(instanceId, -1);
        this.corrections.dropped({
          clientId: owner.record.clientId,
          seq: row.seq,
          messageId: row.message_id,
          reason: 'instance-cap',
        });
      }
    }
  }

  /** Removes an entry; when it is already gone (dropped), the main thread's depth is put back. */
  remove(clientId: string, seq: number): void {
    const state = this.index.byClientId.get(clientId);
    if (state === undefined) return;
    const row = this.s.removeQueued.get(seq, state.sid) as { message_id: number } | undefined;
    if (row === undefined) {
      this.corrections.add(clientId, 1);
      return;
    }
    this.messages.unref(row.message_id);
    state.depth--;
    this.index.addInstanceDepth(state.record.instanceId, -1);
  }

  read(clientId: string, afterSeq: number, limit: number): QueuedMessage[] {
    const state = this.index.byClientId.get(clientId);
    if (state === undefined || limit <= 0 || state.depth === 0) return [];
    this.messages.applyPending(false);
    const rows = this.s.readQueue.all(state.sid, afterSeq, limit) as QueueRow[];
    return rows.map((row) => ({
      clientId,
      seq: row.seq,
      messageId: row.message_id,
      qos: row.dqos as StoreQoS,
      retain: row.dretain === 1,
      subscriptionIds: decodeIds(row.sub_ids),
      shareGroup: row.share_group,
      shareFilter: row.share_filter,
      message: messageFromRow(row),
    }));
  }
}
