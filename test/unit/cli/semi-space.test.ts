import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { OPTIONS } from '../../../src/internal.js';
import { reexecNodeArgs, runningSemiSpaceMb } from '../../../src/cli/semi-space.js';
import { nodeFlags } from '../../../src/node-flags.js';

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

test('semi-space - npm start, the ferry bin and the Dockerfile pass the semiSpaceMb default', () => {
  const row = OPTIONS.find((o) => o.key === 'semiSpaceMb');
  assert.ok(row);
  const flag = `--max-semi-space-size=${String(row.default)}`;
  const pkg = JSON.parse(readFileSync(root('package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
  assert.ok(pkg.scripts['start']?.startsWith(`node ${flag} `), pkg.scripts['start']);
  const bin = readFileSync(root(pkg.bin['ferry'] ?? ''), 'utf8').split('\n')[0];
  assert.equal(bin, `#!/usr/bin/env -S node ${flag}`);
  assert.match(readFileSync(root('Dockerfile'), 'utf8'), new RegExp(`^ENTRYPOINT \\["node", "${flag}", "dist/src/cli/main.js"\\]$`, 'm'));
});
