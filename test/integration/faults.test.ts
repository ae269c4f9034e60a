/**
 * One bad client or one bug never takes the process down: an exception injected into the
 * handling of one client's packet (test-only fault hooks, src/faults) closes that client only,
 * with DISCONNECT/CONNACK 0x80 for MQTT 5, one log line and a metric, while a bystander's
 * publish/subscribe round trip goes on over real sockets.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { captureLogger, startFerry, type CapturedLogs } from '../helpers/index.js';
import { connectPacket, rawConnect, rawSocket } from '../helpers/raw-client.js';
import { connect } from './mqtt/clients.js';
import { failOn, type RunningFerry } from '../../src/internal.js';

async function metricValue(ferry: RunningFerry, name: string, labels: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${ferry.ports.http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

/** A bystander subscribed before the fault; returns a check that a new publish still reaches it. */
async function bystander(t: TestContext, ferry: RunningFerry): Promise<(payload: string) => Promise<void>> {
  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const sub = await connect(t, url, { clientId: 'bystander-sub', protocolVersion: 5 });
  await sub.client.subscribeAsync('room/#', { qos: 1 });
  const pub = await connect(t, url, { clientId: 'bystander-pub', protocolVersion: 5 });
  return async (payload) => {
    const before = sub.received.length;
    await pub.client.publishAsync('room/1', payload, { qos: 1 });
    const received = await sub.waitFor(before + 1);
    assert.equal(received[before]?.payload, payload);
  };
}

function faultLines(logs: CapturedLogs): Record<string, unknown>[] {
  return logs.lines.filter((l) => l['msg'] === 'unexpected error while serving a connection: closing this connection only');
}

test('faults - off by default: no fault hooks unless a test sets them', async (t) => {
  const ferry = await startFerry(t);
  assert.equal(ferry.broker.faults, null);
});

test('faults - an exception handling one MQTT 5 client packet closes it with DISCONNECT 0x80; a bystander goes on', async (t) => {
  const logs = captureLogger();
  const ferry = await startFerry(t, {}, { logger: logs.logger });
  const roundTrip = await bystander(t, ferry);
  await roundTrip('before');
  const hooks = failOn({ clientId: 'victim', packetType: 'subscribe' });
  ferry.broker.faults = hooks;

  const { client: victim } = await rawConnect(t, ferry.ports.mqtt, { clientId: 'victim', protocolVersion: 5 });
  victim.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'room/#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
  const disconnect = await victim.expectPacket('disconnect');
  assert.equal(disconnect.reasonCode, 0x80);
  await victim.expectClosed();
  assert.equal(hooks.hits, 1);

  await roundTrip('after');
  assert.equal(ferry.ready, true, 'the process is up and ready');
  const lines = faultLines(logs);
  assert.equal(lines.length, 1, 'one log line');
  assert.equal(lines[0]?.['level'], 'error');
  assert.equal(lines[0]?.['clientId'], 'victim');
  assert.equal(lines[0]?.['packetType'], 'subscribe');
  assert.equal(lines[0]?.['reason'], 'handler');
  assert.equal((lines[0]?.['err'] as { type?: string }).type, 'InjectedFault');
  assert.equal(await metricValue(ferry, 'ferry_connection_errors_total', 'reason="handler"'), 1);

  // The same client id connects again and works: nothing of the fault stayed behind.
  ferry.broker.faults = null;
  const { client: again } = await rawConnect(t, ferry.ports.mqtt, { clientId: 'victim', protocolVersion: 5 });
  assert.deepEqual(await again.subscribe('room/#', 0), [0]);
});

test('faults - an exception handling one MQTT 3.1.1 client PUBLISH just closes it; a bystander goes on', async (t) => {
  const ferry = await startFerry(t);
  const roundTrip = await bystander(t, ferry);
  ferry.broker.faults = failOn({ clientId: 'victim311', packetType: 'publish' });
  const { client: victim } = await rawConnect(t, ferry.ports.mqtt, { clientId: 'victim311', protocolVersion: 4 });
  victim.publish('room/2', 'boom', { qos: 1, packetId: 7 });
  await victim.expectClosed(); // no PUBACK, nothing: 3.1.1 just closes
  await roundTrip('after');
  assert.equal(await metricValue(ferry, 'ferry_connection_errors_total', 'reason="handler"'), 1);
});

test('faults - a rejected CONNECT continuation refuses that client only (CONNACK 0x80 / close for 3.1.1)', async (t) => {
  const logs = captureLogger();
  const ferry = await startFerry(t, {}, { logger: logs.logger });
  const roundTrip = await bystander(t, ferry);
  ferry.broker.faults = failOn({ packetType: 'connect-continuation', clientId: 'late' });

  const v5 = await rawSocket(t, ferry.ports.mqtt, 5);
  v5.send(connectPacket({ clientId: 'late', protocolVersion: 5 }));
  assert.equal((await v5.expectPacket('connack')).reasonCode, 0x80);
  await v5.expectClosed();

  const v4 = await rawSocket(t, ferry.ports.mqtt, 4);
  v4.send(connectPacket({ clientId: 'late', protocolVersion: 4 }));
  await v4.expectClosed();

  await roundTrip('after');
  // Another client id is not affected by the hook.
  await rawConnect(t, ferry.ports.mqtt, { clientId: 'punctual', protocolVersion: 5 });
  assert.equal(await metricValue(ferry, 'ferry_connection_errors_total', 'reason="continuation"'), 2);
  const lines = faultLines(logs);
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l['packetType'] === 'connect' && l['reason'] === 'continuation'));
});
