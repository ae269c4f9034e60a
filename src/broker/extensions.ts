/**
 * Named extension points of the broker for capabilities that live outside it (rules, the AMQP
 * endpoint, a cluster): each accepts any number of listeners, and each `on...` returns the
 * function that removes its listener. Listeners run synchronously in the broker's turn — what
 * they record in the store joins the same group commit as the acknowledgement of the event's
 * cause (a PUBLISH's PUBACK) — and must be quick: a listener that needs I/O queues the work.
 * A listener that throws is isolated: the error is reported to `onListenerError`, the broker and
 * the other listeners carry on.
 */
import type { ClientHandle } from './hooks.js';
import type { Message } from '../session/message.js';

/** Who published a message, as the extension points see it; null for server-made messages. */
export interface Publisher {
  readonly clientId: string;
  /** 0: the session ends with the connection (clean session / clean start without expiry). */
  readonly expiryInterval: number;
}

export type MessagePublishedListener = (instanceId: string, message: Message, publisher: Publisher | null) => void;
export type ClientConnectedListener = (client: ClientHandle) => void;
/** `disconnectPacket`: the client sent DISCONNECT before the connection closed. */
export type ClientClosedListener = (client: ClientHandle, disconnectPacket: boolean) => void;
/** A subscription to `filter` (of share group `shareGroup`, or null) was added to or removed from an instance; listeners refcount. */
export type InterestListener = (instanceId: string, filter: string, added: boolean, shareGroup: string | null) => void;
/** An operator deleted the retained message of `topic` (the API; not an empty retained PUBLISH, which is a published message). */
export type RetainedDeletedListener = (instanceId: string, topic: string) => void;

export class BrokerExtensions {
  private published: MessagePublishedListener[] = [];
  private connected: ClientConnectedListener[] = [];
  private closed: ClientClosedListener[] = [];
  private interest: InterestListener[] = [];
  private retainedDeletions: RetainedDeletedListener[] = [];
  onListenerError: (error: unknown, point: string) => void = () => {};

  /** Every message routed by the broker (client PUBLISHes, wills, API and rule publishes), `$` topics excepted. */
  onMessagePublished(listener: MessagePublishedListener): () => void {
    this.published = [...this.published, listener];
    return () => {
      this.published = this.published.filter((l) => l !== listener);
    };
  }

  onClientConnected(listener: ClientConnectedListener): () => void {
    this.connected = [...this.connected, listener];
    return () => {
      this.connected = this.connected.filter((l) => l !== listener);
    };
  }

  onClientClosed(listener: ClientClosedListener): () => void {
    this.closed = [...this.closed, listener];
    return () => {
      this.closed = this.closed.filter((l) => l !== listener);
    };
  }

  /** Every subscription added or removed, by filter (a cluster's routing interest). */
  onInterestChanged(listener: InterestListener): () => void {
    this.interest = [...this.interest, listener];
    return () => {
      this.interest = this.interest.filter((l) => l !== listener);
    };
  }

  /** Every retained message an operator deleted through the API (a cluster deletes it on every node). */
  onRetainedDeleted(listener: RetainedDeletedListener): () => void {
    this.retainedDeletions = [...this.retainedDeletions, listener];
    return () => {
      this.retainedDeletions = this.retainedDeletions.filter((l) => l !== listener);
    };
  }

  get wantsRetainedDeleted(): boolean {
    return this.retainedDeletions.length > 0;
  }

  retainedDeleted(instanceId: string, topic: string): void {
    for (const listener of this.retainedDeletions) {
      try {
        listener(instanceId, topic);
      } catch (error) {
        this.onListenerError(error, 'retainedDeleted');
      }
    }
  }

  get wantsInterest(): boolean {
    return this.interest.length > 0;
  }

  interestChanged(instanceId: string, filter: string, added: boolean, shareGroup: string | null): void {
    for (const listener of this.interest) {
      try {
        listener(instanceId, filter, added, shareGroup);
      } catch (error) {
        this.onListenerError(error, 'interestChanged');
      }
    }
  }

  /** True when someone listens to published messages (the hot path checks this first). */
  get wantsPublished(): boolean {
    return this.published.length > 0;
  }

  messagePublished(instanceId: string, message: Message, publisher: Publisher | null): void {
    for (const listener of this.published) {
      try {
        listener(instanceId, message, publisher);
      } catch (error) {
        this.onListenerError(error, 'messagePublished');
      }
    }
  }

  clientConnected(client: ClientHandle): void {
    for (const listener of this.connected) {
      try {
        listener(client);
      } catch (error) {
        this.onListenerError(error, 'clientConnected');
      }
    }
  }

  clientClosed(client: ClientHandle, disconnectPacket: boolean): void {
    for (const listener of this.closed) {
      try {
        listener(client, disconnectPacket);
      } catch (error) {
        this.onListenerError(error, 'clientClosed');
      }
    }
  }
}
