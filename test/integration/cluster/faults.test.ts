/**
 * Faults with real processes: three NATS servers (JetStream, R3 presence) and three Ferry nodes
 * (state in JetStream), each given every NATS URL. One NATS server killed under QoS 1 load: the
 * cluster goes on, every acknowledged message arrives. One Ferry node killed (-9) under QoS 1 load from publishers on it and on another node: its
 * persistent subscriber and its publisher reconnect to a third node, the subscriber resumes its
 * session with its queue, the publishers send again what was not acknowledged; both persistent
 * subscribers have every acknowledged message (duplicates only as QoS 1 allows, counted).
 */
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { waitFor } from '../../helpers/index.js';
import { startNatsCluster, suiteTeardown, type NatsCluster } from '../../helpers/engines.js';
import { connect, sleep, type Received, type TestClient } from '../mqtt/clients.js';
import { clusterStatus, keepingLogs, ready, settled, startNode, untilReady, type Node } from './nodes.js';

/** The NATS server a node is connected to now (`host:port`), from `ferry cluster status`. */
async function natsServerOf(node: Node): Promise<string | undefined> {
  return (await clusterStatus(node)).server;
}

/**
 * A time of the failure report (epoch ms, or a node's log time, an ISO string), as ISO; anything
 * else as it is, so that reporting never throws and hides the assertion.
 */
function iso(time: unknown): string {
  const date = typeof time === 'number' || typeof time === 'string' ? new Date(time) : null;
  return date !== null && !Number.isNaN(date.getTime()) ? date.toISOString() : String(time);
}

describe('cluster faults - three Ferry nodes on three NATS servers', () => {
  const teardown = suiteTeardown();
  let nats: NatsCluster;
  const nodes: Node[] = [];

  before(async () => {
    nats = await startNatsCluster(teardown, 3);
    // Each node starts on its own server (listed first) and knows the others for failover.
    const started = await Promise.all(
      ['a', 'b', 'c'].map(async (id, i) => {
        const urls = [...nats.servers.slice(i), ...nats.servers.slice(0, i)].map((s) => s.url).join(',');
        return startNode(teardown, `node-${id}`, urls, ['--cluster-replicas', '3']);
      }),
    );
    nodes.push(...started);
    for (const node of nodes) await untilReady(node, 30_000);
  });

  // Issue 16's failover bug: when JetStream was unavailable for more than three heartbeats after the
  // kill (a meta-leader election), a read presence again, found b's record old, dropped b's interest,
  // saw b back half a second later and never asked for its filters again: ready, yet publishing to
  // nobody. Presence now forgives records that are old only because of the outage, and the interest
  // digest in each presence record makes a node ask for any list it lacks or lags behind on.
  test('cluster faults - kill -9 of one NATS server under QoS 1 load: its node fails over, ready means messages flow, nothing acknowledged is lost', { timeout: 120_000 }, async (t: TestContext) => keepingLogs(nodes, 'cluster-faults-nats-kill', async () => {
      const [a, b] = nodes as [Node, Node, Node];
      const sub = await connect(t, b.mqtt, { clientId: 'nf-sub' });
      await sub.client.subscribeAsync('nf/#', { qos: 1 });
      const pub = await connect(t, a.mqtt, { clientId: 'nf-pub', protocolVersion: 5 });
      await settled(pub, sub, 'nf/probe');
      // QoS 1 load from a to b through the kill (paced, bounded): what is refused meanwhile is sent again.
      const loader = await connect(t, a.mqtt, { clientId: 'nf-load', protocolVersion: 5 });
      const acked = new Set<string>();
      const refused = new Set<string>();
      const publish = (payload: string): Promise<void> =>
        loader.client.publishAsync(`nf/load/${payload}`, payload, { qos: 1 }).then(
          (ack) => void (((ack as { reasonCode?: number } | undefined)?.reasonCode ?? 0) === 0 ? acked.add(payload) : refused.add(payload)),
          () => void refused.add(payload),
        );
      let stop = false;
      let sent = 0;
      const pumping = (async () => {
        const inFlight = new Set<Promise<void>>();
        for (; !stop && sent < 5000; sent++) {
          const p = publish(`n${sent}`).finally(() => inFlight.delete(p));
          inFlight.add(p);
          if (inFlight.size >= 16) await Promise.race(inFlight);
          await sleep(5);
        }
        await Promise.all(inFlight);
      })();
      await waitFor(() => acked.size >= 100, { timeoutMs: 20_000, intervalMs: 10, message: '100 messages acknowledged before the kill' });
      // The NATS client picks a server of its list at random: kill the one node a uses.
      const before = await natsServerOf(a);
      const victim = nats.servers.find((s) => before === `${s.host}:${s.port}`);
      assert.ok(victim !== undefined, `node a is on one of the test's servers (${before})`);
      await victim.kill();
      await waitFor(() => a.proc.logs.some((l) => l['msg'] === 'reconnected to NATS'), { timeoutMs: 15_000, message: 'node a reconnected to another server' });
      assert.notEqual(await natsServerOf(a), before);
      // Presence must have been read again after the reconnect: wait past a JetStream outage.
      await waitFor(async () => (await ready(a)) && (await ready(b)), { timeoutMs: 30_000, intervalMs: 200, message: 'nodes a and b ready again' });
      // Ready means routing works: one message, no retries.
      const ack = (await pub.client.publishAsync('nf/after', 'after', { qos: 1 })) as { reasonCode?: number } | undefined;
      assert.equal(ack?.reasonCode ?? 0, 0, 'the message is accepted by b');
      await waitFor(() => sub.received.some((m) => m.payload === 'after'), { timeoutMs: 10_000, message: 'the message from a reaches b' });
      stop = true;
      await pumping;
      for (let round = 0; round < 5; round++) {
        const again = [...refused].filter((p) => !acked.has(p));
        if (again.length === 0) break;
        for (const payload of again) await publish(payload);
      }
      const expected = Array.from({ length: sent }, (_, n) => `n${n}`);
      for (const p of expected) assert.ok(acked.has(p), `${p} acknowledged in the end`);
      const got = () => sub.received.filter((m) => m.topic.startsWith('nf/load/')).map((m) => m.payload);
      await waitFor(() => new Set(got()).size >= expected.length, { timeoutMs: 15_000, intervalMs: 200, message: 'every acknowledged message at b' }).catch(() => undefined);
      const distinct = new Set(got());
      const missing = expected.filter((p) => !distinct.has(p));
      t.diagnostic(`nf-sub: ${expected.length} acknowledged (${refused.size} refused at first and sent again), ${got().length} received, ${got().length - distinct.size} duplicates, ${missing.length} missing`);
      assert.deepEqual(missing, [], 'every acknowledged message reached b');
      await victim.restart();
  }));

  test('cluster faults - kill -9 of a Ferry node under QoS 1 load: its persistent sessions resume elsewhere, nothing acknowledged is lost', { timeout: 180_000 }, async (t: TestContext) => keepingLogs(nodes, 'cluster-faults-node-kill', async () => {
      const [a, b, c] = nodes as [Node, Node, Node];
      // After the NATS server's restart (test above) JetStream may still catch up: ready includes the store.
      for (const node of nodes) await untilReady(node, 30_000);
      // Persistent subscribers on a (MQTT 5, session expiry) and b (MQTT 3.1.1, clean session off), both on load/#.
      const subAOptions = { clientId: 'kill-sub-a', protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 3600 } };
      // A persistent SUBACK waits for a JetStream write, which may still fail a moment after the
      // NATS server's restart (0x80, as the store promises): subscribe again until it is accepted.
      const subscribe = (sub: TestClient): Promise<boolean> =>
        waitFor(() => sub.client.subscribeAsync('load/#', { qos: 1 }).then(() => true, () => false), { timeoutMs: 30_000, intervalMs: 500, message: 'a persistent subscription accepted' });
      let subA = await connect(t, a.mqtt, subAOptions);
      await subscribe(subA);
      const subB = await connect(t, b.mqtt, { clientId: 'kill-sub-b', clean: false });
      await subscribe(subB);
      const pubA = await connect(t, a.mqtt, { clientId: 'kill-pub-a', protocolVersion: 5 });
      const pubB = await connect(t, b.mqtt, { clientId: 'kill-pub-b', protocolVersion: 5 });
      const probe = await connect(t, c.mqtt, { clientId: 'kill-probe' });
      for (const sub of [subA, subB]) for (const pub of [pubA, pubB, probe]) await settled(pub, sub, 'load/probe');
      const gotA = [subA.received]; // subA's messages over its connections

      // QoS 1 publishers on a and b, up to 16 in flight each; b's goes on through the kill (bounded).
      const acked = new Set<string>();
      const ackedAt = new Map<string, number>();
      const refused = new Set<string>();
      const publish = (client: TestClient, payload: string): Promise<void> =>
        client.client.publishAsync(`load/${payload}`, payload, { qos: 1 }).then(
          (ack) => {
            if (((ack as { reasonCode?: number } | undefined)?.reasonCode ?? 0) === 0) {
              acked.add(payload);
              ackedAt.set(payload, Date.now());
            } else refused.add(payload);
          },
          () => void refused.add(payload),
        );
      const pump = async (client: TestClient, name: string, count: number, stop: () => boolean): Promise<number> => {
        const inFlight = new Set<Promise<void>>();
        let n = 0;
        for (; n < count && !stop(); n++) {
          const p = publish(client, `${name}-${n}`).finally(() => inFlight.delete(p));
          inFlight.add(p);
          if (inFlight.size >= 16) await Promise.race(inFlight);
          if (name === 'b') await sleep(4); // paced, so that it spans the kill and the takeover
        }
        await Promise.all(inFlight);
        return n;
      };
      let killed = false;
      let stopB = false;
      const startedAt = Date.now();
      const sentB = pump(pubB, 'b', 4000, () => stopB || Date.now() - startedAt > 60_000);
      const sentA = pump(pubA, 'a', 300, () => killed);
      await waitFor(() => acked.size >= 150, { timeoutMs: 30_000, intervalMs: 5, message: '150 messages acknowledged before the kill' });
      killed = true;
      a.proc.child.kill('SIGKILL');
      await a.proc.exited;
      pubA.client.end(true); // what it had in flight is not acknowledged
      subA.client.end(true);
      const countA = await sentA;

      // Its clients come back on c once a has left the cluster (b's publisher keeps going meanwhile).
      await waitFor(async () => !(await clusterStatus(b)).nodes.some((n) => n.nodeId === 'node-a'), { timeoutMs: 15_000, intervalMs: 200, message: 'a gone from presence' });
      await sleep(1000);
      // The CONNECT waits for the takeover of a's sessions, which waits out a JetStream request
      // timeout (5 s) and tries again when JetStream is still slow after the NATS restart of the
      // test above (seen once, session 17): mqtt.js's own default (30 s), not the helper's 5 s.
      subA = await connect(t, c.mqtt, { ...subAOptions, connectTimeout: 30_000 });
      assert.equal(subA.connack.sessionPresent, true, 'the session of a resumes on c');
      gotA.push(subA.received);
      const pubA2 = await connect(t, c.mqtt, { clientId: 'kill-pub-a', protocolVersion: 5 });
      for (let n = 0; n < 300; n++) if (!acked.has(`a-${n}`)) await publish(pubA2, `a-${n}`);
      await sleep(1000);
      stopB = true;
      const countB = await sentB;
      // What was refused (waiting for a's answer when it died, ...) is sent again until acknowledged.
      for (let round = 0; round < 5; round++) {
        const again = [...refused].filter((p) => !acked.has(p));
        if (again.length === 0) break;
        for (const payload of again) await publish(payload.startsWith('a-') ? pubA2 : pubB, payload);
      }
      const expected = [...Array.from({ length: 300 }, (_, n) => `a-${n}`), ...Array.from({ length: countB }, (_, n) => `b-${n}`)];
      for (const p of expected) assert.ok(acked.has(p), `${p} acknowledged in the end`);

      const payloadsOf = (lists: ReadonlyArray<readonly Received[]>): string[] => lists.flat().map((m) => m.payload).filter((p) => p !== 'probe');
      await waitFor(() => new Set(payloadsOf(gotA)).size >= expected.length && new Set(payloadsOf([subB.received])).size >= expected.length, {
        timeoutMs: 30_000,
        intervalMs: 200,
        message: 'every acknowledged message at both persistent subscribers',
      }).catch(() => undefined);
      for (const [name, lists] of [['kill-sub-a', gotA], ['kill-sub-b', [subB.received]]] as const) {
        const got = payloadsOf(lists);
        const distinct = new Set(got);
        const missing = expected.filter((p) => !distinct.has(p));
        t.diagnostic(`${name}: ${expected.length} acknowledged (a ${countA} before the kill, b ${countB}), ${got.length} received, ${got.length - distinct.size} duplicates, ${missing.length} missing`);
        if (missing.length > 0) {
          // What the nodes did around the loss, for the report.
          t.diagnostic(`first missing ${missing[0]} acknowledged at ${iso(ackedAt.get(missing[0]!))}, last ${missing.at(-1)} at ${iso(ackedAt.get(missing.at(-1)!))}`);
          for (const node of nodes) {
            for (const l of node.proc.logs) {
              if (/left|took over|handed over|taken over|did not answer|could not let go|has not arrived/.test(String(l['msg']))) t.diagnostic(`${node.id} ${iso(l['time'])} ${String(l['msg'])} ${JSON.stringify({ c: l['clientId'], n: l['nodeId'], e: l['err'] })}`);
            }
          }
        }
        assert.deepEqual(missing, [], `${name} has every acknowledged message`);
      }
      await waitFor(() => ready(b), { timeoutMs: 10_000, message: 'node b still ready' });
  }));
});
