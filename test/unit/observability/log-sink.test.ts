/**
 * The stdout log sink (src/observability/log-limits.ts) over a real pipe to a child process whose
 * reader is slow: the last lines before an exit arrive whole and in order, and lines beyond the
 * buffer are dropped and counted, never blocking the writer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

const SINK_MODULE = new URL('../../../src/observability/log-limits.js', import.meta.url).href;

interface ChildOutput {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `body` (an ES module body with `createLogSink` in scope) with stdout a pipe nobody reads for `stallMs`. */
async function runWithStalledReader(body: string, stallMs: number): Promise<ChildOutput> {
  const script = `import { createLogSink } from ${JSON.stringify(SINK_MODULE)};\n${body}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  // A listener first (so the exit does not discard what is unread), then paused: the pipe fills
  // and the child's writes wait.
  const chunks: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => chunks.push(b)).pause();
  await sleep(stallMs);
  child.stdout.resume();
  const code = await exited;
  return { code, stdout: Buffer.concat(chunks).toString('utf8'), stderr };
}

test('log sink: a planned exit waits for the line in flight, so the last lines arrive whole and in order', async () => {
  const big = 1 << 20; // far more than a pipe holds: this write is still in flight at the exit
  const { code, stdout, stderr } = await runWithStalledReader(
    `const sink = createLogSink(8 << 20, 1);
     process.on('exit', () => sink.flush());
     sink.stream.write('A'.repeat(${big}) + '\\n');
     sink.stream.write('stopping\\n');
     sink.stream.write('stopped\\n');
     await sink.settled(10_000);
     process.exit(0);`,
    300,
  );
  assert.equal(code, 0, stderr);
  const lines = stdout.split('\n');
  assert.deepEqual(
    lines.map((l) => (l.startsWith('A') ? `A×${l.length}` : l)),
    [`A×${big}`, 'stopping', 'stopped', ''],
  );
});

test('log sink: settled gives up after its timeout when the reader does not read', async () => {
  const { code, stderr } = await runWithStalledReader(
    `const sink = createLogSink(8 << 20, 1);
     sink.stream.write('A'.repeat(1 << 20) + '\\n');
     const t0 = Date.now();
     await sink.settled(200);
     process.stderr.write('waited ' + (Date.now() - t0) + '\\n');
     process.exit(0);`,
    1500,
  );
  assert.equal(code, 0, stderr);
  const waited = Number(/waited (\d+)/.exec(stderr)?.[1]);
  assert.ok(waited >= 190 && waited < 1000, `settled waited ${waited} ms`);
});

test('log sink: lines beyond the buffer are dropped and counted, the rest arrive in order', async () => {
  const { code, stdout, stderr } = await runWithStalledReader(
    `const sink = createLogSink(64 << 10, 1);
     let reported = 0;
     sink.onDrop = (n) => (reported += n);
     process.on('exit', () => sink.flush());
     const line = (i) => String(i).padStart(6, '0') + ' ' + 'x'.repeat(1000) + '\\n';
     const t0 = Date.now();
     for (let i = 0; i < 2000; i++) sink.stream.write(line(i));
     const wrote = Date.now() - t0;
     await sink.settled(10_000);
     process.stderr.write(JSON.stringify({ dropped: sink.dropped(), reported, wrote }) + '\\n');
     process.exit(0);`,
    300,
  );
  assert.equal(code, 0, stderr);
  const report = JSON.parse(stderr.trim().split('\n').at(-1) ?? '{}') as { dropped: number; reported: number; wrote: number };
  const received = stdout.split('\n').filter((l) => l !== '').map((l) => Number(l.slice(0, 6)));
  assert.ok(report.dropped > 0, 'a 2 MB burst into a 64 KB buffer drops lines');
  assert.equal(report.reported, report.dropped);
  assert.equal(received.length + report.dropped, 2000, 'every line arrived or was counted as dropped');
  assert.ok(received.every((n, i) => i === 0 || n > received[i - 1]!), 'lines arrive in order');
  assert.ok(report.wrote < 250, `the writer never waited for the reader (${report.wrote} ms for 2,000 lines)`);
});
