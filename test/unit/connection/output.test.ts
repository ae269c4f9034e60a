/** Connection output coalescing: what write() queues reaches the stream once per turn, in order. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '../../../src/connection/connection.js';
import type { Broker } from '../../../src/broker/broker.js';
import type { ByteStream, PeerInfo, StreamHandler } from '../../../src/transport/types.js';
import { encode, type Packet } from '../../../src/protocol/index.js';

class FakeStream implements ByteStream {
  readonly peer: PeerInfo = { transport: 'tcp', remoteAddress: '127.0.0.1', remotePort: 1, listener: 'mqtt' };
  readonly writes: Buffer[] = [];
  /** The bytes of each write as they were when written (a lent buffer may be reused later). */
  readonly copies: Buffer[] = [];
  /** What the stream answers after each write; undefined: the property is absent (a net.Socket-based stream). */
  holdsLastWrite: boolean | undefined = undefined;
  ended = false;
  destroyed = false;
  bufferedBytes = 0;
  write(data: Buffer): boolean {
    this.writes.push(data);
    this.copies.push(Buffer.from(data));
    return true;
  }
  pause(): void {}
  resume(): void {}
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  attach(_handler: StreamHandler): void {}
}

function setup(): { conn: Connection; stream: FakeStream } {
  const broker = { options: { maxPacketSize: 1 << 20, maxOutputBufferBytes: 1 << 20 }, connectionGone: () => {} } as unknown as Broker;
  const stream = new FakeStream();
  return { conn: new Connection(stream, broker), stream };
}

const tick = (): Promise<void> => new Promise((r) => process.nextTick(r));

test('connection output - one write per turn, bytes in order', async () => {
  const { conn, stream } = setup();
  const parts = Array.from({ length: 300 }, (_, i) => Buffer.from(`packet-${i};`));
  for (const p of parts) conn.write(p);
  assert.equal(stream.writes.length, 0, 'nothing written before the flush');
  await tick();
  assert.equal(stream.writes.length, 1);
  assert.deepEqual(stream.writes[0], Buffer.concat(parts));
});

test('connection output - a single buffer is passed through as is', async () => {
  const { conn, stream } = setup();
  const b = Buffer.from('only');
  conn.write(b);
  await tick();
  assert.equal(stream.writes[0], b);
});

test('connection output - large output is written in pieces of at most 64 KiB, in order', async () => {
  const { conn, stream } = setup();
  const parts = [
    ...Array.from({ length: 3000 }, (_, i) => Buffer.alloc(100, i % 251)),
    Buffer.alloc(200 * 1024, 7),
    ...Array.from({ length: 10 }, (_, i) => Buffer.alloc(10, i)),
  ];
  for (const p of parts) conn.write(p);
  await tick();
  assert.ok(stream.writes.length > 1);
  for (const w of stream.writes) assert.ok(w.length <= 64 * 1024 || w.length === 200 * 1024);
  assert.deepEqual(Buffer.concat(stream.writes), Buffer.concat(parts));
});

test('connection output - close() flushes before ending; destroy() drops what is queued', async () => {
  const a = setup();
  a.conn.write(Buffer.from('bye'));
  a.conn.close();
  assert.equal(a.stream.writes.length, 1);
  assert.ok(a.stream.ended);
  a.conn.write(Buffer.from('late'));
  await tick();
  assert.equal(a.stream.writes.length, 1, 'nothing after close');

  const b = setup();
  b.conn.write(Buffer.from('lost'));
  b.conn.destroy();
  await tick();
  assert.equal(b.stream.writes.length, 0);
  assert.ok(b.stream.destroyed);
});

test('connection output - queued bytes count towards congestion', () => {
  const { conn } = setup();
  conn.write(Buffer.alloc((1 << 20) + 1));
  assert.equal(conn.congested, true);
});

const puback = (packetId: number): Packet => ({ type: 'puback', packetId });

test('connection output - acks queued among buffers are written into the one buffer, in order', async () => {
  const { conn, stream } = setup();
  const before = Buffer.from('before');
  const after = Buffer.from('after');
  conn.write(before);
  conn.writePacket(puback(0x1234));
  conn.writePacket({ type: 'pubrel', packetId: 0xff01 });
  conn.write(after);
  conn.writePacket({ type: 'pubcomp', packetId: 1 });
  await tick();
  assert.equal(stream.writes.length, 1);
  assert.deepEqual(stream.writes[0], Buffer.concat([before, Buffer.from([0x40, 2, 0x12, 0x34, 0x62, 2, 0xff, 0x01]), after, Buffer.from([0x70, 2, 0, 1])]));
});

test('connection output - a lone ack is written from one lent buffer while the stream keeps none, a new one after a stream kept it', async () => {
  const { conn, stream } = setup();
  stream.holdsLastWrite = false;
  for (let id = 1; id <= 3; id++) {
    conn.writePacket(puback(id));
    await tick();
  }
  assert.deepEqual(stream.copies, [1, 2, 3].map((id) => encode(puback(id), 4)));
  assert.equal(stream.writes[0], stream.writes[2], 'the same buffer, lent again');

  stream.holdsLastWrite = true;
  conn.writePacket(puback(4));
  await tick();
  conn.writePacket(puback(5));
  await tick();
  assert.notEqual(stream.writes[4], stream.writes[3], 'a held buffer is not used again');
  assert.deepEqual(stream.writes[3], encode(puback(4), 4), 'the held bytes are left as they were');

  stream.holdsLastWrite = undefined;
  conn.writePacket(puback(6));
  await tick();
  conn.writePacket(puback(7));
  await tick();
  assert.notEqual(stream.writes[6], stream.writes[5]);
  assert.deepEqual(stream.writes.slice(5), [puback(6), puback(7)].map((p) => encode(p, 4)));
});

test('connection output - acks MQTT 5 cannot send in 4 bytes are encoded whole', async () => {
  const { conn, stream } = setup();
  conn.setProtocolVersion(5);
  const refused: Packet = { type: 'puback', packetId: 9, reasonCode: 0x97 };
  const withReason: Packet = { type: 'pubrec', packetId: 10, properties: { reasonString: 'why' } };
  conn.writePacket(refused);
  conn.writePacket(withReason);
  conn.writePacket(puback(11));
  await tick();
  assert.deepEqual(stream.writes[0], Buffer.concat([encode(refused, 5), encode(withReason, 5), encode(puback(11), 5)]));
  assert.equal(encode(refused, 5).length, 5);
});
