/**
 * Every file under examples/ runs against a real Ferry started here, as a user would run it
 * (node with ferry-mqtt/sdk resolved through the package's own "exports", Debian's python3 with
 * paho-mqtt, sh with mosquitto_pub/sub and openssl), and prints what the guides say it prints.
 * The guides quote these files verbatim (guides.test.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startFerry } from '../../helpers/index.js';
import { PYTHON, requireMosquittoClients, requirePaho } from '../../interop/tools.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const KEY = { id: 'FERRYEXAMPLES01', secret: 'examples-secret-0123456789' };

async function ferryEnv(t: TestContext): Promise<NodeJS.ProcessEnv> {
  const ferry = await startFerry(t, { bootstrapAccessKeyId: KEY.id, bootstrapAccessKeySecret: KEY.secret }, { announce: null });
  return {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    FERRY_MQTT_URL: `mqtt://127.0.0.1:${ferry.ports.mqtt}`,
    FERRY_MQTT_HOST: '127.0.0.1',
    FERRY_MQTT_PORT: String(ferry.ports.mqtt),
    FERRY_HTTP_URL: `http://127.0.0.1:${ferry.ports.http}`,
    FERRY_AK: KEY.id,
    FERRY_SK: KEY.secret,
    FERRY_INSTANCE: 'mqtt-default',
  };
}

/** Runs one example to completion (killed after 60 s) and answers its stdout lines; a non-zero exit fails. */
function runExample(t: TestContext, env: NodeJS.ProcessEnv, command: string, file: string): Promise<string[]> {
  const child = spawn(command, [file], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not finish within 60 s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${file} exited with ${code}\nstdout: ${stdout}\nstderr: ${stderr}`));
      else resolve(stdout.split('\n').filter((l) => l !== ''));
    });
  });
}

test('examples - node: a Signature-mode device subscribes, publishes and sends itself a P2P message', async (t) => {
  const lines = await runExample(t, await ferryEnv(t), process.execPath, 'examples/node/device-signature.mjs');
  assert.deepEqual(lines, ['connected as GID_demo@@@sensor-1', 'received demo/sensors/temp: 21.5', 'received demo/p2p/GID_demo@@@sensor-1: a note to myself']);
});

test('examples - node: a Token-mode device uploads a renewed token and keeps publishing', async (t) => {
  const lines = await runExample(t, await ferryEnv(t), process.execPath, 'examples/node/device-token.mjs');
  assert.deepEqual(lines, ['connected with an R and a W token', 'uploaded a new W token (manual)', 'received demo/phone-1/inbox: still allowed after the upload']);
});

test('examples - node: a backend registers a device credential, commands the device and sees it online', async (t) => {
  const lines = await runExample(t, await ferryEnv(t), process.execPath, 'examples/node/backend-commands.mjs');
  assert.deepEqual(lines, ['GID_demo@@@lamp-1 online: true', 'sent command (msgId ok)', 'lamp received demo/p2p/GID_demo@@@lamp-1: {"switch":"on"}']);
});

test('examples - node: a backend consumes a built-in queue and tracks presence from status events', async (t) => {
  const env = await ferryEnv(t);
  const lines = await runExample(t, env, process.execPath, 'examples/node/backend-queue.mjs');
  assert.deepEqual(lines.slice(0, 3).sort(), [1.5, 1.7, 2].map((v) => `reading from GID_demo@@@meter-1 on demo/meter-1/kwh: ${v}`).sort());
  assert.deepEqual(lines.slice(3), ['GID_demo@@@meter-1 is online', 'GID_demo@@@meter-1 is offline', 'online now: []']);
  // Run twice against the same Ferry: the rules exist already, which the example accepts.
  assert.equal((await runExample(t, env, process.execPath, 'examples/node/backend-queue.mjs')).length, 6);
});

test('examples - node: the RPC client and unchanged @alicloud/pop-core code against Ferry', async (t) => {
  const env = await ferryEnv(t);
  assert.deepEqual(await runExample(t, env, process.execPath, 'examples/node/backend-rpc.mjs'), [
    'GID_demo@@@sensor-9 online: false',
    'SendMessage: MsgId of 32 hex digits',
    'ApplyToken: valid true',
    'groups: (none)',
  ]);
  assert.deepEqual(await runExample(t, env, process.execPath, 'examples/node/migrate-pop-core.cjs'), ['SendMessage ok: true', 'GID_demo@@@old-1 online: false']);
});

test('examples - python: a Paho device in Signature mode', async (t) => {
  requirePaho();
  const lines = await runExample(t, await ferryEnv(t), PYTHON, 'examples/python/device.py');
  assert.deepEqual(lines.sort(), ['received demo/p2p/GID_demo@@@py-1: p2p from paho', 'received demo/py/hello: from paho']);
});

test('examples - shell: mosquitto_sub receives what mosquitto_pub sends, both in Signature mode', async (t) => {
  requireMosquittoClients();
  const lines = await runExample(t, await ferryEnv(t), 'sh', 'examples/shell/pubsub.sh');
  assert.deepEqual(lines, ['demo/shell/greeting hello from mosquitto_pub']);
});
