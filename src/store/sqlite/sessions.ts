/**
 * Sessions and their subscriptions. Deleting a session removes its subscriptions, in-flight and
 * inbound rows at once and hands its queue to reclaiming (`dead_sessions`, see housekeeping.ts).
 */
import type { SessionRecord, SubscriptionRecord } from '../types.js';
import type { Counters } from './counters.js';
import type { Messages } from './messages.js';
import { sessionExpiresAt } from './rows.js';
import type { SessionIndex, SessionState } from './session-index.js';
import type { Statements } from './statements.js';

export class Sessions {
  constructor(
    private readonly s: Statements,
    private readonly index: SessionIndex,
    private readonly messages: Messages,
    private readonly counters: Counters,
  ) {}

  put(session: SessionRecord): void {
    const existing = this.index.byClientId.get(session.clientId);
    const expiresAt = sessionExpiresAt(session);
    if (existing !== undefined) {
      if (existing.record.instanceId !== session.instanceId) {
        throw new Error(`session ${session.clientId}: instanceId cannot change (delete the session first)`);
      }
      this.s.updateSession.run(session.protocolVersion, session.expiryInterval, session.disconnectedAt, expiresAt, existing.sid);
      existing.record = { ...session };
      return;
    }
    const sid = this.counters.nextSid++;
    this.s.insertSession.run(
      session.clientId,
      sid,
      session.instanceId,
      session.protocolVersion,
      session.expiryInterval,
      session.disconnectedAt,
      expiresAt,
    );
    const state: SessionState = { sid, record: { ...session }, depth: 0, bytes: 0, ackedThrough: 0, ackedRows: 0 };
    this.index.add(state);
  }

  setDisconnectedAt(clientId: string, at: number | null): boolean {
    const state = this.index.byClientId.get(clientId);
    if (state === undefined) return false;
    state.record = { ...state.record, disconnectedAt: at };
    this.s.updateDisconnected.run(at, sessionExpiresAt(state.record), state.sid);
    return true;
  }

  delete(clientId: string): boolean {
    const state = this.index.byClientId.get(clientId);
    if (state === undefined) return false;
    const sid = state.sid;
    this.s.deleteSession.run(sid);
    this.s.deleteSubsOf.run(sid);
    this.s.deleteInboundOf.run(sid);
    for (const row of this.s.deleteInflightOf.all(sid) as Array<{ message_id: number | null }>) {
      if (row.message_id !== null) this.messages.unref(row.message_id);
    }
    if (state.depth > 0 || state.ackedRows > 0) {
      // Its rows, acknowledged ones included, are reclaimed in steps (housekeeping).
      this.s.insertDead.run(sid);
      this.index.deadSids.add(sid);
      this.index.addInstance(state.record.instanceId, -state.depth, -state.bytes);
    }
    if (state.ackedThrough > 0) this.s.deleteAcked.run(sid);
    this.index.remove(state);
    return true;
  }

  putSubscription(sub: SubscriptionRecord): void {
    const state = this.index.live(sub.clientId);
    this.s.putSub.run(
      state.sid,
      sub.key,
      sub.qos,
      sub.noLocal ? 1 : 0,
      sub.retainAsPublished ? 1 : 0,
      sub.retainHandling,
      sub.subscriptionId,
      sub.shareGroup,
      sub.filter,
    );
  }

  deleteSubscription(clientId: string, key: string): boolean {
    const state = this.index.byClientId.get(clientId);
    if (state === undefined) return false;
    return this.s.deleteSub.run(state.sid, key).changes > 0;
  }
}
