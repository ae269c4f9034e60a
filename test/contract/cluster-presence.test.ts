/**
 * Cluster presence (src/cluster/presence.ts) against a real nats-server -js: when a node counts
 * another as gone. A record that went old is not enough: JetStream may answer one node seconds
 * after another (a write waiting out its request timeout after a NATS server died) while that node
 * still routes on core NATS. Counted as gone, its interest was dropped on every node and QoS 1
 * messages for its subscribers were acknowledged with no route (the CI failure of session 16,
 * "cluster faults - kill -9 of one NATS server": 742 acknowledged messages never reached b).
 * A node is gone only when it does not answer on its own subject: at once when its connection is
 * gone (no responders), after the ask timeout when it is stalled or cut off.
 *
 * Each "node" is a Presence on its own NATS connection in this process. A node whose writes are
 * held up is forced by not calling its beat(): that is what a heartbeat stuck in a JetStream
 * request does (heartbeats run one after the other, cluster/index.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pino from 'pino';
import { Presence } from '../../src/cluster/presence.js';
import { Subjects } from '../../src/cluster/subjects.js';
import { startNats } from '../helpers/engines.js';
import type { Teardown } from '../helpers/index.js';

const HEARTBEAT_MS = 200;
const subjects = new Subjects('pres');

async function node(t: Teardown, url: string, id: string): Promise<{ presence: Presence; connection: NatsConnection }> {
  const connection = await connect({ servers: url });
  t.after(() => (connection.isClosed() ? undefined : connection.close()));
  const presence = new Presence(subjects.presenceBucket(), id, HEARTBEAT_MS, 1, (n) => subjects.live(n), pino({ level: 'silent' }));
  await presence.open(connection);
  return { presence, connection };
}

const beat = (p: Presence) => p.beat({ startedAt: new Date().toISOString(), clients: 0, sessions: 0, subscriptions: 0, interest: 0 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Longer than three heartbeats: the record of a node that did not write meanwhile is old. */
const RECORD_AGE_MS = HEARTBEAT_MS * 3 + 300;

test('cluster presence - a node whose record went old but that answers on NATS is not counted as gone; once its connection is gone, it is', async (t) => {
  const nats = await startNats(t);
  const a = await node(t, nats.url, 'node-a');
  const b = await node(t, nats.url, 'node-b');
  await beat(b.presence);
  await beat(a.presence);
  assert.deepEqual([...a.presence.nodes.keys()].sort(), ['node-a', 'node-b'], 'a sees both');

  // b's writes are held up (its heartbeat waits on JetStream) while it still answers on core NATS.
  await sleep(RECORD_AGE_MS);
  const held = await beat(a.presence);
  assert.equal(a.presence.problem, null, 'a wrote and read presence');
  assert.deepEqual(held.left, [], 'b is not counted as gone: it answers');
  assert.ok(a.presence.nodes.has('node-b'), 'b is still among the live nodes');
  await sleep(HEARTBEAT_MS);
  assert.deepEqual((await beat(a.presence)).left, [], 'nor at the next heartbeat');

  // b writes again: nothing changes.
  await beat(b.presence);
  assert.deepEqual(await beat(a.presence), { joined: [], left: [] });

  // b's process dies: its connection closes, nobody answers on its subject.
  await b.connection.close();
  await sleep(RECORD_AGE_MS);
  const started = Date.now();
  const gone = await beat(a.presence);
  assert.deepEqual(gone.left, ['node-b'], 'a node whose connection is gone is counted as gone');
  assert.ok(Date.now() - started < a.presence.askTimeoutMs, 'at once (no responders), without waiting for the ask timeout');
  assert.ok(!a.presence.nodes.has('node-b'));
});

test('cluster presence - a stalled node that does not answer is counted as gone after the ask timeout', async (t) => {
  const nats = await startNats(t);
  const a = await node(t, nats.url, 'node-a');
  // node-b writes its record, but its subject is subscribed and never answered: a stalled process.
  const connection = await connect({ servers: nats.url });
  t.after(() => connection.close());
  const b = new Presence(subjects.presenceBucket(), 'node-b', HEARTBEAT_MS, 1, () => 'pres.elsewhere', pino({ level: 'silent' }));
  await b.open(connection);
  connection.subscribe(subjects.live('node-b'), { callback: () => undefined });
  await connection.flush();
  await beat(b);
  await beat(a.presence);
  assert.ok(a.presence.nodes.has('node-b'), 'a sees node-b');

  await sleep(RECORD_AGE_MS);
  const started = Date.now();
  const result = await beat(a.presence);
  assert.ok(result.left.includes('node-b'), 'not answering, it is counted as gone');
  assert.ok(Date.now() - started >= a.presence.askTimeoutMs - 50, 'after the ask timeout');
});
