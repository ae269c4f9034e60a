/** Retained messages: topic → message, one message reference per topic. */
import type { MessageId } from '../types.js';
import type { Messages } from './messages.js';
import type { Statements } from './statements.js';

export class Retained {
  constructor(
    private readonly s: Statements,
    private readonly messages: Messages,
  ) {}

  set(topic: string, messageId: MessageId): void {
    const times = this.messages.times(messageId);
    const previous = this.s.getRetained.get(topic) as { message_id: number } | undefined;
    this.s.putRetained.run(topic, messageId, times.expiresAt);
    this.messages.ref(messageId);
    if (previous !== undefined) this.messages.unref(previous.message_id);
  }

  delete(topic: string): boolean {
    const row = this.s.deleteRetained.get(topic) as { message_id: number } | undefined;
    if (row === undefined) return false;
    this.messages.unref(row.message_id);
    return true;
  }
}
