/**
 * Metadata live across nodes (docs/cluster.md, "Metadata across nodes"): what is created,
 * changed, revoked or deleted through the API of one node takes effect on the other within about
 * a second, while both run — above all revocations. Real processes: one nats-server -js and two
 * Ferry nodes with their state in JetStream, driven by mqtt.js and the Alibaba Cloud SDK.
 */
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, describe, test, type TestContext } from 'node:test';
import type { MqttClient } from 'mqtt';
import { signedHeaders } from '../../../src/api/rest/signing.js';
import { waitFor, within } from '../../helpers/index.js';
import { startNats, suiteTeardown, type Engine } from '../../helpers/engines.js';
import { call, popClient, refused } from '../api/pop-client.js';
import { rest } from '../api/rest-client.js';
import { connect, connectRefused } from '../mqtt/clients.js';
import { ADMIN, ready, startReadyNode, type Node } from './nodes.js';

/** How long a change made on one node may take to act on the other (the contract says about a second). */
const PROPAGATION_MS = 3000;

function sign(secret: string, clientId: string): string {
  return createHmac('sha1', secret).update(clientId).digest('base64');
}

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

/** Retries `attempt` until it passes, at most PROPAGATION_MS after the change was answered. */
function soon<T>(attempt: () => Promise<T>, message: string): Promise<T> {
  return waitFor(
    async () => {
      try {
        return { value: await attempt() };
      } catch {
        return false;
      }
    },
    { timeoutMs: PROPAGATION_MS, intervalMs: 50, message },
  ).then((r) => r.value);
}

describe('cluster metadata - changes made on one node act on the other while both run', () => {
  const teardown = suiteTeardown();
  let nats: Engine;
  let a: Node;
  let b: Node;

  before(async () => {
    nats = await startNats(teardown);
    a = await startReadyNode(teardown, 'node-a', nats.url);
    b = await startReadyNode(teardown, 'node-b', nats.url);
  });

  test('cluster metadata - an AccessKey created on a works on b at once; deleted on a, its clients on b are cut and it is refused there', async (t: TestContext) => {
    const created = await rest(a.http, ADMIN, 'POST', '/access-keys', { policies: ['AliyunMQFullAccess'], description: 'made on a' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const key = { id: created.body['id'] as string, secret: created.body['secret'] as string };

    const mqttAuth = { clientId: 'GID_akey@@@d1', username: `Signature|${key.id}|mqtt-default`, password: sign(key.secret, 'GID_akey@@@d1') };
    const device = await soon(() => connect(t, b.mqtt, mqttAuth), 'the new key accepted on b');
    assert.equal(device.connack.returnCode, 0);
    const answer = await call(popClient(b.http, key), 'ListInstances');
    assert.equal(answer['Success'], true);

    const gone = closed(device.client);
    assert.equal((await rest(a.http, ADMIN, 'DELETE', `/access-keys/${key.id}`)).status, 204);
    await within(PROPAGATION_MS, 'client on b not cut', gone);
    assert.equal(await connectRefused(t, b.mqtt, mqttAuth), 4, 'bad user name or password, on b');
    await refused(call(popClient(b.http, key), 'ListInstances'), 'InvalidAccessKeyId.NotFound', 404);
  });

  test('cluster metadata - a token applied for on a is accepted on b; revoked on a, its client on b gets the notice and is cut, and it is refused there', async (t: TestContext) => {
    const admin = popClient(a.http, ADMIN);
    const applied = await call(admin, 'ApplyToken', { InstanceId: 'mqtt-default', Resources: 'tok/#', Actions: 'R,W', ExpireTime: Date.now() + 3600_000 });
    const token = applied['Token'] as string;
    const auth = { clientId: 'GID_token@@@d1', username: `Token|${ADMIN.id}|mqtt-default`, password: `RW|${token}` };
    const device = await connect(t, b.mqtt, auth);
    assert.equal(device.connack.returnCode, 0);

    const gone = closed(device.client);
    await call(admin, 'RevokeToken', { InstanceId: 'mqtt-default', Token: token });
    await within(PROPAGATION_MS, 'client on b not cut', gone);
    assert.deepEqual(
      device.received.map((m) => [m.topic, JSON.parse(m.payload) as unknown]),
      [['$SYS/tokenInvalidNotice', { code: 3, type: 'RW' }]],
      'revoked (code 3), named as the type it was held as',
    );
    assert.equal(await connectRefused(t, b.mqtt, auth), 4);
    assert.equal((await call(popClient(b.http, ADMIN), 'QueryToken', { InstanceId: 'mqtt-default', Token: token }))['TokenStatus'], false);
  });

  test('cluster metadata - an instance created on a takes device credentials on b; the credential works on a; unregistered on b, the device on a is cut', async (t: TestContext) => {
    const created = await rest(a.http, ADMIN, 'POST', '/instances', { instanceId: 'mqtt-meta', mode: 'relaxed' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const onB = popClient(b.http, ADMIN);
    const registered = await soon(() => call(onB, 'RegisterDeviceCredential', { InstanceId: 'mqtt-meta', ClientId: 'GID_devcred@@@d1' }), 'instance known on b');
    const cred = registered['DeviceCredential'] as { DeviceAccessKeyId: string; DeviceAccessKeySecret: string };
    const auth = { clientId: 'GID_devcred@@@d1', username: `DeviceCredential|${cred.DeviceAccessKeyId}|mqtt-meta`, password: sign(cred.DeviceAccessKeySecret, 'GID_devcred@@@d1') };
    const device = await soon(() => connect(t, a.mqtt, auth), 'credential accepted on a');
    assert.equal(device.connack.returnCode, 0);

    const gone = closed(device.client);
    await call(onB, 'UnRegisterDeviceCredential', { InstanceId: 'mqtt-meta', ClientId: 'GID_devcred@@@d1' });
    await within(PROPAGATION_MS, 'device on a not cut', gone);
    assert.equal(await connectRefused(t, a.mqtt, auth), 4);

    // The instance deleted on b is gone on a: its API answers InstanceNotFound there.
    assert.equal((await rest(b.http, ADMIN, 'DELETE', '/instances/mqtt-meta')).status, 204);
    await soon(async () => assert.equal((await rest(a.http, ADMIN, 'GET', '/instances/mqtt-meta')).status, 404), 'instance gone on a');
  });

  test('cluster metadata - a signed request replayed against b after a is refused there (RPC SignatureNonceUsed, REST NonceUsed)', async () => {
    const nonce = randomUUID();
    await call(popClient(a.http, ADMIN), 'ListInstances', { SignatureNonce: nonce });
    await refused(call(popClient(b.http, ADMIN), 'ListInstances', { SignatureNonce: nonce }), 'SignatureNonceUsed', 400);
    // Another nonce is fine on b, and the first one is still refused on a.
    await call(popClient(b.http, ADMIN), 'ListInstances', { SignatureNonce: randomUUID() });
    await refused(call(popClient(a.http, ADMIN), 'ListInstances', { SignatureNonce: nonce }), 'SignatureNonceUsed', 400);

    const headers = signedHeaders({ method: 'GET', path: '/api/v1/instances', query: '', body: '', nonce: randomUUID() }, ADMIN);
    const get = (node: Node): Promise<Response> => fetch(`${node.http}/api/v1/instances`, { headers });
    assert.equal((await get(a)).status, 200);
    const replay = await get(b);
    assert.equal(replay.status, 401);
    assert.equal(((await replay.json()) as { error: { code: string } }).error.code, 'NonceUsed');
  });

  test('cluster metadata - a bearer token issued by a works on b; revoked on b, it is refused on a', async () => {
    const issued = await rest(a.http, null, 'POST', '/auth/token', { accessKeyId: ADMIN.id, accessKeySecret: ADMIN.secret });
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    const bearer = { bearer: issued.body['token'] as string };
    await soon(async () => assert.equal((await rest(b.http, bearer, 'GET', '/instances')).status, 200), 'usable on b');
    assert.equal((await rest(b.http, bearer, 'DELETE', '/auth/token')).status, 204);
    // A revocation reaches the other nodes through the meta bucket's watch (docs/cluster.md: typically
    // tens of milliseconds), not inside the DELETE: a asks until it refuses, within PROPAGATION_MS.
    await soon(async () => {
      const onA = await rest(a.http, bearer, 'GET', '/instances');
      assert.equal(onA.status, 401, 'refused on a once revoked on b');
      assert.equal(onA.body.error?.code, 'InvalidToken');
    }, 'revocation reached a');
  });

  test('cluster metadata - a rule created on a runs for messages published on b; deleted on a, it stops there', async (t: TestContext) => {
    const hooks: string[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { payload?: string };
        if (body.payload !== undefined) hooks.push(Buffer.from(body.payload, 'base64').toString());
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

    const created = await rest(a.http, ADMIN, 'POST', '/instances/mqtt-default/rules', { name: 'to-hook', type: 'outbound', topics: ['ruled/#'], target: url });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const pub = await connect(t, b.mqtt, { clientId: 'GID_rules@@@pub' });
    let sent = 0;
    await waitFor(
      async () => {
        await pub.client.publishAsync('ruled/x', `m${sent++}`, { qos: 1 });
        return hooks.length > 0;
      },
      { timeoutMs: PROPAGATION_MS, intervalMs: 100, message: 'the rule runs on b' },
    );
    assert.equal((await rest(a.http, ADMIN, 'DELETE', `/instances/mqtt-default/rules/${String(created.body['id'])}`)).status, 204);
    await waitFor(() => b.proc.logs.some((l) => l['msg'] === 'rule deleted on another node'), { timeoutMs: PROPAGATION_MS, message: 'b heard the deletion' });
    await new Promise((resolve) => setTimeout(resolve, 300)); // its worker drains what it had
    const before = hooks.length;
    await pub.client.publishAsync('ruled/x', 'after-delete', { qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(hooks.length, before, 'nothing delivered after the deletion');
    assert.ok(!hooks.includes('after-delete'));
  });

  // Last: it stops NATS under both nodes.
  test('cluster metadata - while JetStream is down a signed request is refused with ServiceUnavailable; a key created on a right after NATS is back works on b', async () => {
    await nats.kill();
    // JetStream's answer is awaited up to clusterAckTimeoutMs (5 s): the SDK waits longer.
    const down = await refused(popClient(a.http, ADMIN).request('ListInstances', {}, { method: 'POST', timeout: 15_000 }), 'ServiceUnavailable', 503);
    assert.match(String(down['Message']), /nonce/);
    await nats.restart();
    await waitFor(async () => (await ready(a)) && (await ready(b)), { timeoutMs: 30_000, intervalMs: 200, message: 'both nodes ready again' });
    const created = await soonRest(() => rest(a.http, ADMIN, 'POST', '/access-keys', { policies: ['AliyunMQFullAccess'] }));
    const key = { id: created.body['id'] as string, secret: created.body['secret'] as string };
    const answer = await soon(() => call(popClient(b.http, key), 'ListInstances'), 'key made after the reconnect works on b');
    assert.equal(answer['Success'], true);
  });
});

/** A REST call retried until it answers 201 (JetStream may need a moment after a restart). */
function soonRest(attempt: () => ReturnType<typeof rest>): ReturnType<typeof rest> {
  return waitFor(
    async () => {
      const answer = await attempt();
      return answer.status === 201 ? answer : false;
    },
    { timeoutMs: 15_000, intervalMs: 200, message: 'created after NATS came back' },
  );
}
