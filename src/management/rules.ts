/**
 * Rules of an instance (src/rules): the registry for the model, the runtime for stats and dead
 * letters. Every call checks the instance, then the rule (404 RuleNotFound).
 */
import type { Rule, RuleInput, RulePatch } from '../rules/model.js';
import type { RuleRegistry } from '../rules/registry.js';
import type { DeadLetter, RuleRuntime, RuleStats } from '../rules/runtime.js';
import { ManagementError } from '../tenancy/errors.js';
import type { ManagementDeps } from './deps.js';
import { requireService } from './errors.js';
import type { InstanceCheck } from './instance-check.js';

/** A created or updated rule; `secret` is the webhook secret when it was just generated (shown once). */
export type RuleAnswer = Rule & { readonly secret?: string };

export class RuleAdmin {
  constructor(
    private readonly deps: Pick<ManagementDeps, 'rules' | 'ruleBackends'>,
    private readonly check: InstanceCheck,
  ) {}

  list(instanceId: string): Rule[] {
    this.check.require(instanceId);
    return this.registry().list(instanceId);
  }

  get(instanceId: string, ruleId: string): Rule {
    this.check.require(instanceId);
    return this.require(instanceId, ruleId);
  }

  async create(instanceId: string, input: RuleInput): Promise<RuleAnswer> {
    this.check.require(instanceId);
    const { rule, secret } = await this.registry().create(instanceId, input);
    return secret === undefined ? rule : { ...rule, secret };
  }

  async update(instanceId: string, ruleId: string, patch: RulePatch): Promise<RuleAnswer> {
    this.check.require(instanceId);
    const { rule, secret } = await this.registry().update(instanceId, ruleId, patch);
    return secret === undefined ? rule : { ...rule, secret };
  }

  setEnabled(instanceId: string, ruleId: string, enabled: boolean): Promise<Rule> {
    this.check.require(instanceId);
    return this.registry().setEnabled(instanceId, ruleId, enabled);
  }

  delete(instanceId: string, ruleId: string): Promise<void> {
    this.check.require(instanceId);
    return this.registry().delete(instanceId, ruleId);
  }

  stats(instanceId: string, ruleId: string): RuleStats {
    this.get(instanceId, ruleId);
    return this.runtime().stats(instanceId, ruleId);
  }

  deadLetters(instanceId: string, ruleId: string, page: { limit: number; after?: string }): Promise<{ items: DeadLetter[]; next?: string; missingNodes?: string[] }> {
    this.get(instanceId, ruleId);
    return this.runtime().deadLetters(instanceId, ruleId, page);
  }

  replay(instanceId: string, ruleId: string, ids?: readonly string[]): Promise<number> {
    this.get(instanceId, ruleId);
    return this.runtime().replayDeadLetters(instanceId, ruleId, ids);
  }

  purge(instanceId: string, ruleId: string, ids?: readonly string[]): Promise<number> {
    this.get(instanceId, ruleId);
    return this.runtime().purgeDeadLetters(instanceId, ruleId, ids);
  }

  private require(instanceId: string, ruleId: string): Rule {
    const rule = this.registry().get(instanceId, ruleId);
    if (rule === undefined) throw new ManagementError('RuleNotFound', `rule ${ruleId} does not exist in instance ${instanceId}`);
    return rule;
  }

  private registry(): RuleRegistry {
    return requireService(this.deps.rules, 'rules');
  }

  private runtime(): RuleRuntime {
    return requireService(this.deps.ruleBackends, 'the rule runtime').runtime;
  }
}
