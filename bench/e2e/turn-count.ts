/**
 * What one message costs a broker at a steady rate, counted per thread: CPU, context switches,
 * migrations between CPUs, wake-ups it issued, and its system calls by kind; and how often the
 * broker's main thread shared a CPU with the generator's publisher and subscriber threads. Starts each broker as
 * the harness does, runs the C generator's `latency` mode against it, and counts a window with
 * `perf stat --per-thread` (kernel counters and tracepoints: cheap enough not to change what it
 * counts, where `strace -f` slowed a broker at 10k msg/s until messages queued for seconds).
 *
 *   node dist/bench/e2e/turn-count.js --brokers ferry,ferry-base,mosquitto [--ferry-cli P] \
 *     [--baseline-cli P] [--qos 0,1] [--rate 10000] [--seconds 3] [--pin same|split]
 *
 * A measurement: run it under `/work/tools/cpu quiet` like any benchmark. (bench/RESULTS.md issue 15 §15a.)
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ferryCli, killAllBrokers, startBroker, type BrokerName } from './brokers.js';
import { buildCgen } from './cgen.js';

const argv = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = argv.indexOf(name);
  return i < 0 ? def : (argv[i + 1] ?? def);
};
const brokers = opt('--brokers', 'ferry,mosquitto').split(',') as BrokerName[];
const qosList = opt('--qos', '0,1').split(',').map(Number);
const rate = Number(opt('--rate', '10000'));
const seconds = Number(opt('--seconds', '3'));
if (argv.includes('--ferry-cli')) ferryCli.ferry = path.resolve(opt('--ferry-cli', ''));
if (argv.includes('--baseline-cli')) ferryCli['ferry-base'] = path.resolve(opt('--baseline-cli', ''));

/** `same`: broker and generator on CPU 0; `split`: broker on CPU 1, generator on CPU 0 (taskset); default: the kernel places them. */
const pin = opt('--pin', '');
if (pin !== '' && pin !== 'same' && pin !== 'split') throw new Error('--pin takes same or split');
const pct = (n: number, of: number): string => `${of === 0 ? '-' : Math.round((100 * n) / of)} %`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface ThreadSample {
  comm: string;
  voluntary: number;
  involuntary: number;
}

function threads(pid: number): Map<number, ThreadSample> {
  const out = new Map<number, ThreadSample>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const base = `/proc/${pid}/task/${tid}`;
      const status = fs.readFileSync(`${base}/status`, 'utf8');
      out.set(Number(tid), {
        comm: fs.readFileSync(`${base}/comm`, 'utf8').trim(),
        voluntary: Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1]),
        involuntary: Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1]),
      });
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return out;
}

/** The CPU a thread last ran on (/proc/PID/task/TID/stat field 39), or -1 once it is gone. */
function lastCpu(pid: number, tid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[36]);
  } catch {
    return -1;
  }
}

/**
 * Every 5 ms until stopped: is the broker's main thread on the CPU the generator's publisher
 * (its main thread) last ran on, and on the subscriber's (its other thread)? On a 2-vCPU VM a
 * message whose three threads share one vCPU needs no cross-CPU wake-up (an IPI to a halted vCPU);
 * that, more than anything the broker does per message, decided the p50 here (RESULTS §15a).
 */
function samplePlacement(brokerPid: number, genPid: number): () => { samples: number; withPub: number; withSub: number } {
  const subTid = Number(fs.readdirSync(`/proc/${genPid}/task`).find((t) => Number(t) !== genPid));
  let samples = 0;
  let withPub = 0;
  let withSub = 0;
  const timer = setInterval(() => {
    const b = lastCpu(brokerPid, brokerPid);
    const p = lastCpu(genPid, genPid);
    const s = lastCpu(genPid, subTid);
    if (b < 0 || p < 0 || s < 0) return;
    samples++;
    if (b === p) withPub++;
    if (b === s) withSub++;
  }, 5);
  return () => {
    clearInterval(timer);
    return { samples, withPub, withSub };
  };
}

/** perf stat --per-thread events: CPU, scheduling, and the system calls that matter on this path. */
const EVENTS = [
  'task-clock',
  'context-switches',
  'cpu-migrations',
  'sched:sched_wakeup',
  'raw_syscalls:sys_enter',
  ...['epoll_pwait', 'epoll_wait', 'epoll_ctl', 'read', 'write', 'readv', 'writev', 'recvfrom', 'sendto', 'futex', 'pwrite64', 'rt_sigprocmask', 'mprotect', 'madvise', 'mmap', 'munmap'].map((c) => `syscalls:sys_enter_${c}`),
];
const SHORT: Record<string, string> = { 'task-clock': 'CPU µs', 'context-switches': 'cs', 'cpu-migrations': 'migr', 'sched:sched_wakeup': 'wakes issued', 'raw_syscalls:sys_enter': 'syscalls' };

/** tid → event → count, from `perf stat --per-thread -x,` (task-clock in ms). */
function parsePerf(text: string): Map<number, Map<string, number>> {
  const out = new Map<number, Map<string, number>>();
  for (const line of text.split('\n')) {
    const f = line.split(',');
    const tid = Number(/-(\d+)$/.exec(f[0] ?? '')?.[1]);
    const count = Number(f[1]);
    if (!Number.isFinite(tid) || !Number.isFinite(count) || f[3] === undefined) continue;
    let m = out.get(tid);
    if (m === undefined) out.set(tid, (m = new Map()));
    m.set(f[3], count);
  }
  return out;
}

async function measure(name: BrokerName, qos: number, cgen: string, workDir: string): Promise<void> {
  const broker = await startBroker(name, workDir);
  // -a: every thread the broker has now; threads it starts later inherit the mask.
  if (pin !== '') execFileSync('taskset', ['-a', '-p', '-c', pin === 'same' ? '0' : '1', String(broker.pid)], { stdio: 'ignore' });
  const genArgs = ['latency', '--port', String(broker.port), '--rate', String(rate), '--seconds', String(seconds + 1), '--warmup', '1', '--qos', String(qos)];
  const gen = spawn(pin === '' ? cgen : 'taskset', pin === '' ? genArgs : ['-c', '0', cgen, ...genArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  let genOut = '';
  gen.stdout.on('data', (d: Buffer) => (genOut += d.toString()));
  const genDone = new Promise<void>((r) => gen.on('exit', () => r()));
  try {
    await sleep(1500);
    const a = threads(broker.pid);
    const placement = samplePlacement(broker.pid, gen.pid!);
    const perf = spawn('perf', ['stat', '--per-thread', '-x,', '-p', String(broker.pid), '-e', EVENTS.join(','), '--', 'sleep', String(seconds)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let perfOut = '';
    perf.stderr.on('data', (d: Buffer) => (perfOut += d.toString()));
    await new Promise((r) => perf.on('exit', r));
    const b = threads(broker.pid);
    const placed = placement();
    await genDone;
    const msgs = rate * seconds;
    const counts = parsePerf(perfOut);
    const shown = EVENTS.filter((e) => [...counts.values()].some((m) => (m.get(e) ?? 0) > 0));
    const r = JSON.parse(genOut.trim().split('\n').at(-1) ?? '{}') as { latency_us?: { p50: number; p99: number; p999: number }; lost?: number; cpu_pct?: number };
    console.log(`\n## ${name}, QoS ${qos}, ${rate} msg/s: per message over ${seconds} s (perf stat --per-thread; involuntary cs from /proc)`);
    console.log(`generator: p50 ${r.latency_us?.p50} µs, p99 ${r.latency_us?.p99} µs, p99.9 ${r.latency_us?.p999} µs, lost ${r.lost}, its CPU ${r.cpu_pct} %; broker's main thread on the publisher's CPU in ${pct(placed.withPub, placed.samples)}, on the subscriber's in ${pct(placed.withSub, placed.samples)} of ${placed.samples} samples`);
    const head = ['thread', ...shown.map((e) => SHORT[e] ?? e.replace('syscalls:sys_enter_', '')), 'preempted'];
    console.log(`| ${head.join(' | ')} |\n|---|${head.slice(1).map(() => '---:').join('|')}|`);
    const total = new Map<string, number>();
    for (const [tid, m] of [...counts].sort((x, y) => (y[1].get('task-clock') ?? 0) - (x[1].get('task-clock') ?? 0))) {
      if (![...m.values()].some((v) => v > 0)) continue;
      const s0 = a.get(tid);
      const s1 = b.get(tid);
      const label = `${s1?.comm ?? s0?.comm ?? '?'} ${tid === broker.pid ? '(main)' : `(${tid})`}`;
      const cells = shown.map((e) => {
        const v = (m.get(e) ?? 0) * (e === 'task-clock' ? 1000 : 1);
        total.set(e, (total.get(e) ?? 0) + v);
        return (v / msgs).toFixed(e === 'task-clock' ? 2 : 3);
      });
      const pre = s0 && s1 ? ((s1.involuntary - s0.involuntary) / msgs).toFixed(3) : '';
      console.log(`| ${label} | ${cells.join(' | ')} | ${pre} |`);
    }
    console.log(`| all threads | ${shown.map((e) => ((total.get(e) ?? 0) / msgs).toFixed(e === 'task-clock' ? 2 : 3)).join(' | ')} | |`);
  } finally {
    gen.kill('SIGKILL');
    await broker.stop();
  }
}

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'turn-count-'));
process.on('SIGINT', () => {
  killAllBrokers();
  process.exit(130);
});
const cgen = await buildCgen();
console.log(`# turn-count ${new Date().toISOString()}: ${os.cpus()[0]?.model ?? ''}, ${os.cpus().length} CPUs; ferry=${ferryCli.ferry} ferry-base=${ferryCli['ferry-base']}`);
for (const qos of qosList) for (const name of brokers) await measure(name, qos, cgen, workDir);
fs.rmSync(workDir, { recursive: true, force: true });
