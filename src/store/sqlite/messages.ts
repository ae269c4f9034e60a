/**
 * Messages, stored once and reference counted. A new message waits in memory until its batch
 * references it; reference count changes accumulate in memory and are written once per message
 * per batch (`applyPending`). At COMMIT, what ended unreferenced is deleted and a new message
 * nobody referenced is never written.
 */
import { queuedBytes, type MessageId, type MessageRecord, type NewMessage } from '../types.js';
import { messageFromRow, type MessageRow } from './rows.js';
import type { Statements } from './statements.js';

export class Messages {
  private readonly pendingMessages = new Map<MessageId, NewMessage>();
  private readonly refDelta = new Map<MessageId, number>();
  private readonly maybeUnreferenced = new Set<MessageId>();

  constructor(private readonly s: Statements) {}

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
    for (const [id, delta] of this.refDelta) {
      if (delta === 0) continue;
      // At COMMIT a message whose last reference goes is deleted in one statement, not updated
      // to 0 and then deleted (a draining queue: one per delivered message).
      if (final && delta < 0 && s.deleteIfUnreferencedAfter.run(id, delta).changes > 0) continue;
      const row = s.addRefs.get(delta, id) as { refs: number } | undefined;
      if (row !== undefined && row.refs <= 0) this.maybeUnreferenced.add(id);
    }
    this.refDelta.clear();
    if (final) {
      for (const id of this.maybeUnreferenced) s.deleteUnreferenced.run(id);
      this.maybeUnreferenced.clear();
    }
  }
}
