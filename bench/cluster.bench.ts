/**
 * Cluster benchmark (docs/cluster.md "Benchmarks"): real nats-server and Ferry processes on
 * loopback, mqtt.js clients in this process.
 *
 *   one_node     N publisher/subscriber pairs on distinct topics, all on one Ferry node (cluster mode on)
 *   two_nodes    the same pairs split over two nodes (each pair on one node: distinct topics never cross)
 *   cross_node   latency: one publisher on node 1, one subscriber on node 2, --rate messages/s, p50/p99
 *
 * With --pin, node i and its NATS server run under `taskset -c i` (one core each, as far as the
 * machine has cores); the clients are not pinned. Throughput is messages received per second over
 * the window, median of the rounds.
 * Run: npx tsc -p . && node dist/bench/cluster.bench.js [--ms 5000] [--pairs 4] [--size 64] [--qos 0] [--rounds 3] [--rate 2000] [--pin]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const MS = arg('--ms', 5000);
const PAIRS = arg('--pairs', 4);
const SIZE = arg('--size', 64);
const QOS = arg('--qos', 0) as 0 | 1;
const ROUNDS = arg('--rounds', 3);
const RATE = arg('--rate', 2000);
const PIN = process.argv.includes('--pin');
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

const children: ChildProcess[] = [];
const dirs: string[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function launch(command: string, args: string[], core: number | null, ready: RegExp): Promise<{ child: ChildProcess; output: () => string }> {
  const pinned = core !== null && PIN ? ['taskset', ['-c', String(core % availableParallelism()), command, ...args]] as const : [command, args] as const;
  const child = spawn(pinned[0], [...pinned[1]], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      out = (out + chunk.toString()).slice(-50_000);
      if (ready.test(out)) resolve({ child, output: () => out });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${command} exited ${code}: ${out.slice(-2000)}`)));
  });
}

/** n NATS servers in one cluster and one Ferry node on each; returns the nodes' MQTT URLs. */
async function startCluster(n: number): Promise<{ urls: string[]; stop: () => void }> {
  const natsPorts = await Promise.all(Array.from({ length: n }, freePort));
  const routePorts = await Promise.all(Array.from({ length: n }, freePort));
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  const started: ChildProcess[] = [];
  for (let i = 0; i < n; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-nats-'));
    dirs.push(dir);
    const cluster = n > 1 ? ['--cluster_name', 'bench', '--cluster', `nats://127.0.0.1:${routePorts[i]}`, '--routes', routes] : [];
    started.push((await launch('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(natsPorts[i]), '-sd', dir, '-n', `bench-${i}`, ...cluster], i, /Server is ready/)).child);
  }
  const urls: string[] = [];
  for (let i = 0; i < n; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-node-'));
    dirs.push(dir);
    const node = await launch(
      process.execPath,
      [CLI, 'start', '--data-dir', dir, '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port=-1', '--amqps-port=-1', '--tls-port', '0', '--wss-port', '0',
        '--log-level', 'info', '--no-tracing', '--cluster-nats', `nats://127.0.0.1:${natsPorts[i]}`, '--node-id', `bench-${i}`],
      i,
      /"msg":"joined the cluster"/,
    );
    started.push(node.child);
    const port = /"listener":"mqtt","transport":"tcp","address":"[^"]+","port":(\d+)/.exec(node.output())![1];
    urls.push(`mqtt://127.0.0.1:${port}`);
  }
  await new Promise((resolve) => setTimeout(resolve, 1500)); // presence and interest settle
  return { urls, stop: () => started.forEach((c) => c.kill('SIGKILL')) };
}

async function client(url: string, id: string): Promise<MqttClient> {
  const c = mqtt.connect(url, { clientId: id, reconnectPeriod: 0, protocolVersion: 4 });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

/** Pairs on distinct topics, pair i on node i % nodes; messages received per second in the window. */
async function throughput(urls: string[]): Promise<number> {
  const payload = Buffer.alloc(SIZE, 120);
  let received = 0;
  const pubs: MqttClient[] = [];
  const subs: MqttClient[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const url = urls[i % urls.length]!;
    const sub = await client(url, `bench-sub-${i}`);
    sub.on('message', () => received++);
    await sub.subscribeAsync(`bench/${i}`, { qos: QOS });
    subs.push(sub);
    pubs.push(await client(url, `bench-pub-${i}`));
  }
  let running = true;
  const loops = pubs.map(async (pub, i) => {
    while (running) {
      // A burst, then wait for the socket to drain (QoS 1: for the PUBACKs).
      const burst = Array.from({ length: 100 }, () => (QOS === 0 ? (pub.publish(`bench/${i}`, payload, { qos: 0 }), undefined) : pub.publishAsync(`bench/${i}`, payload, { qos: 1 })));
      if (QOS === 1) await Promise.all(burst);
      else await new Promise((resolve) => (pub.stream.writableNeedDrain ? pub.stream.once('drain', resolve) : setImmediate(resolve)));
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 1000)); // warm-up
  const start = received;
  const t0 = Date.now();
  await new Promise((resolve) => setTimeout(resolve, MS));
  const rate = ((received - start) * 1000) / (Date.now() - t0);
  running = false;
  await Promise.allSettled(loops);
  for (const c of [...pubs, ...subs]) c.end(true);
  return rate;
}

async function latency(urls: string[]): Promise<{ p50: number; p99: number; n: number }> {
  const sub = await client(urls[1]!, 'bench-lat-sub');
  const samples: number[] = [];
  sub.on('message', (_t, p) => samples.push(Number(process.hrtime.bigint() - p.readBigUInt64BE(0)) / 1e6));
  await sub.subscribeAsync('lat/x', { qos: QOS });
  const pub = await client(urls[0]!, 'bench-lat-pub');
  await new Promise((resolve) => setTimeout(resolve, 500));
  const total = Math.round((RATE * MS) / 1000);
  const payload = Buffer.alloc(Math.max(8, SIZE));
  for (let i = 0; i < total; i++) {
    payload.writeBigUInt64BE(process.hrtime.bigint(), 0);
    pub.publish('lat/x', Buffer.from(payload), { qos: QOS });
    if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 10_000 / RATE));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  pub.end(true);
  sub.end(true);
  samples.sort((a, b) => a - b);
  const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), n: samples.length };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const one: number[] = [];
const two: number[] = [];
const lat: Array<{ p50: number; p99: number; n: number }> = [];
for (let round = 0; round < ROUNDS; round++) {
  const c1 = await startCluster(1);
  one.push(await throughput(c1.urls));
  c1.stop();
  const c2 = await startCluster(2);
  two.push(await throughput(c2.urls));
  lat.push(await latency(c2.urls));
  c2.stop();
}
const l = lat.sort((a, b) => a.p50 - b.p50)[Math.floor(lat.length / 2)]!;
const name = `qos${QOS}_${PAIRS}pairs_${SIZE}b`;
console.log(`cluster bench ${name}, ${ROUNDS} rounds × ${MS} ms, ${availableParallelism()} cores, pin ${PIN ? 'on' : 'off'}`);
console.log(`one_node   ${Math.round(median(one))} msg/s   (rounds: ${one.map(Math.round).join(', ')})`);
console.log(`two_nodes  ${Math.round(median(two))} msg/s   (rounds: ${two.map(Math.round).join(', ')})  ×${(median(two) / median(one)).toFixed(2)}`);
console.log(`cross_node latency at ${RATE}/s: p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms (${l.n} samples)`);
process.exit(0);
