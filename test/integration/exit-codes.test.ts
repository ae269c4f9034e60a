/**
 * `ferry start` as an orchestrator sees it: the exit code of each failure class
 * (docs/operations.md, src/cli/exit-codes.ts) and a start with Kubernetes service-link variables.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI_PATH, NODE_FLAGS, cleanEnv, failedStart, spawnFerry, tempDir, waitFor, within, type Teardown } from '../helpers/index.js';

const PORTS = ['--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port', '0'];

/** A TCP port held by this process until the test ends. */
async function busyPort(t: Teardown): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

const KUBERNETES_ENV = {
  FERRY_SERVICE_HOST: '10.0.0.1',
  FERRY_SERVICE_PORT: '1883',
  FERRY_SERVICE_PORT_MQTT: '1883',
  FERRY_PORT: 'tcp://10.0.0.1:1883',
  FERRY_PORT_1883_TCP: 'tcp://10.0.0.1:1883',
  FERRY_PORT_1883_TCP_PROTO: 'tcp',
  FERRY_PORT_1883_TCP_PORT: '1883',
  FERRY_PORT_1883_TCP_ADDR: '10.0.0.1',
  // A Service named "ferry-mqtt": its link variable has the name of the mqttPort setting.
  FERRY_MQTT_SERVICE_HOST: '10.0.0.2',
  FERRY_MQTT_PORT: 'tcp://10.0.0.2:1883',
};

test('exit codes - starts with Kubernetes service-link variables present; SIGTERM exits 0', async (t) => {
  const ferry = await spawnFerry(t, ['--data-dir', tempDir(t), ...PORTS], { env: { ...KUBERNETES_ENV, FERRY_MQTT_PROT: '1' }, timeoutMs: 30_000 });
  assert.ok((ferry.ports['mqtt'] ?? 0) > 0, 'the flag set the MQTT port, not the service link');
  const links = ferry.logs.find((l) => String(l['msg']).startsWith('ignoring Kubernetes service-link variables'));
  assert.ok(links, 'one info line lists the service links');
  assert.equal((links['variables'] as string[]).length, 9);
  const warnings = ferry.logs.filter((l) => l['level'] === 'warn' && l['config'] === true).map((l) => String(l['msg']));
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.ok(warnings.some((w) => w.includes('FERRY_MQTT_PORT=tcp://10.0.0.2:1883 looks like a Kubernetes service link')));
  assert.ok(warnings.some((w) => w.includes('FERRY_MQTT_PROT') && w.includes('did you mean FERRY_MQTT_PORT?')));
  ferry.child.kill('SIGTERM');
  assert.equal((await ferry.exited).code, 0);
});

test('exit codes - 2 for a malformed value of a known variable, even among service links', async (t) => {
  const { code, output } = await failedStart(['--data-dir', tempDir(t), ...PORTS], { ...KUBERNETES_ENV, FERRY_MAX_INFLIGHT: 'lots' });
  assert.equal(code, 2, output);
  assert.match(output, /broker\.maxInflight.*FERRY_MAX_INFLIGHT/);
});

test('exit codes - 3 when the MQTT or HTTP port is in use', async (t) => {
  const port = String(await busyPort(t));
  const mqtt = await failedStart(['--data-dir', tempDir(t), '--ws-port', '0', '--http-port', '0', '--amqp-port', '0', '--mqtt-port', port]);
  assert.equal(mqtt.code, 3, mqtt.output);
  assert.match(mqtt.output, /listener mqtt cannot listen/);
  const http = await failedStart(['--data-dir', tempDir(t), '--ws-port', '0', '--mqtt-port', '0', '--http-port', port, '--amqp-port', '0']);
  assert.equal(http.code, 3, http.output);
  assert.match(http.output, /EADDRINUSE/);
});

test('exit codes - 4 when the store is corrupt', async (t) => {
  const dataDir = tempDir(t);
  writeFileSync(join(dataDir, 'ferry.db'), Buffer.alloc(64 * 1024, 0x5a));
  const { code, output } = await failedStart(['--data-dir', dataDir, ...PORTS]);
  assert.equal(code, 4, output);
  assert.match(output, /StoreCorruptError/);
});

test('exit codes - 5 when another Ferry holds the data directory', async (t) => {
  const dataDir = tempDir(t);
  const first = await spawnFerry(t, ['--data-dir', dataDir, ...PORTS], { timeoutMs: 30_000 });
  const second = await failedStart(['--data-dir', dataDir, ...PORTS]);
  assert.equal(second.code, 5, second.output);
  assert.match(second.output, /in use by another process/);
  first.child.kill('SIGTERM');
  assert.equal((await first.exited).code, 0);
});

test('exit codes - 1 for any other startup failure (data directory is a file)', async (t) => {
  const file = join(tempDir(t), 'not-a-dir');
  writeFileSync(file, '');
  const { code, output } = await failedStart(['--data-dir', file, ...PORTS]);
  assert.equal(code, 1, output);
  assert.match(output, /ferry failed to start/);
});

/** A loopback port nothing listens on (bound once, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('exit codes - SIGTERM while the start waits for NATS gives the start up: exit 0 at once', async (t) => {
  const nats = `nats://127.0.0.1:${await closedPort()}`;
  const child = spawn(process.execPath, [...NODE_FLAGS, CLI_PATH, 'start', '--data-dir', tempDir(t), ...PORTS, '--cluster-nats', nats, '--node-id', 'n1'], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const closed = once(child, 'close') as Promise<[number | null]>;
  // The store's first connect is retried with back-off (up to 5 s apart) for as long as NATS is away.
  await waitFor(() => output.includes('cannot reach NATS; retrying'), { timeoutMs: 30_000, message: 'a failed NATS connect logged' });
  const signalledAt = Date.now();
  child.kill('SIGTERM');
  const [code] = await within(10_000, () => `still running after SIGTERM:\n${output}`, closed);
  assert.equal(code, 0, output);
  assert.ok(Date.now() - signalledAt < 5_000, 'it did not wait out a retry or the stop timeout');
  // Both lines, whole and in this order (the exit waits for the line in flight).
  const said = output.indexOf('signal received during the start: stopping once started');
  const gaveUp = output.indexOf('start given up on the signal; stopped');
  assert.ok(said !== -1 && gaveUp > said, output);
});
