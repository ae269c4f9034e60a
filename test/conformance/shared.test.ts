/**
 * Shared subscriptions (MQTT 4.8.2): a member that leaves with unacknowledged QoS 1 messages
 * has them given to another member of the group, each exactly once.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProtocolVersion, PublishPacket } from '../../src/protocol/index.js';
import { rawConnect, type RawClient } from '../helpers/raw-client.js';
import { conformanceFerry } from './fixture.js';

/** Takes `count` PUBLISHes from `client`, acknowledging them when `ack` is set. */
async function take(client: RawClient, count: number, ack: boolean): Promise<PublishPacket[]> {
  const got: PublishPacket[] = [];
  for (let i = 0; i < count; i++) {
    const p = await client.expectPacket('publish');
    if (ack) client.send({ type: 'puback', packetId: p.packetId! });
    got.push(p);
  }
  return got;
}

const CASES: Array<{ form: string; filter: string; topic: string; leaver: ProtocolVersion; stayer: ProtocolVersion }> = [
  { form: '$share/<group>/<filter>', filter: '$share/workers/jobs/+', topic: 'jobs/a', leaver: 5, stayer: 4 },
  { form: '$queue/<filter>', filter: '$queue/tasks/#', topic: 'tasks/b', leaver: 4, stayer: 5 },
];

describe('conformance - shared subscriptions', () => {
  for (const { form, filter, topic, leaver, stayer } of CASES) {
    test(`conformance - ${form}: unacknowledged QoS 1 messages of a member that leaves go to another member [MQTT-4.8.2]`, async (t) => {
      const { port, ferry } = await conformanceFerry(t);
      const { client: leaving } = await rawConnect(t, port, { protocolVersion: leaver });
      const { client: staying } = await rawConnect(t, port, { protocolVersion: stayer });
      assert.deepEqual(await leaving.subscribe(filter, 1), [1]);
      assert.deepEqual(await staying.subscribe(filter, 1), [1]);

      const { client: pub } = await rawConnect(t, port, { protocolVersion: 5 });
      const payloads = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'];
      for (const [i, payload] of payloads.entries()) pub.publish(topic, payload, { qos: 1, packetId: i + 1 });
      for (const _ of payloads) await pub.expectPacket('puback');

      // Round robin: three each. The staying member acknowledges; the leaving one does not.
      const kept = await take(staying, 3, true);
      const unacked = await take(leaving, 3, false);
      await leaving.expectNothing(50);
      await staying.expectNothing(50);
      assert.deepEqual(
        [...kept, ...unacked].map((p) => p.payload.toString()).sort(),
        payloads,
        'each message went to exactly one member',
      );

      leaving.destroy();
      const redispatched = await take(staying, 3, true);
      assert.deepEqual(
        redispatched.map((p) => p.payload.toString()),
        unacked.map((p) => p.payload.toString()),
        'the unacknowledged messages, in order',
      );
      await staying.expectNothing(150);
      assert.equal(ferry.broker.counters.sharedRedispatched, 3);

      // The group goes on with one member.
      pub.publish(topic, 'after', { qos: 1, packetId: 7 });
      await pub.expectPacket('puback');
      assert.equal((await take(staying, 1, true))[0]!.payload.toString(), 'after');
    });
  }
});
