/**
 * An owner cut off from NATS, whose session another node took over meanwhile, writes nothing more
 * for it when its connection comes back (docs/cluster.md, "Ownership"): its first write after
 * the silence checks who owns the session. Real processes: one nats-server -js, two Ferry nodes;
 * node a reaches NATS through a TCP relay in this test, which cuts and restores its connection.
 */
import assert from 'node:assert/strict';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { before, describe, test, type TestContext } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { waitFor } from '../../helpers/index.js';
import { startNats, suiteTeardown, type Engine } from '../../helpers/engines.js';
import { connect } from '../mqtt/clients.js';
import { startReadyNode, type Node } from './nodes.js';
import { token } from '../../../src/store/jetstream/layout.js';
import { storeKey } from '../../../src/broker/tenant.js';

/** A TCP relay to `port` whose connections can be cut (and new ones refused) and allowed again. */
class Relay {
  private readonly sockets = new Set<Socket>();
  private cutOff = false;
  private readonly server: Server;

  constructor(private readonly port: number) {
    this.server = createServer((client) => {
      if (this.cutOff) return void client.destroy();
      const upstream = tcpConnect(this.port, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  cut(): void {
    this.cutOff = true;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.cutOff = false;
  }

  close(): void {
    this.cut();
    this.server.close();
  }
}

describe('cluster owner window - a node cut off from NATS whose session moved writes nothing more for it', () => {
  const teardown = suiteTeardown();
  let nats: Engine;
  let relay: Relay;
  let a: Node;
  let b: Node;

  before(async () => {
    nats = await startNats(teardown);
    relay = new Relay(nats.port);
    teardown.after(() => relay.close());
    const relayed = await relay.listen();
    a = await startReadyNode(teardown, 'node-a', `nats://127.0.0.1:${relayed}`);
    b = await startReadyNode(teardown, 'node-b', nats.url);
  });

  test('cluster owner window - what node a queued for a moved session while cut off is not written when its connection is back', { timeout: 120_000 }, async (t: TestContext) => {
    const options = { clientId: 'win-sub', protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 3600 } };
    const sub = await connect(t, a.mqtt, options);
    await sub.client.subscribeAsync('win/#', { qos: 1 });
    await sub.client.endAsync();
    const pub = await connect(t, a.mqtt, { clientId: 'win-pub', protocolVersion: 5 });

    relay.cut();
    // Queued on a for its (offline) copy of the session; the write cannot go through, so a
    // acknowledges none of them (PUBACK 0x80 once the batch fails), and keeps them to write later.
    const refused: Array<Promise<unknown>> = [];
    for (let i = 0; i < 3; i++) refused.push(pub.client.publishAsync('win/x', `cut-${i}`, { qos: 1 }).then((p) => p, (e: unknown) => e));
    await waitFor(() => b.proc.logs.some((l) => l['msg'] === 'took over the sessions of a node that left the cluster' && l['nodeId'] === 'node-a' && l['sessions'] === 1), {
      timeoutMs: 30_000,
      message: 'b took over the offline session of a',
    });
    t.diagnostic(`PUBACKs on a while cut off: ${JSON.stringify(await Promise.all(refused), (_k, v: unknown) => (v instanceof Error ? v.message : v))}`);

    relay.restore();
    await waitFor(() => a.proc.logs.some((l) => l['msg'] === 'session taken over by another node while this one was cut off; letting go of it' && l['clientId'] === 'win-sub'), {
      timeoutMs: 30_000,
      message: 'a, back, lets go of the session',
    });
    // Its first write after the silence checked the owner: the session's entries are dropped, not written.
    await waitFor(
      () => a.proc.logs.some((l) => l['msg'] === 'session taken over by another node while JetStream did not answer this one: its writes here are dropped' && String(l['clientId']).endsWith('win-sub')),
      { timeoutMs: 15_000, message: 'a checked the owner before writing' },
    );
    await waitFor(() => a.proc.logs.some((l) => l['msg'] === 'store writes again: persistent work accepted again'), { timeoutMs: 15_000, message: "a's store writes again" });
    // Nothing of a's was written on the session's queue subjects: only b writes them now (and it queued nothing).
    const nc = await natsConnect({ servers: nats.url });
    t.after(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const subjects = `ferry.q.${token(storeKey('mqtt-default', 'win-sub'))}.>`;
    const info = await jsm.streams.info('ferry_queues', { subjects_filter: subjects });
    assert.deepEqual(info.state.subjects ?? {}, {}, 'no queue entry for the session written by node a after the takeover');
    // The session resumes on b as b has it.
    const back = await connect(t, b.mqtt, options);
    assert.equal(back.connack.sessionPresent, true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(back.received.map((m) => m.payload), []);
  });
});
