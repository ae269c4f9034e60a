/**
 * Golden fixtures: a packet object and its exact wire bytes, per protocol version. Short
 * packets are written out byte by byte; long ones are assembled from small helpers (a
 * length-prefixed string, a property) with the Remaining Length computed by `packet()`.
 */
import type { Packet, ProtocolVersion } from '../../../src/protocol/packets.js';

export interface Fixture {
  name: string;
  versions: ProtocolVersion[];
  packet: Packet;
  bytes: number[];
}

/** Two-byte length + UTF-8 bytes. */
export function str(s: string): number[] {
  const b = Buffer.from(s, 'utf8');
  return [b.length >> 8, b.length & 0xff, ...b];
}
export function bin(b: number[] | Buffer): number[] {
  return [b.length >> 8, b.length & 0xff, ...b];
}
export function u16(n: number): number[] {
  return [n >> 8, n & 0xff];
}
export function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}
export function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}
/** Property Length + properties. */
export function props(...parts: number[][]): number[] {
  const body = parts.flat();
  return [...varint(body.length), ...body];
}
/** Fixed header (first byte + Remaining Length) + body. */
export function packet(first: number, ...parts: number[][]): number[] {
  const body = parts.flat();
  return [first, ...varint(body.length), ...body];
}

const B = (s: string): Buffer => Buffer.from(s);
const ALL: ProtocolVersion[] = [3, 4, 5];
const V3: ProtocolVersion[] = [3, 4];
const V5: ProtocolVersion[] = [5];

const bigPayload = Buffer.alloc(321, 0x61);

export const FIXTURES: Fixture[] = [
  // ----------------------------------------------------------------------------- CONNECT
  {
    name: 'connect 3.1 (MQIsdp)',
    versions: [3],
    packet: { type: 'connect', protocolName: 'MQIsdp', protocolVersion: 3, clean: true, keepalive: 30, clientId: 'ferry' },
    bytes: [0x10, 19, 0, 6, 0x4d, 0x51, 0x49, 0x73, 0x64, 0x70, 3, 0x02, 0, 30, 0, 5, 0x66, 0x65, 0x72, 0x72, 0x79],
  },
  {
    name: 'connect 3.1.1 minimal, empty client id',
    versions: [4],
    packet: { type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: '' },
    bytes: [0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60, 0, 0],
  },
  {
    name: 'connect 3.1.1 with will, user name and password',
    versions: [4],
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: false,
      keepalive: 10,
      clientId: 'c1',
      will: { topic: 'w/t', payload: B('bye'), qos: 2, retain: true },
      username: 'user',
      password: Buffer.from([1, 2, 3]),
    },
    // prettier-ignore
    bytes: [0x10, 35,
      0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0xf4, 0, 10,
      0, 2, 0x63, 0x31,
      0, 3, 0x77, 0x2f, 0x74,
      0, 3, 0x62, 0x79, 0x65,
      0, 4, 0x75, 0x73, 0x65, 0x72,
      0, 3, 1, 2, 3],
  },
  {
    name: 'connect 5 minimal',
    versions: [5],
    packet: { type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'id' },
    bytes: [0x10, 15, 0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 0x02, 0, 0, 0, 0, 2, 0x69, 0x64],
  },
  {
    name: 'connect 5 with every CONNECT and will property',
    versions: [5],
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepalive: 300,
      clientId: 'dev-1',
      properties: {
        sessionExpiryInterval: 3600,
        authenticationMethod: 'SCRAM',
        authenticationData: Buffer.from([9, 8]),
        requestProblemInformation: 0,
        requestResponseInformation: 1,
        receiveMaximum: 100,
        topicAliasMaximum: 10,
        userProperties: [
          ['a', '1'],
          ['a', '2'],
          ['b', ''],
        ],
        maximumPacketSize: 65536,
      },
      will: {
        topic: 'dev/1/status',
        payload: B('offline'),
        qos: 1,
        retain: false,
        properties: {
          payloadFormatIndicator: 1,
          messageExpiryInterval: 60,
          contentType: 'text/plain',
          responseTopic: 'dev/1/reply',
          correlationData: Buffer.from([0xca, 0xfe]),
          willDelayInterval: 5,
          userProperties: [['k', 'v']],
        },
      },
      username: 'u',
      password: B('p'),
    },
    bytes: packet(
      0x10,
      str('MQTT'),
      [5, 0xce, 0x01, 0x2c],
      props(
        [0x11, ...u32(3600)],
        [0x15, ...str('SCRAM')],
        [0x16, ...bin([9, 8])],
        [0x17, 0],
        [0x19, 1],
        [0x21, ...u16(100)],
        [0x22, ...u16(10)],
        [0x26, ...str('a'), ...str('1')],
        [0x26, ...str('a'), ...str('2')],
        [0x26, ...str('b'), ...str('')],
        [0x27, ...u32(65536)],
      ),
      str('dev-1'),
      props(
        [0x01, 1],
        [0x02, ...u32(60)],
        [0x03, ...str('text/plain')],
        [0x08, ...str('dev/1/reply')],
        [0x09, ...bin([0xca, 0xfe])],
        [0x18, ...u32(5)],
        [0x26, ...str('k'), ...str('v')],
      ),
      str('dev/1/status'),
      bin(B('offline')),
      str('u'),
      bin(B('p')),
    ),
  },
  {
    name: 'connect 5 password without user name, empty client id, clean start 0',
    versions: [5],
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: false,
      keepalive: 15,
      clientId: '',
      password: B('token'),
    },
    bytes: [0x10, 20, 0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 0x40, 0, 15, 0, 0, 0, 0, 5, 0x74, 0x6f, 0x6b, 0x65, 0x6e],
  },
  // ----------------------------------------------------------------------------- CONNACK
  {
    name: 'connack 3.x accepted',
    versions: V3,
    packet: { type: 'connack', sessionPresent: false, reasonCode: 0 },
    bytes: [0x20, 2, 0, 0],
  },
  {
    name: 'connack 3.x session present',
    versions: V3,
    packet: { type: 'connack', sessionPresent: true, reasonCode: 0 },
    bytes: [0x20, 2, 1, 0],
  },
  {
    name: 'connack 3.x not authorized',
    versions: V3,
    packet: { type: 'connack', sessionPresent: false, reasonCode: 5 },
    bytes: [0x20, 2, 0, 5],
  },
  {
    name: 'connack 5 success',
    versions: V5,
    packet: { type: 'connack', sessionPresent: true, reasonCode: 0 },
    bytes: [0x20, 3, 1, 0, 0],
  },
  {
    name: 'connack 5 refused, bad user name or password',
    versions: V5,
    packet: { type: 'connack', sessionPresent: false, reasonCode: 0x86 },
    bytes: [0x20, 3, 0, 0x86, 0],
  },
  {
    name: 'connack 5 with every CONNACK property',
    versions: V5,
    packet: {
      type: 'connack',
      sessionPresent: false,
      reasonCode: 0,
      properties: {
        sessionExpiryInterval: 0xffffffff,
        assignedClientIdentifier: 'auto-1',
        serverKeepAlive: 120,
        authenticationMethod: 'm',
        authenticationData: Buffer.from([1]),
        responseInformation: 'resp/',
        serverReference: 'other:1883',
        reasonString: 'welcome',
        receiveMaximum: 65535,
        topicAliasMaximum: 0,
        maximumQoS: 1,
        retainAvailable: 0,
        userProperties: [['x', 'y']],
        maximumPacketSize: 1048576,
        wildcardSubscriptionAvailable: 1,
        subscriptionIdentifiersAvailable: 0,
        sharedSubscriptionAvailable: 1,
      },
    },
    bytes: packet(
      0x20,
      [0, 0],
      props(
        [0x11, 0xff, 0xff, 0xff, 0xff],
        [0x12, ...str('auto-1')],
        [0x13, ...u16(120)],
        [0x15, ...str('m')],
        [0x16, ...bin([1])],
        [0x1a, ...str('resp/')],
        [0x1c, ...str('other:1883')],
        [0x1f, ...str('welcome')],
        [0x21, 0xff, 0xff],
        [0x22, 0, 0],
        [0x24, 1],
        [0x25, 0],
        [0x26, ...str('x'), ...str('y')],
        [0x27, ...u32(1048576)],
        [0x28, 1],
        [0x29, 0],
        [0x2a, 1],
      ),
    ),
  },
  // ----------------------------------------------------------------------------- PUBLISH
  {
    name: 'publish QoS 0',
    versions: V3,
    packet: { type: 'publish', topic: 'a/b', payload: B('hello'), qos: 0, retain: false, dup: false },
    bytes: [0x30, 10, 0, 3, 0x61, 0x2f, 0x62, 0x68, 0x65, 0x6c, 0x6c, 0x6f],
  },
  {
    name: 'publish QoS 1 retain dup',
    versions: V3,
    packet: { type: 'publish', topic: 't', payload: B('x'), qos: 1, retain: true, dup: true, packetId: 0x1234 },
    bytes: [0x3b, 6, 0, 1, 0x74, 0x12, 0x34, 0x78],
  },
  {
    name: 'publish QoS 2 empty payload',
    versions: V3,
    packet: { type: 'publish', topic: 't', payload: Buffer.alloc(0), qos: 2, retain: false, dup: false, packetId: 65535 },
    bytes: [0x34, 5, 0, 1, 0x74, 0xff, 0xff],
  },
  {
    name: 'publish with a two-byte remaining length',
    versions: V3,
    packet: { type: 'publish', topic: 'a', payload: bigPayload, qos: 0, retain: false, dup: false },
    bytes: [0x30, 0xc4, 0x02, 0, 1, 0x61, ...bigPayload],
  },
  {
    name: 'publish 5 QoS 0 without properties',
    versions: V5,
    packet: { type: 'publish', topic: 'a/b', payload: B('hi'), qos: 0, retain: false, dup: false },
    bytes: [0x30, 8, 0, 3, 0x61, 0x2f, 0x62, 0, 0x68, 0x69],
  },
  {
    name: 'publish 5 with every PUBLISH property',
    versions: V5,
    packet: {
      type: 'publish',
      topic: 'sensors/t',
      payload: B('{"t":21}'),
      qos: 2,
      retain: true,
      dup: false,
      packetId: 42,
      properties: {
        payloadFormatIndicator: 1,
        messageExpiryInterval: 86400,
        contentType: 'application/json',
        responseTopic: 'reply/to',
        correlationData: Buffer.from([1, 2, 3, 4]),
        subscriptionIdentifiers: [1, 268435455],
        topicAlias: 3,
        userProperties: [
          ['dup', 'one'],
          ['dup', 'two'],
          ['é', '☃'],
        ],
      },
    },
    bytes: packet(
      0x35,
      str('sensors/t'),
      u16(42),
      props(
        [0x01, 1],
        [0x02, ...u32(86400)],
        [0x03, ...str('application/json')],
        [0x08, ...str('reply/to')],
        [0x09, ...bin([1, 2, 3, 4])],
        [0x0b, 1],
        [0x0b, 0xff, 0xff, 0xff, 0x7f],
        [0x23, ...u16(3)],
        [0x26, ...str('dup'), ...str('one')],
        [0x26, ...str('dup'), ...str('two')],
        [0x26, 0, 2, 0xc3, 0xa9, 0, 3, 0xe2, 0x98, 0x83],
      ),
      [...B('{"t":21}')],
    ),
  },
  {
    name: 'publish 5 empty topic with topic alias',
    versions: V5,
    packet: { type: 'publish', topic: '', payload: B('v'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } },
    bytes: [0x30, 7, 0, 0, 3, 0x23, 0, 1, 0x76],
  },
  // ----------------------------------------------------------------------------- PUBACK..PUBCOMP
  { name: 'puback', versions: ALL, packet: { type: 'puback', packetId: 1 }, bytes: [0x40, 2, 0, 1] },
  { name: 'pubrec', versions: ALL, packet: { type: 'pubrec', packetId: 2 }, bytes: [0x50, 2, 0, 2] },
  { name: 'pubrel', versions: ALL, packet: { type: 'pubrel', packetId: 3 }, bytes: [0x62, 2, 0, 3] },
  { name: 'pubcomp', versions: ALL, packet: { type: 'pubcomp', packetId: 0x0102 }, bytes: [0x70, 2, 1, 2] },
  {
    name: 'puback 5 reason code without properties',
    versions: V5,
    packet: { type: 'puback', packetId: 1, reasonCode: 0x10 },
    bytes: [0x40, 3, 0, 1, 0x10],
  },
  {
    name: 'pubrec 5 with properties',
    versions: V5,
    packet: {
      type: 'pubrec',
      packetId: 9,
      reasonCode: 0x97,
      properties: { reasonString: 'quota', userProperties: [['q', '1']] },
    },
    bytes: packet(0x50, u16(9), [0x97], props([0x1f, ...str('quota')], [0x26, ...str('q'), ...str('1')])),
  },
  {
    name: 'pubrel 5 packet identifier not found',
    versions: V5,
    packet: { type: 'pubrel', packetId: 7, reasonCode: 0x92 },
    bytes: [0x62, 3, 0, 7, 0x92],
  },
  {
    name: 'pubcomp 5 success with reason string',
    versions: V5,
    packet: { type: 'pubcomp', packetId: 7, properties: { reasonString: 'ok' } },
    bytes: [0x70, 9, 0, 7, 0, 5, 0x1f, 0, 2, 0x6f, 0x6b],
  },
  // ----------------------------------------------------------------------------- SUBSCRIBE / SUBACK
  {
    name: 'subscribe 3.x',
    versions: V3,
    packet: {
      type: 'subscribe',
      packetId: 10,
      subscriptions: [
        { topicFilter: 'a/+', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        { topicFilter: '#', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    },
    bytes: [0x82, 12, 0, 10, 0, 3, 0x61, 0x2f, 0x2b, 1, 0, 1, 0x23, 2],
  },
  {
    name: 'subscribe 5 with options and properties',
    versions: V5,
    packet: {
      type: 'subscribe',
      packetId: 11,
      properties: { subscriptionIdentifiers: [200], userProperties: [['s', 't']] },
      subscriptions: [
        { topicFilter: 'a/#', qos: 0, noLocal: true, retainAsPublished: true, retainHandling: 2 },
        { topicFilter: '$share/g/x', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 1 },
      ],
    },
    bytes: packet(
      0x82,
      u16(11),
      props([0x0b, 0xc8, 0x01], [0x26, ...str('s'), ...str('t')]),
      str('a/#'),
      [0x2c],
      str('$share/g/x'),
      [0x11],
    ),
  },
  {
    name: 'suback 3.x',
    versions: V3,
    packet: { type: 'suback', packetId: 10, reasonCodes: [0, 1, 2, 0x80] },
    bytes: [0x90, 6, 0, 10, 0, 1, 2, 0x80],
  },
  {
    name: 'suback 5 with properties',
    versions: V5,
    packet: {
      type: 'suback',
      packetId: 11,
      reasonCodes: [0, 1, 2, 0x87, 0xa2],
      properties: { reasonString: 'partial', userProperties: [['n', 'm']] },
    },
    bytes: packet(0x90, u16(11), props([0x1f, ...str('partial')], [0x26, ...str('n'), ...str('m')]), [0, 1, 2, 0x87, 0xa2]),
  },
  // ----------------------------------------------------------------------------- UNSUBSCRIBE / UNSUBACK
  {
    name: 'unsubscribe 3.x',
    versions: V3,
    packet: { type: 'unsubscribe', packetId: 12, topicFilters: ['a/+', 'b'] },
    bytes: [0xa2, 10, 0, 12, 0, 3, 0x61, 0x2f, 0x2b, 0, 1, 0x62],
  },
  {
    name: 'unsubscribe 5 with user property',
    versions: V5,
    packet: { type: 'unsubscribe', packetId: 13, topicFilters: ['x'], properties: { userProperties: [['u', 'v']] } },
    bytes: packet(0xa2, u16(13), props([0x26, ...str('u'), ...str('v')]), str('x')),
  },
  {
    name: 'unsuback 3.x',
    versions: V3,
    packet: { type: 'unsuback', packetId: 12, reasonCodes: [] },
    bytes: [0xb0, 2, 0, 12],
  },
  {
    name: 'unsuback 5',
    versions: V5,
    packet: { type: 'unsuback', packetId: 13, reasonCodes: [0, 0x11] },
    bytes: [0xb0, 5, 0, 13, 0, 0, 0x11],
  },
  {
    name: 'unsuback 5 with properties',
    versions: V5,
    packet: {
      type: 'unsuback',
      packetId: 14,
      reasonCodes: [0x87],
      properties: { reasonString: 'no', userProperties: [['a', 'b']] },
    },
    bytes: packet(0xb0, u16(14), props([0x1f, ...str('no')], [0x26, ...str('a'), ...str('b')]), [0x87]),
  },
  // ----------------------------------------------------------------------------- PING / DISCONNECT / AUTH
  { name: 'pingreq', versions: ALL, packet: { type: 'pingreq' }, bytes: [0xc0, 0] },
  { name: 'pingresp', versions: ALL, packet: { type: 'pingresp' }, bytes: [0xd0, 0] },
  { name: 'disconnect', versions: ALL, packet: { type: 'disconnect' }, bytes: [0xe0, 0] },
  {
    name: 'disconnect 5 with will message',
    versions: V5,
    packet: { type: 'disconnect', reasonCode: 0x04 },
    bytes: [0xe0, 1, 0x04],
  },
  {
    name: 'disconnect 5 with every DISCONNECT property',
    versions: V5,
    packet: {
      type: 'disconnect',
      reasonCode: 0x9c,
      properties: {
        sessionExpiryInterval: 0,
        serverReference: 'b.example',
        reasonString: 'moved',
        userProperties: [['r', 's']],
      },
    },
    bytes: packet(
      0xe0,
      [0x9c],
      props([0x11, 0, 0, 0, 0], [0x1c, ...str('b.example')], [0x1f, ...str('moved')], [0x26, ...str('r'), ...str('s')]),
    ),
  },
  {
    name: 'auth 5 success (reason code and property length always written)',
    versions: V5,
    packet: { type: 'auth' },
    bytes: [0xf0, 2, 0, 0],
  },
  {
    name: 'auth 5 with every AUTH property',
    versions: V5,
    packet: {
      type: 'auth',
      reasonCode: 0x18,
      properties: {
        authenticationMethod: 'SCRAM-SHA-1',
        authenticationData: Buffer.from([0, 1, 2]),
        reasonString: 'continue',
        userProperties: [['h', 'i']],
      },
    },
    bytes: packet(
      0xf0,
      [0x18],
      props(
        [0x15, ...str('SCRAM-SHA-1')],
        [0x16, ...bin([0, 1, 2])],
        [0x1f, ...str('continue')],
        [0x26, ...str('h'), ...str('i')],
      ),
    ),
  },
];

/** Valid but non-canonical encodings: they decode to `packet`, which re-encodes differently. */
export const DECODE_ONLY: Fixture[] = [
  { name: 'puback 5 explicit success code', versions: V5, packet: { type: 'puback', packetId: 1 }, bytes: [0x40, 3, 0, 1, 0] },
  {
    name: 'puback 5 explicit success code and empty properties',
    versions: V5,
    packet: { type: 'puback', packetId: 1 },
    bytes: [0x40, 4, 0, 1, 0, 0],
  },
  { name: 'disconnect 5 explicit normal disconnection', versions: V5, packet: { type: 'disconnect' }, bytes: [0xe0, 1, 0] },
  { name: 'disconnect 5 empty properties', versions: V5, packet: { type: 'disconnect' }, bytes: [0xe0, 2, 0, 0] },
  { name: 'auth 5 short form', versions: V5, packet: { type: 'auth' }, bytes: [0xf0, 0] },
  {
    name: 'pubrel 5 explicit success code and empty properties',
    versions: V5,
    packet: { type: 'pubrel', packetId: 5 },
    bytes: [0x62, 4, 0, 5, 0, 0],
  },
];

/** Packets of all fixtures that exist in `version`. */
export function fixturesFor(version: ProtocolVersion): Fixture[] {
  return FIXTURES.filter((f) => f.versions.includes(version));
}
