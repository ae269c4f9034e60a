/**
 * The REST routes the console needed and added to the API (no console back door): an instance's
 * /metrics series, clearing a client's session, and the caller's allowed actions. Driven with
 * bearer tokens, as any API client would.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { startFerry, waitFor } from '../../helpers/index.js';

const ADMIN = { id: 'ConsoleApi0001', secret: 'console-api-secret-0123456789' };

test('console api - stats mirror /metrics, clear session needs a disconnected client, permissions follow the policy (rule actions on the rule resource)', async (t) => {
  const ferry = await startFerry(t, { bootstrapAccessKeyId: ADMIN.id, bootstrapAccessKeySecret: ADMIN.secret }, { announce: null });
  const base = `http://127.0.0.1:${ferry.ports.http}/api/v1`;
  const token = async (id: string, secret: string): Promise<string> =>
    ((await (await fetch(`${base}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accessKeyId: id, accessKeySecret: secret }) })).json()) as { token: string }).token;
  const admin = await token(ADMIN.id, ADMIN.secret);
  const call = async (bearer: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  };

  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${ferry.ports.mqtt}`, { clientId: 'keeper-01', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 0 });
  await c.subscribeAsync('keep/#', { qos: 1 });

  const stats = await call(admin, 'GET', '/instances/mqtt-default/stats');
  assert.equal(stats.status, 200);
  const series = stats.body['series'] as Record<string, unknown>;
  const metrics = await (await fetch(`http://127.0.0.1:${ferry.ports.http}/metrics`)).text();
  assert.equal(series['connections'], Number(/ferry_instance_connections\{instance="mqtt-default"\} (\d+)/.exec(metrics)![1]));
  assert.equal(series['subscriptions'], 1);
  assert.equal(typeof series['messages_received_total'], 'number');
  assert.equal((await call(admin, 'GET', '/instances/nope-nope/stats')).status, 404);

  const session = '/instances/mqtt-default/clients/keeper-01/session';
  const connected = await call(admin, 'DELETE', session);
  assert.equal(connected.status, 409);
  assert.equal((connected.body['error'] as { code: string }).code, 'ClientConnected');
  await c.endAsync();
  await waitFor(() => ferry.broker.client('keeper-01', 'mqtt-default') === undefined);
  assert.equal((await call(admin, 'GET', '/instances/mqtt-default/clients/keeper-01')).status, 200, 'the persistent session waits');
  assert.equal((await call(admin, 'DELETE', session)).status, 204);
  assert.equal((await call(admin, 'GET', '/instances/mqtt-default/clients/keeper-01')).status, 404, 'the session is gone');
  assert.equal(ferry.broker.subscriptionCount, 0);
  assert.equal((await call(admin, 'DELETE', session)).status, 404);

  const ro = (await call(admin, 'POST', '/access-keys', { policies: ['AliyunMQReadOnlyAccess'] })).body as { id: string; secret: string };
  const reader = await token(ro.id, ro.secret);
  const allowed = async (bearer: string): Promise<string[]> => (await call(bearer, 'GET', '/auth/permissions?instanceId=mqtt-default')).body['allowed'] as string[];
  const all = await allowed(admin);
  assert.ok(all.includes('mq:CloseConnection') && all.includes('mq:DeleteSession') && all.includes('mq:PUB') && all.includes('mq:QueryMqttInstanceStats'));
  const read = await allowed(reader);
  assert.ok(read.includes('mq:QuerySessionByClientId') && read.includes('mq:QueryMqttInstanceStats'));
  assert.ok(!read.includes('mq:CloseConnection') && !read.includes('mq:DeleteSession') && !read.includes('mq:PUB'), read.join(','));
  assert.equal((await call(reader, 'DELETE', session)).status, 403);

  // Rule actions are checked on the rule resource: a key limited to one instance's rules has them there only.
  assert.ok(['mq:QueryRule', 'mq:CreateRule', 'mq:UpdateRule', 'mq:DeleteRule', 'mq:QueryQueue'].every((a) => all.includes(a)), all.join(','));
  assert.ok(read.includes('mq:QueryRule') && read.includes('mq:QueryQueue'));
  assert.ok(!read.includes('mq:CreateRule') && !read.includes('mq:UpdateRule') && !read.includes('mq:DeleteRule'), read.join(','));
  const ruler = (await call(admin, 'POST', '/access-keys', { policies: [{ Version: '1', Statement: [{ Effect: 'Allow', Action: 'mq:*Rule', Resource: 'acs:mq:*:*:rule/mqtt-default/*' }] }] })).body as { id: string; secret: string };
  const rulerToken = await token(ruler.id, ruler.secret);
  const rules = await allowed(rulerToken);
  assert.deepEqual(rules, ['mq:CreateRule', 'mq:DeleteRule', 'mq:QueryRule', 'mq:UpdateRule']);
  assert.deepEqual((await call(rulerToken, 'GET', '/auth/permissions?instanceId=other-instance')).body['allowed'], []);
});
