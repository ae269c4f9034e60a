/**
 * Prometheus metrics (prom-client), one registry per Ferry process, served at GET /metrics
 * (src/http/metrics.ts). See docs/observability.md for the full list.
 *
 * The hot path never touches prom-client: the broker keeps plain counters (BrokerCounters,
 * Tenant.messagesIn/Out/bytesOut, per-parent-topic TopicStats) and the metrics below read them in
 * `collect()` callbacks, i.e. only when Prometheus scrapes. Counters read this way are reset and
 * set to the broker's running total at each scrape, so they behave as ordinary counters (a
 * restart resets them to 0, which rate() handles).
 *
 * Label cardinality is bounded: `instance` (tenants), `topic` = parent topic (first level, at
 * most MAX_TOPIC_STATS per instance, the rest as "_other"), `reason` (fixed sets), and for the
 * API `route` = the route pattern, never the raw URL.
 *
 * Managed-service metrics (reference §6.3) and their names here:
 *   ConnectionsPerInstance       ferry_instance_connections{instance}
 *   SubscriptionsPerInstance     ferry_instance_subscriptions{instance}
 *   MaxQpsPerInstance            ferry_instance_qps_max{instance}      (peak 1 s rate in the last minute)
 *   AverageQpsPerInstance        ferry_instance_qps_avg{instance}      (mean over the last minute)
 *   OutboundInternetTraffic...   ferry_instance_outbound_bytes_per_minute{instance}
 *   ReceiveTpsPerTopic           rate(ferry_topic_messages_received_total{instance,topic})
 *   SendTpsPerTopic              rate(ferry_topic_messages_sent_total{instance,topic})
 *   SubscriptionsPerTopic        ferry_topic_subscriptions{instance,topic}
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Broker } from '../broker/broker.js';
import type { QueueDropEvent } from '../broker/counters.js';
import { MAX_TOPIC_STATS, OTHER_TOPICS, type Tenant } from '../broker/tenant.js';
import { CONNECTION_ERROR_REASONS, DROP_CAUSE_LABELS } from '../broker/counters.js';
import type { DropReason } from '../store/types.js';
import { processFaults } from './process-faults.js';

/** What the trace service reports (kept structural so metrics do not depend on traces). */
export interface TraceStatsSource {
  readonly enabled: boolean;
  readonly stats: { recorded: number; dropped: number; stored: number; pendingBatches: number };
}

/** Per-instance quota refusals (src/auth InstanceQuotas), structural so metrics do not depend on auth. */
export interface QuotaStatsSource {
  entries(): Iterable<[string, { connectionsRefused: number; subscriptionsRefused: number; messagesThrottled: number; loginsRateLimited: number }]>;
}

export interface MetricsOptions {
  readonly broker: Broker;
  readonly traces?: TraceStatsSource | null;
  readonly quotas?: QuotaStatsSource | null;
  /** Node.js process metrics (CPU, memory, GC, event-loop lag); default true. */
  readonly processMetrics?: boolean;
}

/** Window of the per-instance QPS gauges (managed service: per minute), seconds. */
const QPS_WINDOW = 60;

interface QpsState {
  last: number;
  readonly samples: Float64Array;
  /** Bytes sent, one sample per second over the same window. */
  lastBytes: number;
  readonly bytes: Float64Array;
  filled: number;
  at: number;
}

/** The parent topic (first level) of a topic or filter. */
export function parentTopic(topic: string): string {
  const slash = topic.indexOf('/');
  return slash < 0 ? topic : topic.slice(0, slash);
}

export class FerryMetrics {
  readonly registry = new Registry();
  /**
   * Authentication failures with their cause, for the authenticators (src/auth) to increment:
   * `metrics.authFailures.inc({ instance, reason })`, reason e.g. 'bad-signature',
   * 'token-expired', 'unknown-access-key', 'blacklisted'. The broker itself counts every refused
   * CONNECT in ferry_connect_auth_failures_total.
   */
  readonly authFailures: Counter<'instance' | 'reason'>;
  /**
   * HTTP requests by route pattern, counted by the /metrics module's global hook; requests to the
   * RPC endpoint (route `/`) also carry `action` (observeRpcRequest).
   */
  readonly apiRequests: Counter<'method' | 'route' | 'status' | 'action'>;
  readonly apiLatency: Histogram<'method' | 'route' | 'action'>;
  private readonly broker: Broker;
  private readonly qps = new Map<string, QpsState>();
  private readonly qpsTimer: NodeJS.Timeout;
  /** Per instance: drops over the caps by `cause` label, and expired. */
  private readonly queueDrops = new Map<string, { queueFull: Map<string, number>; expired: number }>();

  constructor(options: MetricsOptions) {
    const broker = (this.broker = options.broker);
    const registers = [this.registry];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'ferry_' });

    const c = broker.counters;
    c.onQueueDrop((event: QueueDropEvent): void => {
      let drops = this.queueDrops.get(event.instanceId);
      if (drops === undefined) this.queueDrops.set(event.instanceId, (drops = { queueFull: new Map(), expired: 0 }));
      if (event.reason === 'queue-full') {
        const cause = DROP_CAUSE_LABELS[event.cause ?? 'session-cap'];
        drops.queueFull.set(cause, (drops.queueFull.get(cause) ?? 0) + 1);
      } else drops.expired++;
    });

    // Broker-wide counters.
    const total = (name: string, help: string, read: () => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    };
    new Gauge({ name: 'ferry_connections', help: 'Connected MQTT clients.', registers, collect() { this.set(c.connected); } });
    new Gauge({ name: 'ferry_subscriptions', help: 'Subscriptions over all instances.', registers, collect() { this.set(broker.subscriptionCount); } });
    new Gauge({
      name: 'ferry_store_writable',
      help: '1 while the store commits writes; 0 while it cannot (degraded: persistent work refused, retrying).',
      registers,
      collect() {
        this.set(broker.persistence === null || broker.persistence.store.health.ok ? 1 : 0);
      },
    });
    const store = broker.persistence?.store;
    if (store?.onCommitTiming !== undefined) {
      // Where an acknowledgement's wait goes: the COMMIT (fsync) or the hops and queueing around it.
      const buckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
      const wait = new Histogram({
        name: 'ferry_store_commit_wait_seconds',
        help: 'Per store commit: from its oldest batch leaving the broker thread to the durable answer (what an acknowledgement waits).',
        buckets,
        registers,
      });
      const commit = new Histogram({
        name: 'ferry_store_commit_seconds',
        help: 'Per store commit: the COMMIT on the store thread, with its fsync under --store-fsync always.',
        buckets,
        registers,
      });
      const batches = new Counter({ name: 'ferry_store_commit_batches_total', help: 'Batches (broker event-loop turns) made durable; / ferry_store_commit_seconds_count = batches per commit.', registers });
      store.onCommitTiming((timing) => {
        wait.observe(timing.waitSeconds);
        commit.observe(timing.commitSeconds);
        batches.inc(timing.batches);
      });
    }
    total('ferry_connections_accepted_total', 'Sockets accepted.', () => c.connectionsAccepted);
    total('ferry_takeovers_total', 'Connections closed because the same client id connected again.', () => c.takeovers);
    total('ferry_keepalive_timeouts_total', 'Connections closed for missing keepalive.', () => c.keepaliveTimeouts);
    total('ferry_stuck_disconnects_total', 'Connections closed because the client stopped reading.', () => c.stuckDisconnects);
    total('ferry_messages_received_total', 'PUBLISH packets received from clients.', () => c.messagesIn);
    total('ferry_messages_sent_total', 'PUBLISH packets written to clients.', () => c.messagesOut);
    total('ferry_publish_denied_total', 'PUBLISHes refused by authorization.', () => c.publishDenied);
    total(
      'ferry_acks_refused_unstored_total',
      'PUBACK/PUBREC/SUBACK refused (failure reason code or closed connection) because the store could not write.',
      () => c.refusedUnstored,
    );
    total(
      'ferry_connects_refused_unstored_total',
      'CONNECTs with a persistent session refused (Server unavailable) because the store could not write.',
      () => c.connectsRefusedUnstored,
    );
    total('ferry_connect_auth_failures_total', 'CONNECTs refused by authentication.', () => c.authFailures);
    total('ferry_wills_published_total', 'Will messages published.', () => c.willsPublished);
    total('ferry_shared_redispatched_total', 'Shared-subscription messages moved to another member.', () => c.sharedRedispatched);
    const flow = broker.flow;
    if (flow !== null) {
      // Flow control (docs/operations.md): publishers not read while a subscriber catches up.
      new Gauge({ name: 'ferry_flow_paused_publishers', help: 'Publisher connections not read now because a subscriber they publish to is behind (flow control).', registers, collect() { this.set(flow.pausedPublishers); } });
      total('ferry_flow_pauses_total', 'Times a publisher connection was paused by flow control.', () => flow.pauses);
      total('ferry_flow_paused_seconds_total', 'Time publisher connections spent paused by flow control, seconds (summed over connections).', () => flow.pausedSeconds());
      total('ferry_flow_fallbacks_total', 'Online sessions that stayed behind for flowMaxPauseMs: their publishers resumed and their queue is capped as usual.', () => flow.fallbacks);
    }
    new Counter({
      name: 'ferry_limit_hits_total',
      help: 'Requests, packets or connections refused by a protective limit (docs/security.md), by limit.',
      labelNames: ['limit'] as const,
      registers,
      collect() {
        this.reset();
        for (const [limit, n] of c.limitHits.entries()) this.inc({ limit }, n);
      },
    });
    new Counter({
      name: 'ferry_connection_errors_total',
      help: 'Connections closed by an unexpected error (a bug or a failing dependency), by where it hit; each also logs one error line.',
      labelNames: ['reason'] as const,
      registers,
      collect() {
        this.reset();
        for (const reason of CONNECTION_ERROR_REASONS) this.inc({ reason }, c.connectionErrors[reason]);
      },
    });
    new Counter({
      name: 'ferry_process_errors_total',
      help: 'Errors that reached the process-level last resort (uncaughtException, unhandledRejection).',
      labelNames: ['kind'] as const,
      registers,
      collect() {
        this.reset();
        this.inc({ kind: 'uncaught_exception' }, processFaults.uncaughtException);
        this.inc({ kind: 'unhandled_rejection' }, processFaults.unhandledRejection);
      },
    });
    new Counter({
      name: 'ferry_messages_dropped_total',
      help: 'Messages dropped, by reason; queue_full also by the cap (cause): session_count, session_bytes, instance_count, instance_bytes.',
      labelNames: ['reason', 'cause'] as const,
      registers,
      collect() {
        this.reset();
        for (const [cap, cause] of Object.entries(DROP_CAUSE_LABELS) as Array<[DropReason, string]>) {
          this.inc({ reason: 'queue_full', cause }, c.droppedQueueFullBy[cap]);
        }
        this.inc({ reason: 'expired' }, c.droppedExpired);
        this.inc({ reason: 'qos0_offline' }, c.droppedQos0Offline);
        this.inc({ reason: 'slow_consumer' }, c.droppedByLink);
        this.inc({ reason: 'no_subscriber' }, c.droppedNoSubscriber);
      },
    });

    // Per instance.
    const tenants = () => broker.tenants.values();
    const perInstance = (name: string, help: string, read: (t: Tenant) => number, kind: 'gauge' | 'counter'): void => {
      const collect = function (this: Gauge<'instance'> | Counter<'instance'>): void {
        this.reset();
        for (const t of tenants()) {
          if (this instanceof Gauge) this.set({ instance: t.instanceId }, read(t));
          else this.inc({ instance: t.instanceId }, read(t));
        }
      };
      if (kind === 'gauge') new Gauge({ name, help, labelNames: ['instance'] as const, registers, collect });
      else new Counter({ name, help, labelNames: ['instance'] as const, registers, collect });
    };
    perInstance('ferry_instance_connections', 'Connected clients per instance (ConnectionsPerInstance).', (t) => t.connections, 'gauge');
    perInstance('ferry_instance_subscriptions', 'Subscriptions per instance (SubscriptionsPerInstance).', (t) => t.trie.size, 'gauge');
    perInstance('ferry_instance_sessions', 'Sessions per instance, connected or not.', (t) => t.sessions.size, 'gauge');
    perInstance('ferry_instance_retained_messages', 'Retained messages per instance.', (t) => t.retained.size, 'gauge');
    perInstance('ferry_instance_messages_received_total', 'Messages routed per instance (from clients, the API and wills).', (t) => t.messagesIn, 'counter');
    perInstance('ferry_instance_messages_sent_total', 'PUBLISHes written to subscribers per instance.', (t) => t.messagesOut, 'counter');
    perInstance('ferry_instance_bytes_sent_total', 'PUBLISH bytes written to subscribers per instance.', (t) => t.bytesOut, 'counter');
    perInstance('ferry_instance_queued_messages', 'Messages waiting in session queues in memory per instance (journaled sessions keep theirs in the store; offline ones the oldest part in memory too, within the offline window).', (t) => {
      let n = 0;
      for (const s of t.sessions.values()) n += s.queued;
      return n;
    }, 'gauge');
    perInstance('ferry_instance_inflight_messages', 'QoS 1/2 deliveries sent and not yet acknowledged per instance.', (t) => {
      let n = 0;
      for (const s of t.sessions.values()) n += s.inflight.size;
      return n;
    }, 'gauge');
    const queueDrops = this.queueDrops;
    new Counter({
      name: 'ferry_instance_messages_dropped_total',
      help: 'Queued messages dropped per instance: over the queue caps (queue_full, by cause) or expired.',
      labelNames: ['instance', 'reason', 'cause'] as const,
      registers,
      collect() {
        this.reset();
        for (const [instance, d] of queueDrops) {
          for (const [cause, n] of d.queueFull) this.inc({ instance, reason: 'queue_full', cause }, n);
          this.inc({ instance, reason: 'expired' }, d.expired);
        }
      },
    });
    const quotas = options.quotas ?? null;
    if (quotas !== null) {
      new Counter({
        name: 'ferry_instance_quota_refusals_total',
        help: 'Refusals by per-instance quotas: connections, subscriptions, throttled messages, rate-limited logins.',
        labelNames: ['instance', 'quota'] as const,
        registers,
        collect() {
          this.reset();
          for (const [instance, c] of quotas.entries()) {
            this.inc({ instance, quota: 'connections' }, c.connectionsRefused);
            this.inc({ instance, quota: 'subscriptions' }, c.subscriptionsRefused);
            this.inc({ instance, quota: 'messages_per_second' }, c.messagesThrottled);
            this.inc({ instance, quota: 'logins' }, c.loginsRateLimited);
          }
        },
      });
    }
    const qps = this.qps;
    const windowStat = (pick: (s: QpsState) => Float64Array, reduce: 'max' | 'avg') =>
      function (this: Gauge<'instance'>): void {
        this.reset();
        for (const [instance, s] of qps) {
          const samples = pick(s);
          const n = Math.min(s.filled, QPS_WINDOW);
          let max = 0;
          let sum = 0;
          for (let i = 0; i < n; i++) {
            const v = samples[i]!;
            sum += v;
            if (v > max) max = v;
          }
          this.set({ instance }, reduce === 'max' ? max : n === 0 ? 0 : sum / n);
        }
      };
    new Gauge({
      name: 'ferry_instance_qps_max',
      help: 'Highest messages per second (received + sent) in the last minute (MaxQpsPerInstance).',
      labelNames: ['instance'] as const,
      registers,
      collect: windowStat((s) => s.samples, 'max'),
    });
    new Gauge({
      name: 'ferry_instance_qps_avg',
      help: 'Mean messages per second (received + sent) over the last minute (AverageQpsPerInstance).',
      labelNames: ['instance'] as const,
      registers,
      collect: windowStat((s) => s.samples, 'avg'),
    });
    new Gauge({
      name: 'ferry_instance_outbound_bytes_per_minute',
      help: 'PUBLISH bytes written to subscribers in the last minute (OutboundInternetTrafficPerInstance).',
      labelNames: ['instance'] as const,
      registers,
      collect() {
        this.reset();
        for (const [instance, s] of qps) {
          let sum = 0;
          for (let i = 0; i < Math.min(s.filled, QPS_WINDOW); i++) sum += s.bytes[i]!;
          this.set({ instance }, sum);
        }
      },
    });

    // Per parent topic.
    const topicCounter = (name: string, help: string, pick: 'in' | 'out'): void => {
      new Counter({
        name,
        help,
        labelNames: ['instance', 'topic'] as const,
        registers,
        collect() {
          this.reset();
          for (const t of tenants()) {
            for (const [topic, stats] of t.topics) this.inc({ instance: t.instanceId, topic }, stats[pick]);
          }
        },
      });
    };
    topicCounter('ferry_topic_messages_received_total', 'Messages published per parent topic (rate = ReceiveTpsPerTopic).', 'in');
    topicCounter('ferry_topic_messages_sent_total', 'Deliveries per parent topic (rate = SendTpsPerTopic).', 'out');
    new Gauge({
      name: 'ferry_topic_subscriptions',
      help: 'Subscriptions per parent topic (SubscriptionsPerTopic); the first level of the filter.',
      labelNames: ['instance', 'topic'] as const,
      registers,
      collect() {
        this.reset();
        for (const t of tenants()) {
          const counts = new Map<string, number>();
          for (const s of t.sessions.values()) {
            for (const sub of s.subscriptions.values()) {
              let topic = parentTopic(sub.filter);
              if (!counts.has(topic) && counts.size >= MAX_TOPIC_STATS) topic = OTHER_TOPICS;
              counts.set(topic, (counts.get(topic) ?? 0) + 1);
            }
          }
          for (const [topic, n] of counts) this.set({ instance: t.instanceId, topic }, n);
        }
      },
    });

    // Authentication and the HTTP API.
    this.authFailures = new Counter({
      name: 'ferry_auth_failures_total',
      help: 'Authentication failures by instance and cause (counted by the authenticators).',
      labelNames: ['instance', 'reason'] as const,
      registers,
    });
    this.apiRequests = new Counter({
      name: 'ferry_api_requests_total',
      help: 'HTTP requests by method, route pattern and status code; RPC endpoint requests also by action.',
      labelNames: ['method', 'route', 'status', 'action'] as const,
      registers,
    });
    this.apiLatency = new Histogram({
      name: 'ferry_api_request_duration_seconds',
      help: 'HTTP request duration by method and route pattern; RPC endpoint requests also by action.',
      labelNames: ['method', 'route', 'action'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });

    // Traces.
    const traces = options.traces ?? null;
    if (traces !== null) {
      total('ferry_trace_events_total', 'Trace events recorded.', () => traces.stats.recorded);
      total('ferry_trace_events_dropped_total', 'Trace events dropped because the trace writer was behind.', () => traces.stats.dropped);
      total('ferry_trace_rows_written_total', 'Trace rows written to traces.db.', () => traces.stats.stored);
      new Gauge({ name: 'ferry_trace_pending_batches', help: 'Trace batches waiting for the writer thread.', registers, collect() { this.set(traces.stats.pendingBatches); } });
      new Gauge({ name: 'ferry_tracing_enabled', help: '1 when traces are recorded.', registers, collect() { this.set(traces.enabled ? 1 : 0); } });
    }

    this.qpsTimer = setInterval(() => this.sampleQps(), 1000);
    this.qpsTimer.unref();
  }

  /** Fits AuthService's `onAuthFailure` option: `onAuthFailure: metrics.countAuthFailure`. */
  readonly countAuthFailure = (instanceId: string, cause: string): void => {
    this.authFailures.inc({ instance: instanceId, reason: cause });
  };

  /** Records one HTTP request (the /metrics module's hook calls it for every route). */
  observeApiRequest(method: string, route: string, status: number, seconds: number): void {
    this.apiRequests.inc({ method, route, status: String(status) });
    this.apiLatency.observe({ method, route }, seconds);
  }

  /**
   * Records one request to the RPC endpoint (its `observe` option, see RpcObserver): route `/`
   * with the action's name, `unknown` when it named none the endpoint serves (so the label stays
   * bounded by the action list).
   */
  readonly observeRpcRequest = (event: { method: string; action: string; status: number; durationMs: number }): void => {
    const action = event.action === '' ? 'unknown' : event.action;
    this.apiRequests.inc({ method: event.method, route: '/', status: String(event.status), action });
    this.apiLatency.observe({ method: event.method, route: '/', action }, event.durationMs / 1000);
  };

  /**
   * One instance's series, read from this registry (so the console's charts show exactly what
   * /metrics exposes): `ferry_instance_*` values labelled with the instance, keyed by metric name
   * without the `ferry_instance_` prefix; labelled series (drops by reason, quota refusals by
   * quota) as `{label: value}` objects. Counters are running totals; the reader takes deltas.
   * Also `rule_backlog` (the instance's undelivered rule outbox entries) and `store_degraded`
   * (1 while the store cannot write), for the console's alarms.
   */
  async instanceSnapshot(instanceId: string): Promise<Record<string, number | Record<string, number>>> {
    // The console's alarms: the instance's rule backlog and the store's health, from their own series.
    const out: Record<string, number | Record<string, number>> = { rule_backlog: 0, store_degraded: 0 };
    for (const metric of await this.registry.getMetricsAsJSON()) {
      if (metric.name === 'ferry_rule_outbox_depth') {
        for (const v of metric.values) if (v.labels['instance'] === instanceId) (out['rule_backlog'] as number) += v.value;
        continue;
      }
      if (metric.name === 'ferry_store_writable') {
        out['store_degraded'] = metric.values[0]?.value === 0 ? 1 : 0;
        continue;
      }
      if (!metric.name.startsWith('ferry_instance_')) continue;
      const key = metric.name.slice('ferry_instance_'.length);
      for (const v of metric.values) {
        if (v.labels['instance'] !== instanceId) continue;
        const sub = Object.entries(v.labels).find(([label]) => label !== 'instance');
        if (sub === undefined) {
          out[key] = v.value;
          continue;
        }
        const group = (out[key] ??= {}) as Record<string, number>;
        group[String(sub[1])] = v.value;
      }
    }
    return out;
  }

  /** The text exposition format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    clearInterval(this.qpsTimer);
    this.registry.clear();
  }

  /** Once a second: messages (in + out) and bytes out per instance since the last sample. */
  private sampleQps(): void {
    const now = Date.now();
    for (const t of this.broker.tenants.values()) {
      const count = t.messagesIn + t.messagesOut;
      let s = this.qps.get(t.instanceId);
      if (s === undefined) {
        s = { last: count, lastBytes: t.bytesOut, samples: new Float64Array(QPS_WINDOW), bytes: new Float64Array(QPS_WINDOW), filled: 0, at: now };
        this.qps.set(t.instanceId, s);
        continue;
      }
      const seconds = Math.max(0.001, (now - s.at) / 1000);
      const slot = s.filled % QPS_WINDOW;
      s.samples[slot] = (count - s.last) / seconds;
      s.bytes[slot] = t.bytesOut - s.lastBytes;
      s.filled++;
      s.last = count;
      s.lastBytes = t.bytesOut;
      s.at = now;
    }
  }
}
