import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const youngGc = fileURLToPath(new URL('../../src/young-gc.js', import.meta.url));

/**
 * Runs a node that allocates with many survivors (scavenges with work to share) and returns the
 * background threads' share of each scavenge, from V8's --trace-gc-nvp lines.
 */
function backgroundScavengeMs(callIt: boolean, nodeFlags: readonly string[] = []): number[] {
  const script = `
    const { scavengeOnMainThread } = await import(${JSON.stringify(youngGc)});
    if (${callIt}) { scavengeOnMainThread(); scavengeOnMainThread(); }
    const keep = [];
    for (let i = 0; i < 3e6; i++) { keep.push({ i, a: [i] }); if (keep.length > 300000) keep.length = 0; }
  `;
  const r = spawnSync(process.execPath, [...nodeFlags, '--trace-gc-nvp', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const ms = [...r.stdout.matchAll(/gc=s .*?background\.scavenge\.parallel=([\d.]+)/g)].map((m) => Number(m[1]));
  assert.ok(ms.length >= 5, `scavenges seen: ${ms.length}`);
  return ms;
}

test('young gc - after scavengeOnMainThread no scavenge runs on V8 helper threads; without it they do', () => {
  assert.deepEqual(backgroundScavengeMs(true).filter((ms) => ms > 0), []);
  // The control: the same allocation shares scavenges with helper threads by default.
  assert.ok(backgroundScavengeMs(false).some((ms) => ms > 0));
});

test('young gc - node started with --parallel-scavenge keeps the helper threads', () => {
  assert.ok(backgroundScavengeMs(true, ['--parallel-scavenge']).some((ms) => ms > 0));
});

test('young gc - the last setting of the flag decides: --parallel-scavenge then --no-parallel-scavenge is main thread only', () => {
  assert.deepEqual(backgroundScavengeMs(true, ['--parallel-scavenge', '--no-parallel-scavenge']).filter((ms) => ms > 0), []);
});
