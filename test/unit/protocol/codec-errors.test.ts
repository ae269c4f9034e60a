/**
 * Decode errors and their reason codes, the max-packet-size guard, encode errors, setPacketId,
 * and robustness: random and mutated input only ever yields packets or DecodeError.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError, Decoder, decodeAll } from '../../../src/protocol/decoder.js';
import { EncodeError, encode, encodedLength, setPacketId } from '../../../src/protocol/encoder.js';
import { MAX_PACKET_SIZE } from '../../../src/protocol/constants.js';
import { connackReturnCodeV3 } from '../../../src/protocol/reason-codes.js';
import type { Packet, ProtocolVersion, PublishPacket } from '../../../src/protocol/packets.js';
import { FIXTURES, packet, props, str, u16 } from './fixtures.js';
import { oneByteChunks, rng } from './helpers.js';

const MALFORMED = 0x81;
const PROTOCOL = 0x82;

function decodeError(bytes: number[], version: ProtocolVersion | undefined): DecodeError {
  try {
    decodeAll(Buffer.from(bytes), version);
  } catch (e) {
    assert.ok(e instanceof DecodeError, `expected DecodeError, got ${String(e)}`);
    assert.equal(e.fatal, true);
    return e;
  }
  assert.fail('expected a DecodeError');
}

const connectHead = (name: string, level: number, flags: number): number[] => [...str(name), level, flags, 0, 60];

interface ErrorCase {
  name: string;
  version: ProtocolVersion | undefined;
  bytes: number[];
  reasonCode: number;
  message?: RegExp;
}

const CASES: ErrorCase[] = [
  // Fixed header
  { name: 'reserved packet type 0', version: 4, bytes: [0x00, 0], reasonCode: MALFORMED },
  { name: 'AUTH before MQTT 5', version: 4, bytes: [0xf0, 0], reasonCode: MALFORMED },
  { name: 'PUBREL flags 0000 [MQTT-3.6.1-1]', version: 4, bytes: [0x60, 2, 0, 1], reasonCode: MALFORMED, message: /MQTT-2\.2\.2-1/ },
  { name: 'SUBSCRIBE flags 0000', version: 4, bytes: packet(0x80, u16(1), str('a'), [0]), reasonCode: MALFORMED },
  { name: 'UNSUBSCRIBE flags 0000', version: 4, bytes: packet(0xa0, u16(1), str('a')), reasonCode: MALFORMED },
  { name: 'PUBACK flags 0010', version: 4, bytes: [0x42, 2, 0, 1], reasonCode: MALFORMED },
  { name: 'CONNECT flags 0001', version: undefined, bytes: packet(0x11, connectHead('MQTT', 4, 2), str('c')), reasonCode: MALFORMED },
  { name: 'PINGREQ flags 1000', version: 4, bytes: [0xc8, 0], reasonCode: MALFORMED },
  { name: 'PUBLISH QoS 3', version: 4, bytes: packet(0x36, str('t'), u16(1)), reasonCode: MALFORMED, message: /MQTT-3\.3\.1-4/ },
  { name: 'PUBLISH DUP with QoS 0', version: 4, bytes: packet(0x38, str('t')), reasonCode: MALFORMED, message: /MQTT-3\.3\.1-2/ },
  { name: 'remaining length over 4 bytes', version: 4, bytes: [0x30, 0xff, 0xff, 0xff, 0xff, 0x01], reasonCode: MALFORMED },
  { name: 'remaining length not minimal', version: 4, bytes: [0x30, 0x83, 0x80, 0x00, 0, 1, 0x74], reasonCode: MALFORMED, message: /MQTT-1\.5\.5-1/ },
  { name: 'first packet is not CONNECT', version: undefined, bytes: [0xc0, 0], reasonCode: PROTOCOL, message: /MQTT-3\.1\.0-1/ },
  // Strings
  { name: 'invalid UTF-8 in topic', version: 4, bytes: packet(0x30, [0, 2, 0xc3, 0x28]), reasonCode: MALFORMED, message: /topic name.*MQTT-1\.5\.4-1/ },
  { name: 'UTF-16 surrogate encoded in UTF-8', version: 4, bytes: packet(0x30, [0, 3, 0xed, 0xa0, 0x80]), reasonCode: MALFORMED },
  { name: 'overlong UTF-8', version: 4, bytes: packet(0x30, [0, 2, 0xc0, 0xaf]), reasonCode: MALFORMED },
  { name: 'U+0000 in topic', version: 4, bytes: packet(0x30, [0, 3, 0x61, 0, 0x62]), reasonCode: MALFORMED, message: /MQTT-1\.5\.4-2/ },
  {
    name: 'U+0000 in a long string',
    version: 4,
    bytes: packet(0x30, [0, 40, ...Buffer.alloc(39, 0x61), 0]),
    reasonCode: MALFORMED,
    message: /U\+0000/,
  },
  {
    name: 'invalid UTF-8 in a long string',
    version: 4,
    bytes: packet(0x30, [0, 40, ...Buffer.alloc(39, 0x61), 0xff]),
    reasonCode: MALFORMED,
  },
  { name: 'string longer than the packet', version: 4, bytes: packet(0x30, [0, 9, 0x61]), reasonCode: MALFORMED, message: /topic name: truncated/ },
  // PUBLISH
  { name: 'wildcard in topic name', version: 4, bytes: packet(0x30, str('a/+')), reasonCode: 0x90, message: /MQTT-3\.3\.2-2/ },
  { name: '# in topic name (v5)', version: 5, bytes: packet(0x30, str('a/#'), [0]), reasonCode: 0x90 },
  { name: 'empty topic (3.1.1)', version: 4, bytes: packet(0x30, str('')), reasonCode: PROTOCOL },
  { name: 'empty topic without alias (5)', version: 5, bytes: packet(0x30, str(''), [0]), reasonCode: PROTOCOL },
  { name: 'packet identifier 0', version: 4, bytes: packet(0x32, str('t'), u16(0)), reasonCode: PROTOCOL, message: /packet identifier/ },
  { name: 'missing packet identifier', version: 4, bytes: packet(0x32, str('t'), [1]), reasonCode: MALFORMED, message: /packet identifier: truncated/ },
  { name: 'publish 5 without property length', version: 5, bytes: packet(0x30, str('t')), reasonCode: MALFORMED, message: /property length/ },
  // CONNECT
  { name: 'unknown protocol name', version: undefined, bytes: packet(0x10, connectHead('MQTX', 4, 2), str('c')), reasonCode: PROTOCOL },
  { name: 'unknown protocol level', version: undefined, bytes: packet(0x10, connectHead('MQTT', 6, 2), str('c')), reasonCode: 0x84 },
  { name: 'MQTT with level 3', version: undefined, bytes: packet(0x10, connectHead('MQTT', 3, 2), str('c')), reasonCode: 0x84 },
  { name: 'MQIsdp with level 4', version: undefined, bytes: packet(0x10, connectHead('MQIsdp', 4, 2), str('c')), reasonCode: 0x84 },
  { name: 'bridge bit in protocol level', version: undefined, bytes: packet(0x10, connectHead('MQTT', 0x84, 2), str('c')), reasonCode: 0x84 },
  { name: 'reserved connect flag', version: undefined, bytes: packet(0x10, connectHead('MQTT', 4, 3), str('c')), reasonCode: MALFORMED, message: /MQTT-3\.1\.2-3/ },
  { name: 'will QoS without will flag', version: undefined, bytes: packet(0x10, connectHead('MQTT', 4, 0x0a), str('c')), reasonCode: MALFORMED },
  { name: 'will retain without will flag', version: undefined, bytes: packet(0x10, connectHead('MQTT', 4, 0x22), str('c')), reasonCode: MALFORMED },
  { name: 'will QoS 3', version: undefined, bytes: packet(0x10, connectHead('MQTT', 4, 0x1e), str('c'), str('w'), str('p')), reasonCode: MALFORMED },
  {
    name: 'password without user name (3.1.1)',
    version: undefined,
    bytes: packet(0x10, connectHead('MQTT', 4, 0x42), str('c'), str('p')),
    reasonCode: PROTOCOL,
    message: /MQTT-3\.1\.2-22/,
  },
  { name: 'empty client id without clean session (3.1.1)', version: undefined, bytes: packet(0x10, connectHead('MQTT', 4, 0), str('')), reasonCode: 0x85 },
  { name: 'empty client id (3.1)', version: undefined, bytes: packet(0x10, connectHead('MQIsdp', 3, 2), str('')), reasonCode: 0x85 },
  { name: 'will topic with wildcard', version: undefined, bytes: packet(0x10, connectHead('MQTT', 4, 0x06), str('c'), str('w/#'), str('p')), reasonCode: 0x90 },
  { name: 'missing will payload', version: undefined, bytes: packet(0x10, connectHead('MQTT', 4, 0x06), str('c'), str('w')), reasonCode: MALFORMED, message: /will payload/ },
  { name: 'user name flag without user name', version: undefined, bytes: packet(0x10, connectHead('MQTT', 4, 0x82), str('c')), reasonCode: MALFORMED, message: /user name/ },
  { name: 'trailing bytes after CONNECT', version: undefined, bytes: packet(0x10, connectHead('MQTT', 4, 2), str('c'), [0]), reasonCode: MALFORMED, message: /trailing/ },
  // CONNACK
  { name: 'CONNACK reserved flags', version: 4, bytes: [0x20, 2, 2, 0], reasonCode: MALFORMED },
  { name: 'CONNACK 3.x reserved return code', version: 4, bytes: [0x20, 2, 0, 6], reasonCode: PROTOCOL },
  { name: 'CONNACK session present with refusal', version: 4, bytes: [0x20, 2, 1, 5], reasonCode: PROTOCOL },
  { name: 'CONNACK 5 invalid reason code', version: 5, bytes: [0x20, 3, 0, 0x04, 0], reasonCode: PROTOCOL },
  { name: 'CONNACK 5 without property length', version: 5, bytes: [0x20, 2, 0, 0], reasonCode: MALFORMED },
  // Acks
  { name: 'PUBACK 3.x with a reason code', version: 4, bytes: [0x40, 3, 0, 1, 0], reasonCode: MALFORMED, message: /trailing/ },
  { name: 'PUBACK truncated', version: 4, bytes: [0x40, 1, 0], reasonCode: MALFORMED },
  { name: 'PUBACK 5 with a PUBREL reason code', version: 5, bytes: [0x40, 3, 0, 1, 0x92], reasonCode: PROTOCOL },
  { name: 'PUBCOMP 5 with a PUBACK reason code', version: 5, bytes: [0x70, 3, 0, 1, 0x10], reasonCode: PROTOCOL },
  { name: 'PINGREQ with a body', version: 4, bytes: [0xc0, 1, 0], reasonCode: MALFORMED },
  { name: 'DISCONNECT 3.x with a body', version: 4, bytes: [0xe0, 1, 0], reasonCode: MALFORMED },
  { name: 'DISCONNECT 5 invalid reason code', version: 5, bytes: [0xe0, 1, 0x05], reasonCode: PROTOCOL },
  { name: 'AUTH 5 invalid reason code', version: 5, bytes: [0xf0, 2, 0x87, 0], reasonCode: PROTOCOL },
  // SUBSCRIBE family
  { name: 'SUBSCRIBE without filters', version: 4, bytes: packet(0x82, u16(1)), reasonCode: PROTOCOL, message: /MQTT-3\.8\.3-3/ },
  { name: 'SUBSCRIBE 5 without filters', version: 5, bytes: packet(0x82, u16(1), [0]), reasonCode: PROTOCOL },
  { name: 'SUBSCRIBE filter without options', version: 4, bytes: packet(0x82, u16(1), str('a')), reasonCode: MALFORMED, message: /subscription options/ },
  { name: 'SUBSCRIBE 3.x reserved option bits', version: 4, bytes: packet(0x82, u16(1), str('a'), [0x04]), reasonCode: MALFORMED },
  { name: 'SUBSCRIBE 3.x QoS 3', version: 4, bytes: packet(0x82, u16(1), str('a'), [3]), reasonCode: MALFORMED },
  { name: 'SUBSCRIBE 5 reserved option bits', version: 5, bytes: packet(0x82, u16(1), [0], str('a'), [0x40]), reasonCode: MALFORMED, message: /MQTT-3\.8\.3-5/ },
  { name: 'SUBSCRIBE 5 QoS 3', version: 5, bytes: packet(0x82, u16(1), [0], str('a'), [3]), reasonCode: PROTOCOL },
  { name: 'SUBSCRIBE 5 retain handling 3', version: 5, bytes: packet(0x82, u16(1), [0], str('a'), [0x30]), reasonCode: PROTOCOL },
  { name: 'SUBSCRIBE 5 no local on shared subscription', version: 5, bytes: packet(0x82, u16(1), [0], str('$share/g/a'), [0x04]), reasonCode: PROTOCOL, message: /MQTT-3\.8\.3-4/ },
  { name: 'SUBSCRIBE packet identifier 0', version: 4, bytes: packet(0x82, u16(0), str('a'), [0]), reasonCode: PROTOCOL },
  { name: 'UNSUBSCRIBE without filters', version: 4, bytes: packet(0xa2, u16(1)), reasonCode: PROTOCOL },
  { name: 'SUBACK 3.x invalid return code', version: 4, bytes: packet(0x90, u16(1), [3]), reasonCode: PROTOCOL },
  { name: 'SUBACK 5 invalid reason code', version: 5, bytes: packet(0x90, u16(1), [0], [0x10]), reasonCode: PROTOCOL },
  { name: 'SUBACK without codes', version: 4, bytes: packet(0x90, u16(1)), reasonCode: PROTOCOL },
  { name: 'UNSUBACK 3.x with codes', version: 4, bytes: packet(0xb0, u16(1), [0]), reasonCode: MALFORMED },
  { name: 'UNSUBACK 5 invalid reason code', version: 5, bytes: packet(0xb0, u16(1), [0], [0x01]), reasonCode: PROTOCOL },
  // Properties
  { name: 'undefined property identifier', version: 5, bytes: packet(0x30, str('t'), props([0x05, 0])), reasonCode: MALFORMED, message: /not defined/ },
  { name: 'property not allowed in the packet', version: 5, bytes: packet(0x30, str('t'), props([0x21, 0, 1])), reasonCode: MALFORMED, message: /not allowed in PUBLISH/ },
  { name: 'will property outside the will', version: 5, bytes: packet(0x10, connectHead('MQTT', 5, 2), props([0x18, 0, 0, 0, 1]), str('c')), reasonCode: MALFORMED },
  { name: 'connect property inside the will', version: 5, bytes: packet(0x10, connectHead('MQTT', 5, 6), [0], str('c'), props([0x11, 0, 0, 0, 1]), str('w'), str('p')), reasonCode: MALFORMED, message: /not allowed in WILL/ },
  { name: 'duplicate single-valued property', version: 5, bytes: packet(0x30, str('t'), props([0x03, ...str('a')], [0x03, ...str('b')])), reasonCode: PROTOCOL, message: /more than once/ },
  { name: 'two subscription identifiers in SUBSCRIBE', version: 5, bytes: packet(0x82, u16(1), props([0x0b, 1], [0x0b, 2]), str('a'), [0]), reasonCode: PROTOCOL },
  { name: 'subscription identifier 0', version: 5, bytes: packet(0x30, str('t'), props([0x0b, 0])), reasonCode: PROTOCOL },
  { name: 'topic alias 0', version: 5, bytes: packet(0x30, str('t'), props([0x23, 0, 0])), reasonCode: 0x94 },
  { name: 'receive maximum 0', version: undefined, bytes: packet(0x10, connectHead('MQTT', 5, 2), props([0x21, 0, 0]), str('c')), reasonCode: PROTOCOL },
  { name: 'maximum packet size 0', version: undefined, bytes: packet(0x10, connectHead('MQTT', 5, 2), props([0x27, 0, 0, 0, 0]), str('c')), reasonCode: PROTOCOL },
  {
    name: 'authentication data without method in CONNECT',
    version: undefined,
    bytes: packet(0x10, connectHead('MQTT', 5, 2), props([0x16, 0, 1, 7]), str('c')),
    reasonCode: PROTOCOL,
  },
  { name: 'request problem information 2', version: undefined, bytes: packet(0x10, connectHead('MQTT', 5, 2), props([0x17, 2]), str('c')), reasonCode: PROTOCOL },
  { name: 'payload format indicator 2', version: 5, bytes: packet(0x30, str('t'), props([0x01, 2])), reasonCode: PROTOCOL },
  { name: 'maximum QoS 2', version: 5, bytes: packet(0x20, [0, 0], props([0x24, 2])), reasonCode: PROTOCOL },
  { name: 'response topic with wildcard', version: 5, bytes: packet(0x30, str('t'), props([0x08, ...str('r/+')])), reasonCode: 0x90 },
  { name: 'property length beyond the packet', version: 5, bytes: packet(0x30, str('t'), [10, 0x01, 1]), reasonCode: MALFORMED },
  { name: 'property running past property length', version: 5, bytes: packet(0x30, str('t'), [2, 0x02, 0, 0, 0, 1]), reasonCode: MALFORMED, message: /truncated/ },
  { name: 'invalid UTF-8 in user property', version: 5, bytes: packet(0x30, str('t'), props([0x26, 0, 1, 0xff, ...str('v')])), reasonCode: MALFORMED, message: /user property name/ },
  { name: 'property length over 4 bytes', version: 5, bytes: packet(0x30, str('t'), [0xff, 0xff, 0xff, 0xff, 0x01]), reasonCode: MALFORMED },
];

describe('codec - decode errors carry reason codes', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const e = decodeError(c.bytes, c.version);
      assert.equal(e.reasonCode, c.reasonCode, `${e.message}`);
      if (c.message) assert.match(e.message, c.message);
      // Same result when fed one byte at a time.
      const d = new Decoder(c.version === undefined ? { maxPacketSize: MAX_PACKET_SIZE } : { maxPacketSize: MAX_PACKET_SIZE, protocolVersion: c.version });
      let err: unknown;
      try {
        for (const b of oneByteChunks(Buffer.from(c.bytes))) {
          d.push(b);
          while (d.next() !== null);
        }
      } catch (x) {
        err = x;
      }
      assert.ok(err instanceof DecodeError && err.reasonCode === c.reasonCode, String(err));
    });
  }
  it('a failed decoder keeps failing and ignores pushes', () => {
    const d = new Decoder({ maxPacketSize: 1000, protocolVersion: 4 });
    d.push(Buffer.from([0x00, 0x00, 0xc0, 0x00]));
    assert.throws(() => d.next(), DecodeError);
    d.push(Buffer.from([0xc0, 0x00]));
    assert.throws(() => d.next(), DecodeError);
    assert.equal(d.bufferedBytes, 0);
  });
});

describe('codec - max packet size', () => {
  it('rejects from the fixed header, before the body arrives', () => {
    const d = new Decoder({ maxPacketSize: 100, protocolVersion: 4 });
    d.push(Buffer.from([0x30])); // type only
    assert.equal(d.next(), null);
    d.push(Buffer.from([0xc8])); // first length byte (continues)
    assert.equal(d.next(), null);
    d.push(Buffer.from([0x01])); // remaining length 200: no body byte yet
    assert.throws(
      () => d.next(),
      (e: unknown) => e instanceof DecodeError && e.reasonCode === 0x95 && /203 exceeds the maximum 100/.test(e.message),
    );
  });
  it('counts the fixed header and accepts a packet of exactly the maximum', () => {
    const bytes = packet(0x30, str('t'), Array.from({ length: 95 }, () => 0x61));
    assert.equal(bytes.length, 100);
    const ok = new Decoder({ maxPacketSize: 100, protocolVersion: 4 });
    ok.push(Buffer.from(bytes));
    assert.equal(ok.next()?.type, 'publish');
    const tooSmall = new Decoder({ maxPacketSize: 99, protocolVersion: 4 });
    tooSmall.push(Buffer.from(bytes.slice(0, 2)));
    assert.throws(() => tooSmall.next(), (e: unknown) => e instanceof DecodeError && e.reasonCode === 0x95);
  });
  it('maxPacketSize and protocolVersion are settable', () => {
    const d = new Decoder({ maxPacketSize: 10 });
    d.protocolVersion = 5;
    d.maxPacketSize = 3;
    d.push(Buffer.from([0xe0, 2, 0, 0]));
    assert.throws(() => d.next(), (e: unknown) => e instanceof DecodeError && e.reasonCode === 0x95);
  });
  it('a large packet arriving in pieces is assembled correctly', () => {
    const payload = Buffer.alloc(200_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const wire = encode({ type: 'publish', topic: 'big', payload, qos: 1, retain: false, dup: false, packetId: 9 }, 4);
    const random = rng(3);
    for (const piece of [1000, 7, 65536]) {
      const d = new Decoder({ maxPacketSize: 1 << 20, protocolVersion: 4 });
      const out: Packet[] = [];
      for (let pos = 0; pos < wire.length; ) {
        const n = Math.max(1, Math.floor(random() * piece));
        d.push(Buffer.concat([wire.subarray(pos, pos + n), pos + n >= wire.length ? Buffer.from([0xc0, 0]) : Buffer.alloc(0)]));
        pos += n;
        for (let p = d.next(); p !== null; p = d.next()) out.push(p);
      }
      assert.equal(out.length, 2);
      const first = out[0];
      assert.ok(first?.type === 'publish');
      assert.ok(first.payload.equals(payload));
      assert.deepStrictEqual(out[1], { type: 'pingreq' });
    }
  });
  it('a declared huge packet does not buffer its body', () => {
    const d = new Decoder({ maxPacketSize: 1 << 20, protocolVersion: 4 });
    d.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]));
    assert.throws(() => d.next(), (e: unknown) => e instanceof DecodeError && e.reasonCode === 0x95);
  });
});

describe('codec - random and mutated input only produce DecodeError', () => {
  const versions: (ProtocolVersion | undefined)[] = [undefined, 3, 4, 5];

  function feed(chunks: Buffer[], version: ProtocolVersion | undefined): Packet[] {
    const d = new Decoder(version === undefined ? { maxPacketSize: 4096 } : { maxPacketSize: 4096, protocolVersion: version });
    const out: Packet[] = [];
    try {
      for (const c of chunks) {
        d.push(c);
        // Each returned packet consumes at least 2 bytes, so this loop is bounded.
        for (let p = d.next(); p !== null; p = d.next()) out.push(p);
      }
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      assert.ok(typeof e.reasonCode === 'number' && e.reasonCode >= 0x80, `reason code ${e.reasonCode}`);
    }
    return out;
  }

  /** Whatever decodes must re-encode and decode to the same packet. */
  function roundTrips(packets: Packet[], version: ProtocolVersion | undefined): void {
    let v = version;
    for (const p of packets) {
      if (p.type === 'connect') v = p.protocolVersion;
      assert.ok(v !== undefined);
      assert.deepStrictEqual(decodeAll(encode(p, v), v), [p]);
    }
  }

  it('random bytes', () => {
    const random = rng(42);
    for (let i = 0; i < 20000; i++) {
      const len = Math.floor(random() * 48);
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = Math.floor(random() * 256);
      // Bias the first byte to known packet types with valid flags half the time.
      if (len > 0 && random() < 0.5) buf[0] = [0x10, 0x20, 0x30, 0x32, 0x40, 0x62, 0x82, 0x90, 0xa2, 0xb0, 0xe0, 0xf0][Math.floor(random() * 12)] as number;
      if (len > 1 && random() < 0.5) buf[1] = Math.min(buf[1] as number, len - 2) & 0x7f;
      const version = versions[i % 4];
      const out = feed([buf], version);
      roundTrips(out, version);
      if (i % 10 === 0) feed(oneByteChunks(buf), version);
    }
  });

  it('mutated valid packets', () => {
    const random = rng(7);
    for (let i = 0; i < 30000; i++) {
      const f = FIXTURES[i % FIXTURES.length] as (typeof FIXTURES)[number];
      const version = f.versions[Math.floor(random() * f.versions.length)] as ProtocolVersion;
      const bytes = [...f.bytes];
      const mutations = 1 + Math.floor(random() * 3);
      for (let m = 0; m < mutations; m++) {
        const kind = random();
        const at = Math.floor(random() * bytes.length);
        if (kind < 0.5) bytes[at] = Math.floor(random() * 256);
        else if (kind < 0.65) bytes[at] = (bytes[at] as number) ^ (1 << Math.floor(random() * 8));
        else if (kind < 0.8) bytes.splice(at, 1);
        else if (kind < 0.9) bytes.splice(at, 0, Math.floor(random() * 256));
        else bytes.length = at;
      }
      const buf = Buffer.from(bytes);
      const out = feed([buf], f.packet.type === 'connect' ? undefined : version);
      roundTrips(out, f.packet.type === 'connect' ? undefined : version);
    }
  });
});

describe('codec - encode errors', () => {
  const pub = (over: Partial<PublishPacket>): Packet => ({ type: 'publish', topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false, ...over }) as Packet;
  const cases: { name: string; packet: Packet; version: ProtocolVersion }[] = [
    { name: 'string over 65535 bytes', packet: pub({ topic: 'é'.repeat(32768) }), version: 4 },
    { name: 'QoS 1 without packet identifier', packet: pub({ qos: 1 }), version: 4 },
    { name: 'packet identifier 0', packet: pub({ qos: 1, packetId: 0 }), version: 4 },
    { name: 'DUP with QoS 0', packet: pub({ dup: true }), version: 4 },
    { name: 'property not allowed', packet: pub({ properties: { receiveMaximum: 1 } }), version: 5 },
    { name: 'topic alias 0', packet: pub({ properties: { topicAlias: 0 } }), version: 5 },
    { name: 'u16 property out of range', packet: { type: 'connack', sessionPresent: false, reasonCode: 0, properties: { serverKeepAlive: 70000 } }, version: 5 },
    { name: 'flag property 2', packet: pub({ properties: { payloadFormatIndicator: 2 } }), version: 5 },
    { name: 'subscription identifier 0', packet: pub({ properties: { subscriptionIdentifiers: [0] } }), version: 5 },
    {
      name: 'two subscription identifiers in SUBSCRIBE',
      packet: {
        type: 'subscribe',
        packetId: 1,
        subscriptions: [{ topicFilter: 'a', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
        properties: { subscriptionIdentifiers: [1, 2] },
      },
      version: 5,
    },
    {
      name: 'authentication data without method in CONNECT',
      packet: { type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'c', properties: { authenticationData: Buffer.from([1]) } },
      version: 5,
    },
    { name: 'SUBSCRIBE without subscriptions', packet: { type: 'subscribe', packetId: 1, subscriptions: [] }, version: 4 },
    { name: 'UNSUBSCRIBE without filters', packet: { type: 'unsubscribe', packetId: 1, topicFilters: [] }, version: 4 },
    { name: 'AUTH in 3.1.1', packet: { type: 'auth' }, version: 4 },
    {
      name: 'password without user name in 3.1.1',
      packet: { type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'c', password: Buffer.from('p') },
      version: 4,
    },
    { name: 'remaining length over 268435455', packet: pub({ payload: { length: 268_435_456 } as unknown as Buffer }), version: 4 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.throws(() => encode(c.packet, c.version), EncodeError);
      assert.throws(() => encodedLength(c.packet, c.version), EncodeError);
    });
  }
  it('drops MQTT 5-only fields for 3.x', () => {
    assert.deepStrictEqual([...encode({ type: 'puback', packetId: 1, reasonCode: 0x10, properties: { reasonString: 'x' } }, 4)], [0x40, 2, 0, 1]);
    assert.deepStrictEqual([...encode({ type: 'disconnect', reasonCode: 0x8b }, 4)], [0xe0, 0]);
    assert.deepStrictEqual([...encode({ type: 'suback', packetId: 1, reasonCodes: [1, 0x87] }, 4)], [0x90, 4, 0, 1, 1, 0x80]);
    assert.deepStrictEqual([...encode({ type: 'unsuback', packetId: 1, reasonCodes: [0x11] }, 4)], [0xb0, 2, 0, 1]);
    assert.deepStrictEqual([...encode(pub({ properties: { topicAlias: 1 } }), 4)], [0x30, 3, 0, 1, 0x74]);
  });
});

describe('codec - setPacketId', () => {
  const base: PublishPacket = {
    type: 'publish',
    topic: 'fan/out/' + 'x'.repeat(200),
    payload: Buffer.alloc(300, 7),
    qos: 1,
    retain: true,
    dup: false,
    packetId: 1,
  };
  for (const version of [3, 4, 5] as ProtocolVersion[]) {
    it(`patches the packet identifier and DUP (v${version})`, () => {
      const packetV: PublishPacket = version === 5 ? { ...base, qos: 2, properties: { userProperties: [['a', 'b']], messageExpiryInterval: 5 } } : base;
      const encoded = encode(packetV, version);
      const before = Buffer.from(encoded);
      const patched = setPacketId(encoded, 0xbeef, true);
      assert.deepStrictEqual(encoded, before, 'original untouched');
      assert.notEqual(patched, encoded);
      assert.deepStrictEqual(decodeAll(patched, version), [{ ...packetV, packetId: 0xbeef, dup: true }]);
      assert.deepStrictEqual(decodeAll(setPacketId(patched, 2, false), version), [{ ...packetV, packetId: 2, dup: false }]);
      assert.deepStrictEqual(decodeAll(setPacketId(patched, 3), version), [{ ...packetV, packetId: 3, dup: true }]);
      assert.deepStrictEqual(setPacketId(encoded, 1), encoded);
    });
  }
  it('refuses QoS 0 PUBLISH, other packets and bad ids', () => {
    assert.throws(() => setPacketId(encode({ ...base, qos: 0, packetId: undefined } as unknown as Packet, 4), 1), EncodeError);
    assert.throws(() => setPacketId(encode({ type: 'puback', packetId: 1 }, 4), 1), EncodeError);
    assert.throws(() => setPacketId(encode(base, 4), 0), EncodeError);
    assert.throws(() => setPacketId(Buffer.alloc(0), 1), EncodeError);
  });
});

describe('codec - reason code helpers', () => {
  it('maps MQTT 5 CONNACK reasons to 3.1.1 return codes', () => {
    assert.equal(connackReturnCodeV3(0x00), 0);
    assert.equal(connackReturnCodeV3(0x84), 1);
    assert.equal(connackReturnCodeV3(0x85), 2);
    assert.equal(connackReturnCodeV3(0x88), 3);
    assert.equal(connackReturnCodeV3(0x89), 3);
    assert.equal(connackReturnCodeV3(0x86), 4);
    assert.equal(connackReturnCodeV3(0x87), 5);
    assert.equal(connackReturnCodeV3(0x8a), 5); // Banned: not authorized (blacklist, failed-login limit)
    assert.equal(connackReturnCodeV3(0x80), 3);
  });
});
