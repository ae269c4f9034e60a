/**
 * The C load generator (`bench/cgen/cgen.c`, `--generator c`): compiled on demand, one process per
 * run, its JSON lines read here and turned into the harness's measurements. It covers the scenarios
 * where the Node workers are the limit: connect storms (idle, reconnect, TLS), connect_rate and
 * latency. See bench/README.md, "The C generator".
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { brokerInspector, memoryNote, perConnection, sampleMemory } from './broker-memory.js';
import { benchCaFile, machineCpu, procCpuUs, repoRoot, type BrokerHandle } from './brokers.js';
import { scrapeLoopLag, type LoopLag } from './loop-lag.js';
import { PingProbe, type ProbeSummary } from './ping-probe.js';
import type { Measurement, RunContext } from './scenarios.js';

export const CGEN_SOURCE = path.join(repoRoot, 'bench', 'cgen', 'cgen.c');
const CGEN_BINARY = path.join(repoRoot, 'dist', 'bench', 'cgen', 'ferry-cgen');

/**
 * Compile the generator (or another tool of bench/cgen, `source`) into `out` unless a binary newer
 * than the source is there. `cc` (or $CC) and the OpenSSL headers are needed; either missing is a
 * clear error, not a compiler dump.
 */
export async function buildCgen(out = CGEN_BINARY, cc = process.env['CC'] ?? 'cc', source = CGEN_SOURCE): Promise<string> {
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(source).mtimeMs) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`; // renamed into place: a concurrent run never sees half a binary
  const args = ['-O2', '-std=c11', '-Wall', '-Wextra', '-o', tmp, source, '-lssl', '-lcrypto', '-lpthread', '-lm'];
  await new Promise<void>((resolve, reject) => {
    execFile(cc, args, (err, _stdout, stderr) => {
      if (err === null) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new Error(`the C generator needs a C compiler: '${cc}' was not found (apt-get install -y gcc libssl-dev)`));
      }
      if (/openssl\/(ssl|err)\.h/.test(stderr)) return reject(new Error('the C generator needs the OpenSSL headers: apt-get install -y libssl-dev'));
      reject(new Error(`building ${source} failed: ${stderr.trim().split('\n').slice(0, 6).join(' | ')}`));
    });
  });
  fs.renameSync(tmp, out);
  return out;
}

/** One JSON line of the generator's stdout. */
export type CgenLine = Record<string, unknown>;

const live = new Set<ChildProcess>();

/** Kill every generator still running (harness exit, signals, a run that timed out). */
export function killAllCgen(): void {
  for (const p of live) p.kill('SIGKILL');
  live.clear();
}

/** A running generator: its JSON lines in order, commands on stdin, its exit. */
export class CgenProcess {
  private readonly proc: ChildProcess;
  private readonly lines: CgenLine[] = [];
  private stderr = '';
  private exit: string | null = null;
  private wake: (() => void) | null = null;

  constructor(bin: string, args: readonly string[]) {
    this.proc = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(this.proc);
    readline.createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as CgenLine);
      } catch {
        this.stderr += `not JSON on stdout: ${line}\n`;
      }
      this.notify();
    });
    this.proc.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString('utf8')).slice(-2000);
    });
    this.proc.stdin!.on('error', () => {
      /* the generator exited; its exit status says why */
    });
    this.proc.on('error', (e) => {
      this.exit = `could not start ${bin}: ${e.message}`;
      this.notify();
    });
    // 'close', not 'exit': every stdout line has been read by then.
    this.proc.on('close', (code, sig) => {
      live.delete(this.proc);
      this.exit = code === 0 ? 'exit 0' : `ferry-cgen exited (${sig ?? `code ${String(code)}`})${this.stderr ? `: ${this.stderr.trim()}` : ''}`;
      this.notify();
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** The next line matching `pred` (lines before it are dropped); throws if the generator exits or times out first. */
  async next(pred: (l: CgenLine) => boolean, timeoutMs: number): Promise<CgenLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.lines.length) {
        const l = this.lines.shift()!;
        if (pred(l)) return l;
      }
      if (this.exit !== null) throw new Error(this.exit === 'exit 0' ? 'ferry-cgen exited before the expected line' : this.exit);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`ferry-cgen: no result within ${timeoutMs / 1000} s`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  /** Wait for a clean exit (code 0). */
  async done(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.exit === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (this.exit === null) {
      this.kill();
      throw new Error(`ferry-cgen did not exit within ${timeoutMs / 1000} s`);
    }
    if (this.exit !== 'exit 0') throw new Error(this.exit);
  }

  kill(): void {
    if (this.exit === null) this.proc.kill('SIGKILL');
  }
}

/** Run the generator to completion and return its JSON lines (events included). */
export async function runCgen(bin: string, args: readonly string[], timeoutMs: number): Promise<CgenLine[]> {
  const p = new CgenProcess(bin, args);
  const out: CgenLine[] = [];
  try {
    for (;;) {
      try {
        out.push(await p.next(() => true, timeoutMs));
      } catch (e) {
        if (e instanceof Error && e.message === 'ferry-cgen exited before the expected line') return out;
        throw e;
      }
    }
  } finally {
    p.kill();
  }
}

// ---------------------------------------------------------------------------
// scenarios

const num = (l: CgenLine, k: string): number => (typeof l[k] === 'number' ? (l[k] as number) : NaN);
const dist = (l: CgenLine, k: string): Record<string, number> => (l[k] ?? {}) as Record<string, number>;
const reasons = (l: CgenLine, k = 'reasons'): string => {
  const r = Object.entries((l[k] ?? {}) as Record<string, number>);
  return r.length ? ` (${r.map(([why, n]) => `${n} ${why}`).join('; ')})` : '';
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const us = (v: number): string => (v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(0)} µs`);

/** Broker and machine CPU between two instants (% of one core; machine: 100 = all cores). */
function cpuSpan(broker: BrokerHandle): () => { brokerCpu: number; brokerUs: number; machine: number; wallS: number } {
  const b0 = procCpuUs(broker.pid);
  const m0 = machineCpu();
  const t0 = process.hrtime.bigint();
  return () => {
    const b1 = broker.alive() ? procCpuUs(broker.pid) : b0;
    const m1 = machineCpu();
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    return { brokerCpu: ((b1 - b0) / 1e6 / wallS) * 100, brokerUs: b1 - b0, machine: ((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * 100, wallS };
  };
}

const other = (machine: number, ...ours: number[]): number => Math.max(0, machine * os.availableParallelism() - ours.reduce((a, b) => a + b, 0));

/** Run a windowed mode (latency, connect_rate): broker CPU sampled at the generator's window events. */
async function windowed(bin: string, args: readonly string[], broker: BrokerHandle, timeoutMs: number) {
  const p = new CgenProcess(bin, [...args, '--events']);
  try {
    await p.next((l) => l['event'] === 'window_start', timeoutMs);
    const span = cpuSpan(broker);
    await p.next((l) => l['event'] === 'window_end', timeoutMs);
    const cpu = span();
    const result = await p.next((l) => typeof l['mode'] === 'string', timeoutMs);
    await p.done(5000);
    return { result, ...cpu };
  } finally {
    p.kill();
  }
}

export async function cgenLatency(ctx: RunContext, qos: 0 | 1): Promise<Measurement> {
  const { broker, opts, runId } = ctx;
  const bin = await buildCgen();
  const args = ['latency', '--port', String(broker.port), '--rate', String(opts.latencyRate), '--seconds', String(opts.duration), '--warmup', String(opts.warmup)];
  args.push('--qos', String(qos), '--size', String(opts.size), '--topic', `bench/${runId}/latency`, '--prefix', runId);
  const w = await windowed(bin, args, broker, (opts.warmup + opts.duration + 30) * 1000);
  const r = w.result;
  const lat = dist(r, 'latency_us');
  const lag = dist(r, 'send_lag_us');
  const sent = num(r, 'window_sent');
  const loss = sent > 0 ? (num(r, 'lost') / sent) * 100 : 0;
  const gen = num(r, 'cpu_pct');
  return {
    metrics: { rate: num(r, 'received') / opts.duration, pubRate: sent / opts.duration, loss, p50: lat['p50']!, p99: lat['p99']!, p999: lat['p999']!, max: lat['max']!, samples: lat['n']! },
    brokerCpu: w.brokerCpu,
    machine: w.machine,
    other: other(w.machine, w.brokerCpu, gen),
    gen: [{ role: 'cgen', pct: gen }],
    note:
      `C generator: ${sent} sent in the window, ${num(r, 'received')} received, lost ${num(r, 'lost')}, dup ${num(r, 'dup')}${qos ? `, acked ${num(r, 'acked')} of ${num(r, 'sent')}` : ''}, ` +
      `p50 ${us(lat['p50']!)} p90 ${us(lat['p90']!)} p99 ${us(lat['p99']!)} p99.9 ${us(lat['p999']!)} max ${us(lat['max']!)}; send lag p99 ${us(lag['p99']!)} max ${us(lag['max']!)}`,
  };
}

export async function cgenConnectRate(ctx: RunContext, overTls: boolean): Promise<Measurement> {
  const { broker, opts, runId } = ctx;
  const port = overTls ? broker.tlsPort : broker.port;
  if (port === undefined) throw new Error(`${broker.name} has no TLS listener here`);
  const bin = await buildCgen();
  const args = ['connect_rate', '--port', String(port), '--concurrency', String(opts.connectConcurrency), '--seconds', String(opts.duration), '--warmup', String(opts.warmup), '--prefix', runId];
  if (overTls) args.push('--tls', '--cafile', benchCaFile());
  const w = await windowed(bin, args, broker, (opts.warmup + opts.duration + 30) * 1000);
  const r = w.result;
  const gen = num(r, 'cpu_pct');
  const cycles = num(r, 'cycles');
  const lat = dist(r, 'connect_us');
  return {
    metrics: { rate: num(r, 'rate'), errors: num(r, 'failed'), brokerUs: w.brokerUs / Math.max(1, cycles) },
    brokerCpu: w.brokerCpu,
    machine: w.machine,
    other: other(w.machine, w.brokerCpu, gen),
    gen: [{ role: 'cgen', pct: gen }],
    note: `C generator: ${opts.connectConcurrency} in parallel, ${cycles} cycles in the window, ${num(r, 'failed')} failed${reasons(r)}; connect → CONNACK p50 ${us(lat['p50']!)} p99 ${us(lat['p99']!)}; broker ${(w.brokerUs / Math.max(1, cycles)).toFixed(0)} µs CPU per connect`,
  };
}

export interface CgenIdleSpec {
  readonly tls: boolean;
  /** All drop at once and come back (persistent sessions). */
  readonly storm: boolean;
}

/** One generator line per process, combined: counts summed, `seconds` the longest, rate = sum ÷ longest. */
function combined(lines: readonly CgenLine[]): { connected: number; failed: number; seconds: number; rate: number; present: number; cpu: number; worst: CgenLine } {
  let connected = 0;
  let failed = 0;
  let seconds = 0;
  let present = 0;
  let cpu = 0;
  let worst = lines[0]!;
  for (const l of lines) {
    connected += num(l, 'connected');
    failed += num(l, 'failed');
    present += l['session_present'] === undefined ? 0 : num(l, 'session_present');
    cpu += num(l, 'cpu_pct');
    if (num(l, 'seconds') >= seconds) {
      seconds = num(l, 'seconds');
      worst = l;
    }
  }
  return { connected, failed, seconds, rate: seconds > 0 ? connected / seconds : 0, present, cpu, worst };
}

/**
 * `--storm-warmup`: `count` connections made and closed at once by one generator process before
 * the measured storm, then a second for the closes to settle. A fresh broker compiles its connect
 * path while its first storm runs (RESULTS.md issue 15 §24); this measures one that has taken
 * connections before. The note that starts the run's line.
 */
async function warmUp(bin: string, port: number, tls: boolean, count: number, concurrency: number, prefix: string, limit: number): Promise<string> {
  const args = ['connect', '--port', String(port), '--count', String(count), '--concurrency', String(concurrency), '--hold', '0', '--timeout', '60', '--clean', '1', '--prefix', prefix];
  if (tls) args.push('--tls', '--cafile', benchCaFile());
  const p = new CgenProcess(bin, args);
  try {
    const l = await p.next((x) => x['phase'] === 'connect', limit);
    await p.done(30_000);
    await sleep(1000);
    return `warm-up: ${num(l, 'connected')} connected and closed (${num(l, 'failed')} failed${reasons(l)}); `;
  } finally {
    p.kill();
  }
}

/**
 * One window of the bystander probe (from `from` to now) and Ferry's own loop delay over it, into
 * `metrics` as `<key>PingMax`, `<key>PingP99`, `<key>LagMax`, `<key>LagP99`; returns the note's part.
 */
async function bystanderWindow(probe: PingProbe, broker: RunContext['broker'], from: bigint, key: 'storm' | 'drop', what: string, metrics: Record<string, number>): Promise<string> {
  const ping = probe.summary(from, process.hrtime.bigint());
  metrics[`${key}PingMax`] = ping.max;
  metrics[`${key}PingP99`] = ping.p99;
  let note = `; bystander ping ${what} ${probeNote(ping)}`;
  const lag = await scrapeLoopLag(broker);
  if (lag !== null) {
    metrics[`${key}LagMax`] = lag.max;
    metrics[`${key}LagP99`] = lag.p99;
    note += `, broker loop delay ${lagNote(lag)}`;
  }
  return note;
}

/**
 * `--idle-conns` connections from `--storm-processes` generator processes (the count split
 * between them, `--storm-concurrency` connects in flight each), started together: the connect
 * storm's rate (first socket() → last CONNACK of the slowest process; all connections ÷ its
 * time), the broker's CPU per connect, RSS per idle connection; with `storm`, then the reconnect
 * storm. Latency percentiles are the slowest process's. Several processes are for TLS, where
 * one generator process saturates on the client side of the handshakes (RESULTS.md issue 15 §7).
 */
function probeNote(s: ProbeSummary): string {
  return `p50 ${s.p50.toFixed(2)} ms p99 ${s.p99.toFixed(1)} ms max ${s.max.toFixed(1)} ms (${s.pings} pings)`;
}

function lagNote(lag: LoopLag): string {
  return `p99 ${lag.p99.toFixed(1)} ms max ${lag.max.toFixed(1)} ms`;
}

export async function cgenIdle(ctx: RunContext, spec: CgenIdleSpec): Promise<Measurement> {
  const { broker, opts, runId } = ctx;
  const port = spec.tls ? broker.tlsPort : broker.port;
  if (port === undefined) throw new Error(`${broker.name} has no TLS listener here`);
  const bin = await buildCgen();
  const n = Math.max(1, Math.min(opts.stormProcesses, opts.idleConns));
  const argsOf = (i: number): string[] => {
    const count = Math.floor(opts.idleConns / n) + (i < opts.idleConns % n ? 1 : 0);
    const args = ['connect', '--port', String(port), '--count', String(count), '--concurrency', String(opts.stormConcurrency), '--hold-stdin', '--timeout', '60'];
    args.push('--clean', spec.storm ? '0' : '1', '--prefix', n === 1 ? runId : `${runId}-${i}`);
    if (spec.tls) args.push('--tls', '--cafile', benchCaFile());
    return args;
  };
  await sleep(300);
  const inspector = await brokerInspector(broker);
  const ps: CgenProcess[] = [];
  const limit = 300_000;
  const procs = n === 1 ? 'one generator process' : `${n} generator processes`;
  let probe: PingProbe | null = null;
  try {
    const warm = opts.stormWarmup > 0 ? await warmUp(bin, port, spec.tls, opts.stormWarmup, opts.stormConcurrency, `${runId}-warm`, limit) : '';
    const before = await sampleMemory(broker.pid, inspector);
    const span = cpuSpan(broker);
    for (let i = 0; i < n; i++) ps.push(new CgenProcess(bin, argsOf(i)));
    const cs = await Promise.all(ps.map((p) => p.next((l) => l['phase'] === 'connect', limit)));
    const cpu = span();
    const c = combined(cs);
    const connected = c.connected;
    if (!(connected > 0)) throw new Error(`no connection established${cs.map((l) => reasons(l)).join('')}`);
    await sleep(1000);
    const after = await sampleMemory(broker.pid, inspector);
    const gen = c.cpu;
    const lat = dist(c.worst, 'connect_us');
    const brokerUs = cpu.brokerUs / connected;
    const metrics: Record<string, number> = {
      rate: c.rate,
      brokerUs,
      ...perConnection(before, after, connected),
      connected,
      setupRate: c.rate,
    };
    let note =
      warm +
      `C generator (${procs}): ${connected} connected, ${c.failed} failed${cs.map((l) => reasons(l)).join('')} in ${c.seconds.toFixed(2)} s (${opts.stormConcurrency} in flight${n === 1 ? '' : ' each'}${spec.tls ? ', TLS' : ''}), ` +
      `connect → CONNACK p50 ${us(lat['p50']!)} p99 ${us(lat['p99']!)} max ${us(lat['max']!)}, broker ${brokerUs.toFixed(0)} µs CPU per connect, ` +
      memoryNote(before, after);
    if (spec.storm) {
      // A bystander pinging through the broker: how long the drop and the storm keep others waiting.
      probe = await PingProbe.open(port, `${runId}-probe`);
      await sleep(200);
      await scrapeLoopLag(broker); // opens Ferry's loop-delay window
      const stormSpan = cpuSpan(broker);
      const dropAt = process.hrtime.bigint();
      for (const p of ps) p.send('storm');
      const ss = await Promise.all(ps.map((p) => p.next((l) => l['phase'] === 'storm', limit)));
      const sc = stormSpan();
      note += await bystanderWindow(probe, broker, dropAt, 'storm', 'during the drop and storm', metrics);
      const s = combined(ss);
      const back = s.connected;
      Object.assign(metrics, { rate: s.rate, seconds: s.seconds, back, present: s.present, brokerUs: sc.brokerUs / Math.max(1, back) });
      const sl = dist(s.worst, 'connect_us');
      note +=
        `; all dropped at once: ${back} back (${s.failed} failed${ss.map((l) => reasons(l)).join('')}, ${s.present} session present) in ${s.seconds.toFixed(2)} s, ` +
        `reconnect p50 ${us(sl['p50']!)} max ${us(sl['max']!)}, broker ${(sc.brokerUs / Math.max(1, back)).toFixed(0)} µs CPU per reconnect, generator ${s.cpu.toFixed(0)}%`;
    }
    if (probe !== null) await scrapeLoopLag(broker);
    const endAt = process.hrtime.bigint();
    for (const p of ps) p.send('end');
    const holds = await Promise.all(ps.map((p) => p.next((l) => l['phase'] === 'hold', 30_000)));
    const dropped = holds.reduce((sum, h) => sum + num(h, 'dropped'), 0);
    if (dropped > 0) note += `; ${dropped} dropped while idle${holds.map((h) => reasons(h, 'drop_reasons')).join('')}`;
    await Promise.all(ps.map((p) => p.done(30_000)));
    if (probe !== null) {
      // Every connection closed at once, nobody coming back: the mass disconnect alone.
      await sleep(1500);
      note += await bystanderWindow(probe, broker, endAt, 'drop', 'during the final mass drop', metrics);
      probe.close();
    }
    return { metrics, brokerCpu: cpu.brokerCpu, machine: cpu.machine, other: other(cpu.machine, cpu.brokerCpu, gen), gen: ps.map((_, i) => ({ role: n === 1 ? 'cgen' : `cgen${i + 1}`, pct: num(cs[i]!, 'cpu_pct') })), note };
  } finally {
    for (const p of ps) p.kill();
    probe?.close();
    inspector?.close();
  }
}
