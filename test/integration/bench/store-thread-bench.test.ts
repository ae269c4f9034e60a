/**
 * bench/store-thread.bench.ts drives the SQLite engine as the store thread does; it rests on the
 * engine's page layout and on what a drain leaves for reclaiming, so it broke silently when
 * those changed. Run small here: both parts must finish (the drain leaves no entry and, once
 * reclaimed, no row) and print a cost per message.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';

const bench = fileURLToPath(new URL('../../../bench/store-thread.bench.js', import.meta.url));

test('bench store-thread - a small drain and outbox run to the end and report CPU per message', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [bench, '--rounds', '1', '--backlog', '3000', '--appends', '3000'],
    { timeout: 120_000 },
  );
  assert.match(stdout, /drain {2}round 1: [\d.]+ µs CPU\/msg \(page read [\d.]+, apply [\d.]+, commit [\d.]+ µs\/msg; reclaimed after: [\d.]+ µs\/msg\)/);
  assert.match(stdout, /outbox round 1: [\d.]+ µs CPU\/entry/);
});
