/** The trace writer's summaries of the open block: one flat array, read back per channel as a map of arrays would give them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BlockSummaries } from '../../../src/observability/traces/block-summaries.js';

type Row = readonly [channel: number, batch: number, first: number, last: number, devices: number, messages: number];

/** What the writer kept before: channel → BLOCK_ENTRY values per batch, channels ascending. */
function byMap(rows: readonly Row[]): Array<[number, number[]]> {
  const m = new Map<number, number[]>();
  for (const [channel, ...entry] of rows) {
    let e = m.get(channel);
    if (e === undefined) m.set(channel, (e = []));
    e.push(...entry);
  }
  return [...m].sort((a, b) => a[0] - b[0]);
}

function read(s: BlockSummaries): Array<[number, number[]]> {
  const out: Array<[number, number[]]> = [];
  s.forEachChannel((channel, entries) => out.push([channel, [...entries]]));
  return out;
}

const row = fc.tuple(
  fc.integer({ min: 1, max: 40 }),
  fc.integer({ min: 0, max: 1_000_000 }),
  fc.double({ noNaN: true, min: 0, max: 2e12 }),
  fc.double({ noNaN: true, min: 0, max: 2e12 }),
  fc.nat(1000),
  fc.nat(100_000),
) as fc.Arbitrary<Row>;

test('traces - block summaries give each channel its entries in the order added, channels ascending, as a map of arrays did', () => {
  fc.assert(
    fc.property(fc.array(fc.array(row, { maxLength: 700 }), { minLength: 1, maxLength: 3 }), (blocks) => {
      const s = new BlockSummaries(); // reused across blocks, as the writer does
      for (const rows of blocks) {
        for (const r of rows) s.add(...r);
        assert.equal(s.size, rows.length);
        assert.deepEqual([...s.channels()].sort((a, b) => a - b), [...new Set(rows.map((r) => r[0]))].sort((a, b) => a - b));
        assert.deepEqual(read(s), byMap(rows));
        s.clear();
        assert.equal(s.size, 0);
        assert.deepEqual(read(s), []);
      }
    }),
    { numRuns: 200 },
  );
});

test('traces - block summaries hold a connected client in one 48-byte row, not an array of its own', () => {
  const s = new BlockSummaries();
  for (let channel = 1; channel <= 20_000; channel++) s.add(channel, 7, 1.5, 2.5, 1, 0);
  let channels = 0;
  let bytes = 0;
  s.forEachChannel((channel, entries) => {
    channels++;
    bytes += entries.byteLength;
    assert.deepEqual([...entries], [7, 1.5, 2.5, 1, 0]);
  });
  assert.equal(channels, 20_000);
  assert.equal(bytes, 20_000 * 5 * 8);
});
