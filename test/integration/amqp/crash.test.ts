/**
 * `kill -9` of Ferry while a backend holds unacknowledged deliveries: after the restart the
 * messages are delivered again, flagged `redelivered`, and nothing acknowledged comes back.
 * The declared queue keeps filling after the restart before any backend reconnects.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConsumeMessage } from 'amqplib';
import { spawnFerry, tempDir, waitFor } from '../../helpers/index.js';
import { connect } from '../mqtt/clients.js';
import { DEFAULT_INSTANCE_ID } from '../../../src/broker/options.js';
import { connectAmqp, sdkLogin, type SdkKey } from './sdk.js';

const KEY: SdkKey = { id: 'FERRYAMQPCRASH1', secret: 'amqp-crash-secret-0123456789' };
const ENV = { FERRY_BOOTSTRAP_ACCESS_KEY_ID: KEY.id, FERRY_BOOTSTRAP_ACCESS_KEY_SECRET: KEY.secret };
const ARGS = ['--bind', '127.0.0.1', '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port', '0', '--log-level', 'info'];

test('amqp - kill -9 with unacked deliveries: redelivered after the restart, acked ones never again', async (t) => {
  const dataDir = tempDir(t);
  let ferry = await spawnFerry(t, ['--data-dir', dataDir, ...ARGS], { env: ENV });
  const backend = await connectAmqp(t, ferry.ports['amqp']!, sdkLogin(DEFAULT_INSTANCE_ID, KEY));
  const channel = await backend.createChannel();
  await channel.prefetch(10);
  const first: ConsumeMessage[] = [];
  await channel.consume('plant', (m) => m && first.push(m));
  const device = await connect(t, `mqtt://127.0.0.1:${ferry.ports['mqtt']}`, { clientId: 'GID_dev@@@k1' });
  for (let i = 0; i < 6; i++) await device.client.publishAsync('plant/line', `p${i}`, { qos: 1 });
  await waitFor(() => first.length === 6, { message: '6 deliveries' });
  channel.ack(first[0]!);
  channel.ack(first[1]!);
  // The acks are durable before Ferry dies: wait until an (unrelated) round trip went through.
  await channel.checkQueue('plant');
  await new Promise((resolve) => setTimeout(resolve, 300));
  ferry.child.kill('SIGKILL');
  await ferry.exited;
  device.client.end(true);

  ferry = await spawnFerry(t, ['--data-dir', dataDir, ...ARGS], { env: ENV });
  // The queue exists again at once: a device publishes before any backend reconnects.
  const device2 = await connect(t, `mqtt://127.0.0.1:${ferry.ports['mqtt']}`, { clientId: 'GID_dev@@@k1' });
  await device2.client.publishAsync('plant/line', 'after', { qos: 1 });
  const again = await connectAmqp(t, ferry.ports['amqp']!, sdkLogin(DEFAULT_INSTANCE_ID, KEY));
  const ch = await again.createChannel();
  const second: ConsumeMessage[] = [];
  await ch.consume('plant', (m) => {
    if (m === null) return;
    second.push(m);
    ch.ack(m);
  });
  await waitFor(() => second.length >= 5, { message: '5 deliveries after the restart', timeoutMs: 10_000 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(second.map((m) => m.content.toString()), ['p2', 'p3', 'p4', 'p5', 'after']);
  assert.deepEqual(second.map((m) => m.fields.redelivered), [true, true, true, true, false], 'the unacked ones are flagged redelivered');
});
