/**
 * Cross-checks against mqtt-packet v9 with fast-check: whatever Ferry encodes, mqtt-packet
 * parses to the same packet; whatever mqtt-packet generates, Ferry decodes to the same packet.
 * All packet types, all three protocol versions. Runs are bounded to keep the file fast.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeAll } from '../../../src/protocol/decoder.js';
import { encode } from '../../../src/protocol/encoder.js';
import { PACKET_TYPE_BY_CODE, PROPERTY_TABLE, PacketCode, WILL_CONTEXT, type PropertyName } from '../../../src/protocol/constants.js';
import { VALID_REASON_CODES } from '../../../src/protocol/reason-codes.js';
import { parseSharedSubscription } from '../../../src/protocol/topic.js';
import type { Packet, PacketType, Properties, ProtocolVersion, QoS } from '../../../src/protocol/packets.js';
import { canonical, fromMP, mpGenerate, mpParse, toMP } from './mqtt-packet-adapter.js';
import { FIXTURES } from './fixtures.js';

const NUM_RUNS = 300;

// ------------------------------------------------------------------------------ arbitraries

const wellFormed = (s: string): boolean => !s.includes('\u0000') && Buffer.from(s, 'utf8').toString('utf8') === s;
const anyString = fc
  .oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }))
  .filter(wellFormed);
const nonEmpty = anyString.filter((s) => s.length > 0);
const topicName = nonEmpty.filter((s) => !s.includes('+') && !s.includes('#'));
const topicFilter = nonEmpty;
const buffer = fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a));
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const flag = fc.constantFrom(0, 1);
const qos = fc.constantFrom<QoS>(0, 1, 2);
const packetId = fc.integer({ min: 1, max: 0xffff });

function propertyArb(name: PropertyName, context: number): fc.Arbitrary<unknown> {
  switch (name) {
    case 'payloadFormatIndicator':
    case 'requestProblemInformation':
    case 'requestResponseInformation':
    case 'maximumQoS':
    case 'retainAvailable':
    case 'wildcardSubscriptionAvailable':
    case 'subscriptionIdentifiersAvailable':
    case 'sharedSubscriptionAvailable':
      return flag;
    case 'messageExpiryInterval':
    case 'sessionExpiryInterval':
    case 'willDelayInterval':
      return u32;
    case 'maximumPacketSize':
      return fc.integer({ min: 1, max: 0xffffffff });
    case 'serverKeepAlive':
    case 'topicAliasMaximum':
      return u16;
    case 'receiveMaximum':
    case 'topicAlias':
      return fc.integer({ min: 1, max: 0xffff });
    case 'responseTopic':
      return topicName;
    case 'contentType':
    case 'assignedClientIdentifier':
    case 'authenticationMethod':
    case 'responseInformation':
    case 'serverReference':
    case 'reasonString':
      return anyString;
    case 'correlationData':
    case 'authenticationData':
      return buffer;
    case 'subscriptionIdentifiers':
      return fc.array(fc.integer({ min: 1, max: 268_435_455 }), { minLength: 1, maxLength: context === PacketCode.publish ? 3 : 1 });
    case 'userProperties':
      // mqtt-packet drops a repeated name's earlier '' value, so values are non-empty.
      return fc.array(fc.tuple(anyString, nonEmpty), { minLength: 1, maxLength: 3 });
  }
}

/** Optional properties allowed in `context`, or undefined (no properties) ~1/3 of the time. */
function propertiesArb(context: number): fc.Arbitrary<Properties | undefined> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const p of PROPERTY_TABLE) if ((p.allowed & (1 << context)) !== 0) model[p.name] = propertyArb(p.name, context);
  const record = fc.record(model, { requiredKeys: [], noNullPrototype: true }).map((r) => (Object.keys(r).length === 0 ? undefined : (r as Properties)));
  return fc.oneof(fc.constant(undefined), record, record);
}

function withProps<T extends object>(version: ProtocolVersion, base: fc.Arbitrary<T>, context: number): fc.Arbitrary<T> {
  if (version !== 5) return base;
  return fc.tuple(base, propertiesArb(context)).map(([b, props]) => {
    if (props === undefined) return b;
    // CONNECT may not carry Authentication Data without a method [3.1.2.11.10].
    if (context === PacketCode.connect && props.authenticationMethod === undefined && props.authenticationData !== undefined) {
      const { authenticationData: _dropped, ...rest } = props;
      return Object.keys(rest).length === 0 ? b : { ...b, properties: rest };
    }
    return { ...b, properties: props };
  });
}

const codeFrom = (set: Set<number>): fc.Arbitrary<number> => fc.constantFrom(...set);
/** Reason code of an optional-reason packet: absent means 0, so 0 is never generated. */
const optionalCode = (set: Set<number>): fc.Arbitrary<number | undefined> =>
  fc.oneof(fc.constant(undefined), fc.constantFrom(...[...set].filter((c) => c !== 0)));

function withCode<T extends object>(base: fc.Arbitrary<T>, code: fc.Arbitrary<number | undefined>): fc.Arbitrary<T> {
  return fc.tuple(base, code).map(([b, rc]) => (rc === undefined ? b : { ...b, reasonCode: rc }));
}

function connectArb(version: ProtocolVersion): fc.Arbitrary<Packet> {
  const will = fc.record({ topic: topicName, payload: buffer, qos, retain: fc.boolean() }, { noNullPrototype: true });
  const willArb = version === 5 ? fc.tuple(will, propertiesArb(WILL_CONTEXT)).map(([w, p]) => (p === undefined ? w : { ...w, properties: p })) : will;
  return withProps(
    version,
    fc
      .record(
        {
          clean: fc.boolean(),
          keepalive: u16,
          clientId: nonEmpty,
          will: willArb,
          username: anyString,
          password: buffer,
          emptyId: fc.boolean(),
        },
        { requiredKeys: ['clean', 'keepalive', 'clientId', 'emptyId'], noNullPrototype: true },
      )
      .map((r) => {
        const p: Packet = {
          type: 'connect',
          protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
          protocolVersion: version,
          clean: r.clean,
          keepalive: r.keepalive,
          // An empty client id needs clean session in 3.1.1 (and mqtt-packet wants it in 5 too).
          clientId: r.emptyId && version !== 3 && r.clean ? '' : r.clientId,
        };
        if (r.will !== undefined) p.will = r.will;
        if (r.username !== undefined) p.username = r.username;
        // mqtt-packet cannot generate a password without a user name.
        if (r.password !== undefined && r.username !== undefined) p.password = r.password;
        return p;
      }),
    PacketCode.connect,
  );
}

function packetArb(type: PacketType, version: ProtocolVersion): fc.Arbitrary<Packet> {
  switch (type) {
    case 'connect':
      return connectArb(version);
    case 'connack':
      return withProps(
        version,
        fc
          .record({ sessionPresent: fc.boolean(), reasonCode: version === 5 ? codeFrom(VALID_REASON_CODES.connack) : fc.integer({ min: 0, max: 5 }) })
          .map((r): Packet => ({ type: 'connack', sessionPresent: r.reasonCode === 0 && r.sessionPresent, reasonCode: r.reasonCode })),
        PacketCode.connack,
      );
    case 'publish':
      return withProps(
        version,
        fc.record({ topic: topicName, payload: buffer, qos, retain: fc.boolean(), dup: fc.boolean(), packetId }).map(
          (r): Packet =>
            r.qos === 0
              ? { type: 'publish', topic: r.topic, payload: r.payload, qos: 0, retain: r.retain, dup: false }
              : { type: 'publish', topic: r.topic, payload: r.payload, qos: r.qos, retain: r.retain, dup: r.dup, packetId: r.packetId },
        ),
        PacketCode.publish,
      );
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp': {
      const base = packetId.map((id): Packet => ({ type, packetId: id }));
      if (version !== 5) return base;
      const set = type === 'puback' || type === 'pubrec' ? VALID_REASON_CODES.puback : VALID_REASON_CODES.pubrel;
      return withProps(version, withCode(base, optionalCode(set)), PacketCode[type]);
    }
    case 'subscribe': {
      const sub = fc
        .record({ topicFilter, qos, noLocal: fc.boolean(), retainAsPublished: fc.boolean(), retainHandling: fc.constantFrom<0 | 1 | 2>(0, 1, 2) })
        .map((s) =>
          version === 5
            ? { ...s, noLocal: s.noLocal && parseSharedSubscription(s.topicFilter) === null }
            : { ...s, noLocal: false, retainAsPublished: false, retainHandling: 0 as const },
        );
      return withProps(
        version,
        fc.record({ packetId, subscriptions: fc.array(sub, { minLength: 1, maxLength: 4 }) }).map((r): Packet => ({ type: 'subscribe', ...r })),
        PacketCode.subscribe,
      );
    }
    case 'suback': {
      const code = version === 5 ? codeFrom(VALID_REASON_CODES.suback) : fc.constantFrom(0, 1, 2, 0x80);
      return withProps(
        version,
        fc.record({ packetId, reasonCodes: fc.array(code, { minLength: 1, maxLength: 4 }) }).map((r): Packet => ({ type: 'suback', ...r })),
        PacketCode.suback,
      );
    }
    case 'unsubscribe':
      return withProps(
        version,
        fc.record({ packetId, topicFilters: fc.array(topicFilter, { minLength: 1, maxLength: 4 }) }).map((r): Packet => ({ type: 'unsubscribe', ...r })),
        PacketCode.unsubscribe,
      );
    case 'unsuback':
      return version === 5
        ? withProps(
            version,
            fc
              .record({ packetId, reasonCodes: fc.array(codeFrom(VALID_REASON_CODES.unsuback), { minLength: 1, maxLength: 4 }) })
              .map((r): Packet => ({ type: 'unsuback', ...r })),
            PacketCode.unsuback,
          )
        : packetId.map((id): Packet => ({ type: 'unsuback', packetId: id, reasonCodes: [] }));
    case 'pingreq':
    case 'pingresp':
      return fc.constant({ type });
    case 'disconnect':
      return version === 5
        ? withProps(version, withCode(fc.constant<Packet>({ type: 'disconnect' }), optionalCode(VALID_REASON_CODES.disconnect)), PacketCode.disconnect)
        : fc.constant({ type: 'disconnect' });
    case 'auth':
      return withProps(version, withCode(fc.constant<Packet>({ type: 'auth' }), optionalCode(VALID_REASON_CODES.auth)), PacketCode.auth);
  }
}

/** Every packet type, from the codec's own table (index 0 is reserved). */
const TYPES: PacketType[] = PACKET_TYPE_BY_CODE.filter((t): t is PacketType => t !== undefined);

function anyPacket(version: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc.oneof(...TYPES.filter((t) => version === 5 || t !== 'auth').map((t) => packetArb(t, version)));
}

// ------------------------------------------------------------------------------ properties

describe('codec - agrees with mqtt-packet', () => {
  for (const version of [3, 4, 5] as ProtocolVersion[]) {
    it(`what Ferry encodes, mqtt-packet parses to the same packet (v${version})`, () => {
      fc.assert(
        fc.property(anyPacket(version), (p) => {
          const parsed = mpParse(encode(p, version), version);
          assert.equal(parsed.length, 1);
          assert.deepStrictEqual(canonical(fromMP(parsed[0] as (typeof parsed)[number], version)), canonical(p));
        }),
        { numRuns: NUM_RUNS * 2 },
      );
    });
    it(`what mqtt-packet generates, Ferry decodes to the same packet (v${version})`, () => {
      fc.assert(
        fc.property(anyPacket(version), (p) => {
          const bytes = mpGenerate(toMP(p, version), version);
          assert.deepStrictEqual(decodeAll(bytes, version).map(canonical), [canonical(p)]);
        }),
        { numRuns: NUM_RUNS * 2 },
      );
    });
    it(`Ferry round-trips its own packets exactly, also in a stream (v${version})`, () => {
      fc.assert(
        fc.property(fc.array(anyPacket(version), { minLength: 1, maxLength: 5 }), (packets) => {
          const stream = Buffer.concat(packets.map((p) => encode(p, version)));
          assert.deepStrictEqual(decodeAll(stream, version), packets);
        }),
        { numRuns: NUM_RUNS },
      );
    });
  }
  it('every golden fixture parses the same in mqtt-packet', () => {
    for (const f of FIXTURES) {
      for (const v of f.versions) {
        const parsed = mpParse(Buffer.from(f.bytes), v);
        assert.equal(parsed.length, 1, f.name);
        assert.deepStrictEqual(canonical(fromMP(parsed[0] as (typeof parsed)[number], v)), canonical(f.packet), f.name);
      }
    }
  });
});
