/** Connection output coalescing: what write() queues reaches the stream once per turn, in order. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '../../../src/connection/connection.js';
import type { Broker } from '../../../src/broker/broker.js';
import type { ByteStream, PeerInfo, StreamHandler } from '../../../src/transport/types.js';

class FakeStream implements ByteStream {
  readonly peer: PeerInfo = { transport: 'tcp', remoteAddress: '127.0.0.1', remotePort: 1, listener: 'mqtt' };
  readonly writes: Buffer[] = [];
  ended = false;
  destroyed = false;
  bufferedBytes = 0;
  write(data: Buffer): boolean {
    this.writes.push(data);
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
