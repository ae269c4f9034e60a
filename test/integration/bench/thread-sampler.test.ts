/**
 * The drain's per-thread CPU sampler (bench/cgen/thread-sampler.c, read by bench/e2e/thread-cpu.ts):
 * built with the system compiler and run against a real Node process whose worker thread spins
 * while its main thread sleeps; the worker's CPU must land on the worker's kind, not on main.
 * The interpolation between samples is checked on sampler output written by hand.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseSamples, phaseCpu, ThreadSampler } from '../../../bench/e2e/thread-cpu.js';
import { tempDir } from '../../helpers/index.js';

const buildDir = tempDir({ after }, 'thread-sampler-');

test('bench thread sampler - a worker thread that spins is counted as the first worker, its main thread as idle', async (t) => {
  // The child starts one worker_thread (an event loop, like Ferry's store thread), which waits for
  // "go", spins 300 ms and reports; the main thread only waits meanwhile.
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { Worker } from 'node:worker_threads';
       const w = new Worker("import { parentPort } from 'node:worker_threads'; parentPort.on('message', () => { const end = Date.now() + 300; while (Date.now() < end); parentPort.postMessage('done'); });", { eval: true });
       w.on('online', () => process.stdout.write('ready\\n'));
       process.stdin.on('data', () => w.postMessage('go'));
       w.on('message', () => { process.stdout.write('done\\n'); setTimeout(() => process.exit(0), 50); });`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  t.after(() => child.kill('SIGKILL'));
  const lines: string[] = [];
  let wake: (() => void) | null = null;
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    lines.push(...s.split('\n').filter(Boolean));
    wake?.();
  });
  const until = async (line: string): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!lines.includes(line)) {
      assert.ok(Date.now() < deadline, `child said ${line}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
  };
  await until('ready');
  await new Promise((r) => setTimeout(r, 200)); // let the worker settle in its event loop's wait
  const pid = child.pid!;
  const sampler = await ThreadSampler.start([pid], [pid], 2000, join(buildDir, 'ferry-thread-sampler'));
  await new Promise((r) => setTimeout(r, 50));
  const from = Number(process.hrtime.bigint());
  child.stdin.write('go\n');
  await until('done');
  const to = Number(process.hrtime.bigint());
  const samples = await sampler.stop();

  const threads = samples.get(pid) ?? [];
  assert.ok(threads.length >= 3, `threads seen: ${threads.length}`);
  assert.deepEqual(threads.filter((s) => s.kind === 'main').map((s) => s.tid), [pid], 'the main thread is the process id');
  assert.equal(threads.filter((s) => s.kind === 'store').length, 1, `one worker event loop: ${threads.map((s) => `${s.tid}:${s.kind}`).join(' ')}`);
  const cpu = phaseCpu(samples, pid, from, to);
  const worker = cpu.store ?? 0;
  const main = cpu.main ?? 0;
  // On a loaded machine the spin may get less than its 300 ms of wall time; it still dwarfs main.
  assert.ok(worker > 60 && worker < 400, `worker thread ran ${worker.toFixed(1)} ms of the 300 ms spin`);
  assert.ok(main < worker / 3, `main ${main.toFixed(1)} ms while the worker spun ${worker.toFixed(1)} ms`);
  const waited = phaseCpu(samples, pid, from, to, true);
  assert.ok((waited.store ?? 0) >= 0, 'waiting time is counted, never negative');
});

test('bench thread sampler - run time between two instants is interpolated between the samples around them', () => {
  // Process 10 (a Node process): main 10, delayed-task 11, V8 workers 12-15, watcher 16, pool 17,
  // then two event loops (epoll_pwait, 281): store 18, trace 19. Process 20: not Node.
  const text = [
    'T 10 10 281', 'T 10 11 281', 'T 10 12 202', 'T 10 13 202', 'T 10 14 202', 'T 10 15 202', 'T 10 16 202',
    'T 10 17 202', 'T 10 18 281', 'T 10 19 232', 'T 20 20 -1', 'T 20 21 202',
    // t (ns), pid, tid, run ns, wait ns: main runs 1 ms per 1 ms sample, the store 0.5 ms, others not
    ...[0, 1, 2].flatMap((i) => [
      `${i * 1e6} 10 10 ${i * 1e6} 0`,
      `${i * 1e6} 10 18 ${i * 5e5} ${i * 1e5}`,
      `${i * 1e6} 10 19 7 0`,
      `${i * 1e6} 20 21 ${i * 2e6} 0`,
    ]),
  ].join('\n');
  const samples = parseSamples(text, new Set([10]));
  const kinds = Object.fromEntries((samples.get(10) ?? []).map((s) => [s.tid, s.kind]));
  assert.deepEqual(kinds, { 10: 'main', 11: 'platform', 12: 'v8', 13: 'v8', 14: 'v8', 15: 'v8', 16: 'other', 17: 'pool', 18: 'store', 19: 'trace' });
  assert.deepEqual((samples.get(20) ?? []).map((s) => s.kind), ['main', 'main'], 'a process that is not Node is one kind');
  const cpu = phaseCpu(samples, 10, 0.5e6, 1.75e6);
  assert.ok(Math.abs(cpu.main! - 1.25) < 1e-9, `main ${cpu.main}`);
  assert.ok(Math.abs(cpu.store! - 0.625) < 1e-9, `store ${cpu.store}`);
  assert.equal(cpu.trace, 0);
  assert.ok(Math.abs(phaseCpu(samples, 10, 0, 2e6, true).store! - 0.2) < 1e-9, 'waiting time, ms');
  assert.equal(phaseCpu(samples, 20, 0, 5e6).main, 4, 'past the last sample: the last value');
});
