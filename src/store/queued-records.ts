/**
 * `StoredQueuePage.entry`: a queued entry as the plain record a store reads (tests and tools; a
 * session takes its entries with its own maker, broker/persistence.ts).
 */
import type { MessageRecord, QueuedMessage, QueueEntryMaker, StoreQoS } from './types.js';

export class QueuedRecords implements QueueEntryMaker<QueuedMessage> {
  constructor(private readonly clientId: string) {}

  make(
    seq: number,
    messageId: number,
    qos: StoreQoS,
    retain: boolean,
    subscriptionIds: number[] | null,
    shareGroup: string | null,
    shareFilter: string | null,
    topic: string,
    payload: Buffer,
    messageQos: StoreQoS,
    messageRetain: boolean,
    properties: Buffer | null,
    expiresAt: number,
    createdAt: number,
    traceId: number,
  ): QueuedMessage {
    const id = messageId;
    const message: MessageRecord =
      traceId !== 0
        ? { id, topic, payload, qos: messageQos, retain: messageRetain, properties, expiresAt, createdAt, traceId }
        : { id, topic, payload, qos: messageQos, retain: messageRetain, properties, expiresAt, createdAt };
    return { clientId: this.clientId, seq, messageId, qos, retain, subscriptionIds, shareGroup, shareFilter, message };
  }
}
