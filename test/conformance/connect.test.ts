/**
 * CONNECT and the connection lifecycle, raw bytes over TCP: what comes before CONNECT, a second
 * CONNECT, protocol levels, client identifiers, keepalive and the server's keepalive cap.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rawConnect, rawSocket, connectPacket, type RawClient } from '../helpers/raw-client.js';
import { Bystander, conformanceFerry } from './fixture.js';

const PROTOCOL_ERROR = 0x82;
const KEEPALIVE_TIMEOUT = 0x8d;
/** The broker sweeps connections once a second, so a keepalive close may come this much late. */
const SWEEP_SLACK_MS = 1200;

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** Milliseconds from now until the server closes `client`, which must receive nothing first. */
async function timeUntilClosed(client: RawClient, timeoutMs: number): Promise<number> {
  const start = Date.now();
  await client.expectClosed(timeoutMs);
  return Date.now() - start;
}

describe('conformance - connect', () => {
  for (const [name, bytes] of [
    ['PINGREQ', 'c0 00'],
    ['PUBLISH', '30 05 0001 61 6869'],
    ['SUBSCRIBE', '82 06 0001 0001 61 00'],
    ['DISCONNECT', 'e0 00'],
  ] as const) {
    test(`conformance - ${name} as the first packet closes the connection without CONNACK [MQTT-3.1.0-1]`, async (t) => {
      const { port, protocolErrorLogs } = await conformanceFerry(t);
      const bystander = await Bystander.connect(t, port);
      const client = await rawSocket(t, port);
      client.send(hex(bytes));
      await client.expectClosed();
      await bystander.roundTrip();
      if (name !== 'DISCONNECT') assert.equal(protocolErrorLogs().length, 1, 'logged once');
    });
  }

  test('conformance - a second CONNECT gets DISCONNECT 0x82 in MQTT 5 and a plain close in 3.1.1 [MQTT-3.1.0-2]', async (t) => {
    const { port, protocolErrorLogs } = await conformanceFerry(t);
    const bystander = await Bystander.connect(t, port);

    const { client: v5 } = await rawConnect(t, port, { protocolVersion: 5 });
    v5.send(connectPacket({ protocolVersion: 5 }));
    assert.equal((await v5.expectPacket('disconnect')).reasonCode, PROTOCOL_ERROR);
    await v5.expectClosed();

    const { client: v4 } = await rawConnect(t, port, { protocolVersion: 4 });
    v4.send(connectPacket({ protocolVersion: 4 }));
    await v4.expectClosed();

    await bystander.roundTrip();
    assert.equal(protocolErrorLogs().length, 2, 'each logged once');
  });

  for (const [name, protocolName, level] of [
    ['level 6 (not yet defined)', 'MQTT', 6],
    ['level 2', 'MQTT', 2],
    ['level 3 under the 3.1.1 name', 'MQTT', 3],
    ['level 4 under the 3.1 name', 'MQIsdp', 4],
  ] as const) {
    test(`conformance - unsupported protocol ${name} gets CONNACK 0x01 and is closed [MQTT-3.1.2-2]`, async (t) => {
      const { port, protocolErrorLogs } = await conformanceFerry(t);
      const bystander = await Bystander.connect(t, port);
      const client = await rawSocket(t, port, 4);
      // CONNECT by hand: the codec refuses to encode an unknown level. Clean session, keepalive 0, id "x".
      const name_ = Buffer.from(protocolName);
      const body = Buffer.concat([Buffer.from([0, name_.length]), name_, Buffer.from([level, 0x02, 0, 0, 0, 1, 0x78])]);
      client.send(Buffer.concat([Buffer.from([0x10, body.length]), body]));
      // The level is unknown, so the answer uses the 3.1.1 CONNACK layout (the only one every
      // client can read): return code 0x01 "unacceptable protocol version".
      const connack = await client.expectPacket('connack');
      assert.equal(connack.reasonCode, 0x01);
      assert.equal(connack.sessionPresent, false);
      await client.expectClosed();
      await bystander.roundTrip();
      assert.equal(protocolErrorLogs().length, 1, 'logged once');
    });
  }

  test('conformance - MQTT 3.1.1 empty client id with clean session 0 gets CONNACK 0x02 and is closed [MQTT-3.1.3-8]', async (t) => {
    const { port } = await conformanceFerry(t);
    const bystander = await Bystander.connect(t, port, 4);
    const refused = await rawSocket(t, port, 4);
    refused.send(connectPacket({ protocolVersion: 4, clientId: '', clean: false }));
    const connack = await refused.expectPacket('connack');
    assert.equal(connack.reasonCode, 0x02);
    assert.equal(connack.sessionPresent, false);
    await refused.expectClosed();

    // With clean session 1 an empty id is fine [MQTT-3.1.3-7].
    const { connack: accepted } = await rawConnect(t, port, { protocolVersion: 4, clientId: '', clean: true });
    assert.equal(accepted.reasonCode, 0);
    await bystander.roundTrip();
  });

  test('conformance - MQTT 3.1 empty client id gets CONNACK 0x02 [MQTT-3.1.3-8]', async (t) => {
    const { port } = await conformanceFerry(t);
    const refused = await rawSocket(t, port, 3);
    refused.send(connectPacket({ protocolVersion: 3, clientId: '' }));
    assert.equal((await refused.expectPacket('connack')).reasonCode, 0x02);
    await refused.expectClosed();
  });

  test('conformance - MQTT 5 empty client id gets a unique Assigned Client Identifier [MQTT-3.1.3-6] [MQTT-3.1.3-7]', async (t) => {
    const { port } = await conformanceFerry(t);
    const first = await rawConnect(t, port, { protocolVersion: 5, clientId: '' });
    const second = await rawConnect(t, port, { protocolVersion: 5, clientId: '' });
    const id1 = first.connack.properties?.assignedClientIdentifier;
    const id2 = second.connack.properties?.assignedClientIdentifier;
    assert.ok(id1 !== undefined && id1.length > 0, 'assigned id in CONNACK');
    assert.ok(id2 !== undefined && id2.length > 0, 'assigned id in CONNACK');
    assert.notEqual(id1, id2);
    // Both are live sessions under their own ids: neither took the other over.
    await first.client.expectNothing(50);
    first.client.send({ type: 'pingreq' });
    await first.client.expectPacket('pingresp');

    // A client that brings its own id gets none back.
    const named = await rawConnect(t, port, { protocolVersion: 5, clientId: 'my-own-id' });
    assert.equal(named.connack.properties?.assignedClientIdentifier, undefined);
  });

  test('conformance - session takeover: the old MQTT 5 connection gets DISCONNECT 0x8E and its will goes out [MQTT-3.1.4-3]', async (t) => {
    const { port } = await conformanceFerry(t);
    const bystander = await Bystander.connect(t, port);
    assert.deepEqual(await bystander.subscriber.subscribe('will/takeover', 0, 2), [0]);
    const will = { topic: 'will/takeover', payload: Buffer.from('old one gone'), qos: 0 as const, retain: false };
    const { client: old } = await rawConnect(t, port, { protocolVersion: 5, clientId: 'taken', will });
    const { client: v4old } = await rawConnect(t, port, { protocolVersion: 4, clientId: 'taken-v4' });

    const { connack } = await rawConnect(t, port, { protocolVersion: 5, clientId: 'taken' });
    assert.equal(connack.reasonCode, 0);
    assert.equal((await old.expectPacket('disconnect')).reasonCode, 0x8e);
    await old.expectClosed();
    const published = await bystander.subscriber.expectPacket('publish');
    assert.equal(published.payload.toString(), 'old one gone');

    // 3.1.1 has no DISCONNECT from the server: the old connection is just closed.
    await rawConnect(t, port, { protocolVersion: 4, clientId: 'taken-v4' });
    await v4old.expectClosed();
    await bystander.roundTrip();
  });

  test('conformance - a silent client is closed after 1.5 × keepalive and its will is published [MQTT-3.1.2-24]', async (t) => {
    const { port } = await conformanceFerry(t);
    const bystander = await Bystander.connect(t, port);
    assert.deepEqual(await bystander.subscriber.subscribe('will/+', 0, 2), [0]);

    const will = (topic: string) => ({ topic, payload: Buffer.from(`${topic} is gone`), qos: 0 as const, retain: false });
    const { client: silent4 } = await rawConnect(t, port, { protocolVersion: 4, keepalive: 1, will: will('will/v4') });
    const { client: silent5 } = await rawConnect(t, port, { protocolVersion: 5, keepalive: 1, will: will('will/v5') });
    // A client that sends PINGREQ within its keepalive stays connected meanwhile.
    const { client: pinging } = await rawConnect(t, port, { protocolVersion: 4, keepalive: 1, will: will('will/pinging') });
    const pings = setInterval(() => pinging.send({ type: 'pingreq' }), 500);
    t.after(() => clearInterval(pings));

    const closed4 = timeUntilClosed(silent4, 1500 + SWEEP_SLACK_MS + 500);
    const closed5 = (async () => {
      const start = Date.now();
      assert.equal((await silent5.expectPacket('disconnect', 1500 + SWEEP_SLACK_MS + 500)).reasonCode, KEEPALIVE_TIMEOUT);
      await silent5.expectClosed();
      return Date.now() - start;
    })();
    const [ms4, ms5] = await Promise.all([closed4, closed5]);
    for (const ms of [ms4, ms5]) assert.ok(ms >= 1400, `closed after ${ms} ms, before 1.5 × keepalive`);

    const wills = [await bystander.subscriber.expectPacket('publish'), await bystander.subscriber.expectPacket('publish')];
    assert.deepEqual(wills.map((p) => p.topic).sort(), ['will/v4', 'will/v5']);
    assert.equal(wills.find((p) => p.topic === 'will/v4')!.payload.toString(), 'will/v4 is gone');

    clearInterval(pings);
    let pongs = 0;
    while (pinging.inbox.length > 0) {
      assert.equal((await pinging.nextPacket()).type, 'pingresp');
      pongs++;
    }
    assert.ok(pongs >= 3, `pinging client got ${pongs} PINGRESP`);
    assert.equal(pinging.closed, false, 'the pinging client stays connected');
    await bystander.roundTrip();
  });

  test('conformance - a keepalive above maxKeepalive is capped and announced as Server Keep Alive [MQTT-3.2.2-21]', async (t) => {
    const { port } = await conformanceFerry(t, { maxKeepalive: 1 });
    const { client: v5, connack } = await rawConnect(t, port, { protocolVersion: 5, keepalive: 60 });
    assert.equal(connack.properties?.serverKeepAlive, 1);
    // Keepalive 0 ("none") is capped too.
    const { connack: zero } = await rawConnect(t, port, { protocolVersion: 5, keepalive: 0 });
    assert.equal(zero.properties?.serverKeepAlive, 1);
    // Within the cap: no Server Keep Alive.
    const { connack: within } = await rawConnect(t, port, { protocolVersion: 5, keepalive: 1 });
    assert.equal(within.properties?.serverKeepAlive, undefined);

    // The capped value is the one enforced: silent for 1.5 s → closed, not after 90 s.
    const { client: v4 } = await rawConnect(t, port, { protocolVersion: 4, keepalive: 60 });
    const start = Date.now();
    assert.equal((await v5.expectPacket('disconnect', 1500 + SWEEP_SLACK_MS + 500)).reasonCode, KEEPALIVE_TIMEOUT);
    await v5.expectClosed();
    await v4.expectClosed(1500 + SWEEP_SLACK_MS + 500);
    assert.ok(Date.now() - start < 1500 + SWEEP_SLACK_MS + 500);
  });
});
