/**
 * An engine killed and restarted while a rule worker is delivering: with the retry the worker does
 * (re-send each client's items from its first failure, with backoff), every message arrives and
 * each client's messages arrive in order (counting each message at its first arrival).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createConnectorRegistry } from '../../../src/rules/connectors/index.js';
import { startNats, startRedis, type Engine } from '../../helpers/engines.js';
import { TOTAL, BATCH, assertCompleteAndOrdered, deliverAll, midstreamMessages as messages } from '../../helpers/connector-fixtures.js';

const registry = createConnectorRegistry();
async function killAndRestart(engine: Engine): Promise<void> {
  await engine.kill();
  await sleep(300);
  await engine.restart();
}

describe('connectors mid-stream', () => {
  it('connectors mid-stream - redis killed and restarted during delivery: nothing lost, per-client order kept', async (t) => {
    const redis = await startRedis(t);
    const target = registry.createTarget(`${redis.url}?stream=mid`, { timeoutMs: 2_000 });
    t.after(() => target.stop());
    const attempts = await deliverAll(target, messages(), () => killAndRestart(redis));
    const client = new Redis(redis.port, '127.0.0.1');
    t.after(() => client.disconnect());
    const entries = (await client.xrange('mid', '-', '+')) as [string, string[]][];
    const arrived = entries.map(([, fields]) => {
      const f = Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]]));
      return { clientId: f.clientId!, msgId: f.msgId! };
    });
    assertCompleteAndOrdered(arrived);
    assert.ok(attempts > TOTAL / BATCH, `some batches were retried (${attempts} deliver calls)`);
  });

  it('connectors mid-stream - nats killed and restarted during delivery: nothing lost, per-client order kept', async (t) => {
    const nats = await startNats(t);
    const setup = await connect({ servers: `127.0.0.1:${nats.port}` });
    await (await jetstreamManager(setup)).streams.add({ name: 'MID', subjects: ['mid.>'] });
    await setup.close();
    const target = registry.createTarget(`${nats.url}?subject=mid`, { timeoutMs: 2_000 });
    t.after(() => target.stop());
    const attempts = await deliverAll(target, messages(), () => killAndRestart(nats));
    const nc = await connect({ servers: `127.0.0.1:${nats.port}` });
    t.after(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const count = (await jsm.streams.info('MID')).state.messages;
    const arrived: { clientId: string; msgId: string }[] = [];
    for (let seq = 1; seq <= count; seq++) {
      const m = await jsm.streams.getMessage('MID', { seq });
      arrived.push({ clientId: m!.header.get('clientId'), msgId: m!.header.get('msgId') });
    }
    assertCompleteAndOrdered(arrived);
    assert.ok(attempts > TOTAL / BATCH, `some batches were retried (${attempts} deliver calls)`);
  });
});
