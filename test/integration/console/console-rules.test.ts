/**
 * The console's rules pages in a real browser against a running Ferry, real rules and real
 * targets: outbound rules made with the form to a built-in queue and to a real redis-server
 * deliver what mqtt.js clients publish (the page's delivered count rises, the queue and the stream
 * hold the messages); disable/enable/delete; the API's validation error shown in the form; a
 * webhook that answers 400 fills the dead letters (binary payload as hex, markup inert), which are
 * replayed and purged from the page; a read-only key's view without write buttons, and its 403.
 *
 * CONSOLE_SCREENSHOTS=<dir> also writes the rules screenshots docs/console.md shows.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import type { RunningFerry } from '../../../src/internal.js';
import { consoleFixture } from '../../helpers/console.js';
import { browserMissing, launchBrowser, signedInPage } from '../../helpers/browser.js';
import { startRedis } from '../../helpers/engines.js';
import { mqttClient, type Teardown, waitFor } from '../../helpers/index.js';

const ADMIN = { id: 'ConsoleRules01', secret: 'console-rules-secret-0123456789' };
const INSTANCE = 'mqtt-default';
const skip = browserMissing();
const shots = process.env['CONSOLE_SCREENSHOTS'];

let ferry: RunningFerry;
let browser: Browser;
let base: string;

consoleFixture({ admin: ADMIN, skip, launch: launchBrowser }, (fixture) => ({ ferry, browser, base } = fixture));

function signedIn(t: Teardown, key = ADMIN): Promise<{ page: Page; problems: string[] }> {
  return signedInPage(browser, t, base, key);
}

async function openRules(page: Page): Promise<void> {
  await page.goto(`${base}/console/#/i/${INSTANCE}/rules`);
  await page.getByRole('heading', { name: 'Rules', level: 1 }).waitFor();
}

let adminToken: string | undefined;
/** One bearer token for the file's API calls (tokens are counted per key). */
async function bearer(): Promise<string> {
  if (adminToken !== undefined) return adminToken;
  const key = ADMIN;
  const res = await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accessKeyId: key.id, accessKeySecret: key.secret }) });
  adminToken = ((await res.json()) as { token: string }).token;
  return adminToken;
}

async function apiCall(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${await bearer()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function ruleNamed(name: string): Promise<{ id: string; enabled: boolean } | undefined> {
  const list = (await apiCall('GET', `/instances/${INSTANCE}/rules`)).body['items'] as Array<{ id: string; name: string; enabled: boolean }>;
  return list.find((r) => r.name === name);
}

/** Every form control on the page has a visible label. */
async function assertLabelled(page: Page): Promise<void> {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => ((el as HTMLInputElement).labels?.length ?? 0) === 0 || [...(el as HTMLInputElement).labels!].every((l) => l.offsetParent === null || l.textContent!.trim() === ''))
      .map((el) => el.outerHTML),
  );
  assert.deepEqual(unlabelled, []);
}

/** Waits until the element's text is `expected` (the page refreshes stats every 3 s). */
async function untilText(page: Page, testId: string, expected: string, timeoutMs = 15_000): Promise<void> {
  let seen: string | null = null;
  await waitFor(
    async () => {
      seen = await page.getByTestId(testId).textContent();
      return seen?.trim() === expected;
    },
    { timeoutMs, intervalMs: 250, message: `${testId} = ${expected} (last seen ${String(seen)})` },
  );
}

async function shot(page: Page, name: string): Promise<void> {
  if (shots !== undefined) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });
}

/** Fills the create form's common part and picks the connector. */
async function fillRule(page: Page, spec: { name: string; topics: string; connector: string }): Promise<void> {
  await page.getByLabel('Rule name', { exact: true }).fill(spec.name);
  await page.getByLabel('Rule type', { exact: true }).selectOption('outbound');
  await page.getByLabel('Topic filters', { exact: true }).fill(spec.topics);
  await page.getByLabel('Connector', { exact: true }).selectOption(spec.connector);
}

test('console rules - an outbound rule to a built-in queue made with the form delivers what MQTT clients publish; disable and enable', { skip }, async (t) => {
  const { page, problems } = await signedIn(t);
  await openRules(page);
  await page.getByText('No rules yet.').waitFor();
  await fillRule(page, { name: 'to-queue', topics: 'crq/#', connector: 'queue' });
  await page.getByLabel('Queue name', { exact: true }).fill('console-jobs');
  assert.equal(await page.getByTestId('connector-url').textContent(), 'queue://console-jobs');
  await assertLabelled(page);
  await page.getByRole('button', { name: 'Create rule' }).click();
  await page.getByText('Rule to-queue created').waitFor();
  const rule = await ruleNamed('to-queue');
  assert.ok(rule !== undefined && rule.enabled);
  await page.getByRole('link', { name: 'Open to-queue' }).click();
  await page.getByRole('heading', { name: 'Rule to-queue', level: 1 }).waitFor();
  await untilText(page, 'rule-delivered', '0');

  const pub = await mqttClient(t, ferry.ports.mqtt, 'console-rules-pub-1');
  for (let i = 0; i < 3; i++) await pub.publishAsync('crq/a', `job ${i}`, { qos: 1 });
  await untilText(page, 'rule-delivered', '3');
  const queued = (await apiCall('POST', `/instances/${INSTANCE}/queues/console-jobs/receive`, { max: 10, visibilityTimeout: 1 })).body['items'] as Array<{ payload: string }>;
  assert.deepEqual(queued.map((m) => Buffer.from(m.payload, 'base64').toString()), ['job 0', 'job 1', 'job 2']);

  await page.getByRole('button', { name: 'Disable', exact: true }).click();
  await page.getByText('to-queue disabled').waitFor();
  await untilText(page, 'rule-state', 'disabled');
  await untilText(page, 'rule-enabled', 'no');
  assert.equal((await ruleNamed('to-queue'))!.enabled, false);
  await pub.publishAsync('crq/a', 'while disabled', { qos: 1 });
  await page.getByRole('button', { name: 'Enable', exact: true }).click();
  await page.getByText('to-queue enabled').waitFor();
  await untilText(page, 'rule-enabled', 'yes');
  await waitFor(async () => (await page.getByTestId('rule-state').textContent()) !== 'disabled', { message: 'state after enable' });
  // Counters count since the rule's worker last started: enabling starts a new one.
  await pub.publishAsync('crq/a', 'job 3', { qos: 1 });
  await untilText(page, 'rule-delivered', '1');
  const more = (await apiCall('POST', `/instances/${INSTANCE}/queues/console-jobs/receive`, { max: 10, visibilityTimeout: 1, wait: 2 })).body['items'] as Array<{ payload: string }>;
  assert.ok(more.some((m) => Buffer.from(m.payload, 'base64').toString() === 'job 3'));
  assert.ok(!more.some((m) => Buffer.from(m.payload, 'base64').toString() === 'while disabled'), 'a disabled rule takes no new messages');

  await openRules(page);
  await page.getByRole('cell', { name: 'console-jobs', exact: true }).waitFor();
  assert.deepEqual(problems, []);
});

test('console rules - the form shows the API\'s validation error and creates nothing', { skip }, async (t) => {
  const { page, problems } = await signedIn(t);
  await openRules(page);
  await fillRule(page, { name: 'bad-redis', topics: 'x/#', connector: 'redis' });
  await page.getByLabel('Port', { exact: true }).fill('6390');
  // No stream: the Redis connector needs one.
  assert.equal(await page.getByTestId('connector-url').textContent(), 'redis://127.0.0.1:6390/0');
  await page.getByRole('button', { name: 'Create rule' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  const text = (await alert.textContent())!;
  assert.match(text, /^InvalidParameter: /);
  assert.match(text, /stream/);
  await page.getByLabel('Topic filters', { exact: true }).fill('x/#/y');
  await page.getByLabel('Stream', { exact: true }).fill('s');
  await page.getByRole('button', { name: 'Create rule' }).click();
  await page.getByRole('alert').filter({ hasText: /InvalidParameter: .*#/ }).waitFor();
  assert.equal(await ruleNamed('bad-redis'), undefined);
  assert.deepEqual(problems.filter((p) => !/status of 400/.test(p)), [], 'only the two refused creates');
});

test('console rules - an outbound rule to a real Redis made with the form: the stream gets the messages; delete from the page', { skip }, async (t) => {
  const redis = await startRedis(t);
  const reader = new Redis(redis.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
  // disconnect(), not quit(): the after hooks run in order, so redis-server may be gone already (quit would reject).
  t.after(() => reader.disconnect());
  const { page, problems } = await signedIn(t);
  await openRules(page);
  await fillRule(page, { name: 'to-redis', topics: 'crr/+/temp', connector: 'redis' });
  await page.getByLabel('Host', { exact: true }).fill('127.0.0.1');
  await page.getByLabel('Port', { exact: true }).fill(String(redis.port));
  await page.getByLabel('Stream', { exact: true }).fill('console-stream');
  await page.getByLabel('Max length', { exact: true }).fill('1000');
  await page.getByLabel('Max attempts', { exact: true }).fill('5');
  assert.equal(await page.getByTestId('connector-url').textContent(), `redis://127.0.0.1:${redis.port}/0?stream=console-stream&maxlen=1000`);
  await page.getByRole('button', { name: 'Create rule' }).click();
  await page.getByRole('link', { name: 'Open to-redis' }).click();
  await page.getByRole('heading', { name: 'Rule to-redis', level: 1 }).waitFor();
  await page.getByText('5 attempts').waitFor();

  const pub = await mqttClient(t, ferry.ports.mqtt, 'console-rules-pub-2');
  await pub.publishAsync('crr/room1/temp', '21.5', { qos: 1 });
  await pub.publishAsync('crr/room2/temp', '19.0', { qos: 1 });
  await pub.publishAsync('crr/room2/humidity', 'not matched', { qos: 1 });
  await untilText(page, 'rule-delivered', '2');
  await waitFor(async () => (await page.getByTestId('rule-state').textContent()) === 'connected', { timeoutMs: 10_000, message: 'target connected' });
  const entries = (await reader.xrange('console-stream', '-', '+')) as Array<[string, string[]]>;
  const topics = entries.map(([, fields]) => fields[fields.indexOf('topic') + 1]);
  assert.deepEqual(topics, ['crr/room1/temp', 'crr/room2/temp']);

  await page.getByRole('button', { name: 'Delete rule' }).click();
  await page.getByRole('button', { name: 'Confirm: Delete rule' }).click();
  await page.getByRole('heading', { name: 'Rules', level: 1 }).waitFor();
  assert.equal(await ruleNamed('to-redis'), undefined);
  assert.deepEqual(problems, []);
});

test('console rules - a webhook that answers 400 fills the dead letters (binary as hex, markup inert); replay one, purge the rest', { skip }, async (t) => {
  let accept = false;
  const received: Array<{ headers: IncomingHttpHeaders; payload: Buffer }> = [];
  const hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (!accept) return void res.writeHead(400).end('no thanks');
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { payload: string };
      received.push({ headers: req.headers, payload: Buffer.from(body.payload, 'base64') });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => hook.close(resolve)));
  const port = (hook.address() as AddressInfo).port;

  const { page, problems } = await signedIn(t);
  await openRules(page);
  await fillRule(page, { name: 'to-hook', topics: 'crh/#', connector: 'webhook' });
  await page.getByLabel('Webhook URL', { exact: true }).fill(`http://127.0.0.1:${port}/ingest`);
  await page.getByRole('button', { name: 'Create rule' }).click();
  const secret = (await page.getByTestId('secret').textContent())!;
  assert.ok(secret.length >= 16, 'the generated signing secret is shown once');
  await page.getByRole('link', { name: 'Open to-hook' }).click();
  await page.getByRole('heading', { name: 'Rule to-hook', level: 1 }).waitFor();
  await page.getByText('secret set (not shown again)').waitFor();
  assert.equal(await page.getByText(secret).count(), 0);

  const pub = await mqttClient(t, ferry.ports.mqtt, 'console-rules-pub-3');
  await pub.publishAsync('crh/bin', Buffer.from([0x00, 0x01, 0x02, 0xff]), { qos: 1 });
  await pub.publishAsync('crh/<b>topic</b>', '<img src=x onerror="window.__xss=7">', { qos: 1 });
  await pub.publishAsync('crh/text', 'third', { qos: 1 });
  await untilText(page, 'rule-dead-lettered', '3');
  await page.getByText('[hex] 00 01 02 ff').waitFor();
  await page.getByText('<img src=x onerror="window.__xss=7">').waitFor();
  await page.getByText(/crh\/<b>topic<\/b> from console-rules-pub-3/).waitFor();
  assert.equal(await page.locator('main img').count(), 0);
  assert.equal(await page.locator('main b').count(), 0);
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
  assert.ok((await page.getByRole('cell', { name: /refused by the target.*400/ }).count()) === 3);
  await assertLabelled(page);
  await page.evaluate(() => [...document.querySelectorAll('h2')].find((h) => h.textContent === 'Live stats')?.scrollIntoView());
  await shot(page, 'rule');

  accept = true;
  const first = (await page.locator('table tbody tr').first().locator('td').first().textContent())!;
  await page.getByRole('button', { name: `Replay dead letter ${first}` }).click();
  await page.getByText(`Dead letter ${first} put back into the outbox`).waitFor();
  await waitFor(() => received.length === 1, { message: 'the replayed message reaches the webhook' });
  assert.deepEqual([...received[0]!.payload], [0x00, 0x01, 0x02, 0xff]);
  assert.match(String(received[0]!.headers['x-ferry-signature']), /^sha256=[0-9a-f]{64}$/);
  await untilText(page, 'rule-delivered', '1');
  await waitFor(async () => (await page.locator('table tbody tr').count()) === 2, { message: 'two dead letters left' });

  await page.getByRole('button', { name: 'Purge all' }).click();
  await page.getByRole('button', { name: 'Confirm: Purge all' }).click();
  await page.getByText('All dead letters purged').waitFor();
  await page.getByText('No dead letters.').waitFor();
  const id = (await ruleNamed('to-hook'))!.id;
  assert.deepEqual((await apiCall('GET', `/instances/${INSTANCE}/rules/${id}/dead-letters`)).body['items'], []);
  assert.equal(received.length, 1, 'purged letters are not delivered');
  assert.deepEqual(problems, []);
});

test('console rules - a read-only key sees rules, stats and dead letters but no write button, and a direct write is 403', { skip }, async (t) => {
  const created = await apiCall('POST', '/access-keys', { policies: ['AliyunMQReadOnlyAccess'], description: 'console rules read-only' });
  assert.equal(created.status, 201);
  const key = { id: created.body['id'] as string, secret: created.body['secret'] as string };
  const rule = await apiCall('POST', `/instances/${INSTANCE}/rules`, { name: 'ro-visible', type: 'status', groups: ['GID_readonly'], target: 'queue://ro-status' });
  assert.equal(rule.status, 201);
  const ruleId = rule.body['id'] as string;

  const { page, problems } = await signedIn(t, key);
  await openRules(page);
  await page.getByRole('link', { name: 'ro-visible' }).waitFor();
  await page.getByRole('heading', { name: 'Built-in queues' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Create rule' }).count(), 0);
  assert.equal(await page.getByRole('heading', { name: 'Create a rule' }).count(), 0);
  await page.getByRole('link', { name: 'ro-visible' }).click();
  await page.getByRole('heading', { name: 'Rule ro-visible', level: 1 }).waitFor();
  await page.getByTestId('rule-state').waitFor();
  await page.getByText('No dead letters.').waitFor();
  assert.equal(await page.getByRole('button', { name: /^(Disable|Enable|Delete rule|Replay|Replay all|Purge|Purge all)$/ }).count(), 0, 'no write buttons');
  const status = await page.evaluate(async (path) => {
    const session = (await (await fetch('/console/session')).json()) as { csrf: string };
    const res = await fetch(path, { method: 'POST', headers: { 'x-ferry-csrf': session.csrf } });
    return { status: res.status, body: (await res.json()) as { error: { code: string } } };
  }, `/api/v1/instances/${INSTANCE}/rules/${ruleId}/disable`);
  assert.equal(status.status, 403);
  assert.equal(status.body.error.code, 'PermissionCheckFailed');
  assert.equal((await ruleNamed('ro-visible'))!.enabled, true);
  assert.deepEqual(problems, []);
});

test('console rules - the list shows every rule with its type, state, route and counters', { skip }, async (t) => {
  const { page, problems } = await signedIn(t);
  await apiCall('POST', `/instances/${INSTANCE}/rules`, { name: 'cmds-in', type: 'inbound', source: 'queue://console-cmds', parentTopic: 'cmd', description: 'commands from the backend' });
  await openRules(page);
  for (const name of ['to-queue', 'to-hook', 'ro-visible', 'cmds-in']) await page.getByRole('link', { name, exact: true }).waitFor();
  const row = page.locator('tr').filter({ has: page.getByRole('link', { name: 'to-queue', exact: true }) });
  assert.match((await row.textContent())!, /outbound/);
  assert.match((await row.textContent())!, /crq\/# → queue:\/\/console-jobs/);
  await waitFor(async () => (await row.locator('td').nth(5).textContent()) === '1', { message: 'delivered 1 in the list' });
  await page.getByRole('cell', { name: 'console-cmds → cmd', exact: false }).waitFor();
  await assertLabelled(page);
  await page.getByLabel('Rule type', { exact: true }).selectOption('inbound');
  await page.getByLabel('Parent topic', { exact: true }).fill('cmd');
  await page.getByLabel('Connector', { exact: true }).selectOption('redis');
  await page.getByLabel('Stream', { exact: true }).fill('cmds');
  await page.getByLabel('Consumer group', { exact: true }).fill('ferry');
  assert.equal(await page.getByTestId('connector-url').textContent(), 'redis://127.0.0.1:6379/0?stream=cmds&group=ferry');
  assert.equal(await page.getByLabel('Connector', { exact: true }).locator('option[value="webhook"]').count(), 0, 'no webhook source');
  await page.getByLabel('Rule type', { exact: true }).selectOption('outbound');
  await page.getByLabel('Topic filters', { exact: true }).fill('sensors/#');
  await page.getByLabel('Rule name', { exact: true }).fill('to-redis');
  await page.getByLabel('Stream', { exact: true }).fill('sensors');
  await page.getByLabel('Password', { exact: true }).fill('s3cret');
  assert.equal(await page.getByTestId('connector-url').textContent(), 'redis://:***@127.0.0.1:6379/0?stream=sensors', 'the password is not shown');
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'rules');
  assert.deepEqual(problems, []);
});
