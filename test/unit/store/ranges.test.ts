import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consecutiveRuns } from '../../../src/store/sqlite/ranges.js';

test('consecutive runs: long runs become ranges, everything else stays a list, no key lost or doubled', () => {
  assert.deepEqual(consecutiveRuns([]), { runs: [], rest: [] });
  assert.deepEqual(consecutiveRuns([5], 1), { runs: [[5, 5]], rest: [] });
  // 10..29, a gap (another session's seqs), 40..44 (too short), 50..70, then keys out of order.
  const keys = [...range(10, 29), ...range(40, 44), ...range(50, 70), 3, 2, 100];
  assert.deepEqual(consecutiveRuns(keys, 16), {
    runs: [[10, 29], [50, 70]],
    rest: [40, 41, 42, 43, 44, 3, 2, 100],
  });
  // A descending or repeated key breaks a run: ranges never cover a key that is not listed.
  assert.deepEqual(consecutiveRuns([1, 2, 3, 3, 4, 5], 3), { runs: [[1, 3], [3, 5]], rest: [] });
  assert.deepEqual(consecutiveRuns([4, 3, 2, 1], 2), { runs: [], rest: [4, 3, 2, 1] });
});

test('consecutive runs: every range holds exactly listed keys (random lists)', () => {
  let seed = 7;
  const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  for (let round = 0; round < 200; round++) {
    const keys: number[] = [];
    let key = random(100);
    for (let i = random(300); i > 0; i--) keys.push((key += random(4) === 0 ? random(5) - 1 : 1));
    const minRun = 1 + random(20);
    const { runs, rest } = consecutiveRuns(keys, minRun);
    const covered = runs.flatMap(([first, last]) => {
      assert.ok(last - first + 1 >= minRun, 'a run is at least minRun long');
      return range(first, last);
    });
    assert.deepEqual([...covered, ...rest].sort((a, b) => a - b), [...keys].sort((a, b) => a - b));
  }
});

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}
