/**
 * What an idle connection holds (issue 15): a clean-session client that only connected carries no
 * session state, channel extras, ack queue or decoder chunk array; they are made when the client
 * first needs them, and everything still works afterwards. Also the merged time field of a
 * connection: the connect timeout runs from accept, keepalive from the CONNECT.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Channel } from '../../../src/channel/channel.js';
import type { Connection } from '../../../src/connection/connection.js';
import type { Session } from '../../../src/session/session.js';
import { captureLogger, startFerry } from '../../helpers/index.js';
import { connectPacket, rawConnect, rawSocket } from '../../helpers/raw-client.js';

/** The lazily made parts, read through the private fields that hold them. */
function footprint(channel: Channel): { channelExtras: unknown; acks: unknown; sessionState: unknown; chunks: number } {
  const ch = channel as unknown as { x: unknown; acks: unknown; session: Session; out: Connection };
  const session = ch.session as unknown as { x: unknown };
  const conn = ch.out as unknown as { chunks: unknown[] };
  return { channelExtras: ch.x, acks: ch.acks, sessionState: session.x, chunks: conn.chunks.length };
}

test('idle connection - a clean-session client that only connects and pings holds no lazily made state; subscribing and QoS 1 make it', async (t) => {
  // At info level (a debug line per connect would make the per-client child logger).
  const ferry = await startFerry(t, {}, { logger: captureLogger('info').logger });
  const port = ferry.ports.mqtt;
  const { client } = await rawConnect(t, port, { clientId: 'idle-1', keepalive: 60 });
  client.send({ type: 'pingreq' });
  await client.expectPacket('pingresp');
  const channel = ferry.broker.client('idle-1') as Channel;
  assert.deepEqual(footprint(channel), { channelExtras: null, acks: null, sessionState: null, chunks: 0 });

  // The same client subscribes and gets a QoS 1 message: the session state is made, it works.
  assert.deepEqual(await client.subscribe('idle/t', 1), [1]);
  const { client: publisher } = await rawConnect(t, port, { clientId: 'idle-pub' });
  publisher.publish('idle/t', 'hello', { qos: 1, packetId: 7 });
  assert.equal((await publisher.expectPacket('puback')).packetId, 7);
  const delivered = await client.expectPacket('publish');
  assert.equal(delivered.payload.toString(), 'hello');
  assert.equal(delivered.qos, 1);
  assert.notEqual(footprint(channel).sessionState, null, 'subscriptions and the in-flight window live in the session state');
  client.send({ type: 'puback', packetId: delivered.packetId! });
  await publisher.disconnect();

  // A client with a will and MQTT 5 limits gets the channel extras; its will still goes out.
  const { client: watcher } = await rawConnect(t, port, { clientId: 'idle-watch' });
  assert.deepEqual(await watcher.subscribe('idle/will', 0), [0]);
  const { client: mortal } = await rawConnect(t, port, {
    protocolVersion: 5,
    clientId: 'idle-mortal',
    will: { topic: 'idle/will', payload: Buffer.from('gone'), qos: 0, retain: false },
    properties: { maximumPacketSize: 4096 },
  });
  assert.notEqual(footprint(ferry.broker.client('idle-mortal') as Channel).channelExtras, null);
  mortal.destroy();
  assert.equal((await watcher.expectPacket('publish')).payload.toString(), 'gone');
});

test('idle connection - the connect timeout runs from accept, keepalive from the CONNECT', async (t) => {
  const ferry = await startFerry(t, { broker: { connectTimeoutMs: 3000 } });
  const port = ferry.ports.mqtt;
  // Accepted, then CONNECT (keepalive 1 s) 1.2 s later: the keepalive (1.5 s) must count from the
  // CONNECT, so the client is still connected 1 s after its CONNACK.
  const late = await rawSocket(t, port);
  await new Promise((resolve) => setTimeout(resolve, 1200));
  late.send(connectPacket({ clientId: 'idle-late', keepalive: 1 }));
  assert.equal((await late.expectPacket('connack')).reasonCode, 0);
  const connackAt = Date.now();
  await late.expectNothing(1000);
  assert.equal(late.closed, false, 'closed 1 s after CONNECT: keepalive counted from accept');
  await late.expectClosed(3000);
  assert.ok(Date.now() - connackAt >= 1400, `closed ${Date.now() - connackAt} ms after CONNECT, before 1.5 × keepalive`);

  // A socket that sends bytes but never a whole CONNECT is still cut 3 s after accept.
  const trickler = await rawSocket(t, port);
  const started = Date.now();
  const connect = Buffer.from([0x10, 0x20, 0x00]); // a CONNECT header promising 32 bytes, 1 of them
  trickler.send(connect);
  const drip = setInterval(() => {
    if (!trickler.closed) trickler.send(Buffer.from([0x04]));
  }, 300);
  t.after(() => clearInterval(drip));
  await trickler.expectClosed(6000);
  clearInterval(drip);
  const ms = Date.now() - started;
  assert.ok(ms >= 2900 && ms < 5500, `cut after ${ms} ms, expected ~3 s from accept`);
});
