/**
 * Per-instance limits. Every limit is a setting of the instance; these are the defaults of each
 * mode (docs/authentication.md, "Instances"). `strict` mirrors the managed service exactly
 * (reference §1–§2.6); `relaxed` (the default instance) is generous and auto-creates parent
 * topics and groups. 0 means "no limit" where noted.
 */

export const INSTANCE_MODES = ['strict', 'relaxed'] as const;
export type InstanceMode = (typeof INSTANCE_MODES)[number];

export interface InstanceLimits {
  /** Concurrent connections of the instance; 0 = unlimited. New connections past it are refused. */
  readonly maxConnections: number;
  /** Subscriptions (topic filters) per client; 0 = unlimited. */
  readonly maxSubscriptionsPerClient: number;
  /** Subscriptions over all clients of the instance; 0 = unlimited. */
  readonly maxSubscriptions: number;
  /** Messages per second published into the instance (token bucket); 0 = unlimited. */
  readonly maxMessagesPerSecond: number;
  /** Burst of the message token bucket (bucket size); 0 = one second's worth. */
  readonly messageBurst: number;
  /** Largest PUBLISH payload, bytes; 0 = only the broker's maxPacketSize applies. */
  readonly maxPayloadBytes: number;
  /** Parent topics of the instance; 0 = unlimited. */
  readonly maxParentTopics: number;
  /** Group IDs of the instance; 0 = unlimited. */
  readonly maxGroups: number;
  /** Topic length bounds (characters, parent + subtopics); topicMin 0 / topicMax 0 = MQTT's own. */
  readonly minTopicLength: number;
  readonly maxTopicLength: number;
  /** Longest client id, characters; 0 = MQTT's own limit. */
  readonly maxClientIdLength: number;
  /** Offline messages kept over all persistent sessions of the instance; 0 = the broker's setting. */
  readonly maxOfflineMessages: number;
  /** How long an offline message waits for its client, seconds; 0 = the broker's setting. */
  readonly offlineRetentionSeconds: number;
  /**
   * MQTT 5 clients: keepalive ceiling, seconds (a larger keepalive, or 0, is capped and announced
   * as Server Keep Alive); 0 = only the broker's maxKeepalive. 3.1.1 has no way to tell a client.
   */
  readonly mqtt5MaxKeepaliveSeconds: number;
  /** MQTT 5 clients: largest packet, bytes (announced as Maximum Packet Size); 0 = the broker's maxPacketSize. */
  readonly mqtt5MaxPacketBytes: number;
  /** Tokens: resources per token, and the validity window (ms). */
  readonly maxTokenResources: number;
  readonly minTokenValidityMs: number;
  readonly maxTokenValidityMs: number;
  /** Rules of the instance (outbound, inbound, status; src/rules); 0 = unlimited. */
  readonly maxRules: number;
}

const DAY_MS = 24 * 3600 * 1000;

/** The managed service's rules (reference §1.2–§1.4, §2.5, §2.6). */
export const STRICT_LIMITS: InstanceLimits = {
  maxConnections: 50_000,
  maxSubscriptionsPerClient: 30,
  maxSubscriptions: 0,
  maxMessagesPerSecond: 5_000,
  messageBurst: 0,
  maxPayloadBytes: 64 * 1024,
  maxParentTopics: 25,
  maxGroups: 1_000,
  minTopicLength: 3,
  maxTopicLength: 64,
  maxClientIdLength: 64,
  maxOfflineMessages: 1_000_000,
  offlineRetentionSeconds: 3 * 24 * 3600,
  mqtt5MaxKeepaliveSeconds: 8 * 60,
  mqtt5MaxPacketBytes: 128 * 1024,
  maxTokenResources: 100,
  minTokenValidityMs: 60_000,
  maxTokenValidityMs: 30 * DAY_MS,
  maxRules: 100,
};

/** Generous defaults for development and for users who do not need the managed service's rules. */
export const RELAXED_LIMITS: InstanceLimits = {
  maxConnections: 0,
  maxSubscriptionsPerClient: 1_000,
  maxSubscriptions: 0,
  maxMessagesPerSecond: 0,
  messageBurst: 0,
  maxPayloadBytes: 0,
  maxParentTopics: 100_000,
  maxGroups: 100_000,
  minTopicLength: 0,
  maxTopicLength: 0,
  maxClientIdLength: 0,
  maxOfflineMessages: 0,
  offlineRetentionSeconds: 0,
  mqtt5MaxKeepaliveSeconds: 0,
  mqtt5MaxPacketBytes: 0,
  maxTokenResources: 100,
  minTokenValidityMs: 60_000,
  maxTokenValidityMs: 30 * DAY_MS,
  maxRules: 100,
};

export function defaultLimits(mode: InstanceMode): InstanceLimits {
  return mode === 'strict' ? STRICT_LIMITS : RELAXED_LIMITS;
}

const LIMIT_KEYS = Object.keys(STRICT_LIMITS) as Array<keyof InstanceLimits>;

/**
 * The mode's defaults overridden by `overrides` (unknown keys and non-integers are errors).
 * Returns the limits or an error message naming the bad field.
 */
export function resolveLimits(mode: InstanceMode, overrides: unknown): InstanceLimits | string {
  const base = defaultLimits(mode);
  if (overrides === undefined || overrides === null) return base;
  if (typeof overrides !== 'object' || Array.isArray(overrides)) return 'limits must be an object';
  const out: Record<string, number> = { ...base };
  for (const [key, value] of Object.entries(overrides as Record<string, unknown>)) {
    if (!LIMIT_KEYS.includes(key as keyof InstanceLimits)) return `unknown limit "${key}"`;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return `limit ${key} must be an integer >= 0`;
    out[key] = value;
  }
  if (out['minTokenValidityMs']! > out['maxTokenValidityMs']!) return 'minTokenValidityMs is above maxTokenValidityMs';
  return out as unknown as InstanceLimits;
}
