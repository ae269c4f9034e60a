/**
 * The connector contract: what a rule's target (outbound, status) or source (inbound) is to the
 * rule engine. Modelled on emqx_resource: one lifecycle (start / stop / health) for every engine,
 * and a delivery call whose answer is per message, so the caller (the rule worker with its durable
 * outbox) decides what to retry with backoff and what to dead-letter.
 *
 *   rule worker ──deliver(batch)──▶ TargetConnector ──▶ RabbitMQ / NATS JetStream / Redis / webhook
 *        ▲                                   │
 *        └──── DeliveryOutcome[] (same order as the batch: ok, or failed + reason + retryable)
 *
 *   SourceConnector ──consume(handler)──▶ handler(item) ──▶ MQTT publish, durable ──▶ resolve
 *        ▲                                                                              │
 *        └──────────────── ack the source message only after the handler resolved ──────┘
 *
 * Connectors never throw out of deliver() and never lose a failure: an engine that is down turns
 * into failed outcomes (the caller retries), and they reconnect by themselves on the next call.
 */
import type { InboundMessageError } from './errors.js';

/** A message an MQTT client published, as a rule carries it to a target (reference §5.1 keys). */
export interface RuleMessage {
  /** The publishing client (`clientId` property). */
  readonly clientId: string;
  /** The full MQTT topic (`topic`); `mqttParentTopic` / `mqttSecondTopic` are derived from it. */
  readonly topic: string;
  readonly qos: 0 | 1 | 2;
  /** The publisher's clean-session / clean-start flag (`cleansessionflag`). */
  readonly cleanSession: boolean;
  /** When Ferry received the message, ms since the epoch (`bornTime`). */
  readonly bornTime: number;
  /** The trace MsgId (`msgId`). */
  readonly msgId: string;
  /** Passed through byte for byte. */
  readonly payload: Buffer;
  /** MQTT 5 user properties, in order (`mqtt5UserProperty`, JSON `[{"key","value"}]`). */
  readonly userProperties?: readonly UserProperty[];
  /** MQTT 5 content type (`mqtt5ContentType`). */
  readonly contentType?: string;
  /** MQTT 5 message expiry interval in seconds (`mqtt5MsgExpireInterval`). */
  readonly messageExpiryInterval?: number;
}

export interface UserProperty {
  readonly key: string;
  readonly value: string;
}

export const STATUS_EVENT_TYPES = ['connect', 'disconnect', 'tcpclean'] as const;
export type StatusEventType = (typeof STATUS_EVENT_TYPES)[number];

/** A client status event with exactly the reference's JSON body (§5.4). */
export interface StatusEvent {
  readonly clientId: string;
  /** ms since the epoch. */
  readonly time: number;
  readonly eventType: StatusEventType;
  /** Per-TCP-connection id, 32 hex chars. */
  readonly channelId: string;
  /** `ip:port` of the client. */
  readonly clientIp: string;
}

/** One entry of a batch handed to a target: an outbound message or a status event. */
export type TargetItem =
  | { readonly type: 'message'; readonly message: RuleMessage }
  | { readonly type: 'status'; readonly event: StatusEvent };

/**
 * The answer for one item. `retryable: false` means retrying cannot help (the target refused
 * this message, e.g. a webhook answered 400): the caller should dead-letter it at once.
 */
export type DeliveryOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string; readonly retryable: boolean };

export type ConnectorState = 'connected' | 'connecting' | 'disconnected' | 'stopped';

export interface ConnectorHealth {
  readonly state: ConnectorState;
  /** The last connection or delivery error (credentials redacted), if any. */
  readonly lastError?: string;
}

/** Shared lifecycle (emqx_resource: on_start / on_stop / on_get_status). */
export interface ConnectorLifecycle {
  /** The target/source URL with credentials redacted: safe for logs, stats and the API. */
  readonly url: string;
  /**
   * Connect. Resolves even when the engine is unreachable (a rule may be created before its
   * target is up); health() then says so and the connector keeps trying on the next call.
   */
  start(): Promise<void>;
  /** Disconnect and release everything; pending deliveries fail, consumers stop (no more acks). */
  stop(): Promise<void>;
  /** A cheap live check (PING / connection state), never throws. */
  health(): Promise<ConnectorHealth>;
}

export interface TargetConnector extends ConnectorLifecycle {
  /**
   * Deliver a batch, in order. Resolves with one outcome per item, same order, once every item is
   * acknowledged by the engine (publisher confirm, JetStream ack, XADD reply, 2xx) or has failed
   * (timeout, engine down, refused). Never rejects.
   *
   * Outcomes may be partial (item 3 failed, item 4 delivered). A caller that keeps per-client order
   * re-sends, for each client, from that client's first failed item on (accepting duplicates of
   * the later ones: delivery is at least once). The webhook target already stops sending a
   * client's items after one of them failed.
   */
  deliver(batch: readonly TargetItem[]): Promise<DeliveryOutcome[]>;
  /**
   * True when batches handed over one after the other, without waiting for the first's outcomes,
   * reach the engine in that order (one connection, commands in order: Redis, NATS). A caller may
   * then keep several batches in flight; otherwise one at a time (a webhook sends each batch's
   * clients in parallel: a second batch could overtake the first).
   */
  readonly ordered?: boolean;
}

/** An inbound message ready to be published to MQTT (reference §5.1, data inbound). */
export interface InboundMessage {
  /**
   * The MQTT topic to publish on: the rule's parent topic + `mqttSecondTopic`. For a P2P message
   * this is the topic the receiving client sees (parent topic + `mqttRealTopic` when given).
   */
  readonly topic: string;
  /** Set for a P2P message (`mqttSecondTopic` = `/p2p/<clientId>`): deliver to this client only. */
  readonly p2pClientId?: string;
  /** `qoslevel`, default 1. */
  readonly qos: 0 | 1 | 2;
  /** `cleansessionflag`, default true; meaningful for P2P only (reference §5.1). */
  readonly cleanSession: boolean;
  readonly payload: Buffer;
  readonly userProperties?: readonly UserProperty[];
  readonly contentType?: string;
  readonly messageExpiryInterval?: number;
}

/** What a source read, before parsing: the properties as strings and the payload bytes. */
export interface SourceRecord {
  /** Engine message id (AMQP delivery tag, JetStream stream sequence, Redis entry id). */
  readonly id: string;
  readonly properties: Readonly<Record<string, string>>;
  readonly payload: Buffer;
  /** True when the engine says this is a redelivery. */
  readonly redelivered: boolean;
}

/**
 * One message from a source, handed to the consume handler: parsed, or malformed with the typed
 * reason. For a malformed one the caller dead-letters it and resolves, so it is acked and gone.
 */
export type InboundItem =
  | { readonly ok: true; readonly message: InboundMessage; readonly record: SourceRecord }
  | { readonly ok: false; readonly error: InboundMessageError; readonly record: SourceRecord };

/**
 * Resolve when the MQTT publish is durable (then the source message is acked); reject to leave it
 * unacked (the engine redelivers it later).
 */
export type InboundHandler = (item: InboundItem) => Promise<void>;

export interface SourceConnector extends ConnectorLifecycle {
  /**
   * Start consuming (after start()). Items reach the handler in source order; up to
   * `maxInFlight` handlers run at once, each message acked when its own handler resolves. Keeps
   * reconnecting until stop(). Calling it twice is an error.
   */
  consume(handler: InboundHandler): void;
}

/** Options every connector takes at creation. */
export interface ConnectorOptions {
  /** pino-style logger; connectors log state changes with the redacted URL only. */
  readonly logger?: ConnectorLogger;
  /** Per-call timeout for connect and for a whole deliver(), ms (default 10,000). */
  readonly timeoutMs?: number;
}

export interface TargetOptions extends ConnectorOptions {
  /** Webhook only: the per-rule HMAC-SHA256 secret for the signature header. */
  readonly secret?: string;
}

export interface SourceOptions extends ConnectorOptions {
  /** The rule's MQTT parent topic; inbound topics are built under it. */
  readonly parentTopic: string;
  /** Handlers running at once (default 64). 1 = strictly one after the other. */
  readonly maxInFlight?: number;
  /** Wait before a message whose handler failed is offered again, ms (default 1,000). */
  readonly retryDelayMs?: number;
}

/** The subset of pino's Logger the connectors use. */
export interface ConnectorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}
