/**
 * AccessKey policies in the shape of Alibaba Cloud RAM (reference §3.6): statements that Allow or
 * Deny actions on resources. An explicit Deny wins over any Allow; nothing allowed = denied.
 *
 *   {
 *     "Version": "1",
 *     "Statement": [
 *       { "Effect": "Allow", "Action": ["mq:PUB", "mq:SUB"], "Resource": ["acs:mq:*:*:topic/mqtt-a/telemetry"] },
 *       { "Effect": "Deny",  "Action": "mq:PUB",             "Resource": "acs:mq:*:*:topic/mqtt-a/telemetry/admin/#" }
 *     ]
 *   }
 *
 * Actions: `mq:MqttInstanceAccess`, `mq:PUB`, `mq:SUB`, `mq:ApplyToken` and the management
 * actions (`mq:CreateMqttGroupId`, `mq:RegisterDeviceCredential`, ...); `*` globs allowed
 * (`mq:*`, `mq:Create*`), compared case-insensitively.
 *
 * Resources (region and account fields are ignored, `*` globs allowed):
 *   *  |  acs:mq:*:*:*                       everything
 *   acs:mq:*:*:instance/<instanceId>         the instance
 *   acs:mq:*:*:topic/<instanceId>/<topic>    <topic> is a parent topic name (it and all its
 *                                            subtopics), a glob on the parent name (`dev*`), `*`
 *                                            (every topic), or an MQTT filter with '/' ('a/+/b', 'a/#')
 *   acs:mq:*:*:groupId/<instanceId>/<gid>    a Group ID
 *   acs:mq:*:*:rule/<instanceId>/<ruleId>    a rule
 *
 * A request on a topic FILTER (subscribe) is allowed when one Allow resource covers the whole
 * filter and no Deny resource can match a topic the filter matches (overlap).
 */
import { filterCovers, filtersOverlap, parentOf } from './filters.js';

export type Effect = 'Allow' | 'Deny';

export interface PolicyStatement {
  readonly Effect: Effect;
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
}

export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly PolicyStatement[];
}

/** A request's resource, already parsed. */
export type PolicyResource =
  | { readonly type: 'instance'; readonly instanceId: string }
  | { readonly type: 'topic'; readonly instanceId: string; readonly topic: string }
  | { readonly type: 'groupId'; readonly instanceId: string; readonly groupId: string }
  | { readonly type: 'rule'; readonly instanceId: string; readonly ruleId: string };

export type PolicyDecision = 'allow' | 'deny' | 'implicit-deny';

/** Actions with a meaning in the MQTT data path; management actions are open-ended. */
export const MQ_ACTIONS = {
  instanceAccess: 'mq:MqttInstanceAccess',
  pub: 'mq:PUB',
  sub: 'mq:SUB',
  applyToken: 'mq:ApplyToken',
} as const;

/** System policies known by name (reference §3.6; the read-only name is our choice). */
export const SYSTEM_POLICIES: Readonly<Record<string, PolicyDocument>> = {
  AliyunMQFullAccess: { Version: '1', Statement: [{ Effect: 'Allow', Action: 'mq:*', Resource: '*' }] },
  AliyunMQPubOnlyAccess: {
    Version: '1',
    Statement: [{ Effect: 'Allow', Action: ['mq:MqttInstanceAccess', 'mq:PUB', 'mq:ListMqttInstance'], Resource: '*' }],
  },
  AliyunMQSubOnlyAccess: {
    Version: '1',
    Statement: [{ Effect: 'Allow', Action: ['mq:MqttInstanceAccess', 'mq:SUB', 'mq:ListMqttInstance'], Resource: '*' }],
  },
  AliyunMQReadOnlyAccess: {
    Version: '1',
    Statement: [{ Effect: 'Allow', Action: ['mq:List*', 'mq:Query*', 'mq:Get*', 'mq:MqttMetaData'], Resource: '*' }],
  },
};

/** A policy as attached to a key: a system policy name or an inline document. */
export type PolicyRef = string | PolicyDocument;

interface CompiledStatement {
  readonly allow: boolean;
  readonly actions: readonly RegExp[];
  readonly resources: readonly CompiledResource[];
}

type CompiledResource =
  | { readonly kind: 'any' }
  | { readonly kind: 'instance'; readonly instance: RegExp }
  | { readonly kind: 'topic'; readonly instance: RegExp; readonly topic: TopicPattern }
  | { readonly kind: 'groupId'; readonly instance: RegExp; readonly name: RegExp }
  | { readonly kind: 'rule'; readonly instance: RegExp; readonly name: RegExp };

type TopicPattern =
  | { readonly kind: 'all' }
  | { readonly kind: 'parent'; readonly parent: RegExp }
  | { readonly kind: 'filter'; readonly filter: string };

function glob(pattern: string, caseInsensitive = false): RegExp {
  const body = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${body}$`, caseInsensitive ? 'i' : '');
}

function list(value: string | readonly string[]): readonly string[] {
  return typeof value === 'string' ? [value] : value;
}

const RESOURCE = /^acs:mq:[^:]*:[^:]*:(.*)$/;

function compileResource(text: string): CompiledResource | string {
  if (text === '*') return { kind: 'any' };
  const m = RESOURCE.exec(text);
  if (m === null) return `resource "${text}" is not "*" nor "acs:mq:<region>:<account>:<resource>"`;
  const rest = m[1]!;
  if (rest === '*') return { kind: 'any' };
  const slash = rest.indexOf('/');
  if (slash < 0) return `resource "${text}": expected instance/, topic/, groupId/ or rule/`;
  const type = rest.slice(0, slash);
  const tail = rest.slice(slash + 1);
  if (type === 'instance') return { kind: 'instance', instance: glob(tail) };
  const second = tail.indexOf('/');
  if (second <= 0 || second === tail.length - 1) return `resource "${text}": expected ${type}/<instanceId>/<name>`;
  const instance = glob(tail.slice(0, second));
  const name = tail.slice(second + 1);
  switch (type) {
    case 'topic': {
      let topic: TopicPattern;
      if (name === '*' || name === '#') topic = { kind: 'all' };
      else if (name.includes('/')) topic = { kind: 'filter', filter: name };
      else topic = { kind: 'parent', parent: glob(name, true) };
      return { kind: 'topic', instance, topic };
    }
    case 'groupId':
      return { kind: 'groupId', instance, name: glob(name) };
    case 'rule':
      return { kind: 'rule', instance, name: glob(name) };
    default:
      return `resource "${text}": unknown resource type "${type}"`;
  }
}

/** Checks a document's shape; returns an error message or null. */
export function validatePolicy(doc: unknown): string | null {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'a policy must be an object with a Statement array';
  const statements = (doc as { Statement?: unknown }).Statement;
  if (!Array.isArray(statements)) return 'a policy must have a Statement array';
  for (const [i, s] of statements.entries()) {
    if (typeof s !== 'object' || s === null) return `statement ${i} is not an object`;
    const st = s as Record<string, unknown>;
    if (st['Effect'] !== 'Allow' && st['Effect'] !== 'Deny') return `statement ${i}: Effect must be "Allow" or "Deny"`;
    for (const field of ['Action', 'Resource'] as const) {
      const v = st[field];
      const values = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(values) || values.length === 0 || values.some((x) => typeof x !== 'string' || x === '')) {
        return `statement ${i}: ${field} must be a non-empty string or array of strings`;
      }
    }
    for (const action of list(st['Action'] as string | string[])) {
      if (action !== '*' && !action.toLowerCase().startsWith('mq:')) return `statement ${i}: action "${action}" is not "*" nor "mq:..."`;
    }
    for (const resource of list(st['Resource'] as string | string[])) {
      const compiled = compileResource(resource);
      if (typeof compiled === 'string') return `statement ${i}: ${compiled}`;
    }
  }
  return null;
}

/** A set of policies compiled for fast evaluation. */
export class CompiledPolicy {
  private readonly statements: readonly CompiledStatement[];

  constructor(refs: readonly PolicyRef[]) {
    const statements: CompiledStatement[] = [];
    for (const ref of refs) {
      const doc = typeof ref === 'string' ? SYSTEM_POLICIES[ref] : ref;
      if (doc === undefined) throw new Error(`unknown system policy "${String(ref)}"`);
      const bad = validatePolicy(doc);
      if (bad !== null) throw new Error(bad);
      for (const s of doc.Statement) {
        statements.push({
          allow: s.Effect === 'Allow',
          actions: list(s.Action).map((a) => glob(a, true)),
          resources: list(s.Resource).map((r) => compileResource(r) as CompiledResource),
        });
      }
    }
    this.statements = statements;
  }

  /** Evaluates one action on one resource: Deny wins, else Allow, else implicit deny. */
  evaluate(action: string, resource: PolicyResource): PolicyDecision {
    let allowed = false;
    for (const s of this.statements) {
      if (!s.actions.some((a) => a.test(action))) continue;
      for (const r of s.resources) {
        if (s.allow) {
          if (!allowed && covers(r, resource)) allowed = true;
        } else if (touches(r, resource)) {
          return 'deny';
        }
      }
    }
    return allowed ? 'allow' : 'implicit-deny';
  }

  allows(action: string, resource: PolicyResource): boolean {
    return this.evaluate(action, resource) === 'allow';
  }
}

function instanceOf(r: CompiledResource, resource: PolicyResource): boolean {
  return r.kind !== 'any' && r.kind === resource.type && r.instance.test(resource.instanceId);
}

/** An Allow resource applies only if it covers everything the request names. */
function covers(r: CompiledResource, resource: PolicyResource): boolean {
  if (r.kind === 'any') return resource.type !== 'topic' || !resource.topic.startsWith('$');
  if (!instanceOf(r, resource)) return false;
  switch (resource.type) {
    case 'instance':
      return true;
    case 'topic':
      return topicCovered((r as { topic: TopicPattern }).topic, resource.topic);
    case 'groupId':
      return (r as { name: RegExp }).name.test(resource.groupId);
    case 'rule':
      return (r as { name: RegExp }).name.test(resource.ruleId);
  }
}

/** A Deny resource applies if it can match anything the request names. */
function touches(r: CompiledResource, resource: PolicyResource): boolean {
  if (r.kind === 'any') return true;
  if (!instanceOf(r, resource)) return false;
  if (resource.type !== 'topic') return covers(r, resource);
  const pattern = (r as { topic: TopicPattern }).topic;
  const topic = resource.topic;
  switch (pattern.kind) {
    case 'all':
      return !topic.startsWith('$');
    case 'parent': {
      const parent = parentOf(topic);
      return parent === '+' || parent === '#' || pattern.parent.test(parent);
    }
    case 'filter':
      return filtersOverlap(pattern.filter, topic);
  }
}

function topicCovered(pattern: TopicPattern, topic: string): boolean {
  if (topic.startsWith('$')) return false;
  switch (pattern.kind) {
    case 'all':
      return true;
    case 'parent': {
      const parent = parentOf(topic);
      return parent !== '+' && parent !== '#' && pattern.parent.test(parent);
    }
    case 'filter':
      return filterCovers(pattern.filter, topic);
  }
}

/** RAM resource names, for building policies in code and docs. */
export const resourceName = {
  instance: (instanceId: string): string => `acs:mq:*:*:instance/${instanceId}`,
  topic: (instanceId: string, topic: string): string => `acs:mq:*:*:topic/${instanceId}/${topic}`,
  groupId: (instanceId: string, groupId: string): string => `acs:mq:*:*:groupId/${instanceId}/${groupId}`,
};
