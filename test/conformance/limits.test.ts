/**
 * MQTT 5 limits negotiated at CONNECT: the client's Maximum Packet Size and the server's Topic
 * Alias Maximum.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rawConnect } from '../helpers/raw-client.js';
import { Bystander, conformanceFerry } from './fixture.js';

const TOPIC_ALIAS_INVALID = 0x94;

describe('conformance - limits', () => {
  test('conformance - a message larger than the client Maximum Packet Size is not sent to it, others get it [MQTT-3.1.2-25]', async (t) => {
    const { port } = await conformanceFerry(t);
    const { client: small } = await rawConnect(t, port, { protocolVersion: 5, properties: { maximumPacketSize: 128 } });
    const { client: large } = await rawConnect(t, port, { protocolVersion: 5 });
    const { client: v4 } = await rawConnect(t, port, { protocolVersion: 4 });
    for (const c of [small, large, v4]) assert.deepEqual(await c.subscribe('size/#', 1), [1]);

    const { client: pub } = await rawConnect(t, port, { protocolVersion: 5 });
    const big = Buffer.alloc(500, 0x62);
    pub.publish('size/q0', big);
    pub.publish('size/q1', big, { qos: 1, packetId: 1 });
    pub.publish('size/q0', 'fits');
    pub.publish('size/q1', 'fits too', { qos: 1, packetId: 2 });
    await pub.expectPacket('puback');
    await pub.expectPacket('puback');

    for (const c of [large, v4]) {
      const got = [];
      for (let i = 0; i < 4; i++) {
        const p = await c.expectPacket('publish');
        if (p.qos > 0) c.send({ type: 'puback', packetId: p.packetId! });
        got.push(`${p.topic}:${p.payload.length}`);
      }
      assert.deepEqual(got, ['size/q0:500', 'size/q1:500', 'size/q0:4', 'size/q1:8']);
    }
    // The small client gets only what fits; the too-large QoS 1 message counts as delivered
    // and does not hold up the QoS 1 message behind it.
    const first = await small.expectPacket('publish');
    assert.equal(first.payload.toString(), 'fits');
    const second = await small.expectPacket('publish');
    assert.equal(second.payload.toString(), 'fits too');
    small.send({ type: 'puback', packetId: second.packetId! });
    await small.expectNothing(150);
  });

  for (const alias of [0, 6]) {
    test(`conformance - topic alias ${alias} outside 1..Topic Alias Maximum gets DISCONNECT 0x94 [MQTT-3.3.2-8] [MQTT-3.3.2-9]`, async (t) => {
      const { port, protocolErrorLogs } = await conformanceFerry(t, { topicAliasMaximum: 5 });
      const bystander = await Bystander.connect(t, port);
      const { client, connack } = await rawConnect(t, port, { protocolVersion: 5 });
      assert.equal(connack.properties?.topicAliasMaximum, 5);

      // An alias within range is fine.
      client.publish('alias/ok', 'x', { qos: 1, packetId: 1, properties: { topicAlias: 5 } });
      await client.expectPacket('puback');
      // By hand: our encoder refuses alias 0. QoS 1 PUBLISH 'alias/bad', id 2, Topic Alias, payload 'x'.
      const topic = Buffer.from('alias/bad');
      const body = Buffer.concat([
        Buffer.from([0, topic.length]), topic, Buffer.from([0, 2, 3, 0x23, alias >> 8, alias & 0xff]), Buffer.from('x'),
      ]);
      client.send(Buffer.concat([Buffer.from([0x32, body.length]), body]));
      assert.equal((await client.expectPacket('disconnect')).reasonCode, TOPIC_ALIAS_INVALID);
      await client.expectClosed();

      await bystander.roundTrip();
      assert.equal(protocolErrorLogs().length, 1);
    });
  }

  test('conformance - a topic alias when the server allows none gets DISCONNECT 0x94 [MQTT-3.3.2-9]', async (t) => {
    const { port } = await conformanceFerry(t, { topicAliasMaximum: 0 });
    const { client, connack } = await rawConnect(t, port, { protocolVersion: 5 });
    assert.equal(connack.properties?.topicAliasMaximum, undefined);
    client.publish('alias/none', 'x', { properties: { topicAlias: 1 } });
    assert.equal((await client.expectPacket('disconnect')).reasonCode, TOPIC_ALIAS_INVALID);
    await client.expectClosed();
  });
});
