/**
 * The master key check of a cluster (src/cluster/master-key.ts): nodes starting at the same moment
 * on a fresh cluster, each with its own master.key, agree on one check value, so every node whose
 * key differs from the winner's refuses to start (the claim); a node with the winner's key starts.
 * Real nats-server -js, one JetStream store per "node" in this process.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { checkClusterMasterKey, MasterKeyMismatchError } from '../../src/cluster/master-key.js';
import { openJetStreamStore, type JetStreamStore } from '../../src/store/jetstream/jetstream-store.js';
import { startNats } from '../helpers/engines.js';
import { tempDir, type Teardown } from '../helpers/index.js';

async function store(t: Teardown, url: string, nodeId: string): Promise<JetStreamStore> {
  const connection = await connect({ servers: url });
  t.after(() => connection.close());
  const s = await openJetStreamStore({ connection, prefix: 'mk', nodeId, replicas: 1, writeTimeoutMs: 2000, retryMs: 200, warn: () => undefined });
  t.after(() => s.close());
  return s;
}

function dataDirWithKey(t: Teardown, key: Buffer): string {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'master.key'), key, { mode: 0o600 });
  return dir;
}

test('master key check - nodes with different keys starting at once: only those with the first claimed key start', async (t) => {
  const nats = await startNats(t);
  const keys = [randomBytes(32), randomBytes(32), randomBytes(32)];
  const stores = await Promise.all(keys.map((_, i) => store(t, nats.url, `node-${i}`)));
  const dirs = keys.map((key) => dataDirWithKey(t, key));
  // Every store loaded the empty metadata before any node checked.
  const results = await Promise.allSettled(stores.map((s, i) => checkClusterMasterKey(s, dirs[i]!, s)));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one key is the cluster\'s');
  for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof MasterKeyMismatchError, String(r.reason));
  const winner = results.findIndex((r) => r.status === 'fulfilled');
  // A node started later with the winner's key starts; one with a loser's key does not.
  await stores[winner]!.commit();
  const late = await store(t, nats.url, 'node-late');
  await checkClusterMasterKey(late, dataDirWithKey(t, keys[winner]!), late);
  const other = await store(t, nats.url, 'node-other');
  await assert.rejects(checkClusterMasterKey(other, dataDirWithKey(t, keys[(winner + 1) % 3]!), other), MasterKeyMismatchError);
});
