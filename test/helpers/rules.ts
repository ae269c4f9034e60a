/** A rule for the runtime tests: applied straight to the engine, every option at its default. */
import type { EngineRule } from '../../src/rules/index.js';
import type { RunningFerry } from '../../src/internal.js';

let counter = 0;

export function engineRule(ferry: RunningFerry, spec: Partial<EngineRule> & Pick<EngineRule, 'type'>): EngineRule {
  return {
    id: `rule-test${++counter}`,
    instanceId: ferry.config.broker.defaultInstanceId,
    enabled: true,
    topics: [],
    groups: [],
    target: null,
    source: null,
    parentTopic: null,
    secret: null,
    maxAttempts: 10,
    outboxMaxMessages: 100_000,
    outboxMaxBytes: 64 * 2 ** 20,
    overflow: 'drop-oldest',
    ...spec,
  };
}
