/**
 * Broker settings. The config layer (src/config) maps file keys, FERRY_* variables and CLI flags
 * onto this shape; every field has a documented default in DEFAULT_BROKER_OPTIONS.
 */

export interface AclRule {
  /** 'allow' or 'deny'; rules are checked in order, first match wins. */
  permission: 'allow' | 'deny';
  action: 'publish' | 'subscribe' | 'all';
  /** MQTT topic filter the rule covers (wildcards allowed). */
  topic: string;
}

export interface BrokerOptions {
  /** Largest packet accepted from a client, bytes (also announced as Maximum Packet Size in v5). */
  maxPacketSize: number;
  /** Keepalive ceiling, seconds; larger client values are capped (v5 Server Keep Alive). 0 = no cap. */
  maxKeepalive: number;
  /** Receive Maximum announced to v5 clients: QoS 1/2 PUBLISHes a client may have unacknowledged. */
  receiveMaximum: number;
  /** Outbound in-flight window per session (QoS 1/2 sent, not yet acknowledged). */
  maxInflight: number;
  /**
   * Messages queued per session behind the in-flight window, oldest dropped first; 0 (the
   * default) = no per-session cap: only the instance cap (maxQueuedPerInstance, as the managed
   * service's 1,000,000 offline messages per instance) applies.
   */
  maxQueuedMessages: number;
  /**
   * Bytes of queued messages that offline persistent sessions keep in memory as well as in the
   * store, all sessions together and each at most (session/offline-window.ts), so a returning
   * client drains them without reading them back; 0 = off (the store pages them in).
   */
  offlineWindowBytes: number;
  /** Per-connection output buffer ceiling, bytes; past it QoS 0 is dropped and the client may be cut. */
  maxOutputBufferBytes: number;
  /** How long a connection may stay above maxOutputBufferBytes before it is disconnected, ms. */
  stuckClientTimeoutMs: number;
  /**
   * Flow control (src/flow, docs/operations.md): messages queued for an online session at which
   * the connections publishing to it stop being read; 0 = off (queue caps only, as before).
   */
  flowHighWater: number;
  /** Queued messages at which the paused publishers are read again (below flowHighWater). */
  flowLowWater: number;
  /**
   * Longest a session at the mark may keep publishers paused, ms; then it is given up on (its
   * publishers resume, its queue is capped as usual) until it drains to flowLowWater.
   */
  flowMaxPauseMs: number;
  /** Topic Alias Maximum announced to v5 clients (aliases the client may use towards Ferry). */
  topicAliasMaximum: number;
  /**
   * Topic bytes (UTF-16 code units × 2, what the strings cost in memory) the topic aliases of one
   * connection may hold, each direction. A client registering more is disconnected with 0x97;
   * outbound, topics past it are sent in full without an alias.
   */
  maxTopicAliasBytes: number;
  /** Upper bound on session expiry interval a client may request, seconds. */
  maxSessionExpiry: number;
  /** Time allowed between accepting a socket and receiving CONNECT, ms (from accept, not from the last byte). */
  connectTimeoutMs: number;
  /** Largest CONNECT packet, bytes: what an unauthenticated socket can make the broker buffer. */
  maxConnectPacketSize: number;
  /** Allow clients without credentials (the config layer decides from bind address / auth setup). */
  allowAnonymous: boolean;
  /** Simple ACL for anonymous clients; empty = allow everything. */
  acl: AclRule[];
  /** Retained messages kept at most (per broker); 0 = unlimited. */
  maxRetainedMessages: number;
  /** Offline messages kept at most over all sessions of one instance; oldest dropped first. */
  maxQueuedPerInstance: number;
  /**
   * Bytes (payload + topic of each entry) queued per session, oldest dropped first; 0 (the
   * default) = no per-session byte cap: only maxQueuedBytesPerInstance applies.
   */
  maxQueuedBytes: number;
  /**
   * Bytes queued over all sessions of one instance, oldest dropped first: what bounds ferry.db
   * against one client flooding an offline session (docs/security.md). 1 GiB by default.
   */
  maxQueuedBytesPerInstance: number;
  /** How long an offline message waits for its client, seconds (managed service: 3 days). */
  offlineRetention: number;
  /** Lines a client can cause at will (refusals, protocol errors): one per cause per client per this many ms. */
  logRepeatIntervalMs: number;
  /** Instance of clients that name none (created at start, relaxed; docs/authentication.md). */
  defaultInstanceId: string;
}

/** The instance of clients that name none, unless FERRY_DEFAULT_INSTANCE_ID says otherwise. */
export const DEFAULT_INSTANCE_ID = 'mqtt-default';

export const DEFAULT_BROKER_OPTIONS: BrokerOptions = {
  maxPacketSize: 1024 * 1024,
  maxKeepalive: 0,
  receiveMaximum: 65535,
  maxInflight: 64,
  maxQueuedMessages: 0,
  // Off: a kept entry costs up to ~7× its counted bytes in RSS (1,000 offline sessions × 1,000
  // queued: 199–207 MB off, 249 MB with 8 MiB, 324 MB with 32 MiB, over issue 2's 300 MB), for a
  // 1.2× faster drain of one large backlog (bench/RESULTS.md issue 15 §25; docs/storage.md).
  offlineWindowBytes: 0,
  maxOutputBufferBytes: 4 * 1024 * 1024,
  stuckClientTimeoutMs: 30_000,
  flowHighWater: 1000,
  flowLowWater: 500,
  // Below the keepalive of common clients (60 s): a paused client's PINGREQ is not read either.
  flowMaxPauseMs: 10_000,
  // Mosquitto's default: each alias pins a topic string for the life of the connection.
  topicAliasMaximum: 10,
  maxTopicAliasBytes: 64 * 1024,
  maxSessionExpiry: 7 * 24 * 3600,
  connectTimeoutMs: 10_000,
  maxConnectPacketSize: 64 * 1024,
  allowAnonymous: true,
  acl: [],
  maxRetainedMessages: 0,
  maxQueuedPerInstance: 1_000_000,
  maxQueuedBytes: 0,
  maxQueuedBytesPerInstance: 1024 * 1024 * 1024,
  offlineRetention: 3 * 24 * 3600,
  defaultInstanceId: DEFAULT_INSTANCE_ID,
  logRepeatIntervalMs: 10_000,
};
