/**
 * A rule's dead letters across the cluster (clusterStore jetstream; docs/cluster.md, "Dead letters
 * across nodes"): each node dead-letters what it failed to deliver, and the API of any node lists
 * (paged, merged), purges and replays those of every node; a node that does not answer is named
 * in `missingNodes`. Real processes: one nats-server -js and two Ferry nodes; the rule's webhook
 * target is a closed port, one attempt.
 */
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import { waitFor, waitForLog } from '../../helpers/index.js';
import { freePort, startNats, suiteTeardown } from '../../helpers/engines.js';
import { rest } from '../api/rest-client.js';
import { connect } from '../mqtt/clients.js';
import { ADMIN, BOOTSTRAP, startReadyNode, type Node } from './nodes.js';

const I = '/instances/mqtt-default';
/** Heartbeats long enough that a stopped node stays in presence while the test asks it. */
const EXTRA = [...BOOTSTRAP, '--cluster-heartbeat-ms', '2000', '--cluster-ack-timeout-ms', '1000'];

interface Page {
  items: Array<{ id: string; item: { message?: { payload: string } } }>;
  next: string | null;
  missingNodes?: string[];
}

async function page(node: Node, ruleId: string, query = ''): Promise<Page> {
  const answer = await rest(node.http, ADMIN, 'GET', `${I}/rules/${ruleId}/dead-letters${query}`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body as unknown as Page;
}

const payloadOf = (letter: Page['items'][number]): string => Buffer.from(letter.item.message?.payload ?? '', 'base64').toString();

describe('cluster dead letters - the API of any node shows, purges and replays the dead letters of every node', () => {
  const teardown = suiteTeardown();
  let a: Node;
  let b: Node;
  let ruleId: string;

  before(async () => {
    const nats = await startNats(teardown);
    a = await startReadyNode(teardown, 'node-a', nats.url, EXTRA);
    const closed = await freePort();
    const created = await rest(a.http, ADMIN, 'POST', `${I}/rules`, {
      name: 'to-nowhere',
      type: 'outbound',
      topics: ['dl/#'],
      target: `http://127.0.0.1:${closed}/hook`,
      options: { maxAttempts: 1 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    ruleId = created.body['id'] as string;
    b = await startReadyNode(teardown, 'node-b', nats.url, EXTRA);
  });

  test('cluster dead letters - dead-lettered on node a and on node b, listed whole and paged through either node, purged by id and all', async (t: TestContext) => {
    const onA = await connect(t, a.mqtt, { clientId: 'GID_deadletters@@@a', protocolVersion: 5 });
    const onB = await connect(t, b.mqtt, { clientId: 'GID_deadletters@@@b', protocolVersion: 5 });
    // A rule delivers on the node where the message was published: two dead letters on a, two on b.
    for (const payload of ['a0', 'a1']) await onA.client.publishAsync('dl/x', payload, { qos: 1 });
    for (const payload of ['b0', 'b1']) await onB.client.publishAsync('dl/x', payload, { qos: 1 });
    const all = await waitFor(
      async () => {
        const got = await page(b, ruleId);
        return got.items.length === 4 ? got : null;
      },
      { timeoutMs: 15_000, message: 'four dead letters, listed through node b' },
    );
    assert.deepEqual(all.items.map(payloadOf).sort(), ['a0', 'a1', 'b0', 'b1']);
    assert.equal(all.next, null);
    assert.equal(all.missingNodes, undefined);
    // The same four through node a, once its presence (read every heartbeat) lists node b, which started after it;
    // each node's ids differ, those of the other node name it.
    const fromA = await waitFor(
      async () => {
        const got = await page(a, ruleId);
        return got.items.length === 4 ? got : null;
      },
      { timeoutMs: 15_000, message: 'four dead letters, listed through node a' },
    );
    assert.deepEqual(fromA.items.map(payloadOf).sort(), ['a0', 'a1', 'b0', 'b1']);
    assert.equal(new Set(fromA.items.map((l) => l.id)).size, 4);

    // Pages of three, then one, then none more.
    const first = await page(a, ruleId, '?limit=3');
    assert.equal(first.items.length, 3);
    assert.ok(first.next !== null);
    const second = await page(a, ruleId, `?limit=3&cursor=${first.next}`);
    assert.equal(second.items.length, 1);
    assert.equal(second.next, null);
    assert.deepEqual([...first.items, ...second.items].map(payloadOf).sort(), ['a0', 'a1', 'b0', 'b1'], 'every dead letter once');

    // One of node a's purged by its id through node b; then the rest, all nodes, through node a.
    const a0 = all.items.find((l) => payloadOf(l) === 'a0')!;
    const purged = await rest(b.http, ADMIN, 'DELETE', `${I}/rules/${ruleId}/dead-letters?ids=${encodeURIComponent(a0.id)}`);
    assert.equal(purged.body['purged'], 1);
    assert.deepEqual((await page(a, ruleId)).items.map(payloadOf).sort(), ['a1', 'b0', 'b1']);
    // Replayed everywhere through node b: back into each node's outbox, failing again, dead letters again.
    const replayed = await rest(b.http, ADMIN, 'POST', `${I}/rules/${ruleId}/dead-letters/replay`, {});
    assert.equal(replayed.body['replayed'], 3);
    await waitFor(async () => (await page(b, ruleId)).items.length === 3, { timeoutMs: 15_000, message: 'replayed, dead-lettered again on their nodes' });
    const rest3 = await rest(a.http, ADMIN, 'DELETE', `${I}/rules/${ruleId}/dead-letters`);
    assert.equal(rest3.body['purged'], 3);
    assert.deepEqual((await page(b, ruleId)).items, []);
  });

  test('cluster dead letters - a node that does not answer is left out and named', async (t: TestContext) => {
    const onB = await connect(t, b.mqtt, { clientId: 'GID_deadletters@@@b2', protocolVersion: 5 });
    const onA = await connect(t, a.mqtt, { clientId: 'GID_deadletters@@@a2', protocolVersion: 5 });
    await onB.client.publishAsync('dl/y', 'from-b', { qos: 1 });
    await onA.client.publishAsync('dl/y', 'from-a', { qos: 1 });
    await waitFor(async () => (await page(a, ruleId)).items.length === 2, { timeoutMs: 15_000, message: 'two dead letters' });
    onB.client.end(true);
    // Stopped, not gone: presence still lists it (three heartbeats of 2 s), so node a asks it and waits clusterAckTimeoutMs.
    b.proc.child.kill('SIGSTOP');
    t.after(() => b.proc.child.kill('SIGCONT'));
    const partial = await page(a, ruleId);
    b.proc.child.kill('SIGCONT');
    assert.deepEqual(partial.items.map(payloadOf), ['from-a']);
    assert.deepEqual(partial.missingNodes, ['node-b']);
    assert.equal(partial.next, null);
    await waitForLog(a.proc, (l) => l['msg'] === 'dead letters: another node did not answer (left out)' && l['node'] === 'node-b', 'dead letters: another node did not answer (left out)');
    await waitFor(async () => (await page(a, ruleId)).items.length === 2, { timeoutMs: 15_000, message: 'both again once node b answers' });
  });
});
