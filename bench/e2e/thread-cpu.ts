/**
 * CPU per thread over the phases of a measurement (`backlog_drain` with BENCH_DRAIN_THREADS=DIR,
 * bench/README.md): `bench/cgen/thread-sampler.c`, compiled on demand like the C generator, samples
 * every thread's run time (schedstat, ns) of the broker and the subscriber worker every few ms;
 * `phaseCpu` gives the ms each kind of thread ran between two instants, interpolated between the
 * samples around them.
 *
 * Thread kinds of a Node process, by creation order (tid order) and what each waits in when the
 * sampler first sees it: the main thread; V8's platform: its delayed-task thread, then its
 * worker threads (`v8`: compile jobs, GC helpers; 4 unless --v8-pool-size); Node's SIGUSR1
 * watcher; then, in any order, libuv's pool (`pool`, waiting on a futex) and the worker_threads
 * (each has its own event loop, so it waits in epoll): Ferry opens its store before its trace
 * writer (src/server.ts), so the first is `store`, the second `trace`, others `worker`.
 * Any other process (Mosquitto) is one kind, `main`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { buildCgen } from './cgen.js';
import { repoRoot } from './brokers.js';

const SOURCE = path.join(repoRoot, 'bench', 'cgen', 'thread-sampler.c');
const BINARY = path.join(repoRoot, 'dist', 'bench', 'cgen', 'ferry-thread-sampler');
/** syscall numbers (x86_64) of an event loop's wait: epoll_wait, epoll_pwait, epoll_pwait2. */
const EPOLL = new Set([232, 281, 441]);
const V8_POOL = 4;

export type ThreadKind = 'main' | 'v8' | 'platform' | 'store' | 'trace' | 'worker' | 'pool' | 'other';

interface Sampled {
  readonly pid: number;
  readonly tid: number;
  kind: ThreadKind;
  readonly t: number[];
  /** Run time so far, ns. */
  readonly ns: number[];
  /** Time runnable but waiting for a core so far, ns. */
  readonly waitNs: number[];
}

/** A running sampler; `stop()` ends it and returns every thread's samples, classified. */
export class ThreadSampler {
  private readonly out: string[] = [];
  private readonly done: Promise<void>;

  private constructor(private readonly proc: ChildProcess, private readonly nodePids: ReadonlySet<number>) {
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => this.out.push(s));
    this.done = new Promise((resolve) => proc.once('exit', () => resolve()));
  }

  /**
   * Sample `pids` every `intervalUs`; `nodePids` are the Node processes among them. `binary`: where
   * the sampler is built (tests build their own).
   */
  static async start(pids: readonly number[], nodePids: readonly number[], intervalUs = 5000, binary = BINARY): Promise<ThreadSampler> {
    const bin = await buildCgen(binary, process.env['CC'] ?? 'cc', SOURCE);
    const proc = spawn(bin, [String(intervalUs), ...pids.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
    return new ThreadSampler(proc, new Set(nodePids));
  }

  async stop(): Promise<ThreadSamples> {
    this.proc.kill('SIGTERM');
    await this.done;
    return parseSamples(this.out.join(''), this.nodePids);
  }
}

/** Every thread's samples, by pid. */
export type ThreadSamples = ReadonlyMap<number, readonly Sampled[]>;

export function parseSamples(text: string, nodePids: ReadonlySet<number>): ThreadSamples {
  const byTid = new Map<number, Sampled>();
  const waits = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const f = line.split(' ');
    if (f[0] === 'T') {
      const pid = Number(f[1]);
      const tid = Number(f[2]);
      waits.set(tid, Number(f[3]));
      byTid.set(tid, { pid, tid, kind: 'other', t: [], ns: [], waitNs: [] });
      continue;
    }
    const s = byTid.get(Number(f[2]));
    if (s === undefined) continue;
    s.t.push(Number(f[0]));
    s.ns.push(Number(f[3]));
    s.waitNs.push(Number(f[4]));
  }
  const byPid = new Map<number, Sampled[]>();
  for (const s of byTid.values()) {
    const list = byPid.get(s.pid) ?? [];
    list.push(s);
    byPid.set(s.pid, list);
  }
  for (const [pid, list] of byPid) {
    list.sort((a, b) => a.tid - b.tid);
    if (!nodePids.has(pid)) {
      for (const s of list) s.kind = 'main';
      continue;
    }
    let loops = 0;
    list.forEach((s, i) => {
      const loop = EPOLL.has(waits.get(s.tid) ?? -1);
      if (s.tid === pid) s.kind = 'main';
      else if (i === 1) s.kind = 'platform';
      else if (i >= 2 && i < 2 + V8_POOL) s.kind = 'v8';
      else if (i === 2 + V8_POOL && !loop) s.kind = 'other'; // Node's SIGUSR1 watcher
      else if (loop) s.kind = (['store', 'trace'] as const)[loops++] ?? 'worker';
      else s.kind = 'pool';
    });
  }
  return byPid;
}

/** A thread's run time (or wait time) in ns at `t`, interpolated between the samples around it. */
function at(s: Sampled, t: number, ns = s.ns): number {
  const ts = s.t;
  if (ts.length === 0) return 0;
  if (t <= ts[0]!) return ns[0]!;
  for (let i = 1; i < ts.length; i++) {
    if (ts[i]! >= t) {
      const f = (t - ts[i - 1]!) / (ts[i]! - ts[i - 1]!);
      return ns[i - 1]! + f * (ns[i]! - ns[i - 1]!);
    }
  }
  return ns[ns.length - 1]!;
}

/**
 * ms of CPU per thread kind of process `pid` between monotonic instants `from` and `to` (ns); with
 * `waiting`, the ms its threads were runnable but had no core instead.
 */
export function phaseCpu(samples: ThreadSamples, pid: number, from: number, to: number, waiting = false): Partial<Record<ThreadKind, number>> {
  const out: Partial<Record<ThreadKind, number>> = {};
  for (const s of samples.get(pid) ?? []) {
    const series = waiting ? s.waitNs : s.ns;
    const ms = (at(s, to, series) - at(s, from, series)) / 1e6;
    out[s.kind] = (out[s.kind] ?? 0) + ms;
  }
  return out;
}

/** "main 80, store 21, ..." in a fixed order, kinds under 0.5 ms left out; total first. */
export function formatCpu(cpu: Partial<Record<ThreadKind, number>>): string {
  const order: ThreadKind[] = ['main', 'store', 'trace', 'v8', 'platform', 'pool', 'worker', 'other'];
  const total = order.reduce((a, k) => a + (cpu[k] ?? 0), 0);
  const parts = order.filter((k) => (cpu[k] ?? 0) >= 0.5).map((k) => `${k} ${(cpu[k] ?? 0).toFixed(0)}`);
  return `${total.toFixed(0)} ms (${parts.join(', ')})`;
}
