/**
 * `--ferry-rule redis|nats|down`: the `ferry` broker runs with one active outbound rule (`#` → a real
 * Redis stream or NATS JetStream subject, started here once per benchmark), so a run with
 * `--baseline-cli <the same build>` shows the MQTT cost of the rule in its Ferry/base column.
 * The rule is created through the REST API, as an operator would, with a bootstrap AccessKey.
 */
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { jetstreamManager } from '@nats-io/jetstream';
import { signedHeaders } from '../../src/api/rest/signing.js';
import { startNats, startRedis } from '../../test/helpers/engines.js';
import { freePort, HOST, type FerryOptions } from './brokers.js';

/** `down`: a Redis URL where nothing listens — the cost of the durable outbox alone, no dispatch. */
export type RuleEngineKind = 'redis' | 'nats' | 'down';

const KEY = { id: 'BenchRuleKey000001', secret: 'bench-rule-secret-0123456789' };
const INSTANCE = 'mqtt-default';

export interface RuleTarget {
  readonly kind: RuleEngineKind;
  /** The rule's target URL. */
  readonly url: string;
  /** Ferry options that make the rule possible: a known HTTP port and AccessKey. */
  ferryOptions(): Promise<FerryOptions & { httpPort: number }>;
  /**
   * CPU seconds the engine has used so far (Redis: `INFO cpu`, user + sys of redis-server), null
   * for other engines: over a run, its delta per delivered entry is the engine's own cost of one
   * entry — part of the CPU budget of a rule (bench/RESULTS.md, issue 8).
   */
  engineCpuSeconds(): Promise<number | null>;
  close(): Promise<void>;
}

export interface RuleProgress {
  readonly delivered: number;
  readonly failed: number;
  readonly dropped: number;
  readonly outboxDepth: number;
}

/** Starts the engine the rule writes to: Redis with AOF `everysec`, or JetStream with a file stream. */
export async function startRuleTarget(kind: RuleEngineKind): Promise<RuleTarget> {
  const stops: (() => unknown)[] = [];
  const teardown = { after: (fn: () => unknown) => void stops.push(fn) };
  let url: string;
  let redisUrl: string | null = null;
  if (kind === 'down') {
    url = `redis://${HOST}:${await freePort()}/0?stream=bench`;
  } else if (kind === 'redis') {
    const redis = await startRedis(teardown, { appendfsync: 'everysec' });
    url = `${redis.url}/0?stream=bench&maxlen=100000`;
    redisUrl = redis.url;
  } else {
    const nats = await startNats(teardown);
    const nc = await connect({ servers: `${HOST}:${nats.port}` });
    await (await jetstreamManager(nc)).streams.add({ name: 'BENCH', subjects: ['bench.>'], max_msgs: 100_000 });
    await nc.close();
    url = `${nats.url}?subject=bench`;
  }
  return {
    kind,
    url,
    async ferryOptions() {
      const httpPort = await freePort();
      return {
        httpPort,
        extraArgs: ['--http-port', String(httpPort)],
        env: { FERRY_BOOTSTRAP_ACCESS_KEY_ID: KEY.id, FERRY_BOOTSTRAP_ACCESS_KEY_SECRET: KEY.secret },
      };
    },
    async engineCpuSeconds() {
      if (redisUrl === null) return null;
      const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await client.connect();
        const info = await client.info('cpu');
        const field = (name: string): number => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? NaN);
        return field('used_cpu_user') + field('used_cpu_sys');
      } finally {
        client.disconnect();
      }
    },
    async close() {
      for (const stop of stops.reverse()) await stop();
    },
  };
}

async function rest(httpPort: number, method: string, path: string, body?: unknown): Promise<unknown> {
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers = signedHeaders({ method, path, query: '', body: text }, KEY);
  const response = await fetch(`http://${HOST}:${httpPort}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: text }),
  });
  const answer = (await response.json()) as unknown;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** Creates the outbound rule `#` → the target on a freshly started Ferry; answers its id. */
export async function createRule(httpPort: number, target: RuleTarget): Promise<string> {
  const rule = (await rest(httpPort, 'POST', `/api/v1/instances/${INSTANCE}/rules`, {
    name: 'bench',
    type: 'outbound',
    topics: ['#'],
    target: target.url,
  })) as { id: string };
  return rule.id;
}

export async function ruleProgress(httpPort: number, ruleId: string): Promise<RuleProgress> {
  const stats = (await rest(httpPort, 'GET', `/api/v1/instances/${INSTANCE}/rules/${ruleId}/stats`)) as RuleProgress;
  return { delivered: stats.delivered, failed: stats.failed, dropped: stats.dropped, outboxDepth: stats.outboxDepth };
}
