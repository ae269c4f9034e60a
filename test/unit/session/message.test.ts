import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Message, keepable } from '../../../src/session/message.js';
import { Decoder } from '../../../src/protocol/decoder.js';
import type { PublishPacket } from '../../../src/protocol/packets.js';

function decodePublish(bytes: Buffer, version: 4 | 5 = 4): PublishPacket {
  const d = new Decoder({ maxPacketSize: 1 << 20 });
  d.protocolVersion = version;
  d.push(bytes);
  const p = d.next();
  assert.ok(p !== null && p.type === 'publish');
  return p;
}

const payload = Buffer.from('hello');
const deliver = (m: Message, packetId: number, dup = false, qos: 0 | 1 = 1): Buffer => m.encodeFor(4, qos, false, packetId, dup, undefined, 0, false, 0);

test('message - a QoS 1 form: first delivery encoded with its own id, later ones are copies with theirs', () => {
  const m = new Message('a/b', payload, 1, false, undefined, 0, null);
  const first = deliver(m, 7);
  const firstBytes = Buffer.from(first);
  const second = deliver(m, 9);
  const third = deliver(m, 300, true);
  assert.notEqual(second, first);
  assert.equal(decodePublish(first).packetId, 7);
  assert.equal(decodePublish(second).packetId, 9);
  const p3 = decodePublish(third);
  assert.equal(p3.packetId, 300);
  assert.equal(p3.dup, true);
  assert.equal(decodePublish(second).dup, false);
  // What the first subscriber was given is never patched afterwards.
  assert.deepEqual(first, firstBytes);
  for (const b of [first, second, third]) {
    const p = decodePublish(b);
    assert.equal(p.topic, 'a/b');
    assert.deepEqual(Buffer.from(p.payload), payload);
    assert.equal(p.qos, 1);
  }
});

test('message - a first delivery that is a resend (DUP) is a copy; the cached form stays without DUP', () => {
  const m = new Message('a/b', payload, 1, false, undefined, 0, null);
  const resent = deliver(m, 5, true);
  const p = decodePublish(resent);
  assert.equal(p.dup, true);
  assert.equal(p.packetId, 5);
  const next = decodePublish(deliver(m, 6));
  assert.equal(next.dup, false);
  assert.equal(next.packetId, 6);
});

test('message - QoS 0 deliveries share one buffer', () => {
  const m = new Message('a/b', payload, 0, false, undefined, 0, null);
  const a = deliver(m, 0, false, 0);
  assert.equal(deliver(m, 0, false, 0), a);
  const p = decodePublish(a);
  assert.equal(p.qos, 0);
  assert.equal(p.packetId, undefined);
});

test('message - keepable: a small view into a large read is copied; a pool slice or most of its buffer is kept as it is', () => {
  const read = Buffer.alloc(64 * 1024, 7);
  const view = read.subarray(100, 164);
  const own = keepable(view);
  assert.notEqual(own, view);
  assert.notEqual(own.buffer, read.buffer);
  assert.ok(own.buffer.byteLength <= Buffer.poolSize);
  assert.deepEqual(own, view);
  // A slice of Node's pool (what a small read or a small copy is): copying it would pin as much.
  const slice = Buffer.allocUnsafe(80).fill(3).subarray(10, 74);
  assert.equal(slice.buffer.byteLength, Buffer.poolSize);
  assert.equal(keepable(slice), slice);
  // At least half of its buffer: kept.
  const most = read.subarray(0, 40 * 1024);
  assert.equal(keepable(most), most);
  // ownPayload applies the same rule to the message's payload.
  const m = new Message('a', view, 1, false, undefined, 0, null);
  m.ownPayload();
  assert.notEqual(m.payload, view);
  assert.deepEqual(m.payload, view);
  const n = new Message('a', slice, 1, false, undefined, 0, null);
  n.ownPayload();
  assert.equal(n.payload, slice);
});
