/**
 * The MQTT behaviour suite: one set of tests, run over every transport (TCP, TLS, WS, WSS) by
 * transports.test.ts. Each test opens its own clients with unique ids and topics so tests can
 * share one running Ferry.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, expectNoMore, sleep, uniqueId } from './clients.js';

export function behaviourSuite(name: string, url: () => string): void {
  describe(`${name} - behaviour`, () => {
    for (const protocolVersion of [4, 5] as const) {
      const v = `v${protocolVersion === 4 ? '3.1.1' : '5'}`;

      test(`${name} - ${v} publish and subscribe at QoS 0, 1 and 2`, async (t) => {
        const topic = uniqueId('qos');
        const sub = await connect(t, url(), { protocolVersion, clientId: uniqueId() });
        const granted = await sub.client.subscribeAsync(`${topic}/+`, { qos: 2 });
        assert.equal(granted[0]?.qos, 2);
        const pub = await connect(t, url(), { protocolVersion, clientId: uniqueId() });
        for (const qos of [0, 1, 2] as const) await pub.client.publishAsync(`${topic}/q${qos}`, `m${qos}`, { qos });
        const got = await sub.waitFor(3);
        assert.deepEqual(
          got.map((r) => [r.topic, r.payload, r.packet.qos]),
          [
            [`${topic}/q0`, 'm0', 0],
            [`${topic}/q1`, 'm1', 1],
            [`${topic}/q2`, 'm2', 2],
          ],
        );
      });

      test(`${name} - ${v} delivery QoS is the minimum of publish and subscription`, async (t) => {
        const topic = uniqueId('min');
        const sub = await connect(t, url(), { protocolVersion, clientId: uniqueId() });
        await sub.client.subscribeAsync(topic, { qos: 1 });
        const pub = await connect(t, url(), { protocolVersion, clientId: uniqueId() });
        await pub.client.publishAsync(topic, 'x', { qos: 2 });
        const [got] = await sub.waitFor(1);
        assert.equal(got?.packet.qos, 1);
      });

      test(`${name} - ${v} retained message is delivered on subscribe and cleared by an empty payload`, async (t) => {
        const topic = uniqueId('ret');
        const pub = await connect(t, url(), { protocolVersion, clientId: uniqueId() });
        await pub.client.publishAsync(topic, 'kept', { qos: 1, retain: true });
        const sub = await connect(t, url(), { protocolVersion, clientId: uniqueId() });
        await sub.client.subscribeAsync(topic, { qos: 1 });
        const [got] = await sub.waitFor(1);
        assert.equal(got?.payload, 'kept');
        assert.equal(got?.packet.retain, true);
        // A live (not retained-on-subscribe) delivery has RETAIN 0 [MQTT-3.3.1-9].
        await pub.client.publishAsync(topic, 'live', { qos: 1, retain: true });
        const got2 = await sub.waitFor(2);
        assert.equal(got2[1]?.packet.retain, false);
        await pub.client.publishAsync(topic, '', { qos: 1, retain: true });
        const late = await connect(t, url(), { protocolVersion, clientId: uniqueId() });
        await late.client.subscribeAsync(topic, { qos: 1 });
        await expectNoMore(late, 0);
      });

      test(`${name} - ${v} wildcards match and $ topics are not matched by #`, async (t) => {
        const base = uniqueId('wc');
        const sub = await connect(t, url(), { protocolVersion, clientId: uniqueId() });
        await sub.client.subscribeAsync([`${base}/+/temp`, `${base}/#`], { qos: 0 });
        const pub = await connect(t, url(), { protocolVersion, clientId: uniqueId() });
        await pub.client.publishAsync(`${base}/room1/temp`, '21', { qos: 1 });
        await pub.client.publishAsync(`${base}`, 'root', { qos: 1 });
        // Overlapping subscriptions deliver one copy.
        await sub.waitFor(2);
        await expectNoMore(sub, 2);
        assert.deepEqual(sub.received.map((r) => r.topic).sort(), [base, `${base}/room1/temp`]);
      });

      test(`${name} - ${v} will is published on abrupt close, not after DISCONNECT`, async (t) => {
        const topic = uniqueId('will');
        const watcher = await connect(t, url(), { protocolVersion, clientId: uniqueId() });
        await watcher.client.subscribeAsync(`${topic}/#`, { qos: 1 });
        const polite = await connect(t, url(), {
          protocolVersion,
          clientId: uniqueId(),
          will: { topic: `${topic}/polite`, payload: Buffer.from('gone'), qos: 1, retain: false },
        });
        await polite.client.endAsync();
        const rude = await connect(t, url(), {
          protocolVersion,
          clientId: uniqueId(),
          will: { topic: `${topic}/rude`, payload: Buffer.from('gone'), qos: 1, retain: false },
        });
        rude.client.stream.destroy();
        const [got] = await watcher.waitFor(1);
        assert.equal(got?.topic, `${topic}/rude`);
        await expectNoMore(watcher, 1);
      });

      test(`${name} - ${v} persistent session keeps subscriptions and queues QoS 1 while offline`, async (t) => {
        const topic = uniqueId('persist');
        const clientId = uniqueId('persistent');
        const persistent = protocolVersion === 5 ? { clean: false, properties: { sessionExpiryInterval: 60 } } : { clean: false };
        const first = await connect(t, url(), { protocolVersion, clientId, ...persistent });
        await first.client.subscribeAsync(topic, { qos: 1 });
        await first.client.endAsync();
        const pub = await connect(t, url(), { protocolVersion, clientId: uniqueId() });
        for (let i = 0; i < 5; i++) await pub.client.publishAsync(topic, `m${i}`, { qos: 1 });
        await pub.client.publishAsync(topic, 'qos0-dropped', { qos: 0 });
        const second = await connect(t, url(), { protocolVersion, clientId, ...persistent });
        assert.equal(second.client.connected, true);
        const got = await second.waitFor(5);
        assert.deepEqual(got.map((r) => r.payload), ['m0', 'm1', 'm2', 'm3', 'm4']);
        await expectNoMore(second, 5);
      });

      test(`${name} - ${v} clean session discards the old session`, async (t) => {
        const topic = uniqueId('clean');
        const clientId = uniqueId('cleaner');
        const first = await connect(t, url(), {
          protocolVersion,
          clientId,
          clean: false,
          ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}),
        });
        await first.client.subscribeAsync(topic, { qos: 1 });
        await first.client.endAsync();
        const second = await connect(t, url(), { protocolVersion, clientId, clean: true });
        const pub = await connect(t, url(), { protocolVersion, clientId: uniqueId() });
        await pub.client.publishAsync(topic, 'x', { qos: 1 });
        await expectNoMore(second, 0);
      });

      test(`${name} - ${v} session takeover closes the old connection`, async (t) => {
        const clientId = uniqueId('take');
        const first = await connect(t, url(), { protocolVersion, clientId });
        const closed = new Promise<number | undefined>((resolve) => {
          first.client.once('disconnect', (packet) => resolve(packet.reasonCode));
          first.client.once('close', () => resolve(undefined));
        });
        const second = await connect(t, url(), { protocolVersion, clientId });
        const reason = await closed;
        if (protocolVersion === 5) assert.equal(reason, 0x8e);
        assert.equal(second.client.connected, true);
      });

      test(`${name} - ${v} shared subscription spreads messages round robin`, async (t) => {
        const topic = uniqueId('shared');
        const a = await connect(t, url(), { protocolVersion, clientId: uniqueId() });
        const b = await connect(t, url(), { protocolVersion, clientId: uniqueId() });
        await a.client.subscribeAsync(`$share/workers/${topic}`, { qos: 1 });
        await b.client.subscribeAsync(`$share/workers/${topic}`, { qos: 1 });
        const pub = await connect(t, url(), { protocolVersion, clientId: uniqueId() });
        for (let i = 0; i < 10; i++) await pub.client.publishAsync(topic, `m${i}`, { qos: 1 });
        await sleep(200);
        assert.equal(a.received.length + b.received.length, 10);
        assert.equal(a.received.length, 5);
      });
    }

    test(`${name} - v5 properties travel: user properties, content type, response topic, correlation data`, async (t) => {
      const topic = uniqueId('props');
      const sub = await connect(t, url(), { protocolVersion: 5, clientId: uniqueId() });
      await sub.client.subscribeAsync(topic, { qos: 1 });
      const pub = await connect(t, url(), { protocolVersion: 5, clientId: uniqueId() });
      await pub.client.publishAsync(topic, '{"a":1}', {
        qos: 1,
        properties: {
          userProperties: { k: 'v' },
          contentType: 'application/json',
          responseTopic: `${topic}/reply`,
          correlationData: Buffer.from('corr'),
          payloadFormatIndicator: true,
        },
      });
      const [got] = await sub.waitFor(1);
      const props = got?.packet.properties;
      assert.deepEqual({ ...props?.userProperties }, { k: 'v' });
      assert.equal(props?.contentType, 'application/json');
      assert.equal(props?.responseTopic, `${topic}/reply`);
      assert.equal(props?.correlationData?.toString(), 'corr');
      assert.equal(props?.payloadFormatIndicator, true);
    });

    test(`${name} - v5 subscription identifiers: one PUBLISH carries every matching id`, async (t) => {
      const topic = uniqueId('subid');
      const sub = await connect(t, url(), { protocolVersion: 5, clientId: uniqueId() });
      await sub.client.subscribeAsync(`${topic}/+`, { qos: 1, properties: { subscriptionIdentifier: 7 } });
      await sub.client.subscribeAsync(`${topic}/#`, { qos: 0, properties: { subscriptionIdentifier: 9 } });
      const pub = await connect(t, url(), { protocolVersion: 5, clientId: uniqueId() });
      await pub.client.publishAsync(`${topic}/x`, 'x', { qos: 1 });
      const [got] = await sub.waitFor(1);
      await expectNoMore(sub, 1);
      const ids = got?.packet.properties?.subscriptionIdentifier;
      assert.deepEqual([ids].flat().sort(), [7, 9]);
      assert.equal(got?.packet.qos, 1);
    });

    test(`${name} - v5 no local and retain as published`, async (t) => {
      const topic = uniqueId('nl');
      const c = await connect(t, url(), { protocolVersion: 5, clientId: uniqueId() });
      await c.client.subscribeAsync(`${topic}/self`, { qos: 1, nl: true });
      await c.client.subscribeAsync(`${topic}/rap`, { qos: 1, rap: true });
      await c.client.publishAsync(`${topic}/self`, 'me', { qos: 1 });
      await c.client.publishAsync(`${topic}/rap`, 'kept', { qos: 1, retain: true });
      const [got] = await c.waitFor(1);
      assert.equal(got?.topic, `${topic}/rap`);
      assert.equal(got?.packet.retain, true);
      await expectNoMore(c, 1);
    });

    test(`${name} - v5 retain handling 2 sends no retained messages`, async (t) => {
      const topic = uniqueId('rh');
      const pub = await connect(t, url(), { protocolVersion: 5, clientId: uniqueId() });
      await pub.client.publishAsync(topic, 'r', { qos: 1, retain: true });
      const sub = await connect(t, url(), { protocolVersion: 5, clientId: uniqueId() });
      await sub.client.subscribeAsync(topic, { qos: 1, rh: 2 });
      await expectNoMore(sub, 0);
      await sub.client.subscribeAsync(topic, { qos: 1, rh: 1 }); // exists already: nothing
      await expectNoMore(sub, 0);
    });

    test(`${name} - v5 topic aliases from the client are resolved`, async (t) => {
      const topic = uniqueId('alias');
      const sub = await connect(t, url(), { protocolVersion: 5, clientId: uniqueId() });
      await sub.client.subscribeAsync(topic, { qos: 1 });
      const pub = await connect(t, url(), { protocolVersion: 5, clientId: uniqueId(), properties: { topicAliasMaximum: 10 } });
      await pub.client.publishAsync(topic, 'one', { qos: 1, properties: { topicAlias: 3 } });
      await pub.client.publishAsync('', 'two', { qos: 1, properties: { topicAlias: 3 } });
      const got = await sub.waitFor(2);
      assert.deepEqual(got.map((r) => [r.topic, r.payload]), [[topic, 'one'], [topic, 'two']]);
    });

    test(`${name} - v5 server assigns topic aliases when the client allows them`, async (t) => {
      const topic = uniqueId('outalias');
      const sub = await connect(t, url(), { protocolVersion: 5, clientId: uniqueId(), properties: { topicAliasMaximum: 5 } });
      await sub.client.subscribeAsync(topic, { qos: 0 });
      const pub = await connect(t, url(), { protocolVersion: 5, clientId: uniqueId() });
      await pub.client.publishAsync(topic, 'a', { qos: 1 });
      await pub.client.publishAsync(topic, 'b', { qos: 1 });
      const got = await sub.waitFor(2);
      // mqtt.js resolves the alias back to the topic for us.
      assert.deepEqual(got.map((r) => r.topic), [topic, topic]);
      assert.equal(got[0]?.packet.properties?.topicAlias, 1);
      assert.equal(got[1]?.packet.properties?.topicAlias, 1);
    });

    test(`${name} - v5 message expiry: expired queued messages are dropped, others carry the remaining time`, async (t) => {
      const topic = uniqueId('exp');
      const clientId = uniqueId('expirer');
      const first = await connect(t, url(), { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
      await first.client.subscribeAsync(topic, { qos: 1 });
      await first.client.endAsync();
      const pub = await connect(t, url(), { protocolVersion: 5, clientId: uniqueId() });
      await pub.client.publishAsync(topic, 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
      await pub.client.publishAsync(topic, 'long', { qos: 1, properties: { messageExpiryInterval: 100 } });
      await sleep(1200);
      const second = await connect(t, url(), { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
      const [got] = await second.waitFor(1);
      assert.equal(got?.payload, 'long');
      const remaining = got?.packet.properties?.messageExpiryInterval ?? 0;
      assert.ok(remaining <= 99 && remaining >= 97, `remaining ${remaining}`);
      await expectNoMore(second, 1);
    });

    test(`${name} - v5 empty client id gets an assigned identifier`, async (t) => {
      const c = await connect(t, url(), { protocolVersion: 5, clientId: '' });
      const assigned = c.connack.properties?.assignedClientIdentifier;
      assert.ok(assigned !== undefined && assigned.length > 0, 'assigned client identifier');
      // The assigned id works like any other: a second client taking it over replaces the first.
      const twin = await connect(t, url(), { protocolVersion: 5, clientId: assigned });
      assert.equal(twin.connack.sessionPresent, false);
    });

    test(`${name} - v5 will delay: the will waits and a reconnect cancels it`, async (t) => {
      const topic = uniqueId('wd');
      const watcher = await connect(t, url(), { protocolVersion: 5, clientId: uniqueId() });
      await watcher.client.subscribeAsync(`${topic}/#`, { qos: 1 });
      const clientId = uniqueId('delayed');
      const options = {
        protocolVersion: 5 as const,
        clientId,
        clean: false,
        properties: { sessionExpiryInterval: 30 },
        will: { topic: `${topic}/cancelled`, payload: Buffer.from('x'), qos: 1 as const, retain: false, properties: { willDelayInterval: 1 } },
      };
      const first = await connect(t, url(), options);
      first.client.stream.destroy();
      await sleep(200);
      await connect(t, url(), options); // back before the delay: no will
      const other = await connect(t, url(), {
        protocolVersion: 5,
        clientId: uniqueId(),
        will: { topic: `${topic}/sent`, payload: Buffer.from('y'), qos: 1, retain: false, properties: { willDelayInterval: 1 } },
        properties: { sessionExpiryInterval: 30 },
      });
      other.client.stream.destroy();
      await sleep(400);
      assert.equal(watcher.received.length, 0, 'will must wait for its delay');
      const [got] = await watcher.waitFor(1, 3000);
      assert.equal(got?.topic, `${topic}/sent`);
      await expectNoMore(watcher, 1);
    });
  });
}
