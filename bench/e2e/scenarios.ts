/** Scenario definitions and the code that drives load workers against one broker. */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST, machineCpu, procCpuUs, procRssBytes, type BrokerHandle } from './brokers.js';
import { brokerInspector, memoryNote, perConnection, sampleMemory, type BrokerInspector } from './broker-memory.js';
import { cgenConnectRate, cgenIdle, cgenLatency, killAllCgen } from './cgen.js';
import type { ClientSpec, FromWorker, LatencyStats, ToWorker, WorkerConfig } from './ipc.js';
import { MARK_EVERY } from './ipc.js';
import { formatCpu, phaseCpu, ThreadSampler } from './thread-cpu.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.js');

export interface Options {
  scenarios: string[];
  rounds: number;
  brokers: string[];
  /** Measurement window, seconds. */
  duration: number;
  /** Load runs this long before the window opens, seconds. */
  warmup: number;
  /** PUBLISH payload bytes. */
  size: number;
  idleConns: number;
  connectConcurrency: number;
  connectWorkers: number;
  latencyRate: number;
  /**
   * Load generator for the scenarios the C one covers (connect storms, connect_rate, latency):
   * `node` (the worker processes) or `c` (bench/cgen, compiled on demand). Others always use node.
   */
  generator: 'node' | 'c';
  /** C generator: connects in flight in the idle / connect / reconnect storms. */
  stormConcurrency: number;
  /** C generator processes sharing a storm's connections. */
  stormProcesses: number;
  /**
   * C generator: connections made and closed again before a storm is measured (0 = none): a broker
   * whose connect path is compiled already, as a broker that has taken connections before is.
   */
  stormWarmup: number;
  /** TCP_NODELAY on mosquitto / aedes. */
  noDelay: boolean;
  save: boolean;
  /** Ferry's `--store-engine` (undefined = its default, sqlite). */
  ferryStore?: 'sqlite' | 'memory';
  /** `--store-engine` of the `ferry-base` broker, when it should differ from `ferryStore`. */
  baseStore?: 'sqlite' | 'memory';
  /** Ferry's `--store-fsync` (undefined = its default, always). */
  ferryFsync?: 'always' | 'interval' | 'off';
  /** Broker `ferry` runs with an active outbound rule to this engine (bench/e2e/rule-target.ts). */
  ferryRule?: 'redis' | 'nats' | 'down';
  /** `ferry-base` runs with the same rule too (`--base-rule`): before/after of the rule's cost. */
  baseRule?: boolean;
  /** Broker `ferry` runs as a one-node cluster on these NATS servers, its state in JetStream (a fresh prefix per run). */
  ferryClusterNats?: string;
  /** Node flags for Ferry, e.g. `--cpu-prof --cpu-prof-dir DIR`. */
  ferryNodeArgs?: string[];
  /** Called at the measurement window's edges, right after the CPU snapshots (run.ts reads a rule's progress). */
  onWindowEdge?: (edge: 'start' | 'end') => void;
  /** Node flags for broker `ferry` only / `ferry-base` only (`--ferry-node-flag`, `--base-node-flag`). */
  ferryNodeFlags?: string[];
  baseNodeFlags?: string[];
  /** queued_rss: offline persistent sessions × messages queued for each. */
  queuedSessions: number;
  queuedPerSession: number;
  /** backlog_drain: QoS 1 messages queued for the offline session before it returns. */
  backlog: number;
  /** backlog_drain: a first drain of this many for another session in the same broker (0 = none). */
  backlogWarm: number;
}

export interface Metric {
  readonly key: string;
  readonly label: string;
  readonly better: 'higher' | 'lower';
  /** How to render a value. */
  readonly fmt: (v: number) => string;
  /** Target text for the summary table, if this metric has one. */
  readonly target?: string;
}

export interface GenCpu {
  readonly role: string;
  /** % of one core during the measurement window. */
  readonly pct: number;
}

export interface Measurement {
  readonly metrics: Record<string, number>;
  /** Broker process CPU, % of one core, during the window. */
  readonly brokerCpu?: number;
  readonly gen: readonly GenCpu[];
  /** Whole machine busy %, 100 = all cores busy. */
  readonly machine?: number;
  /** CPU used by processes outside this benchmark during the window, % of one core. */
  readonly other?: number;
  /** One-line human summary of secondary numbers. */
  readonly note: string;
}

export interface RunContext {
  readonly broker: BrokerHandle;
  readonly opts: Options;
  readonly runId: string;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly metrics: readonly Metric[];
  /** Not part of the default grid; runs only when named with --scenarios. */
  readonly optIn?: boolean;
  /** Start the brokers with persistence (Mosquitto `persistence true`); Aedes is skipped. */
  readonly durable?: boolean;
  /** Start Node brokers with the inspector open: memory is read after a forced full GC (broker-memory.ts). */
  readonly inspect?: boolean;
  /** Primary metric key used in the per-run log line. */
  run(ctx: RunContext): Promise<Measurement>;
}

// ---------------------------------------------------------------------------
// formatting helpers

export const fmtRate = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0));
export const fmtUs = (v: number): string => (v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(0)} µs`);
export const fmtBytes = (v: number): string => (v >= 1024 ? `${(v / 1024).toFixed(2)} KB` : `${v.toFixed(0)} B`);
export const fmtPct = (v: number): string => `${v.toFixed(0)}%`;

// ---------------------------------------------------------------------------
// worker plumbing

const live = new Set<ChildProcess>();

export function killAllWorkers(): void {
  killAllCgen();
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  live.clear();
}

type MsgOf<T extends FromWorker['type']> = Extract<FromWorker, { type: T }>;

class Worker {
  private readonly proc: ChildProcess;
  private readonly inbox: FromWorker[] = [];
  private waiter: (() => void) | null = null;
  private failure: string | null = null;

  constructor(readonly label: string, config: WorkerConfig) {
    this.proc = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    live.add(this.proc);
    this.proc.on('message', (m: FromWorker) => {
      if (m.type === 'error') this.failure = `${label}: ${m.message}`;
      else this.inbox.push(m);
      this.wake();
    });
    this.proc.on('exit', (code, sig) => {
      live.delete(this.proc);
      this.failure ??= `${label}: worker exited (${sig ?? `code ${String(code)}`})`;
      this.wake();
    });
    this.send({ type: 'config', config });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** The worker process's pid (its threads' CPU: BENCH_DRAIN_THREADS). */
  get pid(): number {
    return this.proc.pid ?? 0;
  }

  send(msg: ToWorker): void {
    if (this.proc.connected) this.proc.send(msg);
  }

  async next<T extends FromWorker['type']>(type: T, timeoutMs: number): Promise<MsgOf<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as MsgOf<T>;
      if (this.failure !== null) throw new Error(this.failure);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.label}: no '${type}' within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  async request<T extends FromWorker['type']>(msg: ToWorker, type: T, timeoutMs = 5000): Promise<MsgOf<T>> {
    this.send(msg);
    return this.next(type, timeoutMs);
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.send({ type: 'exit' });
      setTimeout(() => this.proc.kill('SIGKILL'), 2000).unref();
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nowNs = (): number => Number(process.hrtime.bigint());

interface Window {
  readonly t0: number;
  readonly start: number;
  readonly end: number;
}

/** Tell workers to go; snapshot broker + machine CPU at the window edges. */
async function goAndMeasure(
  broker: BrokerHandle,
  workers: readonly Worker[],
  opts: Options,
): Promise<{ win: Window; brokerCpu: number; machine: number; other: number; windows: MsgOf<'window'>[] }> {
  const t0 = nowNs() + 200e6;
  const start = t0 + opts.warmup * 1e9;
  const end = start + opts.duration * 1e9;
  for (const w of workers) w.send({ type: 'go', t0: String(t0), start: String(start), end: String(end) });
  await sleep((start - nowNs()) / 1e6);
  const b0 = procCpuUs(broker.pid);
  const m0 = machineCpu();
  const tb0 = nowNs();
  opts.onWindowEdge?.('start');
  await sleep((end - nowNs()) / 1e6);
  const b1 = broker.alive() ? procCpuUs(broker.pid) : b0;
  const m1 = machineCpu();
  const tb1 = nowNs();
  opts.onWindowEdge?.('end');
  const windows = await Promise.all(workers.map((w) => w.next('window', 10_000)));
  const brokerCpu = ((b1 - b0) / ((tb1 - tb0) / 1e3)) * 100;
  const machine = ((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * 100;
  // The driver itself is idle during the window; everything else is noise.
  const ours = brokerCpu + windows.reduce((a, w) => a + cpuPct(w), 0);
  const other = Math.max(0, machine * os.availableParallelism() - ours);
  return { win: { t0, start, end }, brokerCpu, machine, other, windows };
}

const cpuPct = (w: MsgOf<'window'>): number => (w.cpuUs / (w.elapsedNs / 1e3)) * 100;
const ratePerSec = (w: MsgOf<'window'>): number => w.count / (w.elapsedNs / 1e9);

/** Run `fn` with workers that are always torn down afterwards. */
async function withWorkers<T>(fn: (spawn: (label: string, cfg: WorkerConfig) => Worker) => Promise<T>): Promise<T> {
  const ws: Worker[] = [];
  try {
    return await fn((label, cfg) => {
      const w = new Worker(label, cfg);
      ws.push(w);
      return w;
    });
  } finally {
    for (const w of ws) w.kill();
  }
}

// ---------------------------------------------------------------------------
// pub/sub scenarios

interface PubSubSpec {
  readonly subTopics: readonly string[];
  readonly pubTopics: readonly string[];
  readonly qos: 0 | 1;
  readonly inflight: number;
  /** Total publish rate, msg/s; 0 = as fast as possible. */
  readonly rate: number;
  readonly latency: boolean;
  /** Expected deliveries per published message (for loss accounting). */
  readonly fanout: number;
  /** Host the last subscriber in the publisher process and cap messages in flight (see PubConfig.probe). */
  readonly probeWindow?: number;
}

async function pubsub(ctx: RunContext, spec: PubSubSpec): Promise<Measurement> {
  const { broker, opts, runId } = ctx;
  return withWorkers(async (spawn) => {
    const subTopics = spec.probeWindow ? spec.subTopics.slice(0, -1) : spec.subTopics;
    const subClients: ClientSpec[] = subTopics.map((topic, i) => ({ clientId: `${runId}-s${i}`, topic }));
    const probeTopic = spec.subTopics[spec.subTopics.length - 1];
    const probe = spec.probeWindow && probeTopic ? { probe: { clientId: `${runId}-probe`, topic: probeTopic, window: spec.probeWindow } } : {};
    const pubClients: ClientSpec[] = spec.pubTopics.map((topic, i) => ({ clientId: `${runId}-p${i}`, topic }));
    const sub = spawn('subscribers', { role: 'sub', host: HOST, port: broker.port, clients: subClients, qos: spec.qos, latency: spec.latency });
    await sub.next('ready', 30_000);
    const pub = spawn('publishers', {
      role: 'pub',
      host: HOST,
      port: broker.port,
      clients: pubClients,
      qos: spec.qos,
      payloadSize: opts.size,
      inflight: spec.inflight,
      rate: spec.rate,
      timestamp: spec.latency,
      ...probe,
    });
    await pub.next('ready', 30_000);

    const m = await goAndMeasure(broker, [pub, sub], opts);
    const [pw, sw] = m.windows as [MsgOf<'window'>, MsgOf<'window'>];

    // Stop publishing, then let the broker drain until the subscriber count settles.
    pub.send({ type: 'stop' });
    // Drain: keep polling while deliveries still arrive (up to 10 s); stop
    // after 500 ms without progress.
    let rep = await sub.request({ type: 'report' }, 'report');
    let still = 0;
    // QoS 1 backlogs (acked, not yet delivered) may be large with the raised queue limits; give them time.
    const drainDeadline = Date.now() + (spec.qos === 1 ? 60_000 : 10_000);
    while (still < 2 && Date.now() < drainDeadline) {
      await sleep(250);
      const next = await sub.request({ type: 'report' }, 'report');
      still = next.total === rep.total ? still + 1 : 0;
      rep = next;
    }
    const prep = await pub.request({ type: 'report' }, 'report');
    // QoS 0: every PUBLISH written counts. QoS 1: only what the broker PUBACKed —
    // a PUBLISH still unacknowledged when the publisher stopped was never promised.
    const sent = spec.qos === 1 ? (prep.acked ?? prep.total) : prep.total;
    const expected = sent * spec.fanout;
    // Redeliveries (DUP=1) are not new messages; with clean sessions and no reconnects there should be none.
    const dups = rep.dups ?? 0;
    const received = rep.total - dups + (prep.probeTotal ?? 0);
    const loss = expected > 0 ? Math.max(0, (1 - received / expected) * 100) : 0;
    const drained = still >= 2;
    const delivered = ratePerSec(sw) + (pw.probeCount ?? 0) / (pw.elapsedNs / 1e9);
    const pubRate = ratePerSec(pw);
    const metrics: Record<string, number> = { rate: delivered, pubRate, loss };
    const lat: LatencyStats | undefined = rep.latency;
    if (spec.latency && lat) {
      Object.assign(metrics, { p50: lat.p50, p99: lat.p99, p999: lat.p999, max: lat.max, samples: lat.n });
    }
    const errs = pw.errors + sw.errors;
    let note = `pub ${fmtRate(pubRate)}/s, loss ${loss.toFixed(1)}%`;
    if (spec.qos === 1) {
      // Broker backlog when the window closed: acknowledged to the publisher but not yet delivered.
      const backlog = Math.max(0, (pw.ackedTotal ?? 0) - (sw.totalAtEnd ?? 0));
      metrics['backlog'] = backlog;
      metrics['dups'] = dups;
      note += ` (acked ${sent}, delivered ${rep.total - dups}, dup ${dups}), backlog at window end ${backlog}`;
    }
    if (!drained) note += ', NOT DRAINED after the drain deadline (loss includes messages still queued)';
    if (lat) note += `, p50 ${fmtUs(lat.p50)} p99 ${fmtUs(lat.p99)} p99.9 ${fmtUs(lat.p999)} max ${fmtUs(lat.max)} (n=${lat.n})`;
    if (errs) note += `, ${errs} socket errors`;
    return { metrics, brokerCpu: m.brokerCpu, machine: m.machine, other: m.other, gen: [{ role: 'pub', pct: cpuPct(pw) }, { role: 'sub', pct: cpuPct(sw) }], note };
  });
}

// ---------------------------------------------------------------------------
// durable scenarios (issue 3): persistent sessions, brokers started with persistence

/** Poll the subscriber until its count stops moving for `quietMs` (or `maxMs`). */
async function drainSub(sub: Worker, quietMs: number, maxMs: number): Promise<{ total: number; dups: number; settled: boolean }> {
  let rep = await sub.request({ type: 'report' }, 'report');
  let still = 0;
  const deadline = Date.now() + maxMs;
  const polls = Math.max(1, Math.round(quietMs / 250));
  while (still < polls && Date.now() < deadline) {
    await sleep(250);
    const next = await sub.request({ type: 'report' }, 'report');
    still = next.total === rep.total ? still + 1 : 0;
    rep = next;
  }
  return { total: rep.total, dups: rep.dups ?? 0, settled: still >= polls };
}

/** Wait until the publisher's PUBACK count stops moving (all in-flight PUBLISHes answered). */
async function settlePub(pub: Worker, maxMs: number): Promise<MsgOf<'report'>> {
  let rep = await pub.request({ type: 'report' }, 'report');
  const deadline = Date.now() + maxMs;
  for (;;) {
    await sleep(200);
    const next = await pub.request({ type: 'report' }, 'report');
    if ((next.acked ?? 0) >= next.total || (next.acked === rep.acked && Date.now() > deadline)) return next;
    rep = next;
  }
}

/**
 * QoS 1 into persistent sessions. `offline`: the subscriber subscribed with clean session 0 and
 * disconnected, so every PUBACK means "stored for an offline session"; the metric is the
 * publisher's acknowledged rate, and afterwards the session reconnects and must get every
 * acknowledged message (loss). `online`: the same session stays connected; the metric is the
 * delivered rate (each delivery's in-flight state is journaled too).
 */
async function durable(ctx: RunContext, mode: 'offline' | 'online'): Promise<Measurement> {
  const { broker, opts, runId } = ctx;
  if (broker.name === 'aedes') throw new Error('skipped: Aedes runs with in-memory persistence here (not durable)');
  return withWorkers(async (spawn) => {
    const topic = 'bench/durable/0';
    const sub = spawn('subscribers', {
      role: 'sub',
      host: HOST,
      port: broker.port,
      clients: [{ clientId: `${runId}-ds0`, topic }],
      qos: 1,
      latency: false,
      persistent: true,
      offline: mode === 'offline',
    });
    await sub.next('ready', 30_000);
    const pub = spawn('publishers', {
      role: 'pub',
      host: HOST,
      port: broker.port,
      clients: [{ clientId: `${runId}-dp0`, topic }],
      qos: 1,
      payloadSize: opts.size,
      inflight: 64,
      rate: 0,
      timestamp: false,
    });
    await pub.next('ready', 30_000);
    const m = await goAndMeasure(broker, [pub, sub], opts);
    const [pw, sw] = m.windows as [MsgOf<'window'>, MsgOf<'window'>];
    pub.send({ type: 'stop' });
    const prep = await settlePub(pub, 10_000);
    const acked = prep.acked ?? 0;
    let reconnectNote = '';
    if (mode === 'offline') {
      const t = Date.now();
      sub.send({ type: 'reconnect', count: 1 });
      const rc = await sub.next('reconnected', 30_000);
      reconnectNote = rc.sessionPresent === 1 ? '' : ' SESSION NOT PRESENT on reconnect';
      const d = await drainSub(sub, 1000, 120_000);
      reconnectNote += `, reconnect delivered ${d.total - d.dups} in ${((Date.now() - t) / 1000).toFixed(1)} s${d.settled ? '' : ' (not settled)'}`;
    }
    const d = await drainSub(sub, 500, 60_000);
    const delivered = d.total - d.dups;
    const loss = acked > 0 ? Math.max(0, (1 - delivered / acked) * 100) : 0;
    const rate = mode === 'offline' ? ratePerSec(pw) : ratePerSec(sw);
    const backlog = Math.max(0, (pw.ackedTotal ?? 0) - (sw.totalAtEnd ?? 0));
    return {
      metrics: { rate, pubRate: ratePerSec(pw), loss, acked, delivered, dups: d.dups, ...(mode === 'online' ? { backlog } : {}) },
      brokerCpu: m.brokerCpu,
      machine: m.machine,
      other: m.other,
      gen: [
        { role: 'pub', pct: cpuPct(pw) },
        { role: 'sub', pct: cpuPct(sw) },
      ],
      note: `acked ${acked}, delivered ${delivered}, dup ${d.dups}, loss ${loss.toFixed(2)}%${mode === 'online' ? `, backlog at window end ${backlog}` : ''}${reconnectNote}`,
    };
  });
}

/**
 * The latency of a QoS 0 bystander while durable fan-out commits: 100 offline persistent
 * sessions subscribed QoS 1 to one topic, one QoS 1 publisher at full speed (64 in flight), so
 * every message is 100 queue rows in the next group commit; meanwhile an unrelated clean pair
 * sends QoS 0 at 1,000 msg/s with timestamps. With the store on the event loop every commit
 * (and its fsync) stalls the bystander; with the store on its own thread it should not.
 */
async function bystanderDuringDurableFanout(ctx: RunContext): Promise<Measurement> {
  const { broker, opts, runId } = ctx;
  if (broker.name === 'aedes') throw new Error('skipped: Aedes runs with in-memory persistence here (not durable)');
  if (opts.size < 8) throw new Error('bystander scenario needs --size ≥ 8');
  return withWorkers(async (spawn) => {
    const fanTopic = 'bench/dfan';
    const durableSubs = spawn('durable subscribers', {
      role: 'sub',
      host: HOST,
      port: broker.port,
      clients: Array.from({ length: 100 }, (_, i) => ({ clientId: `${runId}-df${i}`, topic: fanTopic })),
      qos: 1,
      latency: false,
      persistent: true,
      offline: true,
    });
    await durableSubs.next('ready', 60_000);
    const probeSub = spawn('bystander sub', { role: 'sub', host: HOST, port: broker.port, clients: [{ clientId: `${runId}-bs`, topic: 'bench/by' }], qos: 0, latency: true });
    await probeSub.next('ready', 30_000);
    const durablePub = spawn('durable publisher', {
      role: 'pub',
      host: HOST,
      port: broker.port,
      clients: [{ clientId: `${runId}-dfp`, topic: fanTopic }],
      qos: 1,
      payloadSize: opts.size,
      inflight: 64,
      rate: 0,
      timestamp: false,
    });
    await durablePub.next('ready', 30_000);
    const probePub = spawn('bystander pub', {
      role: 'pub',
      host: HOST,
      port: broker.port,
      clients: [{ clientId: `${runId}-bp`, topic: 'bench/by' }],
      qos: 0,
      payloadSize: opts.size,
      inflight: 0,
      rate: 1000,
      timestamp: true,
    });
    await probePub.next('ready', 30_000);
    const m = await goAndMeasure(broker, [durablePub, probePub, probeSub], opts);
    const [dw, bw, sw] = m.windows as [MsgOf<'window'>, MsgOf<'window'>, MsgOf<'window'>];
    durablePub.send({ type: 'stop' });
    probePub.send({ type: 'stop' });
    const rep = await probeSub.request({ type: 'report' }, 'report');
    const lat = rep.latency;
    const metrics: Record<string, number> = { fanRate: ratePerSec(dw) };
    if (lat) Object.assign(metrics, { p50: lat.p50, p99: lat.p99, p999: lat.p999, max: lat.max });
    return {
      metrics,
      brokerCpu: m.brokerCpu,
      machine: m.machine,
      other: m.other,
      gen: [
        { role: 'durable pub', pct: cpuPct(dw) },
        { role: 'bystander pub', pct: cpuPct(bw) },
        { role: 'bystander sub', pct: cpuPct(sw) },
      ],
      note: `durable fan-out ${fmtRate(ratePerSec(dw))} msg/s acked (×100 queued)${lat ? `, bystander p50 ${fmtUs(lat.p50)} p99 ${fmtUs(lat.p99)} p99.9 ${fmtUs(lat.p999)} max ${fmtUs(lat.max)} (n=${lat.n})` : ''}`,
    };
  });
}

/**
 * RSS with a large offline backlog: `queuedSessions` persistent sessions, each subscribed (QoS 1)
 * to its own topic and offline, get `queuedPerSession` distinct messages each (one publisher, QoS 1,
 * 64 in flight, cycling over the topics). RSS is read before publishing and once everything is
 * acknowledged (lowest of 3 reads after 2 s). Then the first 10 sessions reconnect and must get
 * exactly their share (a sanity check that the messages were really queued).
 */
async function queuedRss(ctx: RunContext): Promise<Measurement> {
  const { broker, opts, runId } = ctx;
  if (broker.name === 'aedes') throw new Error('skipped: Aedes runs with in-memory persistence here (not durable)');
  const nSess = opts.queuedSessions;
  const total = nSess * opts.queuedPerSession;
  return withWorkers(async (spawn) => {
    const topics = Array.from({ length: nSess }, (_, i) => `bench/q/${i}`);
    const sub = spawn('subscribers', {
      role: 'sub',
      host: HOST,
      port: broker.port,
      clients: topics.map((topic, i) => ({ clientId: `${runId}-q${i}`, topic })),
      qos: 1,
      latency: false,
      persistent: true,
      offline: true,
    });
    await sub.next('ready', 120_000);
    await sleep(1000);
    const before = procRssBytes(broker.pid);
    const cpu0 = procCpuUs(broker.pid);
    const pub = spawn('publishers', {
      role: 'pub',
      host: HOST,
      port: broker.port,
      clients: [{ clientId: `${runId}-qp`, topic: topics[0]! }],
      qos: 1,
      payloadSize: opts.size,
      inflight: 64,
      rate: 0,
      timestamp: false,
      topics,
      limit: total,
    });
    await pub.next('ready', 30_000);
    const t0 = nowNs();
    const now = nowNs() + 50e6;
    pub.send({ type: 'go', t0: String(now), start: String(now), end: String(now + 3600e9) });
    let peak = 0;
    let rep: MsgOf<'report'>;
    const deadline = Date.now() + 600_000;
    for (;;) {
      await sleep(500);
      peak = Math.max(peak, procRssBytes(broker.pid));
      rep = await pub.request({ type: 'report' }, 'report');
      if ((rep.acked ?? 0) >= total) break;
      if (!broker.alive()) throw new Error('broker died while queueing');
      if (Date.now() > deadline) throw new Error(`only ${rep.acked ?? 0}/${total} acknowledged after 600 s`);
    }
    const secs = (nowNs() - t0) / 1e9;
    const cpuPctQ = ((procCpuUs(broker.pid) - cpu0) / (secs * 1e6)) * 100;
    await sleep(2000);
    let after = Infinity;
    for (let i = 0; i < 3; i++) {
      after = Math.min(after, procRssBytes(broker.pid));
      peak = Math.max(peak, procRssBytes(broker.pid));
      await sleep(300);
    }
    const check = Math.min(10, nSess);
    sub.send({ type: 'reconnect', count: check });
    const rc = await sub.next('reconnected', 60_000);
    const d = await drainSub(sub, 1000, 120_000);
    const expected = check * opts.queuedPerSession;
    return {
      metrics: { rssAfter: after, rssBefore: before, rssPeak: peak, perMsg: (after - before) / total, ingest: total / secs, checkDelivered: d.total - d.dups, checkExpected: expected },
      gen: [],
      note:
        `${nSess} sessions × ${opts.queuedPerSession} = ${total} queued in ${secs.toFixed(1)} s (${fmtRate(total / secs)}/s, broker ${cpuPctQ.toFixed(0)}% CPU); ` +
        `RSS ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MB (peak ${(peak / 2 ** 20).toFixed(1)} MB); ` +
        `check: ${rc.sessionPresent}/${check} sessions present, ${d.total - d.dups}/${expected} delivered${d.settled ? '' : ' (not settled)'}`,
    };
  });
}

/** One persistent QoS 1 session subscribed and offline, and `total` messages queued for it (all acknowledged). */
async function queueBacklog(
  spawn: (label: string, cfg: WorkerConfig) => Worker,
  broker: BrokerHandle,
  clientId: string,
  topic: string,
  total: number,
  size: number,
): Promise<{ sub: Worker }> {
  const sub = spawn(`subscriber-${clientId}`, {
    role: 'sub',
    host: HOST,
    port: broker.port,
    clients: [{ clientId, topic }],
    qos: 1,
    latency: false,
    persistent: true,
    offline: true,
  });
  await sub.next('ready', 30_000);
  const pub = spawn(`publisher-${clientId}`, {
    role: 'pub',
    host: HOST,
    port: broker.port,
    clients: [{ clientId: `${clientId}p`, topic }],
    qos: 1,
    payloadSize: size,
    inflight: 64,
    rate: 0,
    timestamp: false,
    limit: total,
  });
  await pub.next('ready', 30_000);
  const go = nowNs() + 50e6;
  pub.send({ type: 'go', t0: String(go), start: String(go), end: String(go + 3600e9) });
  const deadline = Date.now() + 300_000;
  for (;;) {
    await sleep(200);
    const rep = await pub.request({ type: 'report' }, 'report');
    if ((rep.acked ?? 0) >= total) break;
    if (!broker.alive()) throw new Error('broker died while queueing');
    if (Date.now() > deadline) throw new Error(`only ${rep.acked ?? 0}/${total} acknowledged after 300 s`);
  }
  return { sub };
}

/**
 * Backlog redelivery: one persistent session (clean session 0) subscribes QoS 1 and goes offline;
 * one QoS 1 publisher (64 in flight) queues `opts.backlog` messages for it; once all are
 * acknowledged and the broker has settled, the session reconnects. Reported: the time from the
 * reconnect (TCP connect, CONNECT) to the read that brought the last message, the drain rate
 * (messages ÷ that time), the broker's RSS peak while draining (sampled every 50 ms) over its RSS
 * before the reconnect, and its CPU during the drain. The subscriber PUBACKs each TCP read's
 * messages in one write, like every QoS 1 subscriber here; the window is 64 on both brokers.
 */
async function backlogDrain(ctx: RunContext): Promise<Measurement> {
  const { broker, opts, runId } = ctx;
  if (broker.name === 'aedes') throw new Error('skipped: Aedes runs with in-memory persistence here (not durable)');
  const total = opts.backlog;
  return withWorkers(async (spawn) => {
    // --backlog-warm N: the same broker drains a backlog of N for another session first, so the
    // measured drain runs in a process whose send path has run (a warm process against a fresh one).
    let warmNote = '';
    if (opts.backlogWarm > 0) {
      const w = await queueBacklog(spawn, broker, `${runId}-blw`, 'bench/backlog/warm', opts.backlogWarm, opts.size);
      await sleep(300);
      const tw = nowNs();
      w.sub.send({ type: 'reconnect', count: 1 });
      await w.sub.next('reconnected', 30_000);
      let r = await w.sub.request({ type: 'report' }, 'report');
      const until = Date.now() + 60_000;
      while (r.total - (r.dups ?? 0) < opts.backlogWarm && Date.now() < until) {
        await sleep(50);
        r = await w.sub.request({ type: 'report' }, 'report');
      }
      const ws = ((r.lastAtNs ?? 0) - tw) / 1e9;
      warmNote = `; warmed first by a drain of ${r.total - (r.dups ?? 0)}/${opts.backlogWarm} at ${fmtRate((r.total - (r.dups ?? 0)) / ws)}/s`;
    }
    const topic = 'bench/backlog/0';
    const tq = nowNs();
    const { sub } = await queueBacklog(spawn, broker, `${runId}-bl0`, topic, total, opts.size);
    const queueS = (nowNs() - tq) / 1e9;
    // Let commits, GC and the allocator settle before the baseline read.
    await sleep(1500);
    let before = Infinity;
    for (let i = 0; i < 3; i++) {
      before = Math.min(before, procRssBytes(broker.pid));
      await sleep(100);
    }
    // BENCH_DRAIN_THREADS=DIR: the broker's and the subscriber worker's CPU per thread, per phase.
    const threadsDir = process.env['BENCH_DRAIN_THREADS'];
    const nodePids = broker.name === 'mosquitto' ? [sub.pid] : [broker.pid, sub.pid];
    const sampler = threadsDir ? await ThreadSampler.start([broker.pid, sub.pid], nodePids) : null;
    if (sampler !== null) await sleep(30); // a few samples before the reconnect
    const cpu0 = procCpuUs(broker.pid);
    const m0 = machineCpu();
    const t0 = nowNs();
    sub.send({ type: 'reconnect', count: 1 });
    let peak = before;
    let rep = await sub.request({ type: 'report' }, 'report');
    let last = rep.total;
    let stillSince = Date.now();
    const drainDeadline = Date.now() + 120_000;
    // Poll until everything arrived, or nothing new for 2 s, or the deadline.
    while (rep.total - (rep.dups ?? 0) < total && Date.now() - stillSince < 2000 && Date.now() < drainDeadline) {
      await sleep(50);
      peak = Math.max(peak, procRssBytes(broker.pid));
      rep = await sub.request({ type: 'report' }, 'report');
      if (rep.total !== last) {
        last = rep.total;
        stillSince = Date.now();
      }
    }
    const cpu1 = procCpuUs(broker.pid);
    const m1 = machineCpu();
    const t1 = nowNs();
    const rc = await sub.next('reconnected', 30_000);
    const delivered = rep.total - (rep.dups ?? 0);
    const lastAt = rep.lastAtNs ?? 0;
    const drainS = lastAt > t0 ? (lastAt - t0) / 1e9 : NaN;
    const rate = delivered / drainS;
    const brokerCpu = ((cpu1 - cpu0) / ((t1 - t0) / 1e3)) * 100;
    const machine = ((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * 100;
    const other = Math.max(0, machine * os.availableParallelism() - brokerCpu);
    const complete = delivered >= total;
    // The timeline: ms from the reconnect to every MARK_EVERY-th message, and the rate of the first
    // fifth against the rest (a drain that starts slow and then runs, issue 15 §31).
    const marks = (rep.marksNs ?? []).map((ns) => (ns - t0) / 1e6);
    const head = Math.round(total / 5 / MARK_EVERY) - 1;
    const headAt = marks[head];
    const headN = (head + 1) * MARK_EVERY;
    const firstRate = headAt !== undefined && headAt > 0 ? headN / (headAt / 1e3) : NaN;
    const restRate = headAt !== undefined && lastAt > t0 ? (delivered - headN) / ((lastAt - t0) / 1e9 - headAt / 1e3) : NaN;
    let threadNote = '';
    if (sampler !== null) {
      const samples = await sampler.stop();
      if (headAt !== undefined && lastAt > t0) {
        const tHead = t0 + headAt * 1e6;
        const phases = { head: [t0, tHead], rest: [tHead, lastAt] } as const;
        const cpu = Object.fromEntries(
          Object.entries(phases).map(([k, [a, b]]) => [
            k,
            {
              ms: (b - a) / 1e6,
              broker: phaseCpu(samples, broker.pid, a, b),
              sub: phaseCpu(samples, sub.pid, a, b),
              brokerWait: phaseCpu(samples, broker.pid, a, b, true),
              subWait: phaseCpu(samples, sub.pid, a, b, true),
            },
          ]),
        );
        const waitNote = (c: (typeof cpu)[string] | undefined): string => `; waiting for a core: broker main ${(c?.brokerWait.main ?? 0).toFixed(0)} ms, subscriber ${(c?.subWait.main ?? 0).toFixed(0)} ms`;
        threadNote =
          `; CPU first fifth: broker ${formatCpu(cpu['head']!.broker)}, subscriber ${formatCpu(cpu['head']!.sub)}${waitNote(cpu['head'])}` +
          `; the rest: broker ${formatCpu(cpu['rest']!.broker)}, subscriber ${formatCpu(cpu['rest']!.sub)}${waitNote(cpu['rest'])}`;
        const file = path.join(threadsDir!, `${broker.name}-${runId}.json`);
        fs.writeFileSync(file, JSON.stringify({ broker: broker.name, runId, rate, firstRate, restRate, marks, cpu }, null, 1));
      }
    }
    return {
      metrics: { rate, drainS, rssPeak: peak - before, delivered, dups: rep.dups ?? 0, firstRate, restRate },
      brokerCpu,
      machine,
      other,
      gen: [],
      note:
        `${total} queued in ${queueS.toFixed(1)} s; reconnect${rc.sessionPresent === 1 ? '' : ' SESSION NOT PRESENT'}: ` +
        `${delivered}/${total} delivered (dup ${rep.dups ?? 0}) in ${drainS.toFixed(2)} s = ${fmtRate(rate)}/s` +
        `${complete ? '' : ' INCOMPLETE'}, broker ${brokerCpu.toFixed(0)}% CPU over the poll, ` +
        `RSS ${(before / 2 ** 20).toFixed(1)} MB before, peak +${((peak - before) / 2 ** 20).toFixed(1)} MB while draining; ` +
        `ms to each ${MARK_EVERY / 1000}k: ${marks.map((ms) => ms.toFixed(0)).join(' ')}${warmNote}${threadNote}`,
    };
  });
}

// ---------------------------------------------------------------------------
// connection scenarios

async function connects(ctx: RunContext, overTls = false): Promise<Measurement> {
  const { broker, opts, runId } = ctx;
  const port = overTls ? broker.tlsPort : broker.port;
  if (port === undefined) throw new Error(`${broker.name} has no TLS listener here`);
  return withWorkers(async (spawn) => {
    const n = Math.max(1, opts.connectWorkers);
    const workers = Array.from({ length: n }, (_, i) =>
      spawn(`connector${i}`, { role: 'connect', host: HOST, port, concurrency: Math.ceil(opts.connectConcurrency / n), clientPrefix: `${runId}-c${i}`, tls: overTls }),
    );
    await Promise.all(workers.map((w) => w.next('ready', 10_000)));
    const m = await goAndMeasure(broker, workers, opts);
    for (const w of workers) w.send({ type: 'stop' });
    const rate = m.windows.reduce((a, w) => a + ratePerSec(w), 0);
    const errors = m.windows.reduce((a, w) => a + w.errors, 0);
    return {
      metrics: { rate, errors },
      brokerCpu: m.brokerCpu,
      machine: m.machine,
      other: m.other,
      gen: m.windows.map((w, i) => ({ role: `conn${i}`, pct: cpuPct(w) })),
      note: `${opts.connectConcurrency} in parallel, ${errors} failed`,
    };
  });
}

/** Idle connections over TCP or WebSocket (Ferry's ws listener, path /mqtt); `storm`: persistent sessions, then all drop and come back. */
interface IdleSpec {
  readonly ws: boolean;
  readonly storm: boolean;
}

async function idleRss(ctx: RunContext, spec: IdleSpec = { ws: false, storm: false }): Promise<Measurement> {
  const { broker } = ctx;
  const port = spec.ws ? broker.wsPort : broker.port;
  if (port === undefined) throw new Error(`${broker.name} has no WebSocket listener here`);
  const inspector = await brokerInspector(broker);
  try {
    return await idleRssWith(ctx, spec, port, inspector);
  } finally {
    inspector?.close();
  }
}

async function idleRssWith(ctx: RunContext, spec: IdleSpec, port: number, inspector: BrokerInspector | null): Promise<Measurement> {
  const { broker, opts, runId } = ctx;
  return withWorkers(async (spawn) => {
    await sleep(300);
    const before = await sampleMemory(broker.pid, inspector);
    // Spread client sockets over several processes (20k open-files limit each).
    const per = 5000;
    const nWorkers = Math.max(1, Math.ceil(opts.idleConns / per));
    const t = Date.now();
    const workers = Array.from({ length: nWorkers }, (_, i) => {
      const count = Math.min(per, opts.idleConns - i * per);
      return spawn(`idle${i}`, { role: 'idle', host: HOST, port, count, concurrency: 200, clientPrefix: `${runId}-i${i}`, ws: spec.ws, persistent: spec.storm });
    });
    const ready = await Promise.all(workers.map((w) => w.next('ready', 120_000)));
    const setupS = (Date.now() - t) / 1000;
    const connected = ready.reduce((a, r) => a + r.connected, 0);
    const failed = ready.reduce((a, r) => a + r.failed, 0);
    if (connected === 0) throw new Error(`no idle connection established (${failed} failed)`);
    // Let the broker settle (allocator / GC), then a forced GC and the median of a few reads.
    await sleep(1000);
    const after = await sampleMemory(broker.pid, inspector);
    const still = (await Promise.all(workers.map((w) => w.request({ type: 'report' }, 'report')))).reduce((a, r) => a + r.total, 0);
    const whyFailed = (rs: readonly { readonly reasons?: string }[]): string => {
      const why = rs.map((r) => r.reasons ?? '').filter((x) => x !== '').join('; ');
      return why === '' ? '' : ` — ${why}`;
    };
    const setup = `${connected} connected (${failed} failed${whyFailed(ready)}, ${connected - still} dropped) in ${setupS.toFixed(1)} s`;
    if (spec.storm) {
      const cpu0 = procCpuUs(broker.pid);
      const r = await Promise.all(workers.map((w) => w.request({ type: 'storm' }, 'stormed', 120_000)));
      const cpuS = (procCpuUs(broker.pid) - cpu0) / 1e6;
      const back = r.reduce((a, x) => a + x.connected, 0);
      const present = r.reduce((a, x) => a + x.sessionPresent, 0);
      const secs = (Math.max(...r.map((x) => Number(x.doneNs))) - Math.min(...r.map((x) => Number(x.dropNs)))) / 1e9;
      return {
        metrics: { rate: back / secs, seconds: secs, back, present },
        gen: [],
        note: `${setup}; all dropped at once: ${back} back (${r.reduce((a, x) => a + x.failed, 0)} failed${whyFailed(r)}, ${present} session present) in ${secs.toFixed(2)} s, broker ${cpuS.toFixed(2)} CPU-s`,
      };
    }
    return {
      metrics: { ...perConnection(before, after, connected), connected, setupRate: connected / setupS },
      gen: [],
      note: `${setup} (${Math.round(connected / setupS)}/s), ${memoryNote(before, after)}`,
    };
  });
}

// ---------------------------------------------------------------------------

export function buildScenarios(opts: Options): Scenario[] {
  const b = `${opts.size}b`;
  const rateMetric = (label: string, target?: string): Metric => ({ key: 'rate', label, better: 'higher', fmt: fmtRate, ...(target ? { target } : {}) });
  const qosTopic = (i: number): string => `bench/${i}/data`;
  const idleTag = opts.idleConns >= 1000 ? `${opts.idleConns / 1000}k` : String(opts.idleConns);
  return [
    {
      name: `qos0_1to1_${b}`,
      description: 'QoS 0, 1 publisher → 1 subscriber, one topic, publisher unthrottled (socket back-pressure only)',
      metrics: [rateMetric('msg/s delivered', '≥ 1.0× Mosquitto')],
      run: (ctx) => pubsub(ctx, { subTopics: [qosTopic(0)], pubTopics: [qosTopic(0)], qos: 0, inflight: 0, rate: 0, latency: false, fanout: 1 }),
    },
    {
      name: `qos0_4to4_${b}`,
      description: 'QoS 0, 4 publishers → 4 subscribers on 4 distinct topics (one process each side)',
      metrics: [rateMetric('msg/s delivered (total)')],
      run: (ctx) => {
        const topics = [0, 1, 2, 3].map(qosTopic);
        return pubsub(ctx, { subTopics: topics, pubTopics: topics, qos: 0, inflight: 0, rate: 0, latency: false, fanout: 1 });
      },
    },
    {
      name: `qos1_1to1_${b}`,
      description: 'QoS 1, 1 → 1, publisher keeps 64 PUBLISHes unacknowledged; subscriber PUBACKs every message',
      metrics: [rateMetric('msg/s delivered', '≥ 1.0× Mosquitto')],
      run: (ctx) => pubsub(ctx, { subTopics: [qosTopic(0)], pubTopics: [qosTopic(0)], qos: 1, inflight: 64, rate: 0, latency: false, fanout: 1 }),
    },
    {
      name: `qos1_4to4_${b}`,
      description: 'QoS 1, 4 publishers → 4 subscribers on 4 distinct topics, 64 PUBLISHes unacknowledged each (several clients share each store commit, as a fleet does)',
      metrics: [rateMetric('msg/s delivered (total)')],
      run: (ctx) => {
        const topics = [0, 1, 2, 3].map(qosTopic);
        return pubsub(ctx, { subTopics: topics, pubTopics: topics, qos: 1, inflight: 64, rate: 0, latency: false, fanout: 1 });
      },
    },
    {
      name: `qos1_fleet_${b}`,
      description:
        'QoS 1, 200 devices (one publisher process) each keeping 8 PUBLISHes unacknowledged on its own topic bench/fleet/<k>/<i> → 4 backend subscribers on bench/fleet/<k>/+ (many small windows share each store commit, as a fleet does)',
      metrics: [rateMetric('msg/s delivered (total)')],
      run: (ctx) => {
        const slices = [0, 1, 2, 3];
        const devices = Array.from({ length: 200 }, (_, i) => `bench/fleet/${i % slices.length}/${i}`);
        return pubsub(ctx, { subTopics: slices.map((k) => `bench/fleet/${k}/+`), pubTopics: devices, qos: 1, inflight: 8, rate: 0, latency: false, fanout: 1 });
      },
    },
    {
      name: `fanout_1to100_${b}`,
      description:
        'QoS 0, 1 publisher → 100 subscribers on the same topic; counts deliveries/s. The publisher stays ≤ 2000 messages ahead of one subscriber (hosted in its process) so broker queues stay bounded',
      metrics: [rateMetric('deliveries/s', '≥ 1.0× Mosquitto')],
      run: (ctx) => {
        const subs = Array.from({ length: 100 }, () => 'bench/fan');
        return pubsub(ctx, { subTopics: subs, pubTopics: ['bench/fan'], qos: 0, inflight: 0, rate: 0, latency: false, fanout: 100, probeWindow: 2000 });
      },
    },
    {
      name: `latency_${opts.latencyRate >= 1000 ? `${opts.latencyRate / 1000}k` : opts.latencyRate}_${b}`,
      description: `QoS 0, 1 → 1 at a steady ${opts.latencyRate} msg/s; send timestamp in payload, end-to-end latency`,
      metrics: [
        { key: 'p50', label: 'latency p50', better: 'lower', fmt: fmtUs, target: '≤ 1.2× Mosquitto' },
        { key: 'p99', label: 'latency p99', better: 'lower', fmt: fmtUs, target: '≤ 1.0× Mosquitto' },
        { key: 'p999', label: 'latency p99.9', better: 'lower', fmt: fmtUs, target: '≤ 1.5× Mosquitto' },
      ],
      run: (ctx) => {
        if (ctx.opts.size < 8) throw new Error('latency scenario needs --size ≥ 8');
        if (ctx.opts.generator === 'c') return cgenLatency(ctx, 0);
        return pubsub(ctx, { subTopics: [qosTopic(0)], pubTopics: [qosTopic(0)], qos: 0, inflight: 0, rate: ctx.opts.latencyRate, latency: true, fanout: 1 });
      },
    },
    {
      name: `latency_q1_${opts.latencyRate >= 1000 ? `${opts.latencyRate / 1000}k` : opts.latencyRate}_${b}`,
      description: `QoS 1, 1 → 1 at a steady ${opts.latencyRate} msg/s (open loop); send timestamp in payload, end-to-end latency; the subscriber PUBACKs each read`,
      metrics: [
        { key: 'p50', label: 'latency p50', better: 'lower', fmt: fmtUs, target: '≤ 1.2× Mosquitto' },
        { key: 'p99', label: 'latency p99', better: 'lower', fmt: fmtUs, target: '≤ 1.0× Mosquitto' },
        { key: 'p999', label: 'latency p99.9', better: 'lower', fmt: fmtUs, target: '≤ 1.5× Mosquitto' },
      ],
      run: (ctx) => {
        if (ctx.opts.size < 8) throw new Error('latency scenario needs --size ≥ 8');
        if (ctx.opts.generator === 'c') return cgenLatency(ctx, 1);
        return pubsub(ctx, { subTopics: [qosTopic(0)], pubTopics: [qosTopic(0)], qos: 1, inflight: 0, rate: ctx.opts.latencyRate, latency: true, fanout: 1 });
      },
    },
    {
      name: `idle_rss_${idleTag}`,
      description: `RSS growth per idle connection (CONNECT/CONNACK, no subscription) with ${opts.idleConns} connections`,
      metrics: [
        { key: 'perConn', label: 'RSS per idle conn', better: 'lower', fmt: fmtBytes, target: '≤ 2.5 KB' },
        { key: 'heapPerConn', label: 'heap per idle conn (after full GC)', better: 'lower', fmt: fmtBytes },
      ],
      inspect: true,
      run: (ctx) => (ctx.opts.generator === 'c' ? cgenIdle(ctx, { tls: false, storm: false }) : idleRss(ctx)),
    },
    {
      name: `idle_rss_ws_${idleTag}`,
      description: `RSS growth per idle MQTT-over-WebSocket connection (ws://…/mqtt, CONNECT/CONNACK, no subscription) with ${opts.idleConns} connections (Ferry only: the Debian Mosquitto has no WebSocket support)`,
      metrics: [
        { key: 'perConn', label: 'RSS per idle WS conn', better: 'lower', fmt: fmtBytes, target: '≤ 3 KB' },
        { key: 'heapPerConn', label: 'heap per idle WS conn (after full GC)', better: 'lower', fmt: fmtBytes },
      ],
      inspect: true,
      run: (ctx) => idleRss(ctx, { ws: true, storm: false }),
    },
    {
      name: `reconnect_storm_${idleTag}`,
      description: `${opts.idleConns} persistent sessions (clean session 0) connected; all drop at once (no DISCONNECT) and reconnect with the same client ids; time to the last CONNACK`,
      metrics: [
        { key: 'rate', label: 'reconnects/s', better: 'higher', fmt: fmtRate },
        { key: 'seconds', label: 'storm duration (s)', better: 'lower', fmt: (v) => v.toFixed(2) },
        { key: 'stormPingMax', label: 'bystander ping max, drop + storm (ms)', better: 'lower', fmt: (v) => v.toFixed(1) },
        { key: 'dropPingMax', label: 'bystander ping max, final mass drop (ms)', better: 'lower', fmt: (v) => v.toFixed(1) },
        { key: 'dropPingP99', label: 'bystander ping p99, final mass drop (ms)', better: 'lower', fmt: (v) => v.toFixed(1) },
        { key: 'stormLagMax', label: 'Ferry loop delay max, drop + storm (ms)', better: 'lower', fmt: (v) => v.toFixed(1) },
        { key: 'dropLagMax', label: 'Ferry loop delay max, final mass drop (ms)', better: 'lower', fmt: (v) => v.toFixed(1) },
        { key: 'dropLagP99', label: 'Ferry loop delay p99, final mass drop (ms)', better: 'lower', fmt: (v) => v.toFixed(1) },
      ],
      optIn: true,
      run: (ctx) => (ctx.opts.generator === 'c' ? cgenIdle(ctx, { tls: false, storm: true }) : idleRss(ctx, { ws: false, storm: true })),
    },
    ...[false, true].map(
      (tls): Scenario => ({
        name: `connect_storm_${tls ? 'tls_' : ''}${idleTag}`,
        description: `${opts.idleConns} connections${tls ? ' over TLS (a full handshake each)' : ''} from ${opts.stormProcesses} C generator process(es), ${opts.stormConcurrency} connects in flight each: connects/s from the first SYN to the last CONNACK, the broker's CPU per connect, RSS per idle connection (--generator c)`,
        metrics: [
          { key: 'rate', label: `${tls ? 'TLS ' : ''}connects/s`, better: 'higher', fmt: fmtRate, ...(tls ? {} : { target: '≥ 20k/s' }) },
          { key: 'brokerUs', label: 'broker CPU per connect', better: 'lower', fmt: fmtUs },
          { key: 'perConn', label: 'RSS per idle conn', better: 'lower', fmt: fmtBytes },
        ],
        optIn: true,
        run: (ctx) => {
          if (ctx.opts.generator !== 'c') throw new Error('connect storms are measured with --generator c');
          return cgenIdle(ctx, { tls, storm: false });
        },
      }),
    ),
    {
      name: `durable_offline_${b}`,
      description: 'QoS 1 ingest into an offline persistent session (clean session 0, subscribed then disconnected), 64 in flight; afterwards the session reconnects and must get every acknowledged message',
      metrics: [rateMetric('msg/s acknowledged', 'interval ≥ 1.0× Mosquitto')],
      optIn: true,
      durable: true,
      run: (ctx) => durable(ctx, 'offline'),
    },
    {
      name: `durable_online_${b}`,
      description: 'QoS 1 1 → 1 end to end into an online persistent session (clean session 0), 64 in flight',
      metrics: [rateMetric('msg/s delivered', 'interval ≥ 1.0× Mosquitto')],
      optIn: true,
      durable: true,
      run: (ctx) => durable(ctx, 'online'),
    },
    {
      name: `bystander_durable_fanout_${b}`,
      description: 'QoS 0 bystander latency (1,000 msg/s) while QoS 1 fan-out into 100 offline persistent sessions commits at full speed',
      metrics: [
        { key: 'p50', label: 'bystander latency p50', better: 'lower', fmt: fmtUs },
        { key: 'p99', label: 'bystander latency p99', better: 'lower', fmt: fmtUs },
        { key: 'p999', label: 'bystander latency p99.9', better: 'lower', fmt: fmtUs },
        { key: 'fanRate', label: 'durable fan-out msg/s acknowledged', better: 'higher', fmt: fmtRate },
      ],
      optIn: true,
      durable: true,
      run: bystanderDuringDurableFanout,
    },
    {
      name: `queued_rss_${opts.queuedSessions}x${opts.queuedPerSession}`,
      description: `RSS with ${opts.queuedSessions} offline persistent sessions × ${opts.queuedPerSession} distinct queued QoS 1 messages (${opts.size} B payloads)`,
      metrics: [
        { key: 'rssAfter', label: 'RSS with the backlog', better: 'lower', fmt: (v) => `${(v / 2 ** 20).toFixed(1)} MB`, target: '< 300 MB' },
        { key: 'perMsg', label: 'RSS per queued message', better: 'lower', fmt: fmtBytes },
        { key: 'ingest', label: 'queueing rate (msg/s)', better: 'higher', fmt: fmtRate },
      ],
      optIn: true,
      durable: true,
      run: queuedRss,
    },
    {
      name: `backlog_drain_${opts.backlog >= 1000 ? `${opts.backlog / 1000}k` : opts.backlog}`,
      description: `a persistent session reconnects to ${opts.backlog} queued QoS 1 messages (${opts.size} B): drain rate to the last message, RSS peak while draining`,
      metrics: [
        { key: 'rate', label: 'drain msg/s', better: 'higher', fmt: fmtRate, target: '≥ 1.0× Mosquitto' },
        { key: 'firstRate', label: 'msg/s over the first fifth', better: 'higher', fmt: fmtRate },
        { key: 'restRate', label: 'msg/s over the rest', better: 'higher', fmt: fmtRate },
        { key: 'rssPeak', label: 'RSS peak over before, while draining', better: 'lower', fmt: (v) => `${(v / 2 ** 20).toFixed(1)} MB` },
      ],
      optIn: true,
      durable: true,
      run: backlogDrain,
    },
    {
      name: 'connect_rate',
      description: `connect + CONNACK + DISCONNECT, ${opts.connectConcurrency} in parallel`,
      metrics: [rateMetric('connects/s', '≥ 10k/s')],
      run: (ctx) => (ctx.opts.generator === 'c' ? cgenConnectRate(ctx, false) : connects(ctx)),
    },
    {
      name: 'connect_rate_tls',
      description: `the same over TLS 1.3 (self-signed P-256 certificate, a full handshake per connect, no session resumption), ${opts.connectConcurrency} in parallel`,
      metrics: [rateMetric('TLS connects/s')],
      run: (ctx) => (ctx.opts.generator === 'c' ? cgenConnectRate(ctx, true) : connects(ctx, true)),
    },
  ];
}
