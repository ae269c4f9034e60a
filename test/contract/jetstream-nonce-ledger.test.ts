/**
 * The cluster's nonce ledger (src/cluster/nonce-ledger.ts) against a real nats-server -js: a nonce
 * is claimed once across nodes; while JetStream cannot answer a claim waits for it up to its
 * wait (at most its timeout) and then rejects (the API answers 503), counted in its stats.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamNonceLedger } from '../../src/cluster/nonce-ledger.js';
import { startNats } from '../helpers/engines.js';
import type { Teardown } from '../helpers/index.js';

const TTL = 60_000;

async function natsConnection(t: Teardown, url: string): Promise<NatsConnection> {
  const connection = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  t.after(() => connection.close());
  return connection;
}

test('nonce ledger - a nonce is claimed once across nodes; JetStream away: a claim waits for it, or rejects once its time is up', async (t) => {
  const nats = await startNats(t);
  // A restart of the server takes longer than the 2 s a claim waits by default.
  const a = new JetStreamNonceLedger({ connection: await natsConnection(t, nats.url), prefix: 'nl', replicas: 1, timeoutMs: 5000, waitMs: 5000 });
  const b = new JetStreamNonceLedger({ connection: await natsConnection(t, nats.url), prefix: 'nl', replicas: 1, timeoutMs: 5000 });
  const [first, second] = await Promise.all([a.claim('n1', TTL), b.claim('n1', TTL)]);
  assert.deepEqual([first, second].sort(), [false, true], 'one of two nodes given the same nonce at once accepts it');
  assert.equal(await a.claim('n1', TTL), false, 'and it stays used');

  // The server goes away for about a second: a claim made meanwhile is answered once it is back.
  await nats.kill();
  const waiting = a.claim('n2', TTL);
  const started = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await nats.restart();
  assert.equal(await waiting, true, 'answered after the outage');
  assert.ok(Date.now() - started >= 1000, 'it waited');
  // (Whether the client held the request until it reconnected or it failed and was asked again.)
  assert.equal(a.stats.unavailable, 0);
  assert.equal(await b.claim('n2', TTL), false, 'the late claim is in the ledger');

  // Away for longer than a claim may wait: refused (never accepted unchecked), within its time.
  const short = new JetStreamNonceLedger({ connection: await natsConnection(t, nats.url), prefix: 'nl', replicas: 1, timeoutMs: 1000 });
  assert.equal(await short.claim('n3', TTL), true);
  await nats.kill();
  const before = Date.now();
  await assert.rejects(short.claim('n4', TTL), /cannot check the signature nonce with the other nodes/);
  const took = Date.now() - before;
  assert.ok(took >= 900 && took < 2500, `gave up after its timeout (${took} ms)`);
  assert.equal(short.stats.unavailable, 1);
});
