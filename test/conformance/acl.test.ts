/**
 * The config-driven ACL (broker.acl): a denied SUBSCRIBE filter fails alone in SUBACK (0x80 in
 * 3.1.1, 0x87 Not authorized in MQTT 5); a denied PUBLISH is not delivered, and an MQTT 5 client
 * is told so with PUBACK/PUBREC 0x87.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AclRule } from '../../src/broker/options.js';
import { rawConnect } from '../helpers/raw-client.js';
import { Bystander, conformanceFerry } from './fixture.js';

const NOT_AUTHORIZED = 0x87;
const V3_FAILURE = 0x80;

const ACL: AclRule[] = [
  { permission: 'deny', action: 'subscribe', topic: 'secret/#' },
  { permission: 'deny', action: 'publish', topic: 'readonly/#' },
  { permission: 'allow', action: 'all', topic: '#' },
];

describe('conformance - acl', () => {
  test('conformance - a denied SUBSCRIBE filter gets SUBACK 0x80 in 3.1.1 and 0x87 in MQTT 5, the others are granted [MQTT-3.9.3-1]', async (t) => {
    const { port, ferry } = await conformanceFerry(t, { acl: ACL });
    const bystander = await Bystander.connect(t, port);

    const { client: v4 } = await rawConnect(t, port, { protocolVersion: 4 });
    assert.deepEqual(await v4.subscribe(['open/a', 'secret/a', 'secret/#'], 1), [1, V3_FAILURE, V3_FAILURE]);
    const { client: v5 } = await rawConnect(t, port, { protocolVersion: 5 });
    assert.deepEqual(await v5.subscribe(['secret/b', 'open/b'], 2), [NOT_AUTHORIZED, 2]);

    // Nothing on the denied filters reaches them; the granted ones work.
    const { client: pub } = await rawConnect(t, port, { protocolVersion: 5 });
    pub.publish('secret/a', 'hidden');
    pub.publish('secret/b', 'hidden');
    pub.publish('open/a', 'for v4');
    pub.publish('open/b', 'for v5');
    assert.equal((await v4.expectPacket('publish')).payload.toString(), 'for v4');
    assert.equal((await v5.expectPacket('publish')).payload.toString(), 'for v5');
    await v4.expectNothing(100);
    await v5.expectNothing(20);
    assert.equal(ferry.broker.subscriptionCount, 3, 'bystander, open/a, open/b');
    await bystander.roundTrip();
  });

  test('conformance - a denied PUBLISH gets PUBACK/PUBREC 0x87 in MQTT 5 and is not delivered [MQTT-3.4.2-1]', async (t) => {
    const { port, ferry } = await conformanceFerry(t, { acl: ACL });
    const bystander = await Bystander.connect(t, port);
    const { client: sub } = await rawConnect(t, port, { protocolVersion: 5 });
    assert.deepEqual(await sub.subscribe('readonly/#', 2), [2]);

    const { client: v5 } = await rawConnect(t, port, { protocolVersion: 5 });
    v5.publish('readonly/x', 'q0');
    v5.publish('readonly/x', 'q1', { qos: 1, packetId: 1 });
    const puback = await v5.expectPacket('puback');
    assert.equal(puback.packetId, 1);
    assert.equal(puback.reasonCode, NOT_AUTHORIZED);
    v5.publish('readonly/x', 'q2', { qos: 2, packetId: 2 });
    const pubrec = await v5.expectPacket('pubrec');
    assert.equal(pubrec.packetId, 2);
    assert.equal(pubrec.reasonCode, NOT_AUTHORIZED);

    // 3.1.1 has no way to say no: the message is acknowledged and dropped.
    const { client: v4 } = await rawConnect(t, port, { protocolVersion: 4 });
    v4.publish('readonly/y', 'q1', { qos: 1, packetId: 1 });
    assert.equal((await v4.expectPacket('puback')).packetId, 1);

    await sub.expectNothing(150);
    assert.equal(ferry.broker.counters.publishDenied, 4);
    // The publishers are still connected and may publish where allowed.
    v5.publish('open/z', 'fine', { qos: 1, packetId: 3 });
    assert.equal((await v5.expectPacket('puback')).reasonCode ?? 0, 0);
    await bystander.roundTrip();
  });
});
