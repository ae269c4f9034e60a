/**
 * Connector micro-benchmark: outbound messages/s of each rule target against a real local engine
 * (redis-server, nats-server -js, rabbitmq-server, a Node HTTP receiver), with the connector's own
 * acknowledgement per message (XADD reply, JetStream ack, publisher confirm, HTTP 2xx).
 * One deliver() at a time, as one rule worker does; messages carry every reference property.
 *
 * Run: npx tsc -p . && node dist/bench/connectors.bench.js [--ms 3000] [--batch 500]
 *      [--connectors redis,nats,amqp,webhook] [--sizes 64,1024]
 * Engines: Redis with AOF appendfsync everysec (its usual production setting); a JetStream file
 * stream; a durable classic queue behind a fanout exchange; webhook with an HMAC secret.
 */
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { createConnectorRegistry, type RuleMessage, type TargetConnector, type TargetItem } from '../src/rules/connectors/index.js';
import { startNats, startRabbit, startRedis } from '../test/helpers/engines.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const WINDOW_MS = Number(arg('ms', '3000'));
const BATCH = Number(arg('batch', '500'));
const CONNECTORS = arg('connectors', 'redis,nats,amqp,webhook').split(',');
const SIZES = arg('sizes', '64,1024').split(',').map(Number);

const teardowns: (() => unknown)[] = [];
const teardown = { after: (fn: () => unknown) => void teardowns.push(fn) };

function batchOf(size: number, start: number): TargetItem[] {
  const payload = Buffer.alloc(size, 0x61);
  return Array.from({ length: BATCH }, (_, i): TargetItem => {
    const n = start + i;
    const message: RuleMessage = {
      clientId: `GID_bench@@@dev${n % 100}`,
      topic: `sensors/dev${n % 100}/telemetry`,
      qos: 1,
      cleanSession: true,
      bornTime: Date.now(),
      msgId: n.toString(16).padStart(32, '0'),
      payload,
    };
    return { type: 'message', message };
  });
}

/** msg/s over WINDOW_MS of back-to-back deliver(batch), after a warm-up of a third of it. */
async function measure(target: TargetConnector, size: number): Promise<{ rate: number; failed: number; cpuUsPerMsg: number }> {
  let n = 0;
  let failed = 0;
  const run = async (ms: number): Promise<number> => {
    let sent = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      const outcomes = await target.deliver(batchOf(size, n));
      n += BATCH;
      sent += BATCH;
      failed += outcomes.filter((o) => !o.ok).length;
    }
    return (sent / (performance.now() - start)) * 1000;
  };
  await run(WINDOW_MS / 3);
  failed = 0;
  const before = n;
  const cpu = process.cpuUsage();
  const rate = await run(WINDOW_MS);
  const used = process.cpuUsage(cpu);
  return { rate, failed, cpuUsPerMsg: (used.user + used.system) / (n - before) };
}

async function setup(name: string): Promise<string> {
  switch (name) {
    case 'redis': {
      const redis = await startRedis(teardown, { appendfsync: 'everysec' });
      return `${redis.url}?stream=bench&maxlen=100000`;
    }
    case 'nats': {
      const nats = await startNats(teardown);
      const nc = await connect({ servers: `127.0.0.1:${nats.port}` });
      await (await jetstreamManager(nc)).streams.add({ name: 'BENCH', subjects: ['bench.>'], max_msgs: 100_000 });
      await nc.close();
      return `${nats.url}?subject=bench`;
    }
    case 'amqp': {
      const rabbit = await startRabbit(teardown);
      const connection = await amqp.connect(rabbit.url);
      const ch = await connection.createChannel();
      await ch.assertExchange('bench', 'fanout', { durable: true });
      await ch.assertQueue('bench', { durable: true, arguments: { 'x-max-length': 100_000 } });
      await ch.bindQueue('bench', 'bench', '');
      await connection.close();
      return `${rabbit.url}?exchange=bench`;
    }
    case 'webhook': {
      const server = createServer((req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(204).end());
      });
      server.keepAliveTimeout = 60_000;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      teardown.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    }
    default:
      throw new Error(`unknown connector ${name}`);
  }
}

async function main(): Promise<void> {
  const registry = createConnectorRegistry();
  console.log(`# connectors.bench  ${new Date().toISOString()}  node ${process.version}  ${cpus().length} × ${cpus()[0]?.model ?? '?'}  ${(totalmem() / 2 ** 30).toFixed(1)} GiB`);
  console.log(`# window ${WINDOW_MS} ms, batch ${BATCH}, one deliver() in flight`);
  console.log(`# load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('| connector | payload | msg/s | MB/s payload | Ferry CPU µs/msg | failed |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const name of CONNECTORS) {
    const url = await setup(name);
    console.error(`# ${name} load average: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    for (const size of SIZES) {
      const target = registry.createTarget(url, { secret: 'bench-secret', timeoutMs: 30_000 });
      await target.start();
      const { rate, failed, cpuUsPerMsg } = await measure(target, size);
      await target.stop();
      console.log(
        `| ${name} | ${size} B | ${Math.round(rate).toLocaleString('en-US')} | ${((rate * size) / 1e6).toFixed(1)} | ${cpuUsPerMsg.toFixed(1)} | ${failed} |`,
      );
    }
    if (name === 'redis') {
      // Sanity: the entries really are in the stream.
      const port = Number(new URL(url).port);
      const check = new Redis(port, '127.0.0.1');
      const length = await check.xlen('bench');
      check.disconnect();
      if (length === 0) throw new Error('redis stream is empty after the run');
    }
  }
}

try {
  await main();
} finally {
  for (const fn of teardowns.reverse()) await fn();
}
