/**
 * Debian's mosquitto_pub / mosquitto_sub (libmosquitto 2.0) against an in-process Ferry, with
 * MQTT 3.1.1 and MQTT 5: QoS 0/1/2, retained messages, persistent sessions and MQTT 5
 * properties. The Debian build of these clients has no WebSocket transport (`mosquitto_pub
 * --help` offers only mqtt:// and mqtts:// URLs); WebSocket interop is covered by Paho instead
 * (paho.test.ts).
 */
import { before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningFerry } from '../../src/internal.js';
import { startFerry, waitFor } from '../helpers/index.js';
import { requireMosquittoClients, run, start, type RunningProcess } from './tools.js';

const VERSIONS = ['mqttv311', 'mqttv5'] as const;
type Version = (typeof VERSIONS)[number];

function common(ferry: RunningFerry, version: Version): string[] {
  return ['-h', '127.0.0.1', '-p', String(ferry.ports.mqtt), '-V', version];
}

/**
 * How long a mosquitto_sub waits for its messages before giving up (-W). Each exits as soon as it
 * has them (-C), so this only bounds a failure; 8 s was too short on a machine at load 13.
 */
const SUB_WAIT_S = 30;
const SUB_KILL_MS = (SUB_WAIT_S + 5) * 1000;

/** Starts mosquitto_sub (at most SUB_WAIT_S) and resolves once Ferry holds its subscription. */
async function subscribe(t: TestContext, ferry: RunningFerry, version: Version, args: string[]): Promise<RunningProcess> {
  const before = ferry.broker.subscriptionCount;
  const sub = start(t, 'mosquitto_sub', [...common(ferry, version), '-W', String(SUB_WAIT_S), ...args], SUB_KILL_MS);
  await waitFor(() => ferry.broker.subscriptionCount > before, { timeoutMs: 5000, message: 'mosquitto_sub subscribed' });
  return sub;
}

async function publish(t: TestContext, ferry: RunningFerry, version: Version, args: string[]): Promise<void> {
  await run(t, 'mosquitto_pub', [...common(ferry, version), ...args]);
}

async function lines(sub: RunningProcess): Promise<string[]> {
  const result = await sub.done;
  assert.equal(result.code, 0, `mosquitto_sub exited with ${result.code ?? result.signal}: ${result.stderr}`);
  return result.stdout.split('\n').filter((l) => l.length > 0);
}

describe('interop - mosquitto clients', () => {
  before(() => requireMosquittoClients());

  for (const version of VERSIONS) {
    test(`interop - mosquitto ${version} publish and subscribe at QoS 0, 1 and 2`, async (t) => {
      const ferry = await startFerry(t);
      const sub = await subscribe(t, ferry, version, ['-q', '2', '-t', `interop/${version}/#`, '-C', '3', '-F', '%q %r %t %p']);
      for (const qos of [0, 1, 2]) {
        await publish(t, ferry, version, ['-q', String(qos), '-t', `interop/${version}/q${qos}`, '-m', `hello at qos ${qos}`]);
      }
      assert.deepEqual(await lines(sub), [
        `0 0 interop/${version}/q0 hello at qos 0`,
        `1 0 interop/${version}/q1 hello at qos 1`,
        `2 0 interop/${version}/q2 hello at qos 2`,
      ]);
    });

    test(`interop - mosquitto ${version} retained message with -r, cleared with an empty payload`, async (t) => {
      const ferry = await startFerry(t);
      const topic = `interop/${version}/retained`;
      await publish(t, ferry, version, ['-r', '-q', '1', '-t', `${topic}/a`, '-m', 'kept a']);
      await publish(t, ferry, version, ['-r', '-q', '0', '-t', `${topic}/b`, '-m', 'kept b']);

      // (Started without waiting for the subscription: it gets its message and leaves at once.)
      const first = start(t, 'mosquitto_sub', [...common(ferry, version), '-W', String(SUB_WAIT_S), '-q', '1', '-t', `${topic}/a`, '-C', '1', '-F', '%r %q %t %p'], SUB_KILL_MS);
      assert.deepEqual(await lines(first), [`1 1 ${topic}/a kept a`]);

      await publish(t, ferry, version, ['-r', '-n', '-t', `${topic}/a`]);
      // Only b is left: --retained-only prints retained messages and exits at the first live one.
      const rest = await subscribe(t, ferry, version, ['-t', `${topic}/+`, '--retained-only', '-F', '%r %t %p']);
      await publish(t, ferry, version, ['-t', `${topic}/live`, '-m', 'not retained']);
      assert.deepEqual(await lines(rest), [`1 ${topic}/b kept b`]);
    });

    test(`interop - mosquitto ${version} persistent session receives QoS 1 published while it was offline`, async (t) => {
      const ferry = await startFerry(t);
      const id = `interop-persistent-${version}`;
      const persistent = version === 'mqttv5' ? ['-c', '-x', '60'] : ['-c'];
      const topic = `interop/${version}/offline`;
      // Subscribe once (-E: exit when the SUBACK came), then go away.
      await run(t, 'mosquitto_sub', [...common(ferry, version), ...persistent, '-i', id, '-q', '1', '-t', topic, '-E']);
      await waitFor(() => ferry.broker.connectionCount === 0, { message: 'mosquitto_sub gone' });
      await publish(t, ferry, version, ['-q', '1', '-t', topic, '-m', 'while you were away']);

      const back = start(t, 'mosquitto_sub', [...common(ferry, version), ...persistent, '-i', id, '-q', '1', '-t', topic, '-C', '1', '-W', String(SUB_WAIT_S), '-F', '%q %t %p'], SUB_KILL_MS);
      assert.deepEqual(await lines(back), [`1 ${topic} while you were away`]);
    });
  }

  test('interop - mosquitto mqttv5 user property, content type, response topic and correlation data travel', async (t) => {
    const ferry = await startFerry(t);
    const sub = await subscribe(t, ferry, 'mqttv5', ['-q', '1', '-t', 'interop/props', '-C', '1', '-F', '%P|%C|%R|%D|%p']);
    await publish(t, ferry, 'mqttv5', [
      '-q', '1', '-t', 'interop/props', '-m', 'with properties',
      '-D', 'publish', 'user-property', 'site', 'north',
      '-D', 'publish', 'content-type', 'text/plain',
      '-D', 'publish', 'response-topic', 'interop/reply',
      '-D', 'publish', 'correlation-data', 'req-1',
    ]);
    assert.deepEqual(await lines(sub), ['site:north|text/plain|interop/reply|req-1|with properties']);
  });

  test('interop - mosquitto mqttv311 publisher to mqttv5 subscriber and back', async (t) => {
    const ferry = await startFerry(t);
    const v5sub = await subscribe(t, ferry, 'mqttv5', ['-q', '2', '-t', 'interop/cross/to5', '-C', '1', '-F', '%q %p']);
    const v3sub = await subscribe(t, ferry, 'mqttv311', ['-q', '2', '-t', 'interop/cross/to3', '-C', '1', '-F', '%q %p']);
    await publish(t, ferry, 'mqttv311', ['-q', '2', '-t', 'interop/cross/to5', '-m', 'from 3.1.1']);
    await publish(t, ferry, 'mqttv5', ['-q', '1', '-t', 'interop/cross/to3', '-m', 'from 5']);
    assert.deepEqual(await lines(v5sub), ['2 from 3.1.1']);
    assert.deepEqual(await lines(v3sub), ['1 from 5']);
  });
});
