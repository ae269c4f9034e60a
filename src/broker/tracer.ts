/**
 * Where the broker core reports device and message events for traces (managed service §6.2).
 * The implementation lives in src/observability/traces; the core only calls it through
 * `broker.tracer`, which is null when tracing is off, so the off path costs one null check.
 *
 * Every method runs on the hot path when tracing is on: implementations must only record the
 * event (no I/O, no formatting) and write it out later in batches.
 */
import type { Channel } from '../channel/channel.js';
import type { Message } from '../session/message.js';
import type { Delivery } from '../session/session.js';
import type { DropReason } from '../store/types.js';

/**
 * Why a connected channel closed. Non-negative values are the MQTT 5 reason code the server
 * closed it with (terminate); the negative ones name the other ways a connection ends.
 */
export const CloseCause = {
  /** Closed by the server without a reason code (stuck output, internal). */
  Server: -1,
  /** The peer closed the socket without DISCONNECT. */
  PeerClosed: -2,
  /** The socket failed (reset, timeout, TLS error). */
  SocketError: -3,
  /** The client sent DISCONNECT. */
  ClientDisconnect: -4,
} as const;

/** Why a message queued for a client was dropped (drop_offline's ActionInfo). */
export const DropCause = {
  /** The session's queue was full (maxQueuedMessages, or the in-memory queue of a session without a store). */
  SessionCap: 0,
  /** The instance's offline-message cap: the oldest entry of all its sessions went. */
  InstanceCap: 1,
  /** Its expiry passed while it waited, or the offline retention. */
  Expired: 2,
  /** The session's byte cap (maxQueuedBytes). */
  SessionBytes: 3,
  /** The instance's byte cap. */
  InstanceBytes: 4,
} as const;
export type DropCause = (typeof DropCause)[keyof typeof DropCause];

/** The DropCause of a drop as the session reports it: a store cap, or null when it expired. */
export function dropCauseOf(cause: DropReason | null): DropCause {
  switch (cause) {
    case null:
      return DropCause.Expired;
    case 'session-cap':
      return DropCause.SessionCap;
    case 'session-bytes':
      return DropCause.SessionBytes;
    case 'instance-cap':
      return DropCause.InstanceCap;
    case 'instance-bytes':
      return DropCause.InstanceBytes;
  }
}

export interface Tracer {
  /** CONNACK 0 went out. */
  connected(channel: Channel): void;
  /**
   * A CONNECT was refused. `instanceId` is the instance the authenticator attributed the
   * attempt to, when it knows one.
   */
  refused(channel: Channel, clientId: string, username: string | undefined, reasonCode: number, instanceId: string | undefined): void;
  /** A connected channel closed; `cause` is a reason code or a CloseCause. */
  closed(channel: Channel, cause: number): void;
  /** A client PUBLISH is about to be routed (pub_mqtt). */
  published(channel: Channel, message: Message): void;
  /** A server-made message (API SendMessage, will) is about to be routed (pub_mq). */
  injected(instanceId: string, message: Message): void;
  /** A PUBLISH was written to a subscriber (sub / push_offline). */
  delivered(channel: Channel, delivery: Delivery): void;
  /**
   * A message queued for a client (usually offline) was dropped. `traceId` is the message's
   * Message.traceId (0 when no trace numbered it, e.g. stored before this process started: it
   * gets a new MsgId then). Not a hot path: drops are rare, and may come from the store later.
   */
  queueDropped(instanceId: string, clientId: string, traceId: number, cause: DropCause): void;
}
