/**
 * The CLI's last resort (docs/operations.md, "Unexpected errors"), on the real `ferry start` in a
 * child process: an unhandled rejection is logged and counted and Ferry stays up; an uncaught
 * exception is logged, Ferry stops gracefully and exits 1 for the orchestrator to restart it.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { NODE_FLAGS, cleanEnv, tempDir, waitFor } from '../helpers/index.js';

const CHILD = fileURLToPath(new URL('./process-faults-child.js', import.meta.url));

test('process faults - an unhandled rejection is logged and counted, Ferry stays up; an uncaught exception stops it with exit 1', async (t) => {
  const child = fork(CHILD, ['--data-dir', tempDir(t), '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port', '0'], {
    env: cleanEnv(),
    execArgv: [...NODE_FLAGS],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const logs: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  });
  const logged = (msg: string) => logs.find((l) => String(l['msg']).startsWith(msg));
  await waitFor(() => logged('ferry started') !== undefined, { timeoutMs: 30_000, message: 'ferry started' });
  const port = (logged('ferry started')?.['ports'] as { http: number }).http;

  child.send('reject');
  await waitFor(() => logged('unhandled promise rejection') !== undefined, { timeoutMs: 10_000, message: 'rejection logged' });
  const rejection = logged('unhandled promise rejection')!;
  assert.equal(rejection['level'], 'error');
  assert.match(String((rejection['err'] as { message?: string }).message), /injected stray rejection/);
  assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200, 'still up and ready');
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(metrics, /^ferry_process_errors_total\{kind="unhandled_rejection"\} 1$/m);

  child.send('throw');
  const [code] = await exited;
  assert.equal(code, 1);
  const fatal = logged('uncaught exception');
  assert.ok(fatal, 'logged');
  assert.equal(fatal['level'], 'fatal');
  assert.match(String((fatal['err'] as { stack?: string }).stack), /injected uncaught exception/);
  assert.ok(logged('stopped'), 'stopped gracefully before exiting');
});
