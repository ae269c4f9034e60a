/**
 * Messages, stored once and reference counted. A new message waits in memory until its batch
 * references it; reference count changes accumulate in memory and are written once per message
 * per batch (`applyPending`). At COMMIT, what ended unreferenced is deleted and a new message
 * nobody referenced is never written.
 */
import { queuedBytes, type MessageId, type MessageRecord, type NewMessage } from '../types.js';
import { consecutiveRuns } from './ranges.js';
import { messageFromRow, type MessageRow } from './rows.js';
import type { Statements } from './statements.js';

/** Messages losing the same number of references from which one statement deletes them (applyPending). */
const SET_BASED_FROM = 8;

export class Messages {
  private readonly pendingMessages = new Map<MessageId, NewMessage>();
  private readonly refDelta = new Map<MessageId, number>();
  private readonly maybeUnreferenced = new Set<MessageId>();

  constructor(private readonly s: Statements) {}

  /** One message's reference count change; at COMMIT, deleted at once if nothing refers to it any more. */
  private changeRefs(id: MessageId, delta: number, final: boolean): void {
    const s = this.s;
    if (final && delta < 0 && s.deleteIfUnreferencedAfter.run(id, delta).changes > 0) return;
    const row = s.addRefs.get(delta, id) as { refs: number } | undefined;
    if (row !== undefined && row.refs <= 0) this.maybeUnreferenced.add(id);
  }

  /** Forgets everything not yet written (after a ROLLBACK). */
  reset(): void {
    this.pendingMessages.clear();
    this.refDelta.clear();
    this.maybeUnreferenced.clear();
  }

  /** Records a message under the id the main thread assigned. */
  add(id: MessageId, message: NewMessage): void {
    this.pendingMessages.set(id, {
      topic: message.topic,
      payload: message.payload,
      qos: message.qos,
      retain: message.retain,
      properties: message.properties,
      expiresAt: message.expiresAt,
      createdAt: message.createdAt,
      traceId: message.traceId ?? 0,
    });
  }

  /** The trace number a message was stored with (0 when none or unknown); for drop reports. */
  traceId(id: MessageId): number {
    const pending = this.pendingMessages.get(id);
    if (pending !== undefined) return pending.traceId ?? 0;
    return (this.s.messageTrace.get(id) as number | undefined) ?? 0;
  }

  get(id: MessageId): MessageRecord | undefined {
    const pending = this.pendingMessages.get(id);
    if (pending !== undefined) return { ...pending, id };
    const row = this.s.getMessage.get(id) as MessageRow | undefined;
    return row === undefined ? undefined : messageFromRow(row);
  }

  /**
   * Validates a message id and returns its times and the bytes a queue entry of it counts
   * (payload + topic); throws for an unknown message.
   */
  times(id: MessageId): { createdAt: number; expiresAt: number; bytes: number } {
    const pending = this.pendingMessages.get(id);
    if (pending !== undefined) return { createdAt: pending.createdAt, expiresAt: pending.expiresAt, bytes: queuedBytes(pending) };
    const row = this.s.messageTimes.get(id) as { created_at: number; expires_at: number; bytes: number } | undefined;
    if (row === undefined) throw new Error(`unknown message ${id}`);
    return { createdAt: row.created_at, expiresAt: row.expires_at, bytes: row.bytes };
  }

  ref(id: MessageId): void {
    this.refDelta.set(id, (this.refDelta.get(id) ?? 0) + 1);
  }

  unref(id: MessageId): void {
    this.refDelta.set(id, (this.refDelta.get(id) ?? 0) - 1);
  }

  /**
   * Writes the accumulated reference counts (and the new messages that are referenced) into
   * the open transaction. `final` (at COMMIT) also drops what ended unreferenced.
   */
  applyPending(final: boolean): void {
    this.insertReferenced(final);
    this.applyRefs(final);
  }

  /**
   * Writes the new messages that are referenced (with their counts), so that a query joining
   * them finds them; the other count changes wait. A queue page read between a batch and its
   * COMMIT needs only these: writing a draining session's thousands of -1s there, one UPDATE
   * each, instead of one DELETE for all of them at COMMIT, was 6 % of a drain's store thread.
   * `final`: the new messages nobody referenced are forgotten.
   */
  insertReferenced(final = false): void {
    const s = this.s;
    for (const [id, message] of this.pendingMessages) {
      const refs = this.refDelta.get(id) ?? 0;
      if (refs <= 0 && !final) continue;
      this.pendingMessages.delete(id);
      this.refDelta.delete(id);
      if (refs <= 0) continue;
      s.insertMessage.run(
        id,
        message.topic,
        message.payload,
        message.qos,
        message.retain ? 1 : 0,
        message.properties,
        message.expiresAt,
        message.createdAt,
        refs,
        message.traceId ?? 0,
      );
    }
  }

  /**
   * Deletes `ids` where `delta` leaves no reference, runs of consecutive ids as ranges (ranges.ts);
   * true when every one of them went.
   */
  private deleteAllIfUnreferenced(ids: readonly number[], delta: number): boolean {
    const s = this.s;
    const { runs, rest } = consecutiveRuns(ids);
    let deleted = 0;
    for (const [first, last] of runs) deleted += s.deleteRangeIfUnreferencedAfter.run(first, last, delta).changes;
    if (rest.length > 0) deleted += s.deleteManyIfUnreferencedAfter.run(JSON.stringify(rest), delta).changes;
    return deleted === ids.length;
  }

  private applyRefs(final: boolean): void {
    const s = this.s;
    const byDelta = new Map<number, MessageId[]>();
    for (const [id, delta] of this.refDelta) {
      if (delta === 0) continue;
      const ids = byDelta.get(delta);
      if (ids === undefined) byDelta.set(delta, [id]);
      else ids.push(id);
    }
    this.refDelta.clear();
    for (const [delta, ids] of byDelta) {
      // At COMMIT the messages whose last reference goes are deleted, not updated to 0 and then
      // deleted; many with the same change in one statement (a draining queue: thousands of
      // -1s). When some of them are still referenced, each is written on its own (a deleted one
      // is no longer found). An UPDATE of a set measured slower than one per row: not used.
      if (final && delta < 0 && ids.length >= SET_BASED_FROM && this.deleteAllIfUnreferenced(ids, delta)) continue;
      for (const id of ids) this.changeRefs(id, delta, final);
    }
    if (final) {
      for (const id of this.maybeUnreferenced) s.deleteUnreferenced.run(id);
      this.maybeUnreferenced.clear();
    }
  }
}
