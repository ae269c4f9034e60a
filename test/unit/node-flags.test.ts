import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lastNodeFlag, nodeFlags } from '../../src/node-flags.js';

test('node flags - NODE_OPTIONS come first, then the command line', () => {
  assert.deepEqual(nodeFlags(['--cpu-prof'], '  --max-old-space-size=512   --trace-gc '), ['--max-old-space-size=512', '--trace-gc', '--cpu-prof']);
  assert.deepEqual(nodeFlags([], undefined), []);
});

test('node flags - the last setting wins; - and _ alike; --no- turns a boolean off', () => {
  assert.equal(lastNodeFlag('parallel-scavenge', []), undefined);
  assert.equal(lastNodeFlag('parallel-scavenge', ['--parallel-scavenge']), true);
  assert.equal(lastNodeFlag('parallel-scavenge', ['--parallel-scavenge', '--no-parallel-scavenge']), false);
  assert.equal(lastNodeFlag('parallel-scavenge', ['--no-parallel_scavenge', '--parallel_scavenge']), true);
  assert.equal(lastNodeFlag('max-semi-space-size', ['--max_semi_space_size=2', '--trace-gc', '--max-semi-space-size=8']), '8');
  // a longer flag that starts with the same name is another flag
  assert.equal(lastNodeFlag('parallel-scavenge', ['--parallel-scavenge-threshold=1']), undefined);
  // NODE_OPTIONS loses to the command line
  assert.equal(lastNodeFlag('parallel-scavenge', nodeFlags(['--no-parallel-scavenge'], '--parallel-scavenge')), false);
});

test('node flags - this process: what a real node was started with', () => {
  const flagsModule = fileURLToPath(new URL('../../src/node-flags.js', import.meta.url));
  const script = `const { lastNodeFlag } = await import(${JSON.stringify(flagsModule)}); console.log(JSON.stringify([lastNodeFlag('max-semi-space-size'), lastNodeFlag('expose-gc'), lastNodeFlag('trace-gc')]));`;
  const r = spawnSync(process.execPath, ['--max-semi-space-size=2', '--expose-gc', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '--max-semi-space-size=8' },
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), ['2', true, null]);
});
