/**
 * The in-flight window of each session (outbound QoS 1/2, in window order by seq) and the inbound
 * QoS 2 packet ids awaiting PUBREL. A released entry (PUBREC seen) drops its message reference.
 */
import type { DeliveryInfo } from '../types.js';
import type { Corrections } from './corrections.js';
import type { Messages } from './messages.js';
import { encodeIds } from './rows.js';
import type { SessionIndex } from './session-index.js';
import type { Statements } from './statements.js';

export class Inflight {
  constructor(
    private readonly s: Statements,
    private readonly index: SessionIndex,
    private readonly messages: Messages,
    private readonly corrections: Corrections,
  ) {}

  /** Records a delivery entering the window under `seq` (assigned by the main thread). */
  add(clientId: string, packetId: number, delivery: DeliveryInfo, seq: number): void {
    const state = this.index.live(clientId);
    this.messages.times(delivery.messageId);
    if (this.s.hasInflight.get(state.sid, packetId) !== undefined) {
      throw new Error(`${clientId}: packet id ${packetId} is already in flight`);
    }
    this.s.insertInflight.run(
      state.sid,
      packetId,
      seq,
      delivery.messageId,
      delivery.qos,
      delivery.retain ? 1 : 0,
      encodeIds(delivery.subscriptionIds),
      delivery.shareGroup,
      delivery.shareFilter,
    );
    this.messages.ref(delivery.messageId);
  }

  /**
   * Moves a queue entry into the window under `inflightSeq`. An entry already gone (dropped over
   * a cap meanwhile) is not in flight; the main thread's depth is put back.
   */
  moveFromQueue(clientId: string, seq: number, packetId: number, inflightSeq: number): void {
    const state = this.index.live(clientId);
    if (this.s.hasInflight.get(state.sid, packetId) !== undefined) {
      throw new Error(`${clientId}: packet id ${packetId} is already in flight`);
    }
    if (seq <= state.ackedThrough) {
      // Acknowledged already (Queues.delivered): gone, as a dropped entry is.
      this.corrections.add(clientId, 1);
      return;
    }
    const row = this.s.takeQueued.get(seq, state.sid) as
      | {
          message_id: number;
          qos: number;
          retain: number;
          sub_ids: string | null;
          share_group: string | null;
          share_filter: string | null;
          bytes: number;
        }
      | undefined;
    if (row === undefined) {
      this.corrections.add(clientId, 1);
      return;
    }
    this.index.count(state, -1, -row.bytes);
    // The queue's reference moves to the in-flight entry: no count change.
    this.s.insertInflight.run(
      state.sid,
      packetId,
      inflightSeq,
      row.message_id,
      row.qos,
      row.retain,
      row.sub_ids,
      row.share_group,
      row.share_filter,
    );
  }

  release(clientId: string, packetId: number): boolean {
    const state = this.index.byClientId.get(clientId);
    if (state === undefined) return false;
    const row = this.s.getInflight.get(state.sid, packetId) as { message_id: number | null; released: number } | undefined;
    if (row === undefined) return false;
    if (row.released === 0) {
      this.s.releaseInflight.run(state.sid, packetId);
      if (row.message_id !== null) this.messages.unref(row.message_id);
    }
    return true;
  }

  remove(clientId: string, packetId: number): boolean {
    const state = this.index.byClientId.get(clientId);
    if (state === undefined) return false;
    const row = this.s.removeInflight.get(state.sid, packetId) as { message_id: number | null } | undefined;
    if (row === undefined) return false;
    if (row.message_id !== null) this.messages.unref(row.message_id);
    return true;
  }

  addInboundQos2(clientId: string, packetId: number): void {
    this.s.addInbound.run(this.index.live(clientId).sid, packetId);
  }

  removeInboundQos2(clientId: string, packetId: number): boolean {
    const state = this.index.byClientId.get(clientId);
    if (state === undefined) return false;
    return this.s.removeInbound.run(state.sid, packetId).changes > 0;
  }
}
