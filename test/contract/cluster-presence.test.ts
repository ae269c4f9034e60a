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
/** The nodes whose records say they counted `p`'s node as gone, at its last heartbeat; null when none. */
const goneBy = (p: Presence) => p.countedAsGone?.by ?? null;
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
  const b = await stalledNode(t, nats.url);
  await beat(b);
  await beat(a.presence);
  assert.ok(a.presence.nodes.has('node-b'), 'a sees node-b');

  await sleep(RECORD_AGE_MS);
  const started = Date.now();
  const result = await beat(a.presence);
  assert.ok(result.left.includes('node-b'), 'not answering, it is counted as gone');
  assert.ok(Date.now() - started >= a.presence.askTimeoutMs - 50, 'after the ask timeout');
});

/** node-b of a test: writes its record, but its live subject is subscribed and never answered (a stalled process). */
async function stalledNode(t: Teardown, url: string): Promise<Presence> {
  const connection = await connect({ servers: url });
  t.after(() => (connection.isClosed() ? undefined : connection.close()));
  const b = new Presence(subjects.presenceBucket(), 'node-b', HEARTBEAT_MS, 1, () => 'pres.elsewhere', pino({ level: 'silent' }));
  await b.open(connection);
  connection.subscribe(subjects.live('node-b'), { callback: () => undefined });
  await connection.flush();
  return b;
}

test('cluster presence - a node counted as gone reads it in the record of the node that counted it, also once taken back, until it joins again as a new incarnation', async (t) => {
  const nats = await startNats(t);
  const a = await node(t, nats.url, 'node-a');
  const b = await stalledNode(t, nats.url);
  await beat(b);
  await beat(a.presence);
  assert.equal(goneBy(b), null);

  await sleep(RECORD_AGE_MS);
  assert.deepEqual((await beat(a.presence)).left, ['node-b'], 'not answering: counted as gone');
  // b runs again and writes at once: a takes it back (same incarnation) and keeps telling it was gone.
  await beat(b);
  assert.deepEqual((await beat(a.presence)).joined, ['node-b'], 'taken back');
  assert.deepEqual(a.presence.nodes.get('node-a')?.gone, { 'node-b': b.incarnation }, "a's record names b's incarnation");
  await beat(b);
  assert.deepEqual(goneBy(b), ['node-a'], 'b reads that a counted it as gone');

  // Fenced: a new incarnation. a stops telling once it has read it.
  const before = b.incarnation;
  b.renew();
  assert.ok(b.incarnation > before);
  assert.equal(goneBy(b), null);
  await beat(b);
  assert.equal(goneBy(b), null, 'a still names the old incarnation: not this one');
  await beat(a.presence);
  await beat(a.presence);
  assert.equal(a.presence.nodes.get('node-a')?.gone, undefined, 'a forgot b once it came back as a new incarnation');
  await beat(b);
  assert.equal(goneBy(b), null);
});

test('cluster presence - a node nobody counted as gone is not told so, also when its record went old', async (t) => {
  const nats = await startNats(t);
  const a = await node(t, nats.url, 'node-a');
  const b = await node(t, nats.url, 'node-b');
  await beat(b.presence);
  await beat(a.presence);
  // b's writes are held up while it answers on NATS (a heartbeat waiting on JetStream).
  await sleep(RECORD_AGE_MS);
  assert.deepEqual((await beat(a.presence)).left, []);
  await beat(a.presence);
  await beat(b.presence);
  assert.equal(goneBy(b.presence), null, 'kept by a: nothing to fence');
  assert.equal(a.presence.nodes.get('node-a')?.gone, undefined);
});

test('cluster presence - a reconnect to NATS alone starts the forgiveness window: nodes known before are kept three heartbeats without being asked', async (t) => {
  const nats = await startNats(t);
  const a = await node(t, nats.url, 'node-a');
  const b = await stalledNode(t, nats.url);
  await beat(b);
  await beat(a.presence);
  await sleep(RECORD_AGE_MS);

  a.presence.reconnected();
  assert.match(a.presence.problem ?? '', /^cluster presence: /, 'not ready until the next heartbeat');
  const started = Date.now();
  const back = await beat(a.presence);
  assert.equal(a.presence.problem, null);
  assert.deepEqual(back.left, [], "b's record is old, but a has just come back: b is kept");
  assert.ok(Date.now() - started < a.presence.askTimeoutMs, 'without asking b');
  // The window is three heartbeats: b, still not writing, is then asked and counted as gone.
  await sleep(RECORD_AGE_MS);
  assert.deepEqual((await beat(a.presence)).left, ['node-b']);
});
