/**
 * Bad input after a successful CONNECT, as a hex table (in the manner of mosquitto's
 * test/broker/data/*.json): each row is sent raw by an MQTT 3.1.1 and by an MQTT 5 client.
 * The 3.1.1 client must simply be closed; the MQTT 5 client must get DISCONNECT with the row's
 * reason code and then be closed [MQTT-4.13.1-1]. Every time, the error is logged exactly once
 * and a bystander connected beforehand keeps publishing and receiving.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encode, type ProtocolVersion } from '../../src/protocol/index.js';
import { rawConnect } from '../helpers/raw-client.js';
import { Bystander, conformanceFerry } from './fixture.js';

const MALFORMED = 0x81;
const TOPIC_NAME_INVALID = 0x90;
const PACKET_TOO_LARGE = 0x95;

/** Bytes from a hex string; spaces are ignored. */
function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

interface BadInput {
  behaviour: string;
  clause: string;
  /** What the client sends after CONNACK: one hex string for both versions, or one per version. */
  bytes: string | { v4: string; v5: string } | ((version: ProtocolVersion) => Buffer);
  /** Reason code of the DISCONNECT an MQTT 5 client gets. */
  v5Reason: number;
  /** Broker settings for this row. */
  broker?: { maxPacketSize: number };
}

const OVERSIZE_LIMIT = 256;

const TABLE: BadInput[] = [
  { behaviour: 'reserved flags set in a PINGREQ fixed header', clause: 'MQTT-2.2.2-2', bytes: 'c1 00', v5Reason: MALFORMED },
  {
    behaviour: 'SUBSCRIBE fixed header flags not 0010',
    clause: 'MQTT-3.8.1-1',
    bytes: { v4: '80 06 0001 0001 61 00', v5: '80 07 0001 00 0001 61 00' },
    v5Reason: MALFORMED,
  },
  { behaviour: 'PUBREL fixed header flags not 0010', clause: 'MQTT-3.6.1-1', bytes: '60 02 0001', v5Reason: MALFORMED },
  { behaviour: 'PUBLISH with QoS 3', clause: 'MQTT-3.3.1-4', bytes: '36 05 0001 61 0001', v5Reason: MALFORMED },
  { behaviour: 'PUBLISH with DUP set at QoS 0', clause: 'MQTT-3.3.1-2', bytes: { v4: '38 03 0001 61', v5: '38 04 0001 61 00' }, v5Reason: MALFORMED },
  { behaviour: 'remaining length of five bytes', clause: 'MQTT-1.5.5-1', bytes: '30 ff ff ff ff 01', v5Reason: MALFORMED },
  { behaviour: 'remaining length not minimally encoded', clause: 'MQTT-1.5.5-1', bytes: 'c0 80 00', v5Reason: MALFORMED },
  {
    behaviour: 'remaining length that cuts the topic name short',
    clause: 'MQTT-4.13.1-1',
    bytes: '30 03 0005 61',
    v5Reason: MALFORMED,
  },
  {
    behaviour: 'invalid UTF-8 in a PUBLISH topic',
    clause: 'MQTT-1.5.4-1',
    bytes: { v4: '30 04 0002 c3 28', v5: '30 05 0002 c3 28 00' },
    v5Reason: MALFORMED,
  },
  {
    behaviour: 'UTF-16 surrogate code point in a PUBLISH topic',
    clause: 'MQTT-1.5.4-1',
    bytes: { v4: '30 06 0004 61 ed a0 80', v5: '30 07 0004 61 ed a0 80 00' },
    v5Reason: MALFORMED,
  },
  {
    behaviour: 'U+0000 in a PUBLISH topic',
    clause: 'MQTT-1.5.4-2',
    bytes: { v4: '30 05 0003 61 00 62', v5: '30 06 0003 61 00 62 00' },
    v5Reason: MALFORMED,
  },
  {
    behaviour: 'invalid UTF-8 in a SUBSCRIBE topic filter',
    clause: 'MQTT-1.5.4-1',
    bytes: { v4: '82 07 0001 0002 c3 28 00', v5: '82 08 0001 00 0002 c3 28 00' },
    v5Reason: MALFORMED,
  },
  {
    behaviour: 'single-level wildcard in a PUBLISH topic',
    clause: 'MQTT-3.3.2-2',
    bytes: { v4: '30 05 0003 61 2f 2b', v5: '30 06 0003 61 2f 2b 00' },
    v5Reason: TOPIC_NAME_INVALID,
  },
  {
    behaviour: 'multi-level wildcard in a QoS 1 PUBLISH topic',
    clause: 'MQTT-3.3.2-2',
    bytes: { v4: '32 07 0003 61 2f 23 0001', v5: '32 08 0003 61 2f 23 0001 00' },
    v5Reason: TOPIC_NAME_INVALID,
  },
  {
    behaviour: 'packet larger than the maximum packet size',
    clause: 'MQTT-3.2.2-15',
    bytes: (version) =>
      encode({ type: 'publish', topic: 'big', payload: Buffer.alloc(OVERSIZE_LIMIT), qos: 0, retain: false, dup: false }, version),
    v5Reason: PACKET_TOO_LARGE,
    broker: { maxPacketSize: OVERSIZE_LIMIT },
  },
  {
    // Only the fixed header is sent: the size check must not wait for the body.
    behaviour: 'oversize packet refused from its fixed header alone',
    clause: 'MQTT-3.2.2-15',
    bytes: '30 e8 07',
    v5Reason: PACKET_TOO_LARGE,
    broker: { maxPacketSize: OVERSIZE_LIMIT },
  },
];

function bytesFor(row: BadInput, version: ProtocolVersion): Buffer {
  if (typeof row.bytes === 'function') return row.bytes(version);
  if (typeof row.bytes === 'string') return hex(row.bytes);
  return hex(version === 5 ? row.bytes.v5 : row.bytes.v4);
}

describe('conformance - bad input', () => {
  for (const row of TABLE) {
    for (const version of [4, 5] as const) {
      const answer = version === 5 ? `DISCONNECT 0x${row.v5Reason.toString(16)}` : 'closed';
      test(`conformance - ${row.behaviour} → ${answer} (MQTT ${version === 5 ? '5' : '3.1.1'}) [${row.clause}]`, async (t) => {
        const { port, protocolErrorLogs } = await conformanceFerry(t, row.broker ?? {});
        const bystander = await Bystander.connect(t, port, version);
        const { client } = await rawConnect(t, port, { protocolVersion: version });

        client.send(bytesFor(row, version));
        if (version === 5) {
          const disconnect = await client.expectPacket('disconnect');
          assert.equal(disconnect.reasonCode, row.v5Reason, `DISCONNECT reason 0x${(disconnect.reasonCode ?? 0).toString(16)}`);
        }
        await client.expectClosed();

        await bystander.roundTrip();
        const logged = protocolErrorLogs();
        assert.equal(logged.length, 1, `logged once: ${JSON.stringify(logged)}`);
      });
    }
  }
});
