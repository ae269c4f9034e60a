/**
 * Acks under pipelining, raw bytes over TCP: a 4-byte PUBACK/PUBREC/PUBREL/PUBCOMP is queued
 * without a Buffer of its own and written into the connection's coalesced output (§41b). Every
 * ack must come back in the order its packet was sent, between the client's own deliveries, with
 * bytes exactly as the encoder writes them, also when the output is split into 64 KiB pieces.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encode, type Packet, type ProtocolVersion } from '../../src/protocol/index.js';
import { rawConnect } from '../helpers/raw-client.js';
import { conformanceFerry } from './fixture.js';

const label = (v: ProtocolVersion): string => (v === 5 ? 'MQTT 5' : 'MQTT 3.1.1');

describe('conformance - ack order', () => {
  for (const version of [4, 5] as const) {
    test(`conformance - pipelined QoS 1 and 2 publishes are acknowledged in order, between the client's own deliveries, byte-exact (${label(version)})`, async (t) => {
      const { port } = await conformanceFerry(t);
      const { client } = await rawConnect(t, port, { protocolVersion: version });
      // The client receives its own messages (QoS 0): acks and PUBLISHes share one output queue.
      assert.deepEqual(await client.subscribe('acks/#', 0), [0]);
      const received: Buffer[] = [];
      client.socket.on('data', (chunk: Buffer) => received.push(chunk));

      const sent: Packet[] = [];
      const expectedAcks: string[] = [];
      /** The message number each PUBACK / PUBREC answers. */
      const answers = new Map<string, number>();
      for (let i = 1; i <= 300; i++) {
        // A payload of 100 KB now and then: the turn's output goes out in pieces of 64 KiB, acks alone among them.
        const payload = i % 97 === 0 ? Buffer.alloc(100_000, i) : Buffer.from(`m${i}`);
        if (i % 3 === 0) {
          // QoS 2 with its PUBREL in the same write: PUBREC, then PUBCOMP.
          const packetId = 40_000 + i;
          sent.push({ type: 'publish', topic: `acks/${i}`, payload, qos: 2, retain: false, dup: false, packetId });
          sent.push({ type: 'pubrel', packetId });
          expectedAcks.push(`pubrec ${packetId}`, `pubcomp ${packetId}`);
          answers.set(`pubrec ${packetId}`, i);
        } else {
          // Packet ids near both ends of the range: the id's high byte and low byte must both survive.
          const packetId = i % 2 === 0 ? 65_535 - i : i;
          sent.push({ type: 'publish', topic: `acks/${i}`, payload, qos: 1, retain: false, dup: false, packetId });
          expectedAcks.push(`puback ${packetId}`);
          answers.set(`puback ${packetId}`, i);
        }
      }
      client.send(Buffer.concat(sent.map((p) => encode(p, version))));

      await client.expectInbox(expectedAcks.length + 300, 10_000);
      const packets = client.inbox.splice(0);
      const acks = packets.filter((p) => p.type !== 'publish').map((p) => `${p.type} ${'packetId' in p ? String(p.packetId) : ''}`);
      assert.deepEqual(acks, expectedAcks, 'acks in the order their packets were sent');
      const delivered = packets.flatMap((p) => (p.type === 'publish' ? [p.topic] : []));
      assert.deepEqual(delivered, Array.from({ length: 300 }, (_, i) => `acks/${i + 1}`), 'deliveries in order');
      // An ack is never written before the PUBLISH it answers was handled: its message is delivered first.
      let deliveredSoFar = 0;
      for (const p of packets) {
        if (p.type === 'publish') deliveredSoFar++;
        else if (p.type === 'puback' || p.type === 'pubrec') {
          const i = answers.get(`${p.type} ${p.packetId}`) ?? Infinity;
          assert.ok(deliveredSoFar >= i, `${p.type} ${p.packetId} after its message was delivered`);
        }
      }
      // Byte-exact: what came is what the encoder writes for the packets decoded from it.
      assert.deepEqual(Buffer.concat(received), Buffer.concat(packets.map((p) => encode(p, version))));
      await client.expectNothing(50);
    });
  }
});
