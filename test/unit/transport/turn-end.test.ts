import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { atTurnEnd, endOwnTurn, ownTurn } from '../../../src/transport/turn-end.js';

/** Runs `body` with process.nextTick counted (ticks still run); `ticks()` tells how many so far. */
function countingNextTicks(body: (ticks: () => number) => void): void {
  let n = 0;
  const realNextTick = process.nextTick;
  process.nextTick = ((fn: (...a: unknown[]) => void, ...args: unknown[]) => {
    n++;
    realNextTick(fn, ...args);
  }) as typeof process.nextTick;
  try {
    body(() => n);
  } finally {
    process.nextTick = realNextTick;
  }
}

test('turn end - jobs run in order after the turn\'s code and before I/O, in one tick; a job queued by a job runs in the same turn', async () => {
  const seen: string[] = [];
  countingNextTicks((ticks) => {
    atTurnEnd(() => seen.push('a'));
    atTurnEnd(() => {
      seen.push('b');
      atTurnEnd(() => seen.push('d'));
    });
    atTurnEnd(() => seen.push('c'));
    seen.push('sync');
    assert.equal(ticks(), 1, 'three jobs, one process.nextTick');
  });
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, ['sync', 'a', 'b', 'c', 'd']);

  // The next turn queues a tick of its own again.
  atTurnEnd(() => seen.push('e'));
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(seen.slice(5), ['e']);
});

test('turn end - a job that throws: the error reaches the process, the jobs after it still run, later turns work', async () => {
  const moduleUrl = new URL('../../../src/transport/turn-end.js', import.meta.url).href;
  const script = `
    const { atTurnEnd } = await import(${JSON.stringify(moduleUrl)});
    const seen = [];
    process.on('uncaughtException', (e) => seen.push('error:' + e.message));
    atTurnEnd(() => seen.push('a'));
    atTurnEnd(() => { throw new Error('boom'); });
    atTurnEnd(() => seen.push('c'));
    setImmediate(() => {
      atTurnEnd(() => seen.push('next turn'));
      setImmediate(() => console.log(JSON.stringify(seen)));
    });
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('.', import.meta.url)) });
  assert.deepEqual(JSON.parse(stdout), ['a', 'error:boom', 'c', 'next turn']);
});

test('turn end - a callback that owns the turn runs its jobs at endOwnTurn, with no tick; a nested owner does not end it; a job queued after the end gets a tick', async () => {
  const seen: string[] = [];
  countingNextTicks((ticks) => {
    assert.equal(ownTurn(), true);
    atTurnEnd(() => seen.push('a'));
    assert.equal(ownTurn(), false, 'already owned');
    atTurnEnd(() => {
      seen.push('b');
      atTurnEnd(() => seen.push('c'));
    });
    seen.push('sync');
    endOwnTurn();
    assert.deepEqual(seen, ['sync', 'a', 'b', 'c'], 'run by endOwnTurn, a job queued by a job included');
    assert.equal(ticks(), 0, 'no tick while the turn is owned');
    endOwnTurn(); // nothing queued: nothing runs
    atTurnEnd(() => seen.push('after'));
    assert.equal(ticks(), 1, 'once the owner ended, a job gets a tick again');
  });
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(seen.slice(4), ['after']);
});

test('turn end - a job that throws at endOwnTurn: the error reaches the owner, the jobs after it run in a tick', async () => {
  const seen: string[] = [];
  ownTurn();
  atTurnEnd(() => seen.push('a'));
  atTurnEnd(() => {
    throw new Error('boom');
  });
  atTurnEnd(() => seen.push('c'));
  assert.throws(() => endOwnTurn(), /boom/);
  assert.deepEqual(seen, ['a']);
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, ['a', 'c']);
  atTurnEnd(() => seen.push('next'));
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, ['a', 'c', 'next']);
});
