/**
 * RuleRegistry: the rules of every instance, kept in the store and in memory. It validates
 * (model.ts), enforces the per-instance `maxRules` limit and name uniqueness, and tells its
 * listeners about every change, so the rule runtime can start and stop workers.
 *
 *   store collection  rules   key <instanceId>\x1f<ruleId>   value RuleRecord
 *
 * Target/source URLs may carry credentials (`amqp://user:pass@…`, `?token=`): each URL is stored
 * SEALED with the SecretBox (bound to its rule and role), next to its redacted form, which is the
 * only form answers and logs ever see. The webhook secret is sealed the same way and shown once,
 * when it is created. The clear forms are only handed out by resolved(), for the runtime.
 */
import { randomBytes } from 'node:crypto';
import type { SecretBox, SealedSecret } from '../auth/crypto.js';
import { randomAlphanumeric } from '../auth/crypto.js';
import type { Store } from '../store/types.js';
import { ManagementError } from '../tenancy/errors.js';
import { pages, type Tenancy } from '../tenancy/registry.js';
import {
  invalidRule,
  isWebhookUrl,
  validateRule,
  type ResolvedRule,
  type Rule,
  type RuleEndpoints,
  type RuleInput,
  type RulePatch,
  type RuleSpec,
  type RuleFields,
} from './model.js';

const COLLECTION = 'rules';
const SEP = '\u001f';

/** A stored URL: sealed in full, plus the redacted form for answers. */
interface StoredUrl {
  readonly sealed: SealedSecret;
  readonly redacted: string;
}

export interface RuleRecord extends RuleFields {
  readonly v: 1;
  readonly id: string;
  readonly instanceId: string;
  readonly target?: StoredUrl;
  readonly source?: StoredUrl;
  readonly secret?: SealedSecret;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export type RuleChangeKind = 'created' | 'updated' | 'deleted';

/** What listeners get: the public view (redacted). Ask resolved(rule) for the clear URLs. */
export interface RuleChange {
  readonly kind: RuleChangeKind;
  readonly rule: Rule;
}

/**
 * A listener may answer a promise: the change's API call answers once it settles, so a rule that
 * was just created or enabled already captures the next message (the runtime resolves it then).
 */
export type RuleChangeListener = (event: RuleChange) => void | Promise<void>;

export interface RuleRegistryOptions {
  readonly store: Store;
  readonly box: SecretBox;
  readonly tenancy: Tenancy;
  readonly endpoints: RuleEndpoints;
  readonly now?: () => number;
  /** Listener errors and lifecycle lines (URLs redacted). */
  readonly logger?: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

function view(record: RuleRecord): Rule {
  return {
    id: record.id,
    instanceId: record.instanceId,
    name: record.name,
    description: record.description,
    enabled: record.enabled,
    type: record.type,
    ...(record.topics === undefined ? {} : { topics: record.topics }),
    ...(record.groups === undefined ? {} : { groups: record.groups }),
    ...(record.target === undefined ? {} : { target: record.target.redacted }),
    ...(record.source === undefined ? {} : { source: record.source.redacted }),
    ...(record.parentTopic === undefined ? {} : { parentTopic: record.parentTopic }),
    options: record.options,
    hasSecret: record.secret !== undefined,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

export class RuleRegistry {
  /** instanceId → ruleId → record. */
  private readonly rules = new Map<string, Map<string, RuleRecord>>();
  private readonly listeners: RuleChangeListener[] = [];
  private readonly now: () => number;

  private constructor(private readonly options: RuleRegistryOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Loads every rule; an instance's rules go when the instance is deleted. */
  static async open(options: RuleRegistryOptions): Promise<RuleRegistry> {
    const registry = new RuleRegistry(options);
    // Rules created, changed or deleted on other nodes (cluster mode): the runtime starts, updates
    // or stops this node's workers for them as for its own changes.
    options.store.onRecordChanged?.(COLLECTION, (_key, value, previous) => {
      if (value === undefined) {
        const record = previous as RuleRecord | undefined;
        if (record === undefined || registry.rules.get(record.instanceId)?.delete(record.id) !== true) return;
        options.logger?.info({ instanceId: record.instanceId, ruleId: record.id, name: record.name }, 'rule deleted on another node');
        registry.emit({ kind: 'deleted', rule: view(record) }).catch(() => undefined); // never rejects: failures are logged
        return;
      }
      const record = value as RuleRecord;
      const known = registry.rules.get(record.instanceId)?.has(record.id) === true;
      registry.of(record.instanceId).set(record.id, record);
      registry.emit({ kind: known ? 'updated' : 'created', rule: view(record) }).catch(() => undefined);
    });
    for await (const { value } of pages(options.store, COLLECTION)) {
      const record = value as RuleRecord;
      registry.of(record.instanceId).set(record.id, record);
    }
    options.tenancy.onInstanceDeleted((instanceId) => registry.dropInstance(instanceId));
    return registry;
  }

  /** Several listeners may subscribe (the runtime, metrics, ...). A failing listener is logged, not propagated. */
  onChange(listener: RuleChangeListener): void {
    this.listeners.push(listener);
  }

  /** Every rule of every instance (the runtime starts their workers at start-up). */
  all(): Rule[] {
    return [...this.rules.values()].flatMap((m) => [...m.values()].map(view));
  }

  list(instanceId: string): Rule[] {
    return [...(this.rules.get(instanceId)?.values() ?? [])].map(view).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get(instanceId: string, ruleId: string): Rule | undefined {
    const record = this.rules.get(instanceId)?.get(ruleId);
    return record === undefined ? undefined : view(record);
  }

  /** The rule with its target/source URLs and webhook secret in clear. Internal: never answer or log it. */
  resolved(rule: Pick<Rule, 'instanceId' | 'id'>): ResolvedRule {
    const record = this.require(rule.instanceId, rule.id);
    const { box } = this.options;
    return {
      ...view(record),
      ...(record.target === undefined ? {} : { targetUrl: box.open(record.target.sealed, context(record.id, 'target')) }),
      ...(record.source === undefined ? {} : { sourceUrl: box.open(record.source.sealed, context(record.id, 'source')) }),
      ...(record.secret === undefined ? {} : { secret: box.open(record.secret, context(record.id, 'secret')) }),
    };
  }

  /** Creates a rule. `secret` is the webhook secret, in clear: the only time it is shown. */
  async create(instanceId: string, input: RuleInput): Promise<{ rule: Rule; secret?: string }> {
    await this.options.endpoints.ready?.();
    const instance = this.options.tenancy.require(instanceId);
    const spec = validateRule(input, instance, this.options.endpoints);
    const rules = this.of(instanceId);
    this.checkNameFree(rules, spec.name, null);
    const max = instance.limits.maxRules;
    if (max > 0 && rules.size >= max) {
      throw new ManagementError('QuotaExceeded', `instance ${instanceId} has ${rules.size} rules, its limit (maxRules) is ${max}`);
    }
    let id: string;
    do id = `rule-${randomBytes(6).toString('hex')}`;
    while (rules.has(id));
    const secret = spec.secret ?? (isWebhookUrl(spec.target) ? randomAlphanumeric(32) : undefined);
    const now = this.now();
    const record = this.record(instanceId, id, spec, secret, now, now);
    this.put(record);
    await this.options.store.whenDurable();
    const rule = view(record);
    this.options.logger?.info({ instanceId, ruleId: id, name: rule.name, type: rule.type, target: rule.target, source: rule.source }, 'rule created');
    await this.emit({ kind: 'created', rule });
    return secret === undefined ? { rule } : { rule, secret };
  }

  /**
   * PATCH semantics: given fields replace the rule's, the rest stay; `options` are merged; `type`
   * cannot change. A target that becomes a webhook gets a secret (returned, shown once).
   */
  async update(instanceId: string, ruleId: string, patch: RulePatch): Promise<{ rule: Rule; secret?: string }> {
    await this.options.endpoints.ready?.();
    const instance = this.options.tenancy.require(instanceId);
    const current = this.require(instanceId, ruleId);
    if (patch.type !== undefined && patch.type !== current.type) throw invalidRule('type', `the type of a rule cannot change (it is ${current.type}); create another rule`);
    const resolved = this.resolved(current);
    const merged: RuleInput = {
      name: patch.name ?? current.name,
      type: current.type,
      description: patch.description ?? current.description,
      enabled: patch.enabled ?? current.enabled,
      ...opt('topics', patch.topics ?? current.topics),
      ...opt('groups', patch.groups ?? current.groups),
      ...opt('target', patch.target ?? resolved.targetUrl),
      ...opt('source', patch.source ?? resolved.sourceUrl),
      ...opt('parentTopic', patch.parentTopic ?? current.parentTopic),
      options: { ...current.options, ...(patch.options ?? {}) },
    };
    const spec = validateRule(merged, instance, this.options.endpoints);
    this.checkNameFree(this.of(instanceId), spec.name, ruleId);
    let secret: string | undefined;
    let fresh: string | undefined;
    if (patch.secret !== undefined) {
      // Throws for a target that is not a webhook.
      secret = validateRule({ ...merged, secret: patch.secret }, instance, this.options.endpoints).secret;
    } else if (isWebhookUrl(spec.target)) {
      secret = resolved.secret ?? (fresh = randomAlphanumeric(32));
    }
    const record = this.record(instanceId, ruleId, spec, secret, current.createdAt, this.now());
    this.put(record);
    await this.options.store.whenDurable();
    const rule = view(record);
    this.options.logger?.info({ instanceId, ruleId, name: rule.name, enabled: rule.enabled, target: rule.target, source: rule.source }, 'rule updated');
    await this.emit({ kind: 'updated', rule });
    return fresh === undefined ? { rule } : { rule, secret: fresh };
  }

  async setEnabled(instanceId: string, ruleId: string, enabled: boolean): Promise<Rule> {
    const current = this.require(instanceId, ruleId);
    if (current.enabled === enabled) return view(current);
    return (await this.update(instanceId, ruleId, { enabled })).rule;
  }

  async delete(instanceId: string, ruleId: string): Promise<void> {
    const record = this.require(instanceId, ruleId);
    const removed = this.remove(record);
    await this.options.store.whenDurable();
    await removed;
  }

  private dropInstance(instanceId: string): void {
    // Nobody waits for the workers to stop here: the instance is gone (remove() never rejects).
    for (const record of [...(this.rules.get(instanceId)?.values() ?? [])]) this.remove(record).catch(() => undefined);
    this.rules.delete(instanceId);
  }

  /** Resolves when the listeners have seen the deletion (the rule's worker has stopped). */
  private remove(record: RuleRecord): Promise<void> {
    this.rules.get(record.instanceId)?.delete(record.id);
    this.options.store.deleteRecord(COLLECTION, record.instanceId + SEP + record.id);
    this.options.logger?.info({ instanceId: record.instanceId, ruleId: record.id, name: record.name }, 'rule deleted');
    return this.emit({ kind: 'deleted', rule: view(record) });
  }

  private record(instanceId: string, id: string, spec: RuleSpec, secret: string | undefined, createdAt: number, updatedAt: number): RuleRecord {
    const { box, endpoints } = this.options;
    const seal = (role: 'target' | 'source', url: string): StoredUrl => ({ sealed: box.seal(url, context(id, role)), redacted: endpoints.redact(url) });
    return {
      v: 1,
      id,
      instanceId,
      name: spec.name,
      description: spec.description,
      enabled: spec.enabled,
      type: spec.type,
      ...opt('topics', spec.topics),
      ...opt('groups', spec.groups),
      ...(spec.target === undefined ? {} : { target: seal('target', spec.target) }),
      ...(spec.source === undefined ? {} : { source: seal('source', spec.source) }),
      ...opt('parentTopic', spec.parentTopic),
      options: spec.options,
      ...(secret === undefined ? {} : { secret: box.seal(secret, context(id, 'secret')) }),
      createdAt,
      updatedAt,
    };
  }

  private checkNameFree(rules: Map<string, RuleRecord>, name: string, self: string | null): void {
    for (const record of rules.values()) {
      if (record.name === name && record.id !== self) throw new ManagementError('RuleAlreadyExists', `instance ${record.instanceId} already has a rule named "${name}" (${record.id})`, { field: 'body.name' });
    }
  }

  private require(instanceId: string, ruleId: string): RuleRecord {
    const record = this.rules.get(instanceId)?.get(ruleId);
    if (record === undefined) throw new ManagementError('RuleNotFound', `rule ${ruleId} does not exist in instance ${instanceId}`);
    return record;
  }

  private of(instanceId: string): Map<string, RuleRecord> {
    let rules = this.rules.get(instanceId);
    if (rules === undefined) this.rules.set(instanceId, (rules = new Map()));
    return rules;
  }

  private put(record: RuleRecord): void {
    this.of(record.instanceId).set(record.id, record);
    this.options.store.putRecord(COLLECTION, record.instanceId + SEP + record.id, record);
  }

  /** Tells every listener; resolves when all have settled (never rejects: failures are logged). */
  private async emit(event: RuleChange): Promise<void> {
    const failed = (err: unknown): void => {
      this.options.logger?.error({ err, ruleId: event.rule.id, kind: event.kind }, 'rule change listener failed');
    };
    const pending: Promise<void>[] = [];
    for (const listener of this.listeners) {
      try {
        const answer = listener(event);
        if (answer !== undefined) pending.push(answer.catch(failed));
      } catch (err) {
        failed(err);
      }
    }
    await Promise.all(pending);
  }
}

/** The SecretBox context binds a sealed value to its rule and role (a copy into another record fails). */
function context(ruleId: string, role: 'target' | 'source' | 'secret'): string {
  return `rule:${ruleId}:${role}`;
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
