/**
 * The rules API over real HTTP against a whole Ferry (src/server.ts): the contract bodies,
 * validation, PATCH, enable/disable, delete, persistence across a restart, sealed credentials,
 * policies, the change events the runtime relies on, the queue stubs and the OpenAPI document.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { RunningFerry } from '../../../src/internal.js';
import type { RuleChange } from '../../../src/rules/registry.js';
import { captureLogger, startFerry, tempDir, type CapturedLogs } from '../../helpers/index.js';
import { rest } from './rest-client.js';

const ADMIN = { id: 'FERRYRULESADMIN01', secret: 'rules-admin-secret-0123456789' };
const I = '/instances/mqtt-default';
const AMQP_PASSWORD = 'amqp-Pa55word-never-shown';
const REDIS_PASSWORD = 'redis-Pa55word-never-shown';

/** The exact bodies of issue 8's contract. */
const CONTRACT = {
  outbound: { name: 'to-redis', type: 'outbound', topics: ['sensors/#'], target: 'redis://127.0.0.1:6379/0?stream=sensors' },
  status: { name: 'online', type: 'status', groups: ['GID_car'], target: 'amqp://guest:guest@127.0.0.1:5672/?exchange=status' },
  inbound: { name: 'cmds', type: 'inbound', source: 'redis://127.0.0.1:6379/0?stream=cmds&group=ferry', parentTopic: 'cmd' },
} as const;

interface Started {
  ferry: RunningFerry;
  endpoint: string;
  logs: CapturedLogs;
}

async function start(t: TestContext, dataDir?: string, limits?: Record<string, number>): Promise<Started> {
  const logs = captureLogger('debug');
  const ferry = await startFerry(
    t,
    { bootstrapAccessKeyId: ADMIN.id, bootstrapAccessKeySecret: ADMIN.secret, ...(dataDir === undefined ? {} : { dataDir }) },
    { logger: logs.logger, announce: null },
  );
  if (limits !== undefined) await ferry.auth.tenancy.updateInstance('mqtt-default', { limits });
  return { ferry, endpoint: `http://127.0.0.1:${ferry.ports.http}`, logs };
}

type Body = Record<string, unknown>;

test('rules - the contract bodies create outbound, status and inbound rules (unreachable targets allowed)', async (t) => {
  const { endpoint } = await start(t);
  const created: Body[] = [];
  for (const body of Object.values(CONTRACT)) {
    const res = await rest(endpoint, ADMIN, 'POST', `${I}/rules`, body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.match(String(res.body['id']), /^rule-[0-9a-f]{12}$/);
    assert.equal(res.body['enabled'], true);
    assert.equal(res.body['instanceId'], 'mqtt-default');
    assert.deepEqual(res.body['options'], { maxAttempts: 10, outboxMaxMessages: 100000, outboxMaxBytes: 64 * 1024 * 1024, overflow: 'drop-oldest' });
    assert.equal(res.body['secret'], undefined, 'no webhook, no secret');
    created.push(res.body);
  }
  const [outbound, status, inbound] = created as [Body, Body, Body];
  assert.deepEqual(outbound['topics'], ['sensors/#']);
  assert.equal(outbound['target'], 'redis://127.0.0.1:6379/0?stream=sensors');
  assert.deepEqual(status['groups'], ['GID_car']);
  assert.equal(status['target'], 'amqp://guest:***@127.0.0.1:5672/?exchange=status', 'the password is redacted');
  assert.equal(inbound['source'], 'redis://127.0.0.1:6379/0?stream=cmds&group=ferry');
  assert.equal(inbound['parentTopic'], 'cmd');

  const list = await rest(endpoint, ADMIN, 'GET', `${I}/rules`);
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.items?.map((r) => r['name']), ['cmds', 'online', 'to-redis']);
  assert.equal(list.body['total'], 3);
  const got = await rest(endpoint, ADMIN, 'GET', `${I}/rules/${String(status['id'])}`);
  assert.deepEqual(got.body, status);

  // Stats and dead letters answer before the runtime exists (stub): zeros, nothing.
  const stats = await rest(endpoint, ADMIN, 'GET', `${I}/rules/${String(outbound['id'])}/stats`);
  assert.equal(stats.status, 200);
  assert.equal(stats.body['ruleId'], outbound['id']);
  assert.equal(stats.body['enabled'], true);
  for (const counter of ['delivered', 'failed', 'retried', 'deadLettered', 'dropped', 'outboxDepth', 'outboxBytes', 'outboxOldestAgeMs']) assert.equal(stats.body[counter], 0, counter);
  const dead = await rest(endpoint, ADMIN, 'GET', `${I}/rules/${String(outbound['id'])}/dead-letters?limit=10`);
  assert.deepEqual(dead.body, { items: [], next: null });
  assert.deepEqual((await rest(endpoint, ADMIN, 'POST', `${I}/rules/${String(outbound['id'])}/dead-letters/replay`, {})).body, { replayed: 0 });
  assert.deepEqual((await rest(endpoint, ADMIN, 'DELETE', `${I}/rules/${String(outbound['id'])}/dead-letters?ids=a,b`)).body, { purged: 0 });
  assert.equal((await rest(endpoint, ADMIN, 'GET', `${I}/rules/rule-000000000000/stats`)).body.error?.code, 'RuleNotFound');
  assert.equal((await rest(endpoint, ADMIN, 'GET', '/instances/mqtt-nope/rules')).status, 404);
});

test('rules - bad input is a 400 naming the field; duplicates 409; the per-instance limit', async (t) => {
  const { endpoint } = await start(t, undefined, { maxRules: 2 });
  const post = (body: Body): ReturnType<typeof rest> => rest(endpoint, ADMIN, 'POST', `${I}/rules`, body);

  const scheme = await post({ ...CONTRACT.outbound, target: 'ftp://user:ftp-secret-pw@files.example.com/x' });
  assert.equal(scheme.status, 400);
  assert.equal(scheme.body.error?.code, 'InvalidParameter');
  assert.equal(scheme.body.error?.field, 'body.target');
  assert.match(scheme.body.error?.message ?? '', /unknown scheme "ftp:".*supported: amqp:\/\/.*redis:\/\//);
  assert.doesNotMatch(JSON.stringify(scheme.body), /ftp-secret-pw/, 'the credential is not echoed');

  const param = await post({ ...CONTRACT.outbound, target: 'redis://127.0.0.1:6379/0?stram=sensors' });
  assert.equal(param.status, 400);
  assert.equal(param.body.error?.field, 'body.target');
  assert.match(param.body.error?.message ?? '', /stream|stram/);

  const filter = await post({ ...CONTRACT.outbound, topics: ['sensors/#/more'] });
  assert.equal(filter.status, 400);
  assert.equal(filter.body.error?.field, 'body.topics.0');
  assert.match(filter.body.error?.message ?? '', /not a valid MQTT topic filter/);

  assert.equal((await post({ name: 'x1', type: 'outbound', topics: ['a/#'] })).body.error?.field, 'body.target');
  assert.equal((await post({ name: 'x1', type: 'outbound', target: CONTRACT.outbound.target })).body.error?.field, 'body.topics');
  assert.equal((await post({ name: 'x1', topics: ['a/#'], target: CONTRACT.outbound.target })).body.error?.field, 'body.type');
  assert.equal((await post({ ...CONTRACT.outbound, type: 'sideways' })).body.error?.field, 'body.type');
  assert.equal((await post({ ...CONTRACT.inbound, topics: ['a/#'] })).body.error?.field, 'body.topics');
  assert.equal((await post({ ...CONTRACT.status, groups: ['car'] })).body.error?.field, 'body.groups.0');
  assert.equal((await post({ ...CONTRACT.inbound, parentTopic: 'a/b' })).body.error?.field, 'body.parentTopic');
  assert.equal((await post({ ...CONTRACT.inbound, source: 'http://127.0.0.1/hook' })).body.error?.field, 'body.source');
  assert.equal((await post({ ...CONTRACT.outbound, name: 'bad name' })).body.error?.field, 'body.name');
  assert.equal((await post({ ...CONTRACT.outbound, options: { maxAttempts: 0 } })).body.error?.field, 'body.options.maxAttempts');
  assert.equal((await post({ ...CONTRACT.outbound, options: { overflow: 'explode' } })).body.error?.field, 'body.options.overflow');
  assert.equal((await post({ ...CONTRACT.outbound, secret: 'sixteen-chars-long' })).body.error?.field, 'body.secret');
  assert.equal((await post({ ...CONTRACT.outbound, color: 'red' })).body.error?.field, 'body.color');
  assert.equal((await rest(endpoint, ADMIN, 'GET', `${I}/rules`)).body['total'], 0, 'nothing was created by bad input');

  assert.equal((await post(CONTRACT.outbound)).status, 201);
  const duplicate = await post({ ...CONTRACT.outbound, topics: ['other/#'] });
  assert.equal(duplicate.status, 409);
  assert.equal(duplicate.body.error?.code, 'RuleAlreadyExists');
  assert.equal((await post(CONTRACT.status)).status, 201);
  const over = await post(CONTRACT.inbound);
  assert.equal(over.status, 409);
  assert.equal(over.body.error?.code, 'QuotaExceeded');
  assert.match(over.body.error?.message ?? '', /maxRules/);
});

test('rules - PATCH, enable/disable, delete; change events carry what the runtime needs', async (t) => {
  const { ferry, endpoint } = await start(t);
  const events: RuleChange[] = [];
  ferry.rules.registry.onChange((event) => {
    events.push(event);
  });
  ferry.rules.registry.onChange(() => {
    throw new Error('a failing listener does not break the API');
  });
  const created = await rest(endpoint, ADMIN, 'POST', `${I}/rules`, { ...CONTRACT.outbound, description: 'first', options: { maxAttempts: 3 } });
  const id = String(created.body['id']);
  const path = `${I}/rules/${id}`;

  const patched = await rest(endpoint, ADMIN, 'PATCH', path, { topics: ['sensors/+/temp', 'alarms/#'], options: { overflow: 'refuse' } });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.deepEqual(patched.body['topics'], ['sensors/+/temp', 'alarms/#']);
  assert.equal(patched.body['description'], 'first', 'fields not given stay');
  assert.equal(patched.body['target'], CONTRACT.outbound.target);
  assert.deepEqual(patched.body['options'], { maxAttempts: 3, outboxMaxMessages: 100000, outboxMaxBytes: 64 * 1024 * 1024, overflow: 'refuse' }, 'options merge');
  assert.ok(Number(patched.body['updatedAt']) >= Number(created.body['updatedAt']));
  assert.equal((await rest(endpoint, ADMIN, 'PATCH', path, { type: 'inbound' })).body.error?.field, 'body.type');
  assert.equal((await rest(endpoint, ADMIN, 'PATCH', path, { target: 'gopher://x' })).body.error?.field, 'body.target');
  assert.equal((await rest(endpoint, ADMIN, 'PATCH', path, { groups: ['GID_car'] })).body.error?.field, 'body.groups');

  // A target that becomes a webhook gets a secret, shown in that answer only.
  const hooked = await rest(endpoint, ADMIN, 'PATCH', path, { target: 'https://hooks.example.com/mqtt?token=hook-token-never-shown' });
  assert.equal(hooked.status, 200, JSON.stringify(hooked.body));
  assert.match(String(hooked.body['secret']), /^[A-Za-z0-9]{32}$/);
  assert.equal(hooked.body['hasSecret'], true);
  assert.equal(hooked.body['target'], 'https://hooks.example.com/mqtt?token=***');
  assert.equal((await rest(endpoint, ADMIN, 'GET', path)).body['secret'], undefined);
  const resolved = ferry.rules.registry.resolved({ instanceId: 'mqtt-default', id });
  assert.equal(resolved.targetUrl, 'https://hooks.example.com/mqtt?token=hook-token-never-shown');
  assert.equal(resolved.secret, hooked.body['secret']);

  const disabled = await rest(endpoint, ADMIN, 'POST', `${path}/disable`, {});
  assert.equal(disabled.status, 200);
  assert.equal(disabled.body['enabled'], false);
  assert.equal((await rest(endpoint, ADMIN, 'GET', `${path}/stats`)).body['enabled'], false);
  assert.equal((await rest(endpoint, ADMIN, 'POST', `${path}/enable`, {})).body['enabled'], true);

  assert.equal((await rest(endpoint, ADMIN, 'DELETE', path)).status, 204);
  assert.equal((await rest(endpoint, ADMIN, 'GET', path)).status, 404);
  assert.equal((await rest(endpoint, ADMIN, 'DELETE', path)).body.error?.code, 'RuleNotFound');

  assert.deepEqual(events.map((e) => e.kind), ['created', 'updated', 'updated', 'updated', 'updated', 'deleted']);
  assert.ok(events.every((e) => e.rule.id === id));
  assert.doesNotMatch(JSON.stringify(events), /hook-token-never-shown/, 'events carry the redacted view');
});

test('rules - persisted across a restart; credentials sealed at rest, never answered nor logged', async (t) => {
  const dataDir = tempDir(t, 'ferry-rules-');
  const first = await start(t, dataDir);
  const amqp = `amqp://ferry:${AMQP_PASSWORD}@127.0.0.1:5672/?exchange=status`;
  const status = await rest(first.endpoint, ADMIN, 'POST', `${I}/rules`, { ...CONTRACT.status, target: amqp });
  assert.equal(status.status, 201, JSON.stringify(status.body));
  const inbound = await rest(first.endpoint, ADMIN, 'POST', `${I}/rules`, { ...CONTRACT.inbound, source: `redis://:${REDIS_PASSWORD}@127.0.0.1:6379/0?stream=cmds&group=ferry` });
  assert.equal(inbound.status, 201, JSON.stringify(inbound.body));
  const hook = await rest(first.endpoint, ADMIN, 'POST', `${I}/rules`, { name: 'hook', type: 'outbound', topics: ['sensors/#'], target: 'http://127.0.0.1:9/hook', enabled: false });
  assert.equal(hook.status, 201);
  const secret = String(hook.body['secret']);
  assert.match(secret, /^[A-Za-z0-9]{32}$/, 'a webhook gets a generated secret, shown once');
  const before = (await rest(first.endpoint, ADMIN, 'GET', `${I}/rules`)).body.items!;
  await first.ferry.stop();

  const files = readdirSync(dataDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  assert.ok(files.length > 0);
  for (const file of files) {
    const bytes = readFileSync(join(file.parentPath, file.name));
    for (const clear of [AMQP_PASSWORD, REDIS_PASSWORD, secret]) assert.equal(bytes.includes(clear), false, `${file.name} holds a credential in clear`);
  }

  const second = await start(t, dataDir);
  const after = (await rest(second.endpoint, ADMIN, 'GET', `${I}/rules`)).body.items!;
  assert.deepEqual(after, before, 'same rules after the restart');
  assert.equal(after.find((r) => r['name'] === 'hook')?.['enabled'], false);
  assert.equal(after.find((r) => r['name'] === 'online')?.['target'], 'amqp://ferry:***@127.0.0.1:5672/?exchange=status');
  assert.equal(after.find((r) => r['name'] === 'cmds')?.['source'], 'redis://:***@127.0.0.1:6379/0?stream=cmds&group=ferry');
  const registry = second.ferry.rules.registry;
  assert.equal(registry.resolved({ instanceId: 'mqtt-default', id: String(status.body['id']) }).targetUrl, amqp, 'unsealed after the restart');
  assert.equal(registry.resolved({ instanceId: 'mqtt-default', id: String(hook.body['id']) }).secret, secret);
  assert.equal(registry.all().length, 3);
  // A PATCH that does not touch the target keeps the credentials.
  await rest(second.endpoint, ADMIN, 'PATCH', `${I}/rules/${String(status.body['id'])}`, { description: 'renamed' });
  assert.equal(registry.resolved({ instanceId: 'mqtt-default', id: String(status.body['id']) }).targetUrl, amqp);

  const logged = JSON.stringify([...first.logs.lines, ...second.logs.lines]);
  assert.match(logged, /rule created/);
  for (const clear of [AMQP_PASSWORD, REDIS_PASSWORD, secret]) assert.equal(logged.includes(clear), false, 'a credential reached the logs');
});

test('rules - policies: rule actions on the rule resource; a key without them gets 403', async (t) => {
  const { ferry, endpoint } = await start(t);
  const keys = ferry.auth.keys;
  const reader = await keys.create({ policies: ['AliyunMQReadOnlyAccess'] });
  const asReader = { id: reader.key.id, secret: reader.secret };
  const pubOnly = await keys.create({ policies: ['AliyunMQPubOnlyAccess'] });
  const asPub = { id: pubOnly.key.id, secret: pubOnly.secret };
  const scoped = await keys.create({ policies: [{ Statement: [{ Effect: 'Allow', Action: ['mq:*Rule'], Resource: 'acs:mq:*:*:rule/mqtt-default/*' }] }] });
  const asScoped = { id: scoped.key.id, secret: scoped.secret };

  const created = await rest(endpoint, asScoped, 'POST', `${I}/rules`, CONTRACT.outbound);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const path = `${I}/rules/${String(created.body['id'])}`;
  assert.equal((await rest(endpoint, asReader, 'GET', `${I}/rules`)).status, 200, 'mq:QueryRule is in the read-only policy');
  assert.equal((await rest(endpoint, asReader, 'GET', `${path}/stats`)).status, 200);
  const denied = await rest(endpoint, asReader, 'POST', `${I}/rules`, CONTRACT.status);
  assert.equal(denied.status, 403);
  assert.equal(denied.body.error?.code, 'PermissionCheckFailed');
  assert.match(denied.body.error?.message ?? '', /mq:CreateRule on rule \* of mqtt-default/);
  assert.equal((await rest(endpoint, asReader, 'PATCH', path, { description: 'x' })).status, 403);
  assert.equal((await rest(endpoint, asReader, 'POST', `${path}/disable`, {})).status, 403);
  assert.equal((await rest(endpoint, asReader, 'DELETE', path)).status, 403);
  assert.equal((await rest(endpoint, asPub, 'GET', `${I}/rules`)).status, 403);
  assert.equal((await rest(endpoint, asPub, 'GET', path)).status, 403);
  assert.equal((await rest(endpoint, asScoped, 'POST', `${path}/disable`, {})).status, 200);
  assert.equal((await rest(endpoint, asScoped, 'GET', `${I}/queues`)).status, 403, 'queues are not rules');
});

test('rules - an instance takes its rules with it', async (t) => {
  const { ferry, endpoint } = await start(t);
  assert.equal((await rest(endpoint, ADMIN, 'POST', '/instances', { instanceId: 'mqtt-gone', name: 'gone' })).status, 201);
  assert.equal((await rest(endpoint, ADMIN, 'POST', '/instances/mqtt-gone/rules', CONTRACT.outbound)).status, 201);
  assert.equal((await rest(endpoint, ADMIN, 'POST', `${I}/rules`, CONTRACT.outbound)).status, 201, 'names are unique per instance only');
  const events: RuleChange[] = [];
  ferry.rules.registry.onChange((e) => {
    events.push(e);
  });
  assert.equal((await rest(endpoint, ADMIN, 'DELETE', '/instances/mqtt-gone')).status, 204);
  assert.deepEqual(events.map((e) => [e.kind, e.rule.instanceId]), [['deleted', 'mqtt-gone']]);
  assert.deepEqual(ferry.rules.registry.list('mqtt-gone'), []);
  assert.equal(ferry.rules.registry.all().length, 1);
});

test('rules - built-in queues over REST: send, receive with a lease, ack; their schemas check input', async (t) => {
  const { endpoint } = await start(t);
  const sent = await rest(endpoint, ADMIN, 'POST', `${I}/queues/jobs/messages`, { payload: 'aGk=', payloadEncoding: 'base64' });
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  const received = await rest(endpoint, ADMIN, 'POST', `${I}/queues/jobs/receive`, { max: 10, visibilityTimeout: 30, wait: 1 });
  assert.equal(received.status, 200, JSON.stringify(received.body));
  const messages = (received.body['messages'] ?? received.body.items) as Array<{ receipt: string; payload: string }>;
  assert.equal(messages.length, 1);
  const list = await rest(endpoint, ADMIN, 'GET', `${I}/queues`);
  assert.equal(list.status, 200);
  assert.equal((await rest(endpoint, ADMIN, 'POST', `${I}/queues/jobs/ack`, { receipts: [messages[0]!.receipt] })).status, 200);
  assert.equal((await rest(endpoint, ADMIN, 'POST', `${I}/queues/jobs/receive`, { wait: 21 })).body.error?.field, 'body.wait');
  assert.equal((await rest(endpoint, ADMIN, 'POST', `${I}/queues/jobs/ack`, {})).body.error?.field, 'body.receipts');
  assert.equal((await rest(endpoint, ADMIN, 'POST', `${I}/queues/jobs/messages`, { payload: '***', payloadEncoding: 'base64' })).body.error?.field, 'body.payload');
  assert.equal((await rest(endpoint, ADMIN, 'POST', `${I}/queues/jobs/messages`, {})).body.error?.field, 'body.payload');
  assert.equal((await rest(endpoint, ADMIN, 'POST', `${I}/queues/bad%20name/messages`, { payload: 'x' })).body.error?.field, 'params.name');
});

test('rules - the OpenAPI document has the rule and queue routes and still validates', async (t) => {
  const { endpoint } = await start(t);
  const doc = (await (await fetch(`${endpoint}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
  assert.equal(result.valid, true, JSON.stringify(result.errors));
  const expected: Array<[string, string[]]> = [
    ['/api/v1/instances/{instanceId}/rules', ['get', 'post']],
    ['/api/v1/instances/{instanceId}/rules/{ruleId}', ['get', 'patch', 'delete']],
    ['/api/v1/instances/{instanceId}/rules/{ruleId}/enable', ['post']],
    ['/api/v1/instances/{instanceId}/rules/{ruleId}/disable', ['post']],
    ['/api/v1/instances/{instanceId}/rules/{ruleId}/stats', ['get']],
    ['/api/v1/instances/{instanceId}/rules/{ruleId}/dead-letters', ['get', 'delete']],
    ['/api/v1/instances/{instanceId}/rules/{ruleId}/dead-letters/replay', ['post']],
    ['/api/v1/instances/{instanceId}/queues', ['get']],
    ['/api/v1/instances/{instanceId}/queues/{name}/messages', ['post']],
    ['/api/v1/instances/{instanceId}/queues/{name}/receive', ['post']],
    ['/api/v1/instances/{instanceId}/queues/{name}/ack', ['post']],
    ['/api/v1/instances/{instanceId}/queues/{name}/nack', ['post']],
  ];
  for (const [path, methods] of expected) {
    for (const method of methods) assert.ok(doc.paths[path]?.[method] !== undefined, `${method.toUpperCase()} ${path} documented`);
  }
  const create = doc.paths['/api/v1/instances/{instanceId}/rules']!['post'] as { requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> } };
  assert.ok(create.requestBody?.content?.['application/json']?.schema?.properties?.['target'] !== undefined, 'the create body schema is documented');
});
