/**
 * `ferry start` on a terminal: a banner and readable log lines (logFormat pretty, what `auto` picks
 * on a TTY), forced here through the flag and FERRY_LOG_FORMAT because tests run with pipes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI_PATH, NODE_FLAGS, cleanEnv, tempDir, waitFor } from '../helpers/index.js';

const PORTS = ['--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port', '-1'];

for (const how of ['flag', 'env'] as const) {
  test(`log format - pretty (${how}) prints a banner with the listeners, data dir and sign-in, then readable lines`, async (t) => {
    const dataDir = join(tempDir(t), 'data');
    const args = [...NODE_FLAGS, CLI_PATH, 'start', '--data-dir', dataDir, ...PORTS, ...(how === 'flag' ? ['--log-format', 'pretty'] : [])];
    const child = spawn(process.execPath, args, { env: cleanEnv(how === 'env' ? { FERRY_LOG_FORMAT: 'pretty' } : {}), stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    const closed = once(child, 'close');
    await waitFor(() => out.includes('Ctrl-C stops Ferry gracefully.'), { timeoutMs: 30_000, message: 'the banner' });

    const mqtt = /^ {2}MQTT\s+mqtt:\/\/127\.0\.0\.1:(\d+)$/m.exec(out);
    assert.ok(mqtt !== null, out);
    assert.match(out, /^ {2}HTTP API\s+http:\/\/127\.0\.0\.1:\d+$/m);
    assert.match(out, /^ {2}Console\s+http:\/\/127\.0\.0\.1:\d+\/console\/$/m);
    assert.match(out, /^ {2}MQTT over WebSocket\s+ws:\/\/127\.0\.0\.1:\d+\/mqtt$/m);
    assert.ok(out.includes(`Data directory   ${dataDir}`));
    assert.ok(out.includes(`bootstrap AccessKey in ${join(dataDir, 'bootstrap-access-key.json')}`));
    assert.ok(out.includes(`npx ferry client list --data-dir ${dataDir}`));
    assert.match(out, /anonymous MQTT clients are allowed/);
    // Readable lines (time, level, component, message, fields), no JSON objects, no colours in a pipe.
    assert.match(out, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}listening listener=mqtt transport=tcp address=127\.0\.0\.1 port=\d+$/m);
    assert.match(out, /^\d\d:\d\d:\d\d\.\d{3} WARN {2}auth {2}bootstrap AccessKey created/m);
    assert.match(out, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}ferry started ports=/m);
    assert.equal(out.split('\n').filter((l) => l.startsWith('{')).length, 0, out);
    assert.equal(out.includes('\u001b['), false);

    child.kill('SIGTERM');
    const [code] = (await closed) as [number | null];
    assert.equal(code, 0);
    assert.match(out, /INFO {2}stopped$/m);
  });
}
