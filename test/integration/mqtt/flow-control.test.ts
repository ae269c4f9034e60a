/**
 * Flow control (src/flow, docs/operations.md "Flow control"): a publisher whose messages go to an
 * online subscriber that is behind stops being read until the subscriber catches up, so nothing
 * it was acknowledged for is dropped and the subscriber's queue stays under the high-water mark.
 * And the cases that must not lock up: a client publishing to itself, two clients publishing to
 * each other while neither reads, a subscriber that never reads (the fallback after
 * flowMaxPauseMs), a paused publisher's keepalive.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'node:net';
import type { MqttClient } from 'mqtt';
import type { Channel } from '../../../src/channel/channel.js';
import type { RunningFerry } from '../../../src/internal.js';
import { encode } from '../../../src/protocol/index.js';
import { captureLogger, startFerry, waitFor, type Teardown } from '../../helpers/index.js';
import { mqttClient } from '../../helpers/mqtt.js';
import { rawConnect } from '../../helpers/raw-client.js';

const HIGH = 100;
const LOW = 50;
const INFLIGHT = 10;

async function flowFerry(t: Teardown, broker: Record<string, unknown> = {}): Promise<{ ferry: RunningFerry; port: number; logs: ReturnType<typeof captureLogger> }> {
  const logs = captureLogger('info');
  const ferry = await startFerry(t, { broker: { flowHighWater: HIGH, flowLowWater: LOW, maxInflight: INFLIGHT, ...broker } }, { logger: logs.logger });
  return { ferry, port: ferry.ports.mqtt, logs };
}

/** Messages queued behind the window of `clientId`'s session. */
function queued(ferry: RunningFerry, clientId: string): number {
  return (ferry.broker.client(clientId) as Channel).session!.queued;
}

/** The highest value `read` returned, sampled every 2 ms until stop() is called. */
function sampleMax(read: () => number): { stop(): number } {
  let max = 0;
  const timer = setInterval(() => (max = Math.max(max, read())), 2);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(max, read());
    },
  };
}

/** Collects the payloads `client` receives, in order. */
function inbox(client: MqttClient): string[] {
  const got: string[] = [];
  client.on('message', (_topic, payload) => got.push(payload.toString()));
  return got;
}

function socketOf(client: MqttClient): Socket {
  return client.stream as unknown as Socket;
}

const range = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('flow control', () => {
  test('flow control - a fast publisher is paused for a slow online subscriber: nothing dropped, its queue stays at the mark', async (t) => {
    const { ferry, port, logs } = await flowFerry(t, { maxQueuedMessages: 5000 });
    const counters = ferry.broker.counters;
    const flow = ferry.broker.flow!;
    const sub = await mqttClient(t, port, 'slow-sub');
    await sub.subscribeAsync('flow/#', { qos: 1 });
    const received = inbox(sub);
    socketOf(sub).pause(); // online, not reading
    const pub = await mqttClient(t, port, 'fast-pub');

    const N = 2000;
    const max = sampleMax(() => queued(ferry, 'slow-sub'));
    let acked = 0;
    const all = Promise.all(range(N, 'm').map((p) => pub.publishAsync('flow/x', p, { qos: 1 }).then(() => acked++)));

    // The subscriber's queue reaches the mark and the publisher stops being read.
    await waitFor(() => flow.pausedPublishers === 1, { message: 'the publisher is paused' });
    await sleep(300);
    assert.ok(acked < N, `the paused publisher is not acknowledged everything (${acked})`);
    assert.ok(queued(ferry, 'slow-sub') <= HIGH, `queue ${queued(ferry, 'slow-sub')} at most the mark`);
    // A paused publisher is still written to: it gets the PUBACKs of what was read.
    assert.ok(acked >= HIGH, `acks of what was read went out (${acked})`);

    // The subscriber reads again: everything arrives, in order, nothing dropped.
    socketOf(sub).resume();
    await all;
    await waitFor(() => received.length === N, { timeoutMs: 20_000, message: `all ${N} delivered (got ${received.length})` });
    const maxQueued = max.stop();
    assert.deepEqual(received, range(N, 'm'));
    assert.equal(counters.droppedQueueFull, 0);
    assert.ok(maxQueued <= HIGH, `the queue never went past the mark (max ${maxQueued})`);
    assert.ok(flow.pauses >= 1);
    assert.equal(flow.pausedPublishers, 0);
    assert.ok(flow.pausedSeconds() >= 0.3, `pause time counted (${flow.pausedSeconds()} s)`);
    assert.equal(flow.fallbacks, 0);
    // One line per interval per client, not one per pause.
    const lines = logs.lines.filter((l) => l['msg'] === 'publisher paused by flow control: a subscriber is behind' && l['repeated'] === undefined);
    assert.equal(lines.length, 1, 'one pause line');
    assert.equal(lines[0]!['subscriber'], 'slow-sub');

    const metrics = await (await fetch(`http://127.0.0.1:${ferry.ports.http}/metrics`)).text();
    assert.match(metrics, /^ferry_flow_paused_publishers 0$/m);
    assert.match(metrics, /^ferry_flow_pauses_total [1-9]/m);
    assert.match(metrics, /^ferry_flow_paused_seconds_total 0\.[3-9]|^ferry_flow_paused_seconds_total [1-9]/m);
    assert.match(metrics, /^ferry_flow_fallbacks_total 0$/m);
  });

  test('flow control - a client publishing to its own subscription is never paused', async (t) => {
    const { ferry, port } = await flowFerry(t);
    const self = await mqttClient(t, port, 'self');
    await self.subscribeAsync('self/#', { qos: 1 });
    const received = inbox(self);
    socketOf(self).pause();
    const N = 1000;
    const all = Promise.all(range(N, 's').map((p) => self.publishAsync('self/x', p, { qos: 1 })));
    // Its own queue goes past the mark (it does not read), yet it is not paused for itself.
    await waitFor(() => queued(ferry, 'self') >= HIGH, { message: 'own queue past the mark' });
    assert.equal(ferry.broker.flow!.pausedPublishers, 0);
    socketOf(self).resume();
    await all;
    await waitFor(() => received.length === N, { timeoutMs: 20_000, message: `all ${N} back (got ${received.length})` });
    assert.deepEqual(received, range(N, 's'));
    assert.equal(ferry.broker.flow!.pauses, 0);
  });

  test('flow control - two clients publishing to each other while neither reads do not lock up', async (t) => {
    const { ferry, port } = await flowFerry(t, { maxQueuedMessages: 5000 });
    const a = await mqttClient(t, port, 'peer-a');
    const b = await mqttClient(t, port, 'peer-b');
    await a.subscribeAsync('to/a', { qos: 1 });
    await b.subscribeAsync('to/b', { qos: 1 });
    const toA = inbox(a);
    const toB = inbox(b);
    socketOf(a).pause();
    socketOf(b).pause();
    const N = 1000;
    const sent = Promise.all([
      ...range(N, 'a').map((p) => a.publishAsync('to/b', p, { qos: 1 })),
      ...range(N, 'b').map((p) => b.publishAsync('to/a', p, { qos: 1 })),
    ]);
    await sleep(300);
    // Neither is held while messages wait for it: a client with a queue is never paused.
    for (const id of ['peer-a', 'peer-b']) {
      const ch = ferry.broker.client(id) as Channel;
      assert.ok(!(ch.flowPaused && ch.session!.queued > 0), `${id} is not paused while messages wait for it`);
    }
    socketOf(a).resume();
    socketOf(b).resume();
    await sent;
    await waitFor(() => toA.length === N && toB.length === N, { timeoutMs: 20_000, message: `both get all (${toA.length}, ${toB.length})` });
    assert.deepEqual(toA, range(N, 'b'));
    assert.deepEqual(toB, range(N, 'a'));
    assert.equal(ferry.broker.counters.droppedQueueFull, 0);
    assert.equal(ferry.broker.flow!.pausedPublishers, 0);
  });

  test('flow control - a subscriber that also publishes to a slow one keeps getting its own messages', async (t) => {
    const { ferry, port } = await flowFerry(t, { maxQueuedMessages: 5000 });
    const slow = await mqttClient(t, port, 'slow');
    await slow.subscribeAsync('slow/in', { qos: 1 });
    const toSlow = inbox(slow);
    socketOf(slow).pause();
    const middle = await mqttClient(t, port, 'middle');
    await middle.subscribeAsync('middle/in', { qos: 1 });
    const toMiddle = inbox(middle);
    const feeder = await mqttClient(t, port, 'feeder');
    const N = 600;
    // middle is paused for slow; feeder keeps queueing for middle, which must then be read again.
    const toSlowSent = Promise.all(range(N, 'x').map((p) => middle.publishAsync('slow/in', p, { qos: 1 })));
    await waitFor(() => ferry.broker.flow!.pausedPublishers === 1, { message: 'middle paused for slow' });
    const fed = Promise.all(range(N, 'f').map((p) => feeder.publishAsync('middle/in', p, { qos: 1 })));
    await fed;
    await waitFor(() => toMiddle.length === N, { timeoutMs: 20_000, message: `middle gets all ${N} while slow does not read (got ${toMiddle.length})` });
    assert.deepEqual(toMiddle, range(N, 'f'));
    socketOf(slow).resume();
    await toSlowSent;
    await waitFor(() => toSlow.length === N, { timeoutMs: 20_000, message: `slow gets all (got ${toSlow.length})` });
    assert.deepEqual(toSlow, range(N, 'x'));
    assert.equal(ferry.broker.counters.droppedQueueFull, 0);
  });

  test('flow control - a subscriber that never reads is given up on after flowMaxPauseMs: publishers resume, its queue is capped and counted', async (t) => {
    const CAP = 300;
    const { ferry, port, logs } = await flowFerry(t, { flowMaxPauseMs: 300, maxQueuedMessages: CAP });
    const flow = ferry.broker.flow!;
    const stuck = await mqttClient(t, port, 'stuck');
    await stuck.subscribeAsync('stuck/#', { qos: 1 });
    socketOf(stuck).pause();
    const pub = await mqttClient(t, port, 'pub');
    const N = 1000;
    const started = Date.now();
    await Promise.all(range(N, 'p').map((p) => pub.publishAsync('stuck/x', p, { qos: 1 })));
    const tookMs = Date.now() - started;
    assert.ok(tookMs >= 300, `paused at least flowMaxPauseMs first (${tookMs} ms)`);
    assert.equal(flow.fallbacks, 1);
    assert.equal(flow.pausedPublishers, 0);
    assert.equal(queued(ferry, 'stuck'), CAP);
    assert.equal(ferry.broker.counters.droppedQueueFull, N - INFLIGHT - CAP);
    assert.ok(logs.lines.some((l) => l['level'] === 'warn' && l['clientId'] === 'stuck' && String(l['msg']).startsWith('flow control: subscriber did not drain')));
  });

  test('flow control - a paused publisher is not cut for keepalive (it is not being read) and resumes when the subscriber reads', async (t) => {
    const { ferry, port } = await flowFerry(t, { flowMaxPauseMs: 10_000 });
    const sub = await mqttClient(t, port, 'ka-sub');
    await sub.subscribeAsync('ka/#', { qos: 1 });
    const received = inbox(sub);
    socketOf(sub).pause();
    const { client: pub } = await rawConnect(t, port, { clientId: 'ka-pub', keepalive: 1 });
    const N = 300;
    const batch = Buffer.concat(
      Array.from({ length: N }, (_, i) => encode({ type: 'publish', topic: 'ka/x', payload: Buffer.from(`k${i}`), qos: 1, packetId: i + 1, retain: false, dup: false }, 4)),
    );
    pub.send(batch);
    await waitFor(() => ferry.broker.flow!.pausedPublishers === 1, { message: 'the raw publisher is paused' });
    // 1.5 × keepalive passes twice over while it is not read.
    await sleep(3200);
    assert.equal(ferry.broker.counters.keepaliveTimeouts, 0);
    assert.equal(pub.closed, false);
    socketOf(sub).resume();
    await pub.expectInbox(N, 10_000);
    assert.deepEqual(
      pub.inbox.map((p) => (p.type === 'puback' ? p.packetId : -1)),
      Array.from({ length: N }, (_, i) => i + 1),
    );
    await waitFor(() => received.length === N, { timeoutMs: 10_000, message: 'all delivered' });
    assert.deepEqual(received, range(N, 'k'));
  });
});
