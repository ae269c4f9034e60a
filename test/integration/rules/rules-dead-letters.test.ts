/**
 * Dead letters: items a webhook target refuses (4xx) go to the rule's dead-letter list with the
 * reason; replay moves them back into the outbox (delivered once the target accepts), purge
 * deletes them.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startFerry } from '../../helpers/index.js';
import { waitFor } from '../../helpers/wait.js';
import { connect, uniqueId } from '../mqtt/clients.js';

test('rules - refused items are dead-lettered with the reason, replayed on demand, purged', async (t) => {
  let accept = false;
  const received: Array<{ topic: string; payload: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (!accept) {
        res.writeHead(400).end('no thanks');
        return;
      }
      const json = JSON.parse(body) as { topic: string; payload: string };
      received.push({ topic: json.topic, payload: Buffer.from(json.payload, 'base64').toString() });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;

  const ferry = await startFerry(t);
  const id = 'rule-dead1';
  await ferry.ruleRuntime.engine.apply({
    id,
    instanceId: ferry.config.broker.defaultInstanceId,
    type: 'outbound',
    enabled: true,
    topics: ['hook/#'],
    groups: [],
    target: `http://127.0.0.1:${port}/ingest`,
    source: null,
    parentTopic: null,
    secret: 'hook-secret',
    maxAttempts: 3,
    outboxMaxMessages: 1000,
    outboxMaxBytes: 1 << 20,
    overflow: 'drop-oldest',
  });
  const pub = await connect(t, `mqtt://127.0.0.1:${ferry.ports.mqtt}`, { protocolVersion: 5, clientId: uniqueId('hook') });
  for (let i = 0; i < 3; i++) await pub.client.publishAsync('hook/a', `m${i}`, { qos: 1 });
  const dead = await waitFor(async () => {
    const page = await ferry.ruleRuntime.engine.deadLetters(id, { limit: 10 });
    return page.items.length === 3 ? page.items : null;
  });
  assert.match(dead[0]!.reason, /refused by the target/);
  assert.match(dead[0]!.reason, /400/);
  const item = dead[0]!.item as { type: string; message: { topic: string; payload: string } };
  assert.equal(item.type, 'message');
  assert.equal(item.message.topic, 'hook/a');
  assert.equal(Buffer.from(item.message.payload, 'base64').toString(), 'm0');
  assert.equal((await ferry.ruleRuntime.engine.stats(id))!.deadLettered, 3);

  accept = true;
  assert.equal(await ferry.ruleRuntime.engine.replayDeadLetters(id, [dead[0]!.id, dead[1]!.id]), 2);
  await waitFor(() => received.length === 2, { message: 'replayed items delivered' });
  assert.deepEqual(received.map((r) => r.payload), ['m0', 'm1']);
  assert.equal((await ferry.ruleRuntime.engine.deadLetters(id, { limit: 10 })).items.length, 1);
  assert.equal(await ferry.ruleRuntime.engine.purgeDeadLetters(id), 1);
  assert.deepEqual((await ferry.ruleRuntime.engine.deadLetters(id, { limit: 10 })).items, []);
});
