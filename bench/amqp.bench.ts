/**
 * AMQP endpoint benchmark (issue 9): the same amqplib client code against Ferry and against
 * rabbitmq-server (Debian package, started here on free loopback ports), side by side.
 *
 *   consume  Ferry:    MQTT QoS 1 publishes (mqtt.js, 64 in flight) ─▶ queue ─▶ amqplib consumer
 *                      (prefetch 100) acking every message. msg/s = acks per second.
 *            RabbitMQ: amqplib confirm-channel publishes (persistent, 64 in flight) into a durable
 *                      queue ─▶ the same consumer code. (RabbitMQ runs without its MQTT plugin;
 *                      the AMQP side — what a backend sees — is identical.)
 *   publish  both:     amqplib confirm channel, basic.publish(exchange=topic, routingKey=topic,
 *                      mandatory), 256 unconfirmed at most; msg/s = confirms per second. Ferry's
 *                      land at a QoS 1 MQTT subscriber; RabbitMQ's in a durable queue drained by
 *                      a consumer.
 * Both stores durable: Ferry SQLite with fsync always (its default), RabbitMQ durable queues with
 * persistent messages. Ferry runs as its own process (dist/src/cli/main.js), like RabbitMQ.
 *
 * Run: npx tsc -p . && node dist/bench/amqp.bench.js [--ms 5000] [--size 64] [--rounds 3] [--targets ferry,rabbitmq]
 */
import { loadavg, cpus, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import amqp, { type ChannelModel } from 'amqplib';
import mqtt from 'mqtt';
import { spawnFerry } from '../test/helpers/cli.js';
import { startRabbit } from '../test/helpers/engines.js';
import { tempDir } from '../test/helpers/temp.js';
import { sdkLogin } from '../test/integration/amqp/sdk.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const WINDOW_MS = Number(arg('ms', '5000'));
const SIZE = Number(arg('size', '64'));
const ROUNDS = Number(arg('rounds', '3'));
const TARGETS = arg('targets', 'ferry,rabbitmq').split(',');
const KEY = { id: 'FERRYAMQPBENCH1', secret: 'amqp-bench-secret-0123456789' };
const PAYLOAD = Buffer.alloc(SIZE, 0x61);
const PUB_WINDOW = 64;
const CONFIRM_WINDOW = 256;

/** Messages fed into the consume queue so far (MQTT PUBACKs / publisher confirms). */
let fed = 0;

const teardowns: (() => unknown)[] = [];
const teardown = { after: (fn: () => unknown) => void teardowns.push(fn) };

interface Target {
  name: string;
  connect(): Promise<ChannelModel>;
  /** Starts feeding the consume queue; resolves when stopped. */
  feed(queue: string, stop: () => boolean): Promise<void>;
  /** Prepares `topic` for the publish test and starts its sink; returns a stopper. */
  sink(topic: string): Promise<() => Promise<void>>;
}

/** The backend's consumer: prefetch 100, ack each. Acks per second over the window. */
async function consumeRate(target: Target, queue: string): Promise<number> {
  const connection = await target.connect();
  const channel = await connection.createChannel();
  await channel.assertQueue(queue, { durable: true });
  await channel.prefetch(100);
  let acked = 0;
  await channel.consume(queue, (m) => {
    if (m === null) return;
    channel.ack(m);
    acked++;
  });
  let stopped = false;
  const feeding = target.feed(queue, () => stopped);
  await sleep(1000); // warm-up
  const start = acked;
  const fedStart = fed;
  const t0 = performance.now();
  await sleep(WINDOW_MS);
  const elapsed = performance.now() - t0;
  const rate = ((acked - start) * 1000) / elapsed;
  console.log(`  ${target.name} consume: fed ${(((fed - fedStart) * 1000) / elapsed).toFixed(0)} msg/s, acked ${rate.toFixed(0)} msg/s`);
  stopped = true;
  await feeding;
  await connection.close();
  return rate;
}

/** The server SDK's sendMessage, back to back with CONFIRM_WINDOW unconfirmed. Confirms per second. */
async function publishRate(target: Target, topic: string): Promise<number> {
  const stopSink = await target.sink(topic);
  const connection = await target.connect();
  const channel = await connection.createConfirmChannel();
  let confirmed = 0;
  let outstanding = 0;
  let stopped = false;
  let wake: (() => void) | null = null;
  const loop = (async () => {
    while (!stopped) {
      if (outstanding >= CONFIRM_WINDOW) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      outstanding++;
      channel.publish(topic, topic, PAYLOAD, { mandatory: true, persistent: true, headers: { seqId: confirmed } }, (err) => {
        outstanding--;
        if (!err) confirmed++;
        const w = wake;
        wake = null;
        w?.();
      });
      if (outstanding % 32 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  await sleep(1000);
  const start = confirmed;
  const t0 = performance.now();
  await sleep(WINDOW_MS);
  const rate = ((confirmed - start) * 1000) / (performance.now() - t0);
  stopped = true;
  (wake as (() => void) | null)?.();
  await loop;
  await channel.waitForConfirms().catch(() => undefined);
  await connection.close();
  await stopSink();
  return rate;
}

async function ferryTarget(): Promise<Target> {
  const ferry = await spawnFerry(
    teardown,
    ['--data-dir', tempDir(teardown), '--bind', '127.0.0.1', '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port', '0', '--log-level', 'info', '--max-queued-messages', '10000000', '--max-queued-per-instance', '100000000'],
    { env: { FERRY_BOOTSTRAP_ACCESS_KEY_ID: KEY.id, FERRY_BOOTSTRAP_ACCESS_KEY_SECRET: KEY.secret }, timeoutMs: 30_000 },
  );
  const mqttUrl = `mqtt://127.0.0.1:${ferry.ports['mqtt']}`;
  return {
    name: 'ferry',
    connect: async () => {
      const login = sdkLogin('mqtt-default', KEY);
      return amqp.connect(
        { protocol: 'amqp', hostname: '127.0.0.1', port: ferry.ports['amqp']!, username: login.username, password: login.password, vhost: 'MQTT' },
        { clientProperties: login.clientProperties },
      );
    },
    feed: async (queue, stop) => {
      const client = await mqttConnect(mqttUrl, `GID_bench@@@pub${Date.now()}`);
      await Promise.all(
        Array.from({ length: PUB_WINDOW }, async () => {
          while (!stop()) {
            await client.publishAsync(`${queue}/dev`, PAYLOAD, { qos: 1 });
            fed++;
          }
        }),
      );
      await client.endAsync();
    },
    sink: async (topic) => {
      const client = await mqttConnect(mqttUrl, `GID_bench@@@sub${Date.now()}`);
      await client.subscribeAsync(topic, { qos: 1 });
      return async () => {
        await client.endAsync();
      };
    },
  };
}

async function rabbitTarget(): Promise<Target> {
  const rabbit = await startRabbit(teardown);
  const connect = (): Promise<ChannelModel> => amqp.connect(rabbit.url);
  return {
    name: 'rabbitmq',
    connect,
    feed: async (queue, stop) => {
      const connection = await connect();
      const channel = await connection.createConfirmChannel();
      await Promise.all(
        Array.from({ length: PUB_WINDOW }, async () => {
          while (!stop()) {
            await new Promise<void>((resolve, reject) =>
              channel.sendToQueue(queue, PAYLOAD, { persistent: true }, (err) => (err ? reject(new Error('nacked')) : resolve())),
            );
            fed++;
          }
        }),
      );
      await connection.close();
    },
    sink: async (topic) => {
      // The exchange named like the topic, bound to a durable queue a consumer drains (the "device").
      const connection = await connect();
      const channel = await connection.createChannel();
      await channel.assertExchange(topic, 'fanout', { durable: true });
      const { queue } = await channel.assertQueue(`${topic}.devices`, { durable: true });
      await channel.bindQueue(queue, topic, '');
      await channel.consume(queue, () => undefined, { noAck: true });
      return async () => {
        await connection.close();
      };
    },
  };
}

async function mqttConnect(url: string, clientId: string): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { clientId, protocolVersion: 4, reconnectPeriod: 0, clean: true });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim().split('\n')[0] ?? '?';
  } catch {
    return '?';
  }
}

async function main(): Promise<void> {
  console.log(`# AMQP endpoint benchmark — ${new Date().toISOString()}`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`);
  console.log(`rabbitmq-server: ${version('dpkg-query', ['-W', '-f=${Version}', 'rabbitmq-server'])}`);
  console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`window ${WINDOW_MS} ms after 1 s warm-up, ${SIZE}-byte payloads, ${ROUNDS} rounds, medians`);
  const results: Record<string, { consume: number[]; publish: number[] }> = {};
  try {
    const targets: Target[] = [];
    for (const name of TARGETS) targets.push(name === 'ferry' ? await ferryTarget() : await rabbitTarget());
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
        const r = (results[target.name] ??= { consume: [], publish: [] });
        const consume = await consumeRate(target, `bench${round}`);
        const publish = await publishRate(target, `cmd${round}/dev`);
        r.consume.push(consume);
        r.publish.push(publish);
        console.log(`round ${round + 1} ${target.name}: consume ${consume.toFixed(0)} msg/s, publish ${publish.toFixed(0)} msg/s, load ${loadavg()[0]!.toFixed(2)}`);
      }
    }
  } finally {
    for (const fn of teardowns.reverse()) await fn();
  }
  console.log('\n| scenario | Ferry msg/s | RabbitMQ msg/s | Ferry/RabbitMQ |\n|---|---:|---:|---:|');
  for (const scenario of ['consume', 'publish'] as const) {
    const f = median(results['ferry']?.[scenario] ?? []);
    const r = median(results['rabbitmq']?.[scenario] ?? []);
    console.log(`| ${scenario} | ${f.toFixed(0)} | ${r.toFixed(0)} | ${r > 0 ? (f / r).toFixed(2) : '-'}× |`);
  }
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
