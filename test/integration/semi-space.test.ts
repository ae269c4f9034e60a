/**
 * `ferry start` under a node that does not run with the semiSpaceMb cap starts node again with it
 * (src/cli/semi-space.ts): the restarted process carries the flag, signals reach it, the exit code
 * comes back, and it stops by itself when its parent is killed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CLI_PATH, cleanEnv, tempDir, waitFor, type Teardown } from '../helpers/index.js';

const PORTS = ['--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port', '-1', '--console', 'false'];

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function start(t: Teardown, nodeArgs: string[], extra: string[] = []) {
  const child = spawn(process.execPath, [...nodeArgs, CLI_PATH, 'start', '--data-dir', tempDir(t), ...PORTS, ...extra], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  t.after(() => {
    for (const pid of childrenOf(child.pid ?? 0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  /** Until "ferry started"; a timeout names the processes and what they wrote. */
  const started = async (): Promise<void> => {
    try {
      await waitFor(() => out.includes('"ferry started"'), { timeoutMs: 30_000, message: 'started' });
    } catch (e) {
      const tree = [child.pid ?? 0, ...childrenOf(child.pid ?? 0)].map((pid) => `${pid} ${alive(pid) ? 'alive' : 'gone'}`).join(', ');
      throw new Error(`${(e as Error).message}; processes: ${tree}\nstdout:\n${out}\nstderr:\n${err}`, { cause: e });
    }
  };
  return { child, out: () => out, closed, started };
}

test('semi-space - without the flag Ferry starts node again with it; SIGTERM reaches it and exit 0 comes back', async (t) => {
  const f = start(t, []);
  await f.started();
  assert.match(f.out(), /starting node again with --max-semi-space-size=4/);
  const [inner] = childrenOf(f.child.pid ?? 0);
  assert.ok(inner !== undefined, 'a restarted node under the first one');
  assert.ok(cmdline(inner).includes('--max-semi-space-size=4'), cmdline(inner).join(' '));
  f.child.kill('SIGTERM');
  const [code] = await f.closed;
  assert.equal(code, 0);
  assert.match(f.out(), /"msg":"stopped"/);
  assert.equal(alive(inner), false);
});

test('semi-space - with the flag there is no second process; semiSpaceMb 0 restarts without a cap and stops when its parent is killed', async (t) => {
  const same = start(t, ['--max-semi-space-size=4']);
  await same.started();
  assert.doesNotMatch(same.out(), /starting node again/);
  assert.deepEqual(childrenOf(same.child.pid ?? 0), []);
  same.child.kill('SIGTERM');
  assert.equal((await same.closed)[0], 0);

  const off = start(t, ['--max-semi-space-size=4'], ['--semi-space-mb', '0']);
  await off.started();
  const [inner] = childrenOf(off.child.pid ?? 0);
  assert.ok(inner !== undefined);
  assert.equal(cmdline(inner).at(cmdline(inner).indexOf(CLI_PATH) - 1), '--max-semi-space-size=0');
  off.child.kill('SIGKILL');
  await waitFor(() => !alive(inner), { timeoutMs: 20_000, message: 'the restarted node stops without its parent' });
  assert.match(off.out(), /"msg":"stopped"/);
});
