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
}
