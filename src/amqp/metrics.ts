/**
 * Prometheus metrics of the AMQP endpoint, read on scrape from its counters:
 *   ferry_amqp_connections (gauge), ferry_amqp_events_total {event} — connections, refused logins,
 *   protocol errors (connections closed with an error code), deliveries, acks, requeues,
 *   dead letters, publishes, returned/nacked (unroutable) publishes.
 * Queue depths are the built-in queues' own (ferry_queue_depth, src/rules/metrics.ts).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AmqpStats } from './context.js';

const EVENTS: ReadonlyArray<[keyof AmqpStats, string]> = [
  ['connectionsTotal', 'connection'],
  ['authFailures', 'login_refused'],
  ['protocolErrors', 'protocol_error'],
  ['delivered', 'delivered'],
  ['acked', 'acked'],
  ['requeued', 'requeued'],
  ['deadLettered', 'dead_lettered'],
  ['published', 'published'],
  ['returned', 'unroutable'],
];

export function registerAmqpMetrics(registry: Registry, stats: AmqpStats): void {
  new Gauge({
    name: 'ferry_amqp_connections',
    help: 'Open connections of the AMQP endpoint.',
    registers: [registry],
    collect() {
      this.set(stats.connections);
    },
  });
  new Counter({
    name: 'ferry_amqp_events_total',
    help: 'AMQP endpoint events: connections, refused logins, protocol errors, deliveries, acks, requeues, dead letters, publishes, unroutable publishes.',
    labelNames: ['event'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, event] of EVENTS) this.inc({ event }, stats[key]);
    },
  });
}
