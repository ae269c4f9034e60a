import { LimitHits } from '../observability/limit-hits.js';
import type { OfflineWindow } from '../session/offline-window.js';
import type { Session, SessionCounters, SessionFlow } from '../session/session.js';
import type { DropReason } from '../store/types.js';

/**
 * Where an unexpected error hit a connection (ferry_connection_errors_total{reason}):
 *   handler       thrown while a packet was handled (in the socket's data callback)
 *   continuation  a rejected async continuation of the connection (CONNECT after authentication,
 *                 acknowledgements after a commit, paging in a stored queue)
 *   event         thrown from the connection's drain or close callback
 */
export type ConnectionErrorReason = 'handler' | 'continuation' | 'event';
export const CONNECTION_ERROR_REASONS: readonly ConnectionErrorReason[] = ['handler', 'continuation', 'event'];

export interface QueueDropEvent {
  readonly instanceId: string;
  readonly clientId: string;
  readonly reason: 'queue-full' | 'expired';
  /** Which cap dropped it (reason 'queue-full'); null for an expired message. */
  readonly cause: DropReason | null;
  /** The dropped message's Message.traceId, 0 when unknown (traces name the message by it). */
  readonly traceId: number;
}

/** The `cause` label of the drop metrics for each cap (docs/observability.md). */
export const DROP_CAUSE_LABELS: Readonly<Record<DropReason, string>> = {
  'session-cap': 'session_count',
  'session-bytes': 'session_bytes',
  'instance-cap': 'instance_count',
  'instance-bytes': 'instance_bytes',
};

/** Broker-wide counters; observability reads them, the hot path only increments plain fields. */
export class BrokerCounters implements SessionCounters {
  /** Told about every dropped offline message (observability, rules, tests). */
  private readonly queueDropListeners: Array<(event: QueueDropEvent) => void> = [];
  /** Refusals by protective limit (docs/security.md), shared with the HTTP side of the process. */
  readonly limitHits = new LimitHits();
  connectionsAccepted = 0;
  connected = 0;
  takeovers = 0;
  keepaliveTimeouts = 0;
  stuckDisconnects = 0;
  messagesIn = 0;
  messagesOut = 0;
  publishDenied = 0;
  /** Acks refused because the store could not make their content durable (degraded store). */
  refusedUnstored = 0;
  /** CONNECTs refused because they need a persistent session and the store cannot write. */
  connectsRefusedUnstored = 0;
  /** CONNECTs the authenticator refused. */
  authFailures = 0;
  willsPublished = 0;
  sharedRedispatched = 0;
  droppedQueueFull = 0;
  /** droppedQueueFull by the cap that dropped them. */
  readonly droppedQueueFullBy: Record<DropReason, number> = {
    'session-cap': 0,
    'session-bytes': 0,
    'instance-cap': 0,
    'instance-bytes': 0,
  };
  droppedExpired = 0;
  droppedQos0Offline = 0;
  droppedByLink = 0;
  droppedNoSubscriber = 0;
  /**
   * Flow control (src/flow), set by the broker; null when off. Sessions reach it through this
   * object, which they all share, so it costs no field per session.
   */
  flow: SessionFlow | null = null;
  /**
   * Memory journaled sessions' queues may hold while offline (docs/storage.md, "Offline queues"),
   * set by the broker from offlineWindowBytes; null = none (0, or cluster mode with JetStream
   * state: another node may own the session next).
   */
  offlineWindow: OfflineWindow | null = null;
  /** Connections closed by an unexpected error, by where it hit (ConnectionErrorReason). */
  readonly connectionErrors: Record<ConnectionErrorReason, number> = { handler: 0, continuation: 0, event: 0 };

  queueDrop(session: Session, reason: 'queue-full' | 'expired', cause: DropReason | null, traceId: number): void {
    if (reason === 'queue-full') {
      this.droppedQueueFull++;
      if (cause !== null) this.droppedQueueFullBy[cause]++;
    } else this.droppedExpired++;
    if (this.queueDropListeners.length === 0) return;
    const event: QueueDropEvent = { instanceId: session.instanceId, clientId: session.clientId, reason, cause, traceId };
    for (const listener of this.queueDropListeners) listener(event);
  }

  /** Adds a listener for dropped offline messages; returns a function that removes it. */
  onQueueDrop(listener: (event: QueueDropEvent) => void): () => void {
    this.queueDropListeners.push(listener);
    return () => {
      const at = this.queueDropListeners.indexOf(listener);
      if (at >= 0) this.queueDropListeners.splice(at, 1);
    };
  }
}
