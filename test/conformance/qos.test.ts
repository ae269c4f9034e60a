/**
 * QoS 1 and 2 flows, raw bytes over TCP: duplicates, unknown packet ids, redelivery after
 * reconnect, and Receive Maximum in both directions.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProtocolVersion, PublishPacket } from '../../src/protocol/index.js';
import { waitFor } from '../helpers/index.js';
import { rawConnect } from '../helpers/raw-client.js';
import { Bystander, conformanceFerry } from './fixture.js';

const PACKET_ID_NOT_FOUND = 0x92;
const RECEIVE_MAXIMUM_EXCEEDED = 0x93;

const label = (v: ProtocolVersion): string => (v === 5 ? 'MQTT 5' : 'MQTT 3.1.1');

describe('conformance - qos', () => {
  for (const version of [4, 5] as const) {
    test(`conformance - QoS 2 PUBLISH repeated before PUBREL is acknowledged again and delivered once (${label(version)}) [MQTT-4.3.3-9]`, async (t) => {
      const { port } = await conformanceFerry(t);
      const { client: sub } = await rawConnect(t, port, { protocolVersion: version });
      assert.deepEqual(await sub.subscribe('q2/dup', 2), [2]);
      const { client: pub } = await rawConnect(t, port, { protocolVersion: version });

      pub.publish('q2/dup', 'once', { qos: 2, packetId: 7 });
      assert.equal((await pub.expectPacket('pubrec')).packetId, 7);
      pub.publish('q2/dup', 'once', { qos: 2, packetId: 7, dup: true });
      assert.equal((await pub.expectPacket('pubrec')).packetId, 7);

      const delivered = await sub.expectPacket('publish');
      assert.equal(delivered.payload.toString(), 'once');
      assert.equal(delivered.qos, 2);
      await sub.expectNothing(150);

      pub.send({ type: 'pubrel', packetId: 7 });
      const pubcomp = await pub.expectPacket('pubcomp');
      assert.equal(pubcomp.packetId, 7);
      assert.equal(pubcomp.reasonCode ?? 0, 0);

      // After PUBREL the id is free: the same id now carries a new message.
      pub.publish('q2/dup', 'again', { qos: 2, packetId: 7 });
      await pub.expectPacket('pubrec');
      assert.equal((await sub.expectPacket('publish')).payload.toString(), 'again');
    });
  }

  test('conformance - PUBREL for an unknown packet id gets PUBCOMP 0x92 in MQTT 5, plain PUBCOMP in 3.1.1 [MQTT-4.3.3-11]', async (t) => {
    const { port } = await conformanceFerry(t);
    const { client: v5 } = await rawConnect(t, port, { protocolVersion: 5 });
    v5.send({ type: 'pubrel', packetId: 42 });
    const pubcomp5 = await v5.expectPacket('pubcomp');
    assert.equal(pubcomp5.packetId, 42);
    assert.equal(pubcomp5.reasonCode, PACKET_ID_NOT_FOUND);

    const { client: v4 } = await rawConnect(t, port, { protocolVersion: 4 });
    v4.send({ type: 'pubrel', packetId: 42 });
    const pubcomp4 = await v4.expectPacket('pubcomp');
    assert.equal(pubcomp4.packetId, 42);
    // The connection stays up in both cases.
    for (const c of [v5, v4]) {
      c.send({ type: 'pingreq' });
      await c.expectPacket('pingresp');
    }
  });

  for (const version of [4, 5] as const) {
    test(`conformance - unacknowledged QoS 1 is resent after reconnect with DUP=1, same id and message (${label(version)}) [MQTT-4.4.0-1] [MQTT-3.3.1-1]`, async (t) => {
      const { port, ferry } = await conformanceFerry(t);
      const clientId = `redeliver-${version}`;
      const persistent = version === 5 ? { clean: false, properties: { sessionExpiryInterval: 60 } } : { clean: false };
      const first = await rawConnect(t, port, { protocolVersion: version, clientId, ...persistent });
      assert.deepEqual(await first.client.subscribe('q1/redeliver', 1), [1]);

      const { client: pub } = await rawConnect(t, port, { protocolVersion: version });
      pub.publish('q1/redeliver', 'first', { qos: 1, packetId: 1 });
      pub.publish('q1/redeliver', 'second', { qos: 1, packetId: 2 });
      await pub.expectPacket('puback');
      await pub.expectPacket('puback');

      const original = [await first.client.expectPacket('publish'), await first.client.expectPacket('publish')];
      assert.deepEqual(original.map((p) => [p.payload.toString(), p.dup]), [['first', false], ['second', false]]);
      // The client acknowledges nothing and loses its connection.
      first.client.destroy();
      await first.client.expectClosed();

      await waitFor(() => ferry.broker.connectionCount === 1, { message: 'the server saw the close' });
      // One more arrives while it is offline: it is queued behind the unacknowledged ones.
      pub.publish('q1/redeliver', 'third', { qos: 1, packetId: 3 });
      await pub.expectPacket('puback');

      const second = await rawConnect(t, port, { protocolVersion: version, clientId, ...persistent });
      assert.equal(second.connack.sessionPresent, true);
      const resent = [await second.client.expectPacket('publish'), await second.client.expectPacket('publish')];
      for (const [i, p] of resent.entries()) {
        const o = original[i]!;
        assert.equal(p.dup, true, 'DUP on redelivery');
        assert.equal(p.packetId, o.packetId, 'same packet id');
        assert.equal(p.topic, o.topic);
        assert.equal(p.qos, 1);
        assert.deepEqual(p.payload, o.payload);
      }
      // Then what queued while offline, as a first delivery [MQTT-4.6.0-6].
      const queued = await second.client.expectPacket('publish');
      assert.equal(queued.payload.toString(), 'third');
      assert.equal(queued.dup, false);
      for (const p of [...resent, queued]) second.client.send({ type: 'puback', packetId: p.packetId! });
      await second.client.expectNothing(100);

      // Acknowledged now: a third session sees nothing to resend.
      second.client.destroy();
      await second.client.expectClosed();
      const third = await rawConnect(t, port, { protocolVersion: version, clientId, ...persistent });
      assert.equal(third.connack.sessionPresent, true);
      await third.client.expectNothing(150);
    });
  }

  test('conformance - a QoS 2 delivery interrupted after PUBREC resumes with PUBREL on reconnect [MQTT-4.4.0-1]', async (t) => {
    const { port } = await conformanceFerry(t);
    const clientId = 'q2-resume';
    const persistent = { protocolVersion: 5 as const, clientId, clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await rawConnect(t, port, persistent);
    assert.deepEqual(await first.client.subscribe('q2/resume', 2), [2]);
    const { client: pub } = await rawConnect(t, port, { protocolVersion: 5 });
    pub.publish('q2/resume', 'exactly once', { qos: 2, packetId: 1 });
    await pub.expectPacket('pubrec');

    const delivered = await first.client.expectPacket('publish');
    first.client.send({ type: 'pubrec', packetId: delivered.packetId! });
    assert.equal((await first.client.expectPacket('pubrel')).packetId, delivered.packetId);
    first.client.destroy(); // before PUBCOMP
    await first.client.expectClosed();

    const second = await rawConnect(t, port, { ...persistent, clean: false });
    assert.equal(second.connack.sessionPresent, true);
    // The message itself is not sent again: only the release is [MQTT-4.3.3-5].
    assert.equal((await second.client.expectPacket('pubrel')).packetId, delivered.packetId);
    second.client.send({ type: 'pubcomp', packetId: delivered.packetId! });
    await second.client.expectNothing(150);
  });

  test('conformance - PUBREC for an unknown packet id gets PUBREL 0x92 in MQTT 5 [MQTT-4.3.3-11]', async (t) => {
    const { port } = await conformanceFerry(t);
    const { client } = await rawConnect(t, port, { protocolVersion: 5 });
    client.send({ type: 'pubrec', packetId: 9 });
    const pubrel = await client.expectPacket('pubrel');
    assert.equal(pubrel.packetId, 9);
    assert.equal(pubrel.reasonCode, PACKET_ID_NOT_FOUND);
  });

  test('conformance - the client Receive Maximum bounds unacknowledged QoS 1 PUBLISHes from the server [MQTT-3.3.4-9]', async (t) => {
    const { port } = await conformanceFerry(t);
    const { client: sub } = await rawConnect(t, port, { protocolVersion: 5, properties: { receiveMaximum: 2 } });
    assert.deepEqual(await sub.subscribe('q1/window', 1), [1]);
    const { client: pub } = await rawConnect(t, port, { protocolVersion: 5 });
    for (let i = 1; i <= 5; i++) pub.publish('q1/window', `m${i}`, { qos: 1, packetId: i });
    for (let i = 1; i <= 5; i++) await pub.expectPacket('puback');

    const got: PublishPacket[] = [await sub.expectPacket('publish'), await sub.expectPacket('publish')];
    await sub.expectNothing(200); // two outstanding: the third waits
    while (got.length < 5) {
      const oldest = got[got.length - 2]!;
      sub.send({ type: 'puback', packetId: oldest.packetId! });
      got.push(await sub.expectPacket('publish'));
      if (got.length < 5) await sub.expectNothing(50);
    }
    assert.deepEqual(got.map((p) => p.payload.toString()), ['m1', 'm2', 'm3', 'm4', 'm5']);
    await sub.expectNothing(100);
  });

  test('conformance - QoS 2 PUBLISHes beyond the server Receive Maximum get DISCONNECT 0x93 [MQTT-3.3.4-7]', async (t) => {
    const { port, protocolErrorLogs } = await conformanceFerry(t, { receiveMaximum: 2 });
    const bystander = await Bystander.connect(t, port);
    const { client, connack } = await rawConnect(t, port, { protocolVersion: 5 });
    assert.equal(connack.properties?.receiveMaximum, 2);

    for (let id = 1; id <= 2; id++) {
      client.publish('q2/flood', `m${id}`, { qos: 2, packetId: id });
      assert.equal((await client.expectPacket('pubrec')).packetId, id);
    }
    // No PUBREL: both are still unacknowledged from the client's side; a third exceeds the limit.
    client.publish('q2/flood', 'm3', { qos: 2, packetId: 3 });
    assert.equal((await client.expectPacket('disconnect')).reasonCode, RECEIVE_MAXIMUM_EXCEEDED);
    await client.expectClosed();

    await bystander.roundTrip();
    assert.equal(protocolErrorLogs().length, 1);
  });

  test('conformance - QoS 2 flows within the server Receive Maximum keep going [MQTT-3.3.4-7]', async (t) => {
    const { port } = await conformanceFerry(t, { receiveMaximum: 2 });
    const { client } = await rawConnect(t, port, { protocolVersion: 5 });
    // Ten messages, never more than two awaiting PUBREL: no disconnect.
    for (let id = 1; id <= 10; id++) {
      client.publish('q2/paced', `m${id}`, { qos: 2, packetId: id });
      await client.expectPacket('pubrec');
      if (id >= 2) {
        client.send({ type: 'pubrel', packetId: id - 1 });
        await client.expectPacket('pubcomp');
      }
    }
    client.send({ type: 'pingreq' });
    await client.expectPacket('pingresp');
  });
});
