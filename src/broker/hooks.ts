/**
 * The broker's extension points (Aedes-style option hooks, typed): authentication at CONNECT,
 * authorization of each PUBLISH and SUBSCRIBE, interception of client PUBLISHes to system
 * topics, and connection lifecycle events. Implementations live outside the broker (src/auth);
 * the broker ships a config-driven default (acl.ts).
 */
import type { ConnectPacket, ProtocolVersion, QoS } from '../protocol/packets.js';
import type { PeerInfo } from '../transport/types.js';

/** A connected client as hooks see it. */
export interface ClientHandle {
  readonly instanceId: string;
  readonly clientId: string;
  readonly username: string | undefined;
  readonly peer: PeerInfo;
  readonly protocolVersion: ProtocolVersion;
  /** Keepalive in force, seconds (the server's if it overrode the client's); 0 = none. */
  readonly keepalive?: number;
  /** Whatever the authenticator attached to this connection (its identity and grants). */
  readonly principal: unknown;
  /** True until the connection closes. */
  readonly connected: boolean;
  /** Sends a server-made PUBLISH to this client only, without any subscription ($SYS notices). */
  notify(topic: string, payload: Buffer, qos?: QoS): void;
  /** Closes the connection; MQTT 5 clients get DISCONNECT with `reasonCode` first. */
  disconnect(reasonCode: number): void;
}

/**
 * Limits the authenticator sets on one connection (e.g. those of the client's instance), on top
 * of the broker's own: the smaller one applies. Absent or 0 = only the broker's.
 */
export interface ConnectionLimits {
  /** Keepalive ceiling, seconds: a larger (or 0) keepalive is capped and, in MQTT 5, announced as Server Keep Alive. */
  readonly maxKeepalive?: number;
  /** Largest packet accepted from the client, bytes; announced as Maximum Packet Size in MQTT 5. */
  readonly maxPacketSize?: number;
}

export type AuthVerdict =
  | { ok: true; instanceId: string; principal?: unknown; limits?: ConnectionLimits }
  | { ok: false; reasonCode: number; instanceId?: string };

export interface Authenticator {
  authenticate(connect: ConnectPacket, peer: PeerInfo): Promise<AuthVerdict> | AuthVerdict;
}

/**
 * 'deny': refused with a reason code (MQTT 5) or silently dropped (3.x).
 * 'deny-disconnect': refused, then the connection is closed (what the managed service does
 * for 3.1.1 clients touching a topic outside their grant).
 */
export type AccessDecision = 'allow' | 'deny' | 'deny-disconnect' | AccessDenial;

/**
 * A refusal with its own MQTT 5 reason code (e.g. 0x97 Quota Exceeded, 0x90 Topic Name Invalid):
 * in the PUBACK/PUBREC/SUBACK, or in the DISCONNECT when `disconnect` is true.
 */
export interface AccessDenial {
  readonly deny: number;
  readonly disconnect: boolean;
  /** Why, for the channel's (rate-limited) log line; the authorizer itself does not log. */
  readonly why?: string;
}

/** The reason code and disconnect flag of a decision other than 'allow'. */
export function denialOf(decision: Exclude<AccessDecision, 'allow'>): { reasonCode: number; disconnect: boolean; why: string } {
  if (typeof decision === 'object') return { reasonCode: decision.deny, disconnect: decision.disconnect, why: decision.why ?? 'not authorized' };
  return { reasonCode: 0x87 /* Not Authorized */, disconnect: decision === 'deny-disconnect', why: 'not authorized' };
}

/**
 * A decision may be a promise (an HTTP authorization callback): the channel then holds the
 * client's further packets until it is settled, so their order is kept.
 */
export interface Authorizer {
  /** `payloadBytes`: size of the PUBLISH payload (per-instance payload limits). */
  authorizePublish(client: ClientHandle, topic: string, payloadBytes: number): AccessDecision | Promise<AccessDecision>;
  authorizeSubscribe(client: ClientHandle, filter: string): AccessDecision | Promise<AccessDecision>;
  /** Wills are published after the client is gone; checked against the client's grants then. */
  authorizeWill(client: ClientHandle, topic: string): boolean;
}

/** Client PUBLISHes to `$SYS/...`: 'handled' consumes the message (it is acknowledged, not routed). */
export interface SystemTopicHandler {
  onSystemPublish(client: ClientHandle, topic: string, payload: Buffer): 'handled' | 'continue';
}

export interface ClientEvents {
  connected(client: ClientHandle): void;
  disconnected(client: ClientHandle): void;
}

/** The hooks a broker runs with; every field can be replaced after construction. */
export interface BrokerHooks {
  authenticator: Authenticator;
  authorizer: Authorizer;
  systemTopics: SystemTopicHandler | null;
  events: ClientEvents | null;
}
