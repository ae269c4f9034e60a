/** A rule for the runtime tests: applied straight to the engine, every option at its default. */
import assert from 'node:assert/strict';
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

/**
 * At least once, in order per publishing client: `payloads` are "client:n" strings as delivered
 * (a retried batch may repeat some); the first occurrence of each client's numbers must be 0..n-1.
 */
export function assertFirstOccurrencesInOrder(payloads: readonly string[], clients: number, perClient: number): void {
  for (let i = 0; i < clients; i++) {
    const seen: number[] = [];
    for (const p of payloads) {
      const [c, n] = p.split(':').map(Number) as [number, number];
      if (c === i && !seen.includes(n)) seen.push(n);
    }
    assert.deepEqual(seen, Array.from({ length: perClient }, (_, n) => n), `client ${i} in order, none missing`);
  }
}
