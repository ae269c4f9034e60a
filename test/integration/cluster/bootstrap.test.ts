/**
 * The bootstrap AccessKey of a cluster (docs/cluster.md, "Master key"): two nodes started at the
 * same moment on a fresh NATS generate one key between them (printed by the node that generated
 * it), every node writes it into its own data directory, so `ferry … --data-dir` works on each,
 * and a node whose file was deleted does not write it again when it restarts. Real processes: one
 * nats-server -js and two Ferry nodes sharing their master key, no bootstrap key configured.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../helpers/index.js';
import { startNats } from '../../helpers/engines.js';
import { startNode, untilReady, type Node } from './nodes.js';

const FILE = 'bootstrap-access-key.json';

function keyFile(node: Node): { accessKeyId: string; accessKeySecret: string } {
  return JSON.parse(readFileSync(join(node.dataDir, FILE), 'utf8')) as { accessKeyId: string; accessKeySecret: string };
}

/** `ferry key list --json` on `node`, signed with the key file of `node`'s data directory. */
async function keysThrough(node: Node): Promise<Array<{ id: string; bootstrap: boolean }>> {
  const run = await runCli(['key', 'list', '--json', '--endpoint', node.http, '--data-dir', node.dataDir]);
  assert.equal(run.code, 0, `ferry key list through ${node.id}: ${run.stderr}`);
  const out = JSON.parse(run.stdout) as Array<{ id: string; bootstrap: boolean }> | { items: Array<{ id: string; bootstrap: boolean }> };
  return Array.isArray(out) ? out : out.items;
}

test('cluster bootstrap - two nodes started at once on a fresh NATS share one generated bootstrap key, and the CLI works with the data directory of each', { timeout: 60_000 }, async (t) => {
  const nats = await startNats(t);
  const [a, b] = await Promise.all([startNode(t, 'node-a', nats.url), startNode(t, 'node-b', nats.url)]);
  await Promise.all([untilReady(a), untilReady(b)]);

  const generated = [a, b].filter((n) => n.proc.logs.some((l) => l['msg'] === 'bootstrap AccessKey created; its secret is in the file and printed once on stderr'));
  assert.equal(generated.length, 1, 'one node generated the key (and printed it)');
  const [fileA, fileB] = [keyFile(a), keyFile(b)];
  assert.equal(fileA.accessKeyId, fileB.accessKeyId, 'both files hold the same key');
  assert.equal(fileA.accessKeySecret, fileB.accessKeySecret);
  for (const node of [a, b]) assert.equal(statSync(join(node.dataDir, FILE)).mode & 0o777, 0o600, `${node.id}'s file is mode 600`);
  const other = a === generated[0] ? b : a;
  assert.ok(
    other.proc.logs.some((l) => l['msg'] === "the cluster's bootstrap AccessKey is in the file for the CLI on this node"),
    `${other.id} wrote the key it did not generate`,
  );
  assert.ok(!other.proc.stderr().includes(fileA.accessKeySecret), 'the secret is printed once, by the node that generated it');

  for (const node of [a, b]) {
    const keys = await keysThrough(node);
    assert.deepEqual(
      keys.filter((k) => k.bootstrap).map((k) => k.id),
      [fileA.accessKeyId],
      `one bootstrap key, seen through ${node.id}`,
    );
    const status = await runCli(['cluster', 'status', '--endpoint', node.http, '--data-dir', node.dataDir]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /node-a\b.*\n.*node-b\b/s);
  }

  // An operator stores the key elsewhere and deletes the file, as the banner asks: a restart does not write it again.
  other.proc.child.kill('SIGTERM');
  await other.proc.exited;
  rmSync(join(other.dataDir, FILE));
  const again = await startNode(t, other.id, nats.url, [], other.dataDir);
  await untilReady(again);
  assert.equal(existsSync(join(again.dataDir, FILE)), false, 'the deleted file stays deleted');
});
