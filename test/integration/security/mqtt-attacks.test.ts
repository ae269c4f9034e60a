/**
 * Issue 12, MQTT side: the attacks of the issue, done for real over loopback TCP against an
 * in-process Ferry, each bounded in count and time, with a bystander client doing a round trip
 * every 100 ms that must not notice. The limits are in docs/security.md.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { encode } from '../../../src/protocol/index.js';
import { captureLogger, startFerry, waitFor } from '../../helpers/index.js';
import { startBystander } from '../../helpers/bystander.js';
import { connectPacket, rawConnect, rawSocket } from '../../helpers/raw-client.js';

const RC_QUOTA_EXCEEDED = 0x97;
const RC_NOT_AUTHORIZED = 0x87;

function openSocket(t: { after(fn: () => void): void }, port: number): Promise<Socket> {
  const socket = netConnect({ host: '127.0.0.1', port });
  t.after(() => socket.destroy());
  socket.on('error', () => {});
  return once(socket, 'connect').then(() => socket);
}

function closed(socket: Socket): Promise<void> {
  return socket.closed ? Promise.resolve() : once(socket, 'close').then(() => undefined);
}

test('topic aliases - a small maximum is announced and alias bytes per connection are bounded', async (t) => {
  const ferry = await startFerry(t, { broker: { maxTopicAliasBytes: 64 * 1024 } });
  const port = ferry.ports.mqtt;
  const bystander = await startBystander(t, port);
  const { client, connack } = await rawConnect(t, port, { protocolVersion: 5, clientId: 'aliaser' });
  assert.equal(connack.properties?.topicAliasMaximum, 10, 'Mosquitto-like default, not 65,535');

  // The attack of the issue: register aliases on long topics. 10 aliases of 60 KB topics would pin
  // 1.2 MB (UTF-16); the budget of 64 KiB cuts the client at the second one.
  const long = (i: number): string => `${String(i).padStart(2, '0')}/${'x'.repeat(30_000)}`;
  client.publish(long(1), 'a', { qos: 0, properties: { topicAlias: 1 } });
  client.publish(long(2), 'b', { qos: 0, properties: { topicAlias: 2 } });
  const disconnect = await client.expectPacket('disconnect');
  assert.equal(disconnect.reasonCode, RC_QUOTA_EXCEEDED);
  await client.expectClosed();
  assert.equal(ferry.broker.counters.limitHits.get('topic_alias_bytes'), 1);

  // Re-registering one alias on short topics forever stays within the budget.
  const { client: polite } = await rawConnect(t, port, { protocolVersion: 5, clientId: 'polite' });
  for (let i = 0; i < 2000; i++) polite.publish(`short/${i}`, 'x', { qos: 0, properties: { topicAlias: 1 + (i % 10) } });
  polite.send({ type: 'pingreq' });
  await polite.expectPacket('pingresp', 5000);

  const report = await bystander.stop();
  assert.equal(report.lost, 0, JSON.stringify(report));
  assert.ok(report.maxMs < 1000, JSON.stringify(report));
});

test('topic aliases - outbound aliases stop at the byte budget and topics go out in full', async (t) => {
  const ferry = await startFerry(t, { broker: { maxTopicAliasBytes: 1000 } });
  const port = ferry.ports.mqtt;
  const { client: sub } = await rawConnect(t, port, { protocolVersion: 5, clientId: 'sub', properties: { topicAliasMaximum: 100 } });
  assert.deepEqual(await sub.subscribe('t/#', 0), [0]);
  const { client: pub } = await rawConnect(t, port, { protocolVersion: 4, clientId: 'pub' });
  const topics = Array.from({ length: 5 }, (_, i) => `t/${i}/${'y'.repeat(200)}`);
  for (const topic of topics) pub.publish(topic, 'p');
  for (const topic of topics) pub.publish(topic, 'again');
  const got: Awaited<ReturnType<typeof sub.expectPacket<"publish">>>[] = [];
  for (let i = 0; i < 10; i++) got.push(await sub.expectPacket('publish'));
  // 2 bytes per character: two 204-character topics fit in 1000 bytes, the third does not.
  const aliased = got.slice(0, 5).map((p) => p.properties?.topicAlias);
  assert.deepEqual(aliased, [1, 2, undefined, undefined, undefined]);
  assert.deepEqual(got.slice(5).map((p) => (p.topic === '' ? `alias ${p.properties?.topicAlias}` : p.topic === topics[got.indexOf(p) - 5] ? 'full' : p.topic)), ['alias 1', 'alias 2', 'full', 'full', 'full']);
});

test('connect timeout - trickling bytes does not extend it, counted from accept', async (t) => {
  const ferry = await startFerry(t, { broker: { connectTimeoutMs: 1500 } });
  const port = ferry.ports.mqtt;
  const bystander = await startBystander(t, port);
  const bytes = encode(connectPacket({ clientId: 'slowpoke' }), 4);
  const sockets = await Promise.all(Array.from({ length: 20 }, () => openSocket(t, port)));
  const started = Date.now();
  let i = 0;
  // One byte every 200 ms per socket: under the old idle timeout these lived forever.
  const trickle = setInterval(() => {
    for (const s of sockets) if (!s.destroyed) s.write(bytes.subarray(i % (bytes.length - 1), (i % (bytes.length - 1)) + 1));
    i++;
  }, 200);
  t.after(() => clearInterval(trickle));
  await Promise.all(sockets.map(closed));
  clearInterval(trickle);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 1400 && elapsed < 4000, `all closed after ${elapsed} ms (timeout 1500 ms, sweep every 1 s)`);
  assert.ok(ferry.broker.counters.limitHits.get('connect_timeout') >= 20);
  const report = await bystander.stop();
  assert.equal(report.lost, 0, JSON.stringify(report));
});

test('connect size - an unfinished CONNECT cannot make the broker buffer more than maxConnectPacketSize', async (t) => {
  const ferry = await startFerry(t, { broker: { maxConnectPacketSize: 16 * 1024 } });
  const port = ferry.ports.mqtt;
  const bystander = await startBystander(t, port);
  // 50 sockets each announcing a 180 KB CONNECT and sending its first 100 KB: refused at the header.
  const huge = encode(
    connectPacket({ clientId: 'big', username: 'u'.repeat(60_000), password: Buffer.alloc(60_000, 1), will: { topic: 'w', payload: Buffer.alloc(60_000, 2), qos: 0, retain: false } }),
    4,
  );
  const sockets = await Promise.all(Array.from({ length: 50 }, () => openSocket(t, port)));
  const started = Date.now();
  for (const s of sockets) s.write(huge.subarray(0, 100_000));
  await Promise.all(sockets.map(closed));
  assert.ok(Date.now() - started < 2000, 'closed at once, not at the connect timeout');
  assert.equal(ferry.broker.counters.limitHits.get('connect_packet_size'), 50);

  // An ordinary CONNECT, and a large packet after it, are still fine.
  const { client } = await rawConnect(t, port, { protocolVersion: 5, clientId: 'normal' });
  assert.deepEqual(await client.subscribe('big/#', 1), [1]);
  client.publish('big/1', Buffer.alloc(500_000, 2), { qos: 1, packetId: 7 });
  await client.expectInbox(2, 5000);
  const [first, second] = client.inbox;
  const byType = new Map([first!, second!].map((p) => [p.type, p]));
  assert.equal((byType.get('puback') as { packetId: number } | undefined)?.packetId, 7);
  assert.equal((byType.get('publish') as { payload: Buffer } | undefined)?.payload.length, 500_000);

  const report = await bystander.stop();
  assert.equal(report.lost, 0, JSON.stringify(report));
});

test('$SYS - clients cannot publish to $ topics; the documented client requests are consumed', async (t) => {
  const ferry = await startFerry(t);
  const port = ferry.ports.mqtt;
  const { client: watcher } = await rawConnect(t, port, { protocolVersion: 5, clientId: 'watcher' });
  assert.deepEqual(await watcher.subscribe('$SYS/#', 1), [1]);
  const { client: forger } = await rawConnect(t, port, { protocolVersion: 5, clientId: 'forger' });
  forger.publish('$SYS/tokenInvalidNotice', '{"code":3,"type":"RW"}', { qos: 1, packetId: 1 });
  const ack = await forger.expectPacket('puback');
  assert.equal(ack.reasonCode, RC_NOT_AUTHORIZED);
  forger.publish('$SYS/enableOrderMsg', '{"order":"true"}', { qos: 1, packetId: 2 });
  assert.equal((await forger.expectPacket('puback')).reasonCode, RC_NOT_AUTHORIZED, 'anonymous clients have no $SYS requests');
  forger.publish('$other/x', 'y', { qos: 0 });
  await watcher.expectNothing(300);
  assert.equal(ferry.broker.counters.limitHits.get('sys_publish'), 3);

  // 3.1.1 has no reason code: acknowledged and dropped.
  const v3 = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'forger3', reconnectPeriod: 0 });
  t.after(() => v3.end(true));
  await v3.publishAsync('$SYS/tokenExpireNotice', 'x', { qos: 1 });
  await watcher.expectNothing(300);

  // Nor leave a will there.
  const willer = await rawSocket(t, port, 5);
  willer.send(connectPacket({ protocolVersion: 5, clientId: 'will-forger', will: { topic: '$SYS/tokenInvalidNotice', payload: Buffer.from('x'), qos: 0, retain: false } }));
  assert.equal((await willer.expectPacket('connack')).reasonCode, RC_NOT_AUTHORIZED);
});

test('logging - a throttled flood and over-quota filters write a few lines with counts, not one per packet', async (t) => {
  const logs = captureLogger('info');
  const ferry = await startFerry(t, { broker: { logRepeatIntervalMs: 500, acl: [{ permission: 'deny', action: 'all', topic: 'secret/#' }, { permission: 'allow', action: 'all', topic: '#' }] } }, { logger: logs.logger });
  const port = ferry.ports.mqtt;
  const bystander = await startBystander(t, port);
  const { client } = await rawConnect(t, port, { protocolVersion: 5, clientId: 'flooder' });
  for (let i = 0; i < 5000; i++) client.publish(`secret/${i}`, 'x', { qos: 0 });
  assert.deepEqual(await client.subscribe(Array.from({ length: 2000 }, (_, i) => `secret/${i}`), 0).then((c) => new Set(c)), new Set([RC_NOT_AUTHORIZED]));
  await waitFor(() => ferry.broker.counters.publishDenied === 5000, { timeoutMs: 5000 });
  // A cause gets one line, then one "(repeated)" line with the count per interval. The flood spans a few
  // event-loop turns, so an interval may end in the middle of it and the cause be written again: count
  // every denial as a line or as a repeat, and allow a line per interval, not one per packet.
  const lines = (prefix: string): { written: number; repeats: number; accounted: number } => {
    const written = logs.lines.filter((l) => l['msg'] === prefix).length;
    const repeats = logs.lines.filter((l) => l['msg'] === `${prefix} (repeated)`).reduce((n, l) => n + Number(l['repeated']), 0);
    return { written, repeats, accounted: written + repeats };
  };
  await waitFor(() => lines('publish not authorized').accounted === 5000, { timeoutMs: 5000, message: 'every denied publish in a line or a count' });
  const subscribeMsg = String(logs.lines.find((l) => String(l['msg']).startsWith('subscribe not authorized'))?.['msg']);
  await waitFor(() => lines(subscribeMsg).accounted === 2000, { timeoutMs: 5000, message: 'every denied filter in a line or a count' });
  const published = lines('publish not authorized');
  const subscribed = lines(subscribeMsg);
  assert.ok(published.written >= 1 && published.written <= 3, `a line per interval for the cause, not one per packet (${published.written})`);
  assert.ok(published.repeats >= 4997, `and the count of the rest (${published.repeats})`);
  assert.ok(subscribed.written >= 1 && subscribed.written <= 3, `${subscribed.written} subscribe lines`);
  assert.ok(logs.lines.length < 50, `${logs.lines.length} lines in all`);
  assert.ok(ferry.broker.counters.limitHits.get('log_lines_suppressed') >= published.repeats + subscribed.repeats);
  const denied = logs.lines.filter((l) => l['msg'] === 'publish not authorized');
  // The clientId appears once per line (the child logger's), not twice.
  const raw = JSON.stringify(denied[0]);
  assert.equal(raw.split('"clientId"').length - 1, 1, raw);
  const report = await bystander.stop();
  assert.equal(report.lost, 0, JSON.stringify(report));
});
