import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { OPTIONS } from '../../../src/internal.js';
import { reexecNodeArgs, runningSemiSpaceMb } from '../../../src/cli/semi-space.js';
import { nodeFlags } from '../../../src/node-flags.js';
import { FERRY_NODE_FLAGS } from '../../../bench/e2e/brokers.js';
import { NODE_FLAGS } from '../../helpers/cli.js';

const root = (p: string): URL => new URL(`../../../../${p}`, import.meta.url);

test('semi-space - the running cap is the last flag on the command line, else NODE_OPTIONS, else 0', () => {
  const running = (execArgv: string[], nodeOptions?: string): number => runningSemiSpaceMb(nodeFlags(execArgv, nodeOptions));
  assert.equal(running([]), 0);
  assert.equal(running(['--max-semi-space-size=1']), 1);
  assert.equal(running(['--max_semi_space_size=4', '--cpu-prof']), 4);
  assert.equal(running(['--max-semi-space-size=1', '--max-semi-space-size=16']), 16);
  assert.equal(running([], '--max-old-space-size=512  --max-semi-space-size=2'), 2);
  // node: the command line wins over NODE_OPTIONS
  assert.equal(running(['--max-semi-space-size=1'], '--max-semi-space-size=8'), 1);
  assert.equal(running(['--max-semi-space-size=0']), 0);
  assert.deepEqual(reexecNodeArgs(['--max-semi-space-size=1', '--cpu-prof'], 0), ['--max-semi-space-size=1', '--cpu-prof', '--max-semi-space-size=0']);
});

test('launchers - npm start, the ferry bin, the Dockerfile, the harness and the tests start node with the same flags', () => {
  const row = OPTIONS.find((o) => o.key === 'semiSpaceMb');
  assert.ok(row);
  // The semiSpaceMb default (semi-space.ts) and the interrupt budget (docs/operations.md "How node is started").
  const flags = [`--max-semi-space-size=${String(row.default)}`, '--interrupt-budget=8448'];
  const pkg = JSON.parse(readFileSync(root('package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
  assert.ok(pkg.scripts['start']?.startsWith(`node ${flags.join(' ')} dist/`), pkg.scripts['start']);
  const bin = readFileSync(root(pkg.bin['ferry'] ?? ''), 'utf8').split('\n')[0];
  assert.equal(bin, `#!/usr/bin/env -S node ${flags.join(' ')}`);
  const entrypoint = ['node', ...flags, 'dist/src/cli/main.js'].map((a) => `"${a}"`).join(', ');
  assert.ok(readFileSync(root('Dockerfile'), 'utf8').split('\n').includes(`ENTRYPOINT [${entrypoint}]`), entrypoint);
  assert.deepEqual([...FERRY_NODE_FLAGS], flags);
  assert.deepEqual([...NODE_FLAGS], flags);
});
