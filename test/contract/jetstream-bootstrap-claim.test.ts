/**
 * One generated bootstrap AccessKey per cluster (src/cluster/bootstrap-claim.ts): nodes whose
 * stores loaded an empty metadata bucket at the same moment each propose a key, and all end up
 * with the same one; a claim whose key an operator deleted long ago gives way to a new key. Real
 * nats-server -js, one JetStream store per "node" in this process, sharing one master key.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import pino from 'pino';
import { AccessKeys } from '../../src/auth/access-keys.js';
import { SecretBox } from '../../src/auth/crypto.js';
import { clusterBootstrapClaim } from '../../src/cluster/bootstrap-claim.js';
import { openJetStreamStore, type JetStreamStore } from '../../src/store/jetstream/jetstream-store.js';
import { startNats } from '../helpers/engines.js';
import type { Teardown } from '../helpers/index.js';

const logger = pino({ level: 'silent' });

async function store(t: Teardown, url: string, nodeId: string): Promise<JetStreamStore> {
  const connection = await connect({ servers: url });
  t.after(() => connection.close());
  const s = await openJetStreamStore({ connection, prefix: 'boot', nodeId, replicas: 1, writeTimeoutMs: 2000, retryMs: 200, warn: () => undefined });
  t.after(() => s.close());
  return s;
}

test('bootstrap claim - nodes starting at once on an empty cluster agree on one generated bootstrap key', async (t) => {
  const nats = await startNats(t);
  const box = SecretBox.ephemeral();
  const stores = await Promise.all(['a', 'b', 'c'].map((id) => store(t, nats.url, `node-${id}`)));
  // Every node loaded the empty metadata before any of them chose a key.
  const keys = await Promise.all(stores.map((s) => AccessKeys.open(s, box)));
  const results = await Promise.all(keys.map((k, i) => k.ensureBootstrap(null, clusterBootstrapClaim(stores[i]!, logger))));
  const ids = new Set(results.map((r) => r.id));
  assert.equal(ids.size, 1, `one bootstrap key: ${JSON.stringify(results.map((r) => r.id))}`);
  assert.equal(results.filter((r) => r.created !== null).length, 1, 'generated (and printed) by one node only');
  const [id] = ids as unknown as [string];
  const secret = results.find((r) => r.created !== null)!.created!.secret;
  for (const k of keys) {
    assert.deepEqual(
      k.list().map((key) => key.id),
      [id],
      'every node has that key and no other',
    );
    assert.equal(k.secret(id), secret, 'and can open its secret (the shared master key)');
  }
  // A node that starts later loads it and generates nothing.
  const late = await store(t, nats.url, 'node-d');
  const lateKeys = await AccessKeys.open(late, box);
  assert.deepEqual(await lateKeys.ensureBootstrap(null, clusterBootstrapClaim(late, logger)), { id, created: null });
});

test('bootstrap claim - a key deleted long after the claim is replaced by a new one at the next start, not brought back', async (t) => {
  const nats = await startNats(t);
  const box = SecretBox.ephemeral();
  const a = await store(t, nats.url, 'node-a');
  const aKeys = await AccessKeys.open(a, box);
  const first = await aKeys.ensureBootstrap(null, clusterBootstrapClaim(a, logger));
  assert.ok(first.created !== null);
  await aKeys.delete(first.id);
  await a.commit();

  // A minute after the claim, a node that starts without any bootstrap key generates a new one.
  const b = await store(t, nats.url, 'node-b');
  const bKeys = await AccessKeys.open(b, box);
  assert.deepEqual(bKeys.list(), [], 'the key was deleted');
  const later = Date.now() + 61_000;
  const second = await bKeys.ensureBootstrap(null, clusterBootstrapClaim(b, logger, () => later));
  assert.notEqual(second.id, first.id);
  assert.ok(second.created !== null, 'generated anew');
  assert.deepEqual(
    bKeys.list().map((k) => k.id),
    [second.id],
  );
  // The new claim holds for the nodes after it.
  const c = await store(t, nats.url, 'node-c');
  const cKeys = await AccessKeys.open(c, box);
  assert.deepEqual(await cKeys.ensureBootstrap(null, clusterBootstrapClaim(c, logger, () => later)), { id: second.id, created: null });
});
