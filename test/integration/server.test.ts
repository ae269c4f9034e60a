import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import {
  CLI_PATH,
  NODE_FLAGS,
  captureLogger,
  cleanEnv,
  makeSelfSignedCert,
  spawnFerry,
  startFerry,
  tempDir,
  waitFor,
} from '../helpers/index.js';

async function get(port: number, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.json() };
}

/** Resolves when a TCP connection to the port is accepted; rejects on refusal. */
function tcpAccepts(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ port, host: '127.0.0.1' }, () => {
      s.destroy();
      resolve();
    });
    s.on('error', reject);
  });
}

test('cli - start on port 0, serve health and readiness, exit 0 on SIGTERM', async (t) => {
  const dataDir = join(tempDir(t), 'nested', 'data');
  const ferry = await spawnFerry(t, ['--data-dir', dataDir, '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port', '0']);
  for (const name of ['mqtt', 'ws', 'http']) assert.ok((ferry.ports[name] ?? 0) > 0, `port of ${name}`);
  assert.equal(ferry.ports['mqtts'], undefined, 'no TLS listener without a certificate');
  assert.ok(existsSync(dataDir), 'data dir created');
  const http = ferry.ports['http'] ?? 0;
  assert.deepEqual(await get(http, '/healthz'), { status: 200, body: { status: 'ok' } });
  assert.deepEqual(await get(http, '/readyz'), { status: 200, body: { status: 'ready' } });
  await tcpAccepts(ferry.ports['mqtt'] ?? 0);
  await tcpAccepts(ferry.ports['ws'] ?? 0);

  const started = Date.now();
  ferry.child.kill('SIGTERM');
  const { code } = await ferry.exited;
  assert.equal(code, 0, ferry.stderr());
  assert.ok(Date.now() - started < 5000, 'stopped within 5 s');
  assert.ok(ferry.logs.some((l) => l['msg'] === 'stopped'));
  await assert.rejects(tcpAccepts(ferry.ports['mqtt'] ?? 0));
});

test('cli - SIGINT stops gracefully too', async (t) => {
  const ferry = await spawnFerry(t, ['--data-dir', tempDir(t), '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port', '0']);
  ferry.child.kill('SIGINT');
  assert.equal((await ferry.exited).code, 0);
});

test('cli - settings from config file and FERRY_* environment', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'ferry.json');
  writeFileSync(file, JSON.stringify({ dataDir: 'from-file', mqttPort: 0, wsPort: 0, logLevel: 'debug' }));
  const ferry = await spawnFerry(t, ['--config', file], { env: { FERRY_HTTP_PORT: '0', FERRY_AMQP_PORT: '0', FERRY_WS_PATH: '/custom' } });
  assert.ok(existsSync(join(dir, 'from-file')), 'relative dataDir resolved against the config file');
  assert.ok(ferry.logs.some((l) => l['level'] === 'debug' || l['msg'] === 'config file loaded'));
  const ws = new WebSocket(`ws://127.0.0.1:${ferry.ports['ws']}/custom`, 'mqtt');
  await new Promise<void>((resolve, reject) => {
    ws.on('upgrade', () => resolve());
    ws.on('error', reject);
  });
  ws.terminate();
});

test('cli - --version, --help and start --help', () => {
  const version = spawnSync(process.execPath, [CLI_PATH, '--version'], { encoding: 'utf8', env: cleanEnv() });
  assert.equal(version.status, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+/);
  const help = spawnSync(process.execPath, [CLI_PATH, '--help'], { encoding: 'utf8', env: cleanEnv() });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /ferry start/);
  const startHelp = spawnSync(process.execPath, [CLI_PATH, 'start', '--help'], { encoding: 'utf8', env: cleanEnv() });
  assert.equal(startHelp.status, 0);
  for (const text of ['--data-dir DIR', '--mqtt-port N', 'FERRY_MAX_PACKET_SIZE', '--no-allow-anonymous']) {
    assert.ok(startHelp.stdout.includes(text), `help mentions ${text}`);
  }
});

test('cli - usage and config errors exit 2 with a message naming the problem', () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [CLI_PATH, ...args], { encoding: 'utf8', env: cleanEnv(env) });
  const none = run([]);
  assert.equal(none.status, 2);
  const unknown = run(['frobnicate']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /frobnicate/);
  const badFlag = run(['start', '--mqtt-port', 'abc']);
  assert.equal(badFlag.status, 2);
  assert.match(badFlag.stderr, /mqttPort.*--mqtt-port/);
  const unknownFlag = run(['start', '--no-such-flag']);
  assert.equal(unknownFlag.status, 2);
  assert.match(unknownFlag.stderr, /--no-such-flag/);
  const badEnv = run(['start'], { FERRY_LOG_LEVEL: 'chatty' });
  assert.equal(badEnv.status, 2);
  assert.match(badEnv.stderr, /FERRY_LOG_LEVEL/);
});

test('cli - TLS and WSS listeners with a self-signed certificate', async (t) => {
  const dir = tempDir(t);
  const server = makeSelfSignedCert(dir);
  const ferry = await spawnFerry(t, [
    '--data-dir', join(dir, 'data'), '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port', '0',
    '--tls-port', '0', '--wss-port', '0', '--amqps-port', '0', '--tls-cert', server.certFile, '--tls-key', server.keyFile,
  ]);
  const mqtts = ferry.ports['mqtts'] ?? 0;
  const wss = ferry.ports['wss'] ?? 0;
  assert.ok(mqtts > 0 && wss > 0, JSON.stringify(ferry.ports));

  const socket = tlsConnect({ host: '127.0.0.1', port: mqtts, servername: 'localhost', ca: server.cert });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  assert.equal(socket.authorized, true);
  socket.destroy();

  const ws = new WebSocket(`wss://localhost:${wss}/mqtt`, ['mqtt'], { ca: server.cert });
  const protocol = await new Promise<string>((resolve, reject) => {
    ws.once('upgrade', (res) => resolve(String(res.headers['sec-websocket-protocol'])));
    ws.once('error', reject);
  });
  assert.equal(protocol, 'mqtt');
  ws.terminate();

  ferry.child.kill('SIGTERM');
  assert.equal((await ferry.exited).code, 0);
});

test('cli - unreadable TLS file fails startup', (t) => {
  const dir = tempDir(t);
  const res = spawnSync(
    process.execPath,
    [...NODE_FLAGS, CLI_PATH, 'start', '--data-dir', dir, '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port', '0',
      '--tls-cert', join(dir, 'nope.crt'), '--tls-key', join(dir, 'nope.key')],
    { encoding: 'utf8', env: cleanEnv() },
  );
  assert.equal(res.status, 2);
  assert.match(res.stdout, /tlsCert/);
});

test('server - startFerry reports bound ports; stop releases them and readiness drops', async (t) => {
  const ferry = await startFerry(t);
  assert.equal(ferry.ready, true);
  for (const port of [ferry.ports.mqtt, ferry.ports.ws, ferry.ports.http]) assert.ok(port > 0);
  await tcpAccepts(ferry.ports.mqtt);
  const stopping = ferry.stop();
  assert.equal(ferry.ready, false, 'not ready as soon as stop() is called');
  assert.equal(ferry.stop(), stopping, 'stop() is idempotent');
  await stopping;
  await assert.rejects(tcpAccepts(ferry.ports.mqtt));
  await assert.rejects(tcpAccepts(ferry.ports.ws));
  await assert.rejects(fetch(`http://127.0.0.1:${ferry.ports.http}/healthz`));
});

test('server - a port in use fails startup naming the listener', async (t) => {
  const first = await startFerry(t);
  const dir = tempDir(t);
  await assert.rejects(startFerry(t, { mqttPort: 0, wsPort: first.ports.ws, dataDir: dir }), /listener ws/);
});

test('server - logs one listening line per listener and warns about anonymous access on a public bind', async (t) => {
  const logs = captureLogger();
  await startFerry(t, { bind: '0.0.0.0', broker: { allowAnonymous: true } }, { logger: logs.logger });
  const listening = logs.lines.filter((l) => l['msg'] === 'listening').map((l) => l['listener']);
  assert.deepEqual(listening.sort(), ['http', 'mqtt', 'ws']);
  await waitFor(() => logs.lines.find((l) => l['level'] === 'warn' && String(l['msg']).includes('ANONYMOUS')));
});
