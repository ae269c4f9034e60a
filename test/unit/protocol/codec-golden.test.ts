/**
 * Golden fixtures checked three ways (like mqtt-packet's testParseGenerate): parse (bytes →
 * object), generate (object → bytes) and mirror (both round trips), then fed through the
 * incremental decoder in every fragmentation we can think of.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAll } from '../../../src/protocol/decoder.js';
import { encode, encodedLength } from '../../../src/protocol/encoder.js';
import type { ProtocolVersion } from '../../../src/protocol/packets.js';
import { DECODE_ONLY, FIXTURES, fixturesFor } from './fixtures.js';
import { decodeChunks, oneByteChunks, randomSplit, rng } from './helpers.js';

const VERSIONS: ProtocolVersion[] = [3, 4, 5];

describe('codec - golden fixtures parse, generate and mirror', () => {
  for (const f of FIXTURES) {
    for (const v of f.versions) {
      it(`${f.name} (v${v})`, () => {
        const bytes = Buffer.from(f.bytes);
        // parse
        assert.deepStrictEqual(decodeAll(bytes, v), [f.packet]);
        // generate
        const encoded = encode(f.packet, v);
        assert.deepStrictEqual([...encoded], f.bytes);
        assert.equal(encodedLength(f.packet, v), f.bytes.length);
        // mirror
        assert.deepStrictEqual(decodeAll(encode(f.packet, v), v), [f.packet]);
        const [decoded] = decodeAll(bytes, v);
        assert.ok(decoded);
        assert.deepStrictEqual([...encode(decoded, v)], f.bytes);
      });
    }
  }
  it('covers every packet type in every version where it exists', () => {
    for (const v of VERSIONS) {
      const types = new Set(fixturesFor(v).map((f) => f.packet.type));
      const expected = ['connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'suback', 'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect'];
      if (v === 5) expected.push('auth');
      assert.deepStrictEqual([...types].sort(), expected.sort(), `version ${v}`);
    }
  });
  it('covers every MQTT 5 property', async () => {
    const { PROPERTY_TABLE } = await import('../../../src/protocol/constants.js');
    const seen = new Set<string>();
    for (const f of fixturesFor(5)) {
      const p = f.packet;
      if ('properties' in p && p.properties) for (const k of Object.keys(p.properties)) seen.add(k);
      if (p.type === 'connect' && p.will?.properties) for (const k of Object.keys(p.will.properties)) seen.add(k);
    }
    assert.deepStrictEqual([...seen].sort(), PROPERTY_TABLE.map((p) => p.name).sort());
  });
});

describe('codec - non-canonical encodings decode', () => {
  for (const f of DECODE_ONLY) {
    for (const v of f.versions) {
      it(`${f.name} (v${v})`, () => {
        assert.deepStrictEqual(decodeAll(Buffer.from(f.bytes), v), [f.packet]);
      });
    }
  }
});

describe('codec - split buffers', () => {
  for (const v of VERSIONS) {
    const fixtures = fixturesFor(v);
    it(`each fixture one byte at a time (v${v})`, () => {
      for (const f of fixtures) {
        assert.deepStrictEqual(decodeChunks(oneByteChunks(Buffer.from(f.bytes)), v), [f.packet], f.name);
      }
    });
    it(`each fixture in random splits (v${v})`, () => {
      const random = rng(v * 1000 + 7);
      for (const f of fixtures) {
        for (let i = 0; i < 20; i++) {
          const chunks = randomSplit(Buffer.from(f.bytes), random, 1 + Math.floor(random() * 12));
          assert.deepStrictEqual(decodeChunks(chunks, v), [f.packet], f.name);
        }
      }
    });
    it(`all fixtures in one chunk, then in random splits of the whole stream (v${v})`, () => {
      const stream = Buffer.concat(fixtures.map((f) => Buffer.from(f.bytes)));
      const expected = fixtures.map((f) => f.packet);
      assert.deepStrictEqual(decodeChunks([stream], v), expected);
      const random = rng(v);
      for (let i = 0; i < 50; i++) {
        assert.deepStrictEqual(decodeChunks(randomSplit(stream, random, 1 + Math.floor(random() * 400)), v), expected);
      }
      assert.deepStrictEqual(decodeChunks(oneByteChunks(stream), v), expected);
    });
  }
  it('a CONNECT sets the version used for what follows in the same chunk', () => {
    const connect = FIXTURES.find((f) => f.name === 'connect 5 minimal');
    const publish = FIXTURES.find((f) => f.name === 'publish 5 with every PUBLISH property');
    assert.ok(connect && publish);
    const stream = Buffer.from([...connect.bytes, ...publish.bytes, 0xc0, 0]);
    assert.deepStrictEqual(decodeChunks([stream], undefined), [connect.packet, publish.packet, { type: 'pingreq' }]);
    assert.deepStrictEqual(decodeChunks(oneByteChunks(stream), undefined), [connect.packet, publish.packet, { type: 'pingreq' }]);
  });
  it('payloads of packets inside one chunk are views of that chunk (no copy)', () => {
    const bytes = Buffer.from([0x30, 4, 0, 1, 0x74, 0x78, 0x30, 4, 0, 1, 0x74, 0x79]);
    const [a, b] = decodeChunks([bytes], 4);
    assert.ok(a?.type === 'publish' && b?.type === 'publish');
    assert.equal(a.payload.buffer, bytes.buffer);
    assert.equal(b.payload.byteOffset, bytes.byteOffset + 11);
  });
  it('a packet spanning chunks is copied and still decodes when the chunk is reused', () => {
    const bytes = Buffer.from([0x30, 4, 0, 1, 0x74, 0x78]);
    const first = Buffer.from(bytes.subarray(0, 3));
    const second = Buffer.from(bytes.subarray(3));
    const out = decodeChunks([first, second], 4);
    first.fill(0);
    second.fill(0);
    assert.deepStrictEqual(out, [{ type: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, retain: false, dup: false }]);
  });
});
