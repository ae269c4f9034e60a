/**
 * What `ferry start` loads (src/load-feature.ts): a broker carries only the code of what it is
 * configured to use. A real child Ferry with the main thread's parsed scripts recorded by
 * test/helpers/loaded-scripts.ts; the lazily loaded parts are then used for real.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { spawnFerry, tempDir, waitFor, type Teardown } from '../helpers/index.js';

const RECORDER = fileURLToPath(new URL('../helpers/loaded-scripts.js', import.meta.url));
const PORTS = ['--mqtt-port', '0', '--ws-port', '0', '--http-port', '0'];

/** Scripts a single node never needs unless a feature is configured or used. */
const NOT_AT_START: ReadonlyArray<readonly [string, RegExp]> = [
  ['cluster mode', /\/dist\/src\/cluster\/(?!options\.js)/],
  ['the JetStream store', /\/dist\/src\/store\/jetstream\//],
  ['the NATS client', /\/node_modules\/(@nats-io|tweetnacl)\//],
  ['the CLI client commands', /\/dist\/src\/cli\/commands\//],
  ['the MQTT client library', /\/node_modules\/mqtt\//],
  ['jose (external JWT checks)', /\/node_modules\/jose\//],
  ['amqplib', /\/node_modules\/amqplib\//],
];

async function startRecorded(t: Teardown, args: readonly string[]): Promise<{ ports: Record<string, number>; scripts: () => string[]; stop: () => Promise<void> }> {
  const dir = tempDir(t);
  const file = join(dir, 'scripts.txt');
  const ferry = await spawnFerry(t, ['--data-dir', join(dir, 'data'), ...PORTS, ...args], {
    nodeArgs: ['--import', RECORDER],
    env: { FERRY_TEST_SCRIPTS_FILE: file },
  });
  return {
    ports: ferry.ports,
    scripts: () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : []),
    stop: async () => {
      ferry.child.kill('SIGTERM');
      assert.equal((await ferry.exited).code, 0, ferry.stderr());
    },
  };
}

function loaded(scripts: readonly string[], pattern: RegExp): string[] {
  return scripts.filter((url) => pattern.test(url));
}

test('start loads - a single node loads no cluster, NATS, client-command, JWT or AMQP codec code; the codec comes with the first AMQP client', async (t) => {
  const ferry = await startRecorded(t, ['--amqp-port', '0']);
  const atStart = ferry.scripts();
  assert.ok(loaded(atStart, /\/dist\/src\/broker\/broker\.js$/).length === 1, 'the recorder sees the broker');
  assert.ok(loaded(atStart, /\/dist\/src\/amqp\/endpoint\.js$/).length === 1, 'the AMQP endpoint is on by default');
  for (const [what, pattern] of NOT_AT_START) assert.deepEqual(loaded(atStart, pattern), [], `${what} is not loaded at start`);

  // An AMQP client's protocol header: the endpoint answers connection.start, encoded by amqplib.
  const port = ferry.ports['amqp'];
  assert.ok(port !== undefined && port > 0, 'the AMQP listener logged its port');
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
  const [frame] = (await once(socket, 'data')) as [Buffer];
  assert.equal(frame[0], 1, 'a method frame (connection.start)');
  await waitFor(() => loaded(ferry.scripts(), /\/node_modules\/amqplib\/lib\/defs\.js$/).length === 1, { message: 'amqplib codec loaded', timeoutMs: 5_000 });
  socket.destroy();
  await ferry.stop();
});

test('start loads - with amqpPort -1 the AMQP endpoint is not loaded at all', async (t) => {
  const ferry = await startRecorded(t, ['--amqp-port', '-1']);
  assert.ok(ferry.ports['mqtt'] !== undefined);
  assert.deepEqual(loaded(ferry.scripts(), /\/dist\/src\/amqp\//), []);
  await ferry.stop();
});
