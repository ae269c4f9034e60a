import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeEnvelope, encodeEnvelope, EnvelopeError } from '../../../src/cluster/envelope.js';
import { levelToken, Subjects, tokenLevel } from '../../../src/cluster/subjects.js';

const s = new Subjects('ferry');

test('cluster subjects - topic levels become tokens, with escapes for what subjects cannot hold', () => {
  assert.equal(s.topic('mqtt-a', 'sensors/t1/temp'), 'ferry.m.mqtt-a.sensors.t1.temp');
  assert.equal(s.topic('mqtt-a', 'a b/c.d/*/>'), 'ferry.m.mqtt-a.a~20b.c~2ed.~2a.~3e');
  assert.equal(s.topic('mqtt-a', '/x//'), 'ferry.m.mqtt-a.~.x.~.~');
  assert.equal(s.topic('mqtt-a', 'héllo/~'), 'ferry.m.mqtt-a.h~c3~a9llo.~7e');
});

test('cluster subjects - + becomes *, # becomes > and also covers the parent level', () => {
  assert.deepEqual(s.filter('mqtt-a', 'sensors/+/temp'), ['ferry.m.mqtt-a.sensors.*.temp']);
  assert.deepEqual(s.filter('mqtt-a', 'sensors/#'), ['ferry.m.mqtt-a.sensors.>', 'ferry.m.mqtt-a.sensors']);
  assert.deepEqual(s.filter('mqtt-a', '#'), ['ferry.m.mqtt-a.>']);
  assert.deepEqual(s.filter('mqtt-a', '+/+'), ['ferry.m.mqtt-a.*.*']);
});

test('cluster subjects - the level mapping is one-to-one and valid as a NATS token', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), (level) => {
      if (level.includes('/')) return;
      const token = levelToken(level);
      assert.match(token, /^[A-Za-z0-9_~-]+$/);
      assert.equal(tokenLevel(token), level);
    }),
  );
  const topic = 'a/b c//d';
  assert.deepEqual(s.topicOf(s.topic('mqtt-x', topic)), { instanceId: 'mqtt-x', topic });
});

test('cluster envelope - round trip of every field; another version is refused', () => {
  const e = {
    origin: 'node-1:1883#abcd',
    seq: 42,
    topic: 'a/b',
    qos: 2 as const,
    retain: true,
    wantsAck: true,
    expiresAt: 1_800_000_000_000,
    properties: { contentType: 'text/plain', correlationData: Buffer.from([1, 2, 3]), userProperties: [['k', 'v']] as Array<[string, string]> },
    payload: Buffer.from('hello'),
  };
  const back = decodeEnvelope(encodeEnvelope(e));
  assert.deepEqual({ ...back, payload: Buffer.from(back.payload) }, e);
  const plain = decodeEnvelope(encodeEnvelope({ ...e, qos: 0, retain: false, wantsAck: false, properties: undefined, payload: Buffer.alloc(0) }));
  assert.equal(plain.properties, undefined);
  assert.equal(plain.payload.length, 0);
  const other = Buffer.from(encodeEnvelope(e));
  other[0] = 9;
  assert.throws(() => decodeEnvelope(other), EnvelopeError);
});
