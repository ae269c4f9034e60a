/**
 * `ferry bench pub|sub|conn` (docs/cli.md, "ferry bench"): N MQTT clients publishing,
 * subscribing or just connecting, with the authentication modes of `ferry pub`, bounded by
 * --count and/or --duration. A live line on a terminal (stderr), a JSON summary on stdout at the
 * end. Exits 1 when anything failed (clients that could not connect, refused publishes or
 * subscriptions, connections the broker closed, messages missing at the end), with the summary
 * still printed.
 */
import { randomBytes } from 'node:crypto';
import { UsageError, parseDuration } from '../args.js';
import { CommandFailure, oneLine } from '../failures.js';
import { MqttSession, describe } from '../mqtt-session.js';
import { connectOptions, loginFor, modeOf, qosOf, type MqttContext, type MqttLogin } from '../mqtt-client.js';
import { progress } from '../progress.js';
import { expand, nowMs, stampOf, stampedPayload } from './pattern.js';
import { ErrorTally, Latencies } from './stats.js';

export const BENCH_USAGE = `ferry bench pub|sub|conn [options] [MQTT options]   [-i INSTANCE]

  pub    every client publishes --count messages (or for --duration) to --topic
  sub    every client subscribes to --topic and counts what arrives (latency from bench pub payloads)
  conn   clients connect (at --connect-rate), stay for --duration (default: none), disconnect

Options:
  -c, --clients N              clients (default 10)
  --topic PATTERN              %i = client index (1..N), %c = client id (default pub bench/%i, sub bench/#)
  --client-id PATTERN          (default GID_ferrybench@@@<scenario>_<random>_%i; %i and %c as for --topic)
  --count N                    pub: messages per client (default 100 without --duration);
                               sub: messages per client to wait for
  --duration 30s               stop after this long (pub: stop sending; sub, conn: stop waiting)
  --rate N                     pub: messages per second per client (default 0 = as fast as acknowledged)
  --inflight N                 pub: unacknowledged messages per client (default 16)
  --size BYTES                 pub: payload size (default 64; at least 12 to carry the send time)
  --retain                     pub: publish retained
  --connect-rate N             connections opened per second (default 0 = all at once, 32 in parallel)

Output: a progress line on stderr when it is a terminal; a JSON summary on stdout at the end
(clients, messages, rate per second, latency percentiles in ms, errors). Exit 1 if anything failed.
`;

const SCENARIOS = ['pub', 'sub', 'conn'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Client {
  readonly index: number;
  readonly clientId: string;
  session?: MqttSession;
  sent: number;
  acknowledged: number;
  received: number;
}

function nonNegative(ctx: MqttContext, name: string, fallback: number): number {
  const value = ctx.args.int(name, fallback);
  if (value < 0) throw new UsageError(`--${name} must be 0 or more`);
  return value;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function bench(ctx: MqttContext): Promise<void> {
  const { args } = ctx;
  const scenario = args.parsed.positionals[0] as Scenario | undefined;
  if (scenario === undefined || !SCENARIOS.includes(scenario)) throw new UsageError(`give the scenario: ${SCENARIOS.join(', ')}`);
  const clients = args.int('clients', 10);
  if (clients < 1 || clients > 100_000) throw new UsageError('--clients must be 1..100000');
  const qos = qosOf(args);
  modeOf(args); // checks --mode before anything connects
  const durationMs = args.get('duration') === undefined ? 0 : parseDuration(args.get('duration')!);
  const count = nonNegative(ctx, 'count', scenario === 'pub' && durationMs === 0 ? 100 : 0);
  const rate = nonNegative(ctx, 'rate', 0);
  const inflight = Math.max(1, nonNegative(ctx, 'inflight', 16));
  const size = nonNegative(ctx, 'size', 64);
  const connectRate = nonNegative(ctx, 'connect-rate', 0);
  const tag = randomBytes(3).toString('hex');
  const idPattern = args.get('client-id') ?? `GID_ferrybench@@@${scenario}_${tag}_%i`;
  const topicPattern = args.get('topic') ?? (scenario === 'sub' ? 'bench/#' : 'bench/%i');
  if (scenario === 'pub' && count === 0 && durationMs === 0) throw new UsageError('bench pub needs --count or --duration');
  if (scenario === 'pub' && /[+#]/.test(topicPattern)) throw new UsageError('--topic of bench pub is a topic name: no + or #');

  const pool: Client[] = Array.from({ length: clients }, (_, i) => {
    const clientId = expand(idPattern, i + 1, '');
    return { index: i + 1, clientId, sent: 0, acknowledged: 0, received: 0 };
  });
  const topicOf = (c: Client): string => expand(topicPattern, c.index, c.clientId);
  // Token mode applies for one token over every client's topic (R for sub, W for pub).
  const loginOf = await loginFor(ctx, scenario === 'conn' ? [] : [...new Set(pool.map(topicOf))], scenario === 'sub' ? 'R' : 'W');

  const errors = new ErrorTally();
  const connectMs = new Latencies();
  const latency = new Latencies();
  const bar = progress(ctx.interactive, ctx.err, 250);
  const url = ctx.endpoints.mqtt();
  const started = nowMs();
  const deadline = durationMs > 0 ? started + durationMs : Infinity;
  let stopping = false;
  const onSignal = (): void => void (stopping = true);
  process.once('SIGINT', onSignal);
  let closedByBroker = 0;
  let refused = 0;
  // Rates are over the work (publishing, receiving, holding), not the connecting before it.
  let workStarted: number;

  const totals = (): { sent: number; acknowledged: number; received: number; connected: number } => {
    let sent = 0, acknowledged = 0, received = 0, connected = 0;
    for (const c of pool) {
      sent += c.sent;
      acknowledged += c.acknowledged;
      received += c.received;
      if (c.session?.client.connected === true) connected++;
    }
    return { sent, acknowledged, received, connected };
  };
  const ticker = setInterval(() => {
    const t = totals();
    const seconds = Math.max(0.001, (nowMs() - started) / 1000);
    const lat = latency.count > 0 ? ` p50 ${latency.percentile(50).toFixed(1)}ms p99 ${latency.percentile(99).toFixed(1)}ms` : '';
    const work = scenario === 'pub' ? `sent ${t.sent}${count > 0 ? `/${count * clients}` : ''} (${Math.round(t.sent / seconds)}/s)` : scenario === 'sub' ? `received ${t.received} (${Math.round(t.received / seconds)}/s)` : '';
    bar.update(`bench ${scenario}: ${t.connected}/${clients} connected ${work}${lat} errors ${errors.total}`);
  }, 250);

  const connect = async (c: Client): Promise<void> => {
    let who: MqttLogin;
    try {
      who = await loginOf(c.clientId);
    } catch (err) {
      errors.add(`login: ${oneLine(err)}`);
      return;
    }
    const begin = nowMs();
    try {
      c.session = await MqttSession.open(url, connectOptions(args, who));
      connectMs.add(nowMs() - begin);
      c.session.closed.catch((err: unknown) => {
        closedByBroker++;
        errors.add(oneLine(err));
      });
    } catch (err) {
      errors.add(oneLine(err));
    }
  };

  try {
    // Connect: at --connect-rate per second, or 32 at a time.
    if (connectRate > 0) {
      const pending: Array<Promise<void>> = [];
      for (const [i, c] of pool.entries()) {
        if (stopping || nowMs() > deadline) break;
        const due = started + (i * 1000) / connectRate;
        if (due > nowMs()) await sleep(due - nowMs());
        pending.push(connect(c));
      }
      await Promise.all(pending);
    } else {
      for (let i = 0; i < pool.length && !stopping; i += 32) await Promise.all(pool.slice(i, i + 32).map(connect));
    }
    const live = pool.filter((c) => c.session !== undefined);
    workStarted = nowMs();

    if (scenario === 'sub') {
      await Promise.all(
        live.map(async (c) => {
          const session = c.session!;
          session.client.on('message', (_topic, payload) => {
            c.received++;
            const stamp = stampOf(payload);
            if (stamp !== undefined) latency.add(nowMs() - stamp);
          });
          try {
            const granted = await session.run(session.client.subscribeAsync(topicOf(c), { qos }));
            for (const g of granted) if (g.qos >= 0x80) errors.add(`subscription refused: ${describe({ code: g.qos })}`);
          } catch (err) {
            errors.add(err instanceof CommandFailure ? err.message : `subscription refused: ${describe(err)}`);
          }
        }),
      );
      // Until every client has --count messages, --duration, Ctrl-C, or every connection is gone.
      while (!stopping && nowMs() < deadline && live.some((c) => c.session!.client.connected && (count === 0 || c.received < count))) await sleep(20);
    } else if (scenario === 'pub') {
      const publishStart = workStarted;
      await Promise.all(
        live.map(async (c) => {
          const session = c.session!;
          const topic = topicOf(c);
          const outstanding = new Set<Promise<void>>();
          for (let i = 0; count === 0 || i < count; i++) {
            if (stopping || nowMs() >= deadline || !session.client.connected) break;
            if (rate > 0) {
              const due = publishStart + (i * 1000) / rate;
              if (due > nowMs()) await sleep(due - nowMs());
            }
            if (outstanding.size >= inflight) await Promise.race(outstanding);
            const sentAt = nowMs();
            c.sent++;
            const one: Promise<void> = session
              .run(session.client.publishAsync(topic, stampedPayload(size, sentAt), { qos, retain: args.flag('retain') }))
              .then(
                () => {
                  c.acknowledged++;
                  if (qos > 0) latency.add(nowMs() - sentAt);
                },
                (err: unknown) => {
                  if (err instanceof CommandFailure) return; // a close is counted once, above
                  refused++;
                  errors.add(`publish refused: ${describe(err)}`);
                },
              )
              .finally(() => outstanding.delete(one));
            outstanding.add(one);
          }
          await Promise.all(outstanding);
          // QoS 0 has no answer: a round trip shows the broker took everything before it.
          if (qos === 0 && session.client.connected) await session.roundTrip().catch(() => undefined);
        }),
      );
    } else {
      // conn: hold the connections for --duration (none: disconnect at once), while any is up.
      while (durationMs > 0 && !stopping && nowMs() < deadline && live.some((c) => c.session!.client.connected)) await sleep(20);
    }
  } finally {
    clearInterval(ticker);
    process.removeListener('SIGINT', onSignal);
    bar.done();
    await Promise.all(pool.map((c) => c.session?.end(true).catch(() => undefined)));
  }

  const elapsedMs = nowMs() - started;
  const t = totals();
  const connected = pool.filter((c) => c.session !== undefined).length;
  const workMs = nowMs() - workStarted;
  const perSecond = (n: number): number => Math.round((n / Math.max(workMs, 1)) * 1000 * 10) / 10;
  const missing = scenario === 'sub' && count > 0 ? pool.filter((c) => c.session !== undefined && c.received < count).length : 0;
  const summary = {
    scenario,
    url,
    mode: modeOf(args),
    clients: { requested: clients, connected, failed: clients - connected, closedByBroker },
    qos,
    ...(scenario === 'pub' ? { payloadBytes: size, ratePerClient: rate } : {}),
    durationMs: Math.round(elapsedMs),
    workMs: Math.round(workMs),
    messages:
      scenario === 'pub'
        ? qos > 0
          ? { sent: t.sent, acknowledged: t.acknowledged, refused, perSecond: perSecond(t.acknowledged) }
          : { sent: t.sent, perSecond: perSecond(t.sent), note: 'QoS 0 is not acknowledged: sent means written to the connection' }
        : scenario === 'sub'
          ? { received: t.received, perSecond: perSecond(t.received), ...(count > 0 ? { expectedPerClient: count, clientsShort: missing } : {}) }
          : undefined,
    connectMs: connectMs.summary(),
    latencyMs: scenario === 'conn' ? undefined : latency.summary(),
    latencyOf: scenario === 'pub' ? (qos > 0 ? 'publish to acknowledgement' : 'none at QoS 0') : scenario === 'sub' ? 'publish (bench pub payload) to delivery' : undefined,
    errors: { total: errors.total, byError: errors.list() },
  };
  ctx.out.write(`${JSON.stringify(summary, null, ctx.out.json ? 2 : undefined)}\n`);
  if (errors.total > 0) throw new CommandFailure(`${errors.total} error(s), the most frequent: ${errors.top()}`);
  if (missing > 0) throw new CommandFailure(`${missing} of ${connected} clients received fewer than ${count} messages${durationMs > 0 ? ` within ${args.get('duration')}` : ''}`);
  if (scenario === 'pub' && !stopping && durationMs === 0 && t.acknowledged < count * connected) throw new CommandFailure(`${t.acknowledged} of ${count * connected} messages were published`);
}
