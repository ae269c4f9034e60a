/**
 * The rule model: what a rule is and what makes one valid (docs/rules.md, "Rules API").
 *
 *   outbound  MQTT messages on `topics` (filters, `+`/`#`) ──▶ `target` (connector URL)
 *   status    connect / disconnect / tcpclean of `groups`  ──▶ `target`
 *   inbound   `source` (connector URL) ──▶ MQTT, under `parentTopic`
 *
 * Validation here is pure: names, filters, Group IDs, options. Connector URLs are checked by the
 * connector layer through the narrow `RuleEndpoints` port (no connection is made), so an unknown
 * scheme or a misspelt parameter is a 400 that names the URL part, with credentials redacted.
 * Errors are ManagementError 'InvalidParameter' with the request field at fault (`body.target`).
 */
import { isValidTopicFilter } from '../protocol/topic.js';
import { ManagementError } from '../tenancy/errors.js';
import type { InstanceLimits, InstanceMode } from '../tenancy/limits.js';
import { checkGroupId, checkParentTopic, checkTopic } from '../tenancy/names.js';

export const RULE_TYPES = ['outbound', 'inbound', 'status'] as const;
export type RuleType = (typeof RULE_TYPES)[number];

export const OVERFLOW_POLICIES = ['drop-oldest', 'refuse'] as const;
/** What a full outbox does with a new message: drop its oldest one (default) or refuse the new one. */
export type OverflowPolicy = (typeof OVERFLOW_POLICIES)[number];

export interface RuleOptions {
  /** Delivery attempts before a message is dead-lettered. */
  readonly maxAttempts: number;
  /** Outbox bound, messages. */
  readonly outboxMaxMessages: number;
  /** Outbox bound, payload bytes. */
  readonly outboxMaxBytes: number;
  readonly overflow: OverflowPolicy;
}

export const DEFAULT_RULE_OPTIONS: RuleOptions = {
  maxAttempts: 10,
  outboxMaxMessages: 100_000,
  outboxMaxBytes: 64 * 1024 * 1024,
  overflow: 'drop-oldest',
};

/** Bounds of the numeric options (inclusive). */
export const RULE_OPTION_BOUNDS = {
  maxAttempts: [1, 1_000_000],
  outboxMaxMessages: [1, 1_000_000_000],
  outboxMaxBytes: [1024, 1024 ** 4],
} as const;

export const RULE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const MAX_DESCRIPTION = 256;
export const MAX_RULE_TOPICS = 100;
export const MAX_RULE_GROUPS = 100;
export const MIN_SECRET_LENGTH = 16;
export const MAX_URL_LENGTH = 2048;

/** What every form of a rule (body, record, answer) carries; they differ in ids and URLs. */
export interface RuleFields {
  readonly name: string;
  readonly description: string;
  readonly enabled: boolean;
  readonly type: RuleType;
  /** outbound: MQTT topic filters. */
  readonly topics?: readonly string[];
  /** status: Group IDs whose clients' events are sent. */
  readonly groups?: readonly string[];
  /** inbound: the MQTT parent topic messages are published under. */
  readonly parentTopic?: string;
  readonly options: RuleOptions;
}

/** A rule as callers see it: URLs redacted, no secret. */
export interface Rule extends RuleFields {
  readonly id: string;
  readonly instanceId: string;
  /** outbound / status: the target URL, credentials redacted. */
  readonly target?: string;
  /** inbound: the source URL, credentials redacted. */
  readonly source?: string;
  /** True when the rule has a webhook signing secret (shown once, when it was set). */
  readonly hasSecret: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A rule with its URLs and secret in clear: for the rule runtime only, never for an API answer or a log. */
export interface ResolvedRule extends Rule {
  readonly targetUrl?: string;
  readonly sourceUrl?: string;
  readonly secret?: string;
}

/** Create input (the REST body). */
export interface RuleInput {
  readonly name: string;
  readonly type: RuleType;
  readonly description?: string;
  readonly enabled?: boolean;
  readonly topics?: readonly string[];
  readonly groups?: readonly string[];
  readonly target?: string;
  readonly source?: string;
  readonly parentTopic?: string;
  readonly options?: Partial<RuleOptions>;
  /** Webhook signing secret; generated for http(s) targets when absent. */
  readonly secret?: string;
}

/** PATCH input: every field optional; `type` may be repeated but not changed. */
export type RulePatch = Partial<RuleInput>;

/** The connector layer as the model needs it: check URLs without connecting, redact them. */
export interface RuleEndpoints {
  /** Awaited before any check (the connectors may load lazily). */
  ready?(): Promise<void>;
  /** Throws (with a message that names the URL part, credentials redacted) unless `url` can be a target. */
  checkTarget(url: string): void;
  /** Same for an inbound source. */
  checkSource(url: string): void;
  /** The URL with its credentials masked: safe for answers and logs. */
  redact(url: string): string;
}

/** The instance facts validation needs. */
export interface InstanceContext {
  readonly mode: InstanceMode;
  readonly limits: InstanceLimits;
}

/** A validated rule body, URLs still in clear (the registry seals them). */
export interface RuleSpec extends RuleFields {
  readonly target?: string;
  readonly source?: string;
  readonly secret?: string;
}

export function invalidRule(field: string, message: string): ManagementError {
  return new ManagementError('InvalidParameter', message, { field: `body.${field}` });
}

/** Fields each type must have, and fields it must not have. */
const TYPE_FIELDS: Record<RuleType, { required: readonly (keyof RuleInput)[]; forbidden: readonly (keyof RuleInput)[] }> = {
  outbound: { required: ['topics', 'target'], forbidden: ['groups', 'source', 'parentTopic'] },
  status: { required: ['groups', 'target'], forbidden: ['topics', 'source', 'parentTopic'] },
  inbound: { required: ['source', 'parentTopic'], forbidden: ['topics', 'groups', 'target', 'secret'] },
};

/** True for a target that gets a webhook signing secret. */
export function isWebhookUrl(url: string | undefined): boolean {
  return url !== undefined && /^https?:/i.test(url.trim());
}

/**
 * Validates a complete rule (a create body, or an existing rule with a PATCH applied) and
 * answers it normalized: defaults filled, lists de-duplicated.
 */
export function validateRule(input: RuleInput, instance: InstanceContext, endpoints: RuleEndpoints): RuleSpec {
  if (typeof input.name !== 'string' || !RULE_NAME_PATTERN.test(input.name)) {
    throw invalidRule('name', 'name must be 1-64 characters of A-Z, a-z, 0-9, "_", "." and "-", starting with a letter or digit');
  }
  if (!RULE_TYPES.includes(input.type)) throw invalidRule('type', `type must be one of ${RULE_TYPES.join(', ')}`);
  const description = input.description ?? '';
  if (typeof description !== 'string' || description.length > MAX_DESCRIPTION) throw invalidRule('description', `description must be at most ${MAX_DESCRIPTION} characters`);
  const fields = TYPE_FIELDS[input.type];
  for (const field of fields.required) {
    if (input[field] === undefined) throw invalidRule(field, `a ${input.type} rule needs "${field}"`);
  }
  for (const field of fields.forbidden) {
    if (input[field] !== undefined) throw invalidRule(field, `a ${input.type} rule has no "${field}"`);
  }
  const spec: {
    -readonly [K in keyof RuleSpec]: RuleSpec[K];
  } = { name: input.name, description, enabled: input.enabled ?? true, type: input.type, options: validateOptions(input.options) };
  if (input.topics !== undefined) spec.topics = validateTopics(input.topics, instance);
  if (input.groups !== undefined) spec.groups = validateGroups(input.groups);
  if (input.target !== undefined) spec.target = checkUrl('target', input.target, (url) => endpoints.checkTarget(url));
  if (input.source !== undefined) spec.source = checkUrl('source', input.source, (url) => endpoints.checkSource(url));
  if (input.parentTopic !== undefined) {
    const bad = typeof input.parentTopic === 'string' ? checkParentTopic(instance.mode, input.parentTopic) : 'parentTopic must be a string';
    if (bad !== null) throw invalidRule('parentTopic', bad);
    spec.parentTopic = input.parentTopic;
  }
  if (input.secret !== undefined) {
    if (!isWebhookUrl(spec.target)) throw invalidRule('secret', 'a secret is only used by webhook (http, https) targets');
    if (typeof input.secret !== 'string' || input.secret.length < MIN_SECRET_LENGTH || input.secret.length > 256) {
      throw invalidRule('secret', `secret must be ${MIN_SECRET_LENGTH}-256 characters`);
    }
    spec.secret = input.secret;
  }
  return spec;
}

function validateOptions(given: Partial<RuleOptions> | undefined): RuleOptions {
  if (given === undefined) return DEFAULT_RULE_OPTIONS;
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw invalidRule('options', 'options must be an object');
  const out: Record<string, unknown> = { ...DEFAULT_RULE_OPTIONS };
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue;
    if (key === 'overflow') {
      if (!OVERFLOW_POLICIES.includes(value as OverflowPolicy)) throw invalidRule('options.overflow', `overflow must be one of ${OVERFLOW_POLICIES.join(', ')}`);
    } else if (key in RULE_OPTION_BOUNDS) {
      const [min, max] = RULE_OPTION_BOUNDS[key as keyof typeof RULE_OPTION_BOUNDS];
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
        throw invalidRule(`options.${key}`, `options.${key} must be an integer from ${min} to ${max}`);
      }
    } else {
      throw invalidRule(`options.${key}`, `unknown option "${key}" (known: ${Object.keys(DEFAULT_RULE_OPTIONS).join(', ')})`);
    }
    out[key] = value;
  }
  return out as unknown as RuleOptions;
}

function validateTopics(topics: readonly string[], instance: InstanceContext): string[] {
  if (!Array.isArray(topics) || topics.length === 0 || topics.length > MAX_RULE_TOPICS) {
    throw invalidRule('topics', `topics must be a list of 1-${MAX_RULE_TOPICS} MQTT topic filters`);
  }
  for (const [i, filter] of topics.entries()) {
    if (typeof filter !== 'string' || !isValidTopicFilter(filter)) {
      throw invalidRule(`topics.${i}`, `${JSON.stringify(filter)} is not a valid MQTT topic filter ("+" and "#" only as whole levels, "#" last)`);
    }
    if (filter.startsWith('$share/') || filter.startsWith('$queue/')) throw invalidRule(`topics.${i}`, `${JSON.stringify(filter)}: shared subscriptions cannot be rule topics`);
    const bad = checkTopic(instance.mode, instance.limits, filter, true);
    if (bad !== null) throw invalidRule(`topics.${i}`, `${JSON.stringify(filter)}: ${bad}`);
  }
  return [...new Set(topics)];
}

function validateGroups(groups: readonly string[]): string[] {
  if (!Array.isArray(groups) || groups.length === 0 || groups.length > MAX_RULE_GROUPS) {
    throw invalidRule('groups', `groups must be a list of 1-${MAX_RULE_GROUPS} Group IDs`);
  }
  for (const [i, group] of groups.entries()) {
    const bad = typeof group === 'string' ? checkGroupId(group) : 'a Group ID is a string';
    if (bad !== null) throw invalidRule(`groups.${i}`, `${JSON.stringify(group)}: ${bad}`);
  }
  return [...new Set(groups)];
}

function checkUrl(field: 'target' | 'source', url: string, check: (url: string) => void): string {
  if (typeof url !== 'string' || url.trim() === '') throw invalidRule(field, `${field} must be a connector URL`);
  if (url.length > MAX_URL_LENGTH) throw invalidRule(field, `${field} is longer than ${MAX_URL_LENGTH} characters`);
  try {
    check(url);
  } catch (err) {
    // Connector errors quote the URL redacted; anything else is reported without echoing it.
    const message = err instanceof Error && err.name === 'ConnectorUrlError' ? err.message : `${field} is not a usable connector URL`;
    throw invalidRule(field, message);
  }
  return url;
}
