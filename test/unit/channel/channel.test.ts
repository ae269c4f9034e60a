/**
 * The channel state machine without sockets: packets in through handle(), packets out through a
 * recording ChannelOutput. This is what keeping I/O out of channel/ buys.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Broker } from '../../../src/broker/broker.js';
import { DEFAULT_BROKER_OPTIONS } from '../../../src/broker/options.js';
import { Channel, type ChannelOutput } from '../../../src/channel/channel.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { decodeAll } from '../../../src/protocol/decoder.js';
import type { ConnectPacket, Packet } from '../../../src/protocol/packets.js';
import type { AuthVerdict } from '../../../src/broker/hooks.js';
import type { PeerInfo } from '../../../src/transport/types.js';

const PEER: PeerInfo = { transport: 'tcp', remoteAddress: '127.0.0.1', remotePort: 1, listener: 'mqtt' };

class RecordingOutput implements ChannelOutput {
  readonly peer = PEER;
  readonly sent: Packet[] = [];
  closed = false;
  version: 3 | 4 | 5 = 4;
  get protocolVersion(): 3 | 4 | 5 {
    return this.version;
  }
  congested = false;
  write(data: Buffer): void {
    this.sent.push(...decodeAll(data, this.version).filter((p) => p.type !== 'connect'));
  }
  writePacket(packet: Packet): void {
    this.sent.push(packet);
  }
  setProtocolVersion(version: 3 | 4 | 5): void {
    this.version = version;
  }
  limitPacketSize(): void {}
  pauseReading(): void {}
  resumeProcessing(): void {}
  close(): void {
    this.closed = true;
  }
}

function setup(t: TestContext) {
  const broker = new Broker({ ...DEFAULT_BROKER_OPTIONS }, pino({ level: 'silent' }));
  t.after(() => broker.close());
  const open = () => {
    const out = new RecordingOutput();
    const channel = new Channel(out, broker);
    return { out, channel };
  };
  return { broker, open };
}

const connect = (clientId: string, extra: Partial<ConnectPacket> = {}): ConnectPacket => ({
  type: 'connect',
  protocolName: 'MQTT',
  protocolVersion: 4,
  clean: true,
  keepalive: 60,
  clientId,
  ...extra,
});

/** CONNECT is authenticated asynchronously; let it finish. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

test('channel - CONNECT is answered with CONNACK and the client is registered', async (t) => {
  const { broker, open } = setup(t);
  const { out, channel } = open();
  channel.handle(connect('a'));
  await settle();
  assert.deepEqual(out.sent, [{ type: 'connack', sessionPresent: false, reasonCode: 0 }]);
  assert.equal(channel.state, 'connected');
  assert.equal(broker.client('a'), channel);
});

test('channel - CONNECT is answered in the same call when authentication answers at once, after the wait when it waits', async (t) => {
  const { broker, open } = setup(t);
  const now = open();
  now.channel.handle(connect('now'));
  // No await: nothing of the CONNECT waits for a promise or a microtask (issue 15 §18).
  assert.deepEqual(now.out.sent, [{ type: 'connack', sessionPresent: false, reasonCode: 0 }]);
  assert.equal(now.channel.state, 'connected');

  let release!: (verdict: AuthVerdict) => void;
  broker.hooks.authenticator = { authenticate: () => new Promise<AuthVerdict>((resolve) => (release = resolve)) };
  const later = open();
  later.channel.handle(connect('later', { protocolVersion: 5 }));
  await settle();
  assert.equal(later.out.sent.length, 0, 'nothing before the verdict');
  assert.equal(later.channel.state, 'authenticating');
  release({ ok: true, instanceId: broker.options.defaultInstanceId });
  await settle();
  assert.equal(later.out.sent[0]?.type, 'connack');
  assert.equal(later.channel.state, 'connected');

  broker.hooks.authenticator = { authenticate: () => Promise.resolve<AuthVerdict>({ ok: false, reasonCode: 0x86 }) };
  const refused = open();
  refused.channel.handle(connect('refused', { protocolVersion: 5 }));
  await settle();
  assert.deepEqual(refused.out.sent, [{ type: 'connack', sessionPresent: false, reasonCode: 0x86 }]);
  assert.equal(refused.out.closed, true);
});

test('channel - a packet before CONNECT closes without an answer [MQTT-3.1.0-1]', (t) => {
  const { open } = setup(t);
  const { out, channel } = open();
  channel.handle({ type: 'pingreq' });
  assert.deepEqual(out.sent, []);
  assert.equal(out.closed, true);
  assert.equal(channel.state, 'closed');
});

test('channel - a second CONNECT is a protocol error: DISCONNECT 0x82 in MQTT 5 [MQTT-3.1.0-2]', async (t) => {
  const { open } = setup(t);
  const { out, channel } = open();
  channel.handle(connect('v5', { protocolVersion: 5 }));
  await settle();
  channel.handle(connect('v5', { protocolVersion: 5 }));
  assert.deepEqual(out.sent.at(-1), { type: 'disconnect', reasonCode: 0x82 });
  assert.equal(out.closed, true);
});

test('channel - subscribe, publish QoS 1 and the PUBACK/SUBACK/PUBLISH it causes', async (t) => {
  const { open } = setup(t);
  const sub = open();
  sub.channel.handle(connect('sub'));
  const pub = open();
  pub.channel.handle(connect('pub'));
  await settle();
  sub.channel.handle({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [{ topicFilter: 'a/+', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
  });
  pub.channel.handle({ type: 'publish', topic: 'a/b', payload: Buffer.from('hi'), qos: 1, retain: false, dup: false, packetId: 7 });
  assert.deepEqual(pub.out.sent.at(-1), { type: 'puback', packetId: 7 });
  assert.deepEqual(sub.out.sent.slice(1), [
    { type: 'suback', packetId: 1, reasonCodes: [1] },
    { type: 'publish', topic: 'a/b', payload: Buffer.from('hi'), qos: 1, retain: false, dup: false, packetId: 1 },
  ]);
  // The delivery stays in flight until the client acknowledges it.
  assert.equal(sub.channel.session!.inflight.size, 1);
  sub.channel.handle({ type: 'puback', packetId: 1 });
  assert.equal(sub.channel.session!.inflight.size, 0);
});

test('channel - takeover: the old connection gets DISCONNECT 0x8E and its will goes out', async (t) => {
  const { open } = setup(t);
  const watcher = open();
  watcher.channel.handle(connect('watcher', { protocolVersion: 5 }));
  const first = open();
  first.channel.handle(
    connect('dup', { protocolVersion: 5, will: { topic: 'wills/dup', payload: Buffer.from('gone'), qos: 0, retain: false } }),
  );
  await settle();
  watcher.channel.handle({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [{ topicFilter: 'wills/#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
  });
  const second = open();
  second.channel.handle(connect('dup', { protocolVersion: 5 }));
  await settle();
  assert.deepEqual(first.out.sent.at(-1), { type: 'disconnect', reasonCode: 0x8e });
  assert.equal(first.out.closed, true);
  assert.equal(second.channel.state, 'connected');
  assert.equal(watcher.out.sent.at(-1)?.type, 'publish');
});

test('channel - PUBACKs waiting for one commit share its callback and go out in order; a later commit keeps its own', async (t) => {
  // A persistent subscriber makes every QoS 1 PUBLISH a store write: its PUBACK waits for the
  // commit, which the memory store holds open for 30 ms after its first write.
  const broker = new Broker({ ...DEFAULT_BROKER_OPTIONS }, pino({ level: 'silent' }), new MemoryStore({ commitDelayMs: 30 }));
  t.after(() => broker.close());
  const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const subChannel = new Channel(new RecordingOutput(), broker);
  subChannel.handle(connect('sub', { clean: false }));
  const pubOut = new RecordingOutput();
  const pub = new Channel(pubOut, broker);
  pub.handle(connect('pub'));
  await settle();
  subChannel.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a/+', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }] });
  await delay(60);
  const publish = (packetId: number) => pub.handle({ type: 'publish', topic: 'a/b', payload: Buffer.from(`m${packetId}`), qos: 1, retain: false, dup: false, packetId });
  const pubacks = () => pubOut.sent.filter((p) => p.type === 'puback').map((p) => (p as { packetId: number }).packetId);
  publish(1);
  publish(2);
  publish(3);
  assert.deepEqual(pubacks(), [], 'nothing acknowledged before its commit');
  await delay(10);
  publish(4); // the same open batch: the same commit
  assert.deepEqual(pubacks(), []);
  await delay(40);
  assert.deepEqual(pubacks(), [1, 2, 3, 4], 'one commit, every ack it covers, in order');
  publish(5);
  assert.deepEqual(pubacks(), [1, 2, 3, 4], 'a new batch: its ack waits for its own commit');
  await delay(50);
  assert.deepEqual(pubacks(), [1, 2, 3, 4, 5]);
});
