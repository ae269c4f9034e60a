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

/**
 * The listeners of one extension point. Arguments are passed positionally (no rest array: the
 * published point runs once per routed message); a point with fewer arguments leaves the rest void.
 */
class ListenerList<A, B = void, C = void, D = void> {
  private listeners: ((a: A, b: B, c: C, d: D) => void)[] = [];

  constructor(
    private readonly point: string,
    private readonly report: (error: unknown, point: string) => void,
  ) {}

  get size(): number {
    return this.listeners.length;
  }

  /** Copy on write, so a listener removed or added while an event runs does not disturb it. */
  add(listener: (a: A, b: B, c: C, d: D) => void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  emit(a: A, b: B, c: C, d: D): void {
    for (const listener of this.listeners) {
      try {
        listener(a, b, c, d);
      } catch (error) {
        this.report(error, this.point);
      }
    }
  }
}

export class BrokerExtensions {
  onListenerError: (error: unknown, point: string) => void = () => {};
  private readonly report = (error: unknown, point: string): void => this.onListenerError(error, point);
  private readonly published = new ListenerList<string, Message, Publisher | null>('messagePublished', this.report);
  private readonly connected = new ListenerList<ClientHandle>('clientConnected', this.report);
  private readonly closed = new ListenerList<ClientHandle, boolean>('clientClosed', this.report);
  private readonly interest = new ListenerList<string, string, boolean, string | null>('interestChanged', this.report);
  private readonly retainedDeletions = new ListenerList<string, string>('retainedDeleted', this.report);

  /** Every message routed by the broker (client PUBLISHes, wills, API and rule publishes), `$` topics excepted. */
  onMessagePublished(listener: MessagePublishedListener): () => void {
    return this.published.add(listener);
  }

  onClientConnected(listener: ClientConnectedListener): () => void {
    return this.connected.add(listener);
  }

  onClientClosed(listener: ClientClosedListener): () => void {
    return this.closed.add(listener);
  }

  /** Every subscription added or removed, by filter (a cluster's routing interest). */
  onInterestChanged(listener: InterestListener): () => void {
    return this.interest.add(listener);
  }

  /** Every retained message an operator deleted through the API (a cluster deletes it on every node). */
  onRetainedDeleted(listener: RetainedDeletedListener): () => void {
    return this.retainedDeletions.add(listener);
  }

  /** True when someone listens to published messages (the hot path checks this first). */
  get wantsPublished(): boolean {
    return this.published.size > 0;
  }

  get wantsInterest(): boolean {
    return this.interest.size > 0;
  }

  get wantsRetainedDeleted(): boolean {
    return this.retainedDeletions.size > 0;
  }

  messagePublished(instanceId: string, message: Message, publisher: Publisher | null): void {
    this.published.emit(instanceId, message, publisher);
  }

  clientConnected(client: ClientHandle): void {
    this.connected.emit(client);
  }

  clientClosed(client: ClientHandle, disconnectPacket: boolean): void {
    this.closed.emit(client, disconnectPacket);
  }

  interestChanged(instanceId: string, filter: string, added: boolean, shareGroup: string | null): void {
    this.interest.emit(instanceId, filter, added, shareGroup);
  }

  retainedDeleted(instanceId: string, topic: string): void {
    this.retainedDeletions.emit(instanceId, topic);
  }
}
