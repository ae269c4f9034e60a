/**
 * Prometheus metrics of rules and built-in queues, collected on scrape from the runtime's
 * counters (nothing is counted twice, nothing on the hot path):
 *   ferry_rule_delivered_total / _failed_total / _retried_total / _dead_lettered_total /
 *   _dropped_total {instance, rule}, ferry_rule_outbox_depth / _outbox_bytes /
 *   _outbox_oldest_age_seconds {instance, rule}, ferry_queue_depth / _in_flight /
 *   _oldest_age_seconds {instance, queue}, ferry_rule_thread_restarts_total.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RulesRuntime } from './index.js';

export function registerRuleMetrics(registry: Registry, rules: RulesRuntime): void {
  const registers = [registry];
  const labelNames = ['instance', 'rule'] as const;
  const perRule = (
    name: string,
    help: string,
    kind: 'counter' | 'gauge',
    read: (r: ReturnType<RulesRuntime['engine']['allStats']>[number], now: number) => number,
  ): void => {
    const collect = function (this: Counter<'instance' | 'rule'> | Gauge<'instance' | 'rule'>): void {
      this.reset();
      const now = Date.now();
      for (const r of rules.engine.allStats()) {
        const labels = { instance: r.rule.instanceId, rule: r.rule.id };
        if (this instanceof Counter) this.inc(labels, read(r, now));
        else this.set(labels, read(r, now));
      }
    };
    if (kind === 'counter') new Counter({ name, help, labelNames, registers, collect });
    else new Gauge({ name, help, labelNames, registers, collect });
  };
  perRule('ferry_rule_delivered_total', 'Items a rule delivered to its target (or inbound messages it published).', 'counter', (r) => r.stats?.delivered ?? 0);
  perRule('ferry_rule_failed_total', 'Delivery attempts that failed.', 'counter', (r) => r.stats?.failed ?? 0);
  perRule('ferry_rule_retried_total', 'Items scheduled for another attempt.', 'counter', (r) => r.stats?.retried ?? 0);
  perRule('ferry_rule_dead_lettered_total', 'Items moved to the dead-letter list.', 'counter', (r) => r.stats?.deadLettered ?? 0);
  perRule('ferry_rule_dropped_total', 'Outbox entries dropped over the outbox bounds.', 'counter', (r) => r.outbox?.dropped ?? 0);
  perRule('ferry_rule_outbox_depth', 'Undelivered entries in the outbox.', 'gauge', (r) => r.outbox?.depth ?? 0);
  perRule('ferry_rule_outbox_bytes', 'Bytes of undelivered entries in the outbox.', 'gauge', (r) => r.outbox?.bytes ?? 0);
  perRule('ferry_rule_outbox_oldest_age_seconds', 'Age of the oldest undelivered outbox entry.', 'gauge', (r, now) => (r.outbox?.oldestAge(now) ?? 0) / 1000);

  new Counter({
    name: 'ferry_rule_thread_restarts_total',
    help: 'Unexpected exits of the rule delivery thread (each one restarted; undelivered entries stay in the outboxes).',
    registers,
    collect() {
      this.reset();
      this.inc(rules.engine.deliveryThreadRestarts);
    },
  });

  const queueLabels = ['instance', 'queue'] as const;
  const perQueue = (name: string, help: string, read: (q: ReturnType<RulesRuntime['queues']['all']>[number]) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: queueLabels,
      registers,
      collect() {
        this.reset();
        for (const q of rules.queues.all()) this.set({ instance: q.instanceId, queue: q.name }, read(q));
      },
    });
  };
  perQueue('ferry_queue_depth', 'Messages in a built-in queue (not yet acknowledged).', (q) => q.depth);
  perQueue('ferry_queue_in_flight', 'Messages of a built-in queue leased to a consumer.', (q) => q.inFlight);
  perQueue('ferry_queue_oldest_age_seconds', 'Age of the oldest message of a built-in queue.', (q) => q.oldestAgeMs / 1000);
}
