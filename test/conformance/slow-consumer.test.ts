/**
 * A client that subscribes and then never reads must not slow anyone down: past
 * maxOutputBufferBytes its QoS 0 messages are dropped (and counted), everyone else gets every
 * message promptly, and after stuckClientTimeoutMs above the ceiling it is disconnected.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { encode } from '../../src/protocol/index.js';
import { waitFor } from '../helpers/index.js';
import { rawConnect } from '../helpers/raw-client.js';
import { conformanceFerry } from './fixture.js';

const MESSAGES = 20_000;
const PAYLOAD_BYTES = 1024;
const STUCK_TIMEOUT_MS = 500;
const OUTPUT_CEILING = 256 * 1024;
const BATCH = 100;
/** How far the publisher may run ahead of the reading subscriber: 200 KB, below the ceiling. */
const WINDOW = 200;
/** Bound on the whole flood reaching the reading subscriber (about 1 s on 2 cores). */
const FLOOD_DEADLINE_MS = 10_000;

describe('conformance - slow consumer', () => {
  test('conformance - a client that stops reading never stalls the publisher or other subscribers, and is disconnected', async (t) => {
    const { port, ferry } = await conformanceFerry(t, {
      maxOutputBufferBytes: OUTPUT_CEILING,
      stuckClientTimeoutMs: STUCK_TIMEOUT_MS,
    });
    const counters = ferry.broker.counters;

    const { client: stuck } = await rawConnect(t, port, { protocolVersion: 4 });
    assert.deepEqual(await stuck.subscribe('flood/#', 0), [0]);
    stuck.pauseReading();
    const { client: reader } = await rawConnect(t, port, { protocolVersion: 5 });
    assert.deepEqual(await reader.subscribe('flood/#', 0), [0]);
    const { client: pub } = await rawConnect(t, port, { protocolVersion: 4 });

    // 20k QoS 0 PUBLISHes of 1 KB, as fast as the reading subscriber takes them: the publisher
    // stays at most WINDOW messages ahead of it, which keeps the reader below the output ceiling
    // (a QoS 0 flood faster than a subscriber reads is dropped for that subscriber by design).
    const one = encode({ type: 'publish', topic: 'flood/x', payload: Buffer.alloc(PAYLOAD_BYTES, 0x61), qos: 0, retain: false, dup: false }, 4);
    const batch = Buffer.concat(Array.from({ length: BATCH }, () => one));
    const start = Date.now();
    for (let sent = 0; sent < MESSAGES; sent += BATCH) {
      await reader.expectInbox(sent - WINDOW, FLOOD_DEADLINE_MS);
      if (!pub.socket.write(batch)) await once(pub.socket, 'drain');
    }
    // The publisher carries on: a QoS 1 message right behind the flood is acknowledged.
    pub.publish('flood/done', 'done', { qos: 1, packetId: 1 });
    await pub.expectPacket('puback', FLOOD_DEADLINE_MS);

    // The reading subscriber gets all of it, in order, the marker last.
    await reader.expectInbox(MESSAGES + 1, FLOOD_DEADLINE_MS);
    const floodMs = Date.now() - start;
    const received = reader.inbox.splice(0);
    assert.equal(received.length, MESSAGES + 1);
    assert.ok(received.slice(0, MESSAGES).every((p) => p.type === 'publish' && p.topic === 'flood/x' && p.payload.length === PAYLOAD_BYTES));
    const last = received[MESSAGES]!;
    assert.ok(last.type === 'publish' && last.topic === 'flood/done');

    // The stuck client's QoS 0 messages past the ceiling were dropped and counted.
    assert.ok(counters.droppedByLink > 0, 'QoS 0 dropped for the stuck client');
    assert.ok(counters.droppedByLink < MESSAGES, 'only for the stuck client');

    // It is disconnected once it stays above the ceiling for stuckClientTimeoutMs (the broker
    // checks once a second).
    await waitFor(() => counters.stuckDisconnects === 1, {
      timeoutMs: STUCK_TIMEOUT_MS + 2500,
      message: 'the stuck client is disconnected',
    });
    await waitFor(() => stuck.closed || ferry.broker.connectionCount === 2, {
      timeoutMs: 2000,
      message: 'the stuck connection is closed on the server',
    });
    // Its side sees the close too, once it reads what was already in flight.
    stuck.resumeReading();
    await waitFor(() => stuck.closed, { timeoutMs: 5000, message: 'the stuck client sees its connection closed' });
    t.diagnostic(`flood delivered in ${floodMs} ms; ${counters.droppedByLink} QoS 0 dropped for the stuck client`);

    // Everyone else is still connected and working.
    pub.publish('flood/after', 'after', { qos: 1, packetId: 2 });
    await pub.expectPacket('puback');
    const after = await reader.expectPacket('publish');
    assert.equal(after.topic, 'flood/after');
    assert.equal(counters.stuckDisconnects, 1);
  });
});
