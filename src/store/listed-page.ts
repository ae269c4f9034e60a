/**
 * `Store.readQueuePage` for stores that hold their queue as objects anyway (memory, JetStream's
 * mirror): the page is the list MemoryStore's `readQueue` gives.
 */
import type { QueuedMessage, QueueEntryMaker, StoredQueuePage } from './types.js';

export class ListedQueuePage implements StoredQueuePage {
  readonly bytes: number;

  constructor(private readonly entries: readonly QueuedMessage[]) {
    let bytes = 0;
    for (const entry of entries) bytes += entry.message.payload.byteLength + (entry.message.properties?.byteLength ?? 0);
    this.bytes = bytes;
  }

  get length(): number {
    return this.entries.length;
  }

  seq(index: number): number {
    return this.at(index).seq;
  }

  take<T>(index: number, maker: QueueEntryMaker<T>): T {
    const entry = this.at(index);
    const message = entry.message;
    const ids = entry.subscriptionIds;
    return maker.make(
      entry.seq,
      entry.messageId,
      entry.qos,
      entry.retain,
      // The store keeps its entry: the maker gets an array of its own.
      ids === null ? null : ids.slice(),
      entry.shareGroup,
      entry.shareFilter,
      message.topic,
      message.payload,
      message.qos,
      message.retain,
      message.properties,
      message.expiresAt,
      message.createdAt,
      message.traceId ?? 0,
    );
  }

  entry(index: number): QueuedMessage {
    return this.at(index);
  }

  private at(index: number): QueuedMessage {
    const entry = this.entries[index];
    if (entry === undefined) throw new RangeError(`queue page: no entry ${index} of ${this.entries.length}`);
    return entry;
  }
}
