/**
 * The console's resource pages in a real browser against a running Ferry with live mqtt.js
 * clients: sending a message a subscriber receives (and its trace), retained payloads shown as
 * text or hex, parent topics, groups with tags, the blacklist, tokens, device credentials,
 * custom identities and permissions, AccessKeys (secret shown once, and it signs in), device
 * traces, the signature tool (its password logs a real client in), keyboard-only sign-in, visible
 * labels on every control, and the first-load size. One Ferry and one browser for the file.
 *
 * CONSOLE_SCREENSHOTS=<dir> also writes the screenshots docs/console.md shows.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import type { RunningFerry } from '../../../src/internal.js';
import { consoleFixture } from '../../helpers/console.js';
import { browserMissing, launchBrowser, newPage, signedInPage } from '../../helpers/browser.js';
import { issueCert, makeCa, mqttClient, type Teardown, tempDir, waitFor } from '../../helpers/index.js';

const ADMIN = { id: 'ConsolePages01', secret: 'console-pages-secret-0123456789' };
const INSTANCE = 'mqtt-default';
const skip = browserMissing();
const shots = process.env['CONSOLE_SCREENSHOTS'];

let ferry: RunningFerry;
let browser: Browser;
let base: string;

consoleFixture({ admin: ADMIN, skip, launch: launchBrowser, config: { tracing: true, traceFlushIntervalMs: 20 } }, (fixture) => ({ ferry, browser, base } = fixture));

function signedIn(t: Teardown, key = ADMIN): Promise<{ page: Page; problems: string[] }> {
  return signedInPage(browser, t, base, key);
}

async function open(page: Page, path: string, heading: string | RegExp): Promise<void> {
  await page.goto(`${base}/console/#/${path}`);
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
}

/** Every form control on the page has a visible label (keyboard and screen-reader users need one). */
async function assertLabelled(page: Page): Promise<void> {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => ((el as HTMLInputElement).labels?.length ?? 0) === 0 || [...(el as HTMLInputElement).labels!].every((l) => l.offsetParent === null || l.textContent!.trim() === ''))
      .map((el) => el.outerHTML),
  );
  assert.deepEqual(unlabelled, []);
}

async function shot(page: Page, name: string): Promise<void> {
  if (shots !== undefined) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });
}

test('console - the first load is small (≤ 250 KB gzipped)', { skip }, async () => {
  const html = await (await fetch(`${base}/console/`)).text();
  let total = gzipSync(html).length;
  for (const [, asset] of html.matchAll(/(?:src|href)="(assets\/[^"]+)"/g)) {
    total += gzipSync(Buffer.from(await (await fetch(`${base}/console/${asset!}`)).arrayBuffer())).length;
  }
  assert.ok(total > 5_000 && total <= 250 * 1024, `first load ${total} bytes gzipped`);
});

test('console - keyboard only: sign in with Tab, typing and Enter', { skip }, async (t) => {
  const { page, problems } = await newPage(browser, t);
  await page.goto(`${base}/console/`);
  await page.getByLabel('AccessKey ID', { exact: true }).waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'accessKeyId');
  await page.keyboard.type(ADMIN.id);
  await page.keyboard.press('Tab');
  await page.keyboard.type(ADMIN.secret);
  await page.keyboard.press('Enter');
  await page.getByRole('link', { name: INSTANCE, exact: true }).waitFor();
  await shot(page, 'instances');
  // Links and buttons are reachable by Tab from the top of the page.
  const reached = new Set<string>();
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    reached.add((await page.evaluate(() => document.activeElement?.textContent?.trim() ?? '')) ?? '');
  }
  assert.ok(reached.has('Sign out') && reached.has('Instances'), `Tab reached ${[...reached].join(' | ')}`);
  assert.deepEqual(problems, []);
});

test('console - send a test message: a live subscriber gets it with its user property, and its trace opens by MsgId', { skip }, async (t) => {
  const sub = await mqttClient(t, ferry.ports.mqtt, 'console-sub-01');
  await sub.subscribeAsync('console/send/#', { qos: 1 });
  const got = new Promise<{ topic: string; payload: string; props: unknown }>((resolve) => sub.once('message', (topic, payload, packet) => resolve({ topic, payload: payload.toString(), props: { ...packet.properties?.userProperties } })));
  const { page, problems } = await signedIn(t);
  await open(page, `i/${INSTANCE}/send`, 'Send a test message');
  await assertLabelled(page);
  await page.getByLabel('Topic', { exact: true }).fill('console/send/a');
  await page.getByLabel('Payload', { exact: true }).fill('hello from the console');
  await page.getByLabel('QoS', { exact: true }).selectOption('1');
  await page.getByLabel(/User properties/).fill('source=console');
  await shot(page, 'send');
  await page.getByRole('button', { name: 'Send message' }).click();
  const message = await got;
  assert.deepEqual(message, { topic: 'console/send/a', payload: 'hello from the console', props: { source: 'console' } });
  const msgId = (await page.getByTestId('msg-id').textContent())!;
  assert.match(msgId, /^[0-9A-F]{32}$/i);
  await page.getByRole('link', { name: 'trace it' }).click();
  await page.getByRole('heading', { name: 'Traces', level: 1 }).waitFor();
  assert.equal(await page.getByLabel('MsgId', { exact: true }).inputValue(), msgId);
  await waitFor(
    async () => {
      await page.getByRole('button', { name: 'Show message trace' }).click();
      return (await page.getByRole('cell', { name: 'console-sub-01', exact: true }).count()) > 0;
    },
    { timeoutMs: 8000, intervalMs: 300, message: 'the delivery to console-sub-01 in the message trace' },
  );
  await assertLabelled(page);
  assert.deepEqual(problems, []);
});

test('console - device trace lists a client\'s connect and close by client id and time range', { skip }, async (t) => {
  const c = await mqttClient(t, ferry.ports.mqtt, 'console-traced-01');
  await c.endAsync();
  const { page, problems } = await signedIn(t);
  await open(page, `i/${INSTANCE}/traces`, 'Traces');
  await page.getByLabel('Client ID', { exact: true }).fill('console-traced-01');
  await waitFor(
    async () => {
      await page.getByRole('button', { name: 'Show device trace' }).click();
      return (await page.locator('table tbody tr td').filter({ hasText: /connect/i }).count()) > 0 && (await page.locator('table tbody tr td').filter({ hasText: /close|disconnect/i }).count()) > 0;
    },
    { timeoutMs: 8000, intervalMs: 300, message: 'connect and close rows' },
  );
  await shot(page, 'traces');
  assert.deepEqual(problems, []);
});

test('console - retained messages: text as text, binary as hex, markup inert', { skip }, async (t) => {
  const pub = await mqttClient(t, ferry.ports.mqtt, 'console-retainer-01');
  await pub.publishAsync('console/ret/bin', Buffer.from([0x00, 0x01, 0x02, 0xff]), { retain: true, qos: 1 });
  await pub.publishAsync('console/ret/html', '<img src=x onerror="window.__xss=3">', { retain: true, qos: 1 });
  const { page, problems } = await signedIn(t);
  await open(page, `i/${INSTANCE}/retained`, 'Retained messages');
  await page.getByLabel('Topic filter', { exact: true }).fill('console/ret/#');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.getByRole('cell', { name: 'console/ret/bin', exact: true }).waitFor();
  await page.getByText('[hex] 00 01 02 ff').waitFor();
  await page.getByText('<img src=x onerror="window.__xss=3">').waitFor();
  assert.equal(await page.locator('main img').count(), 0);
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
  await shot(page, 'retained');
  await page.getByRole('button', { name: 'Delete console/ret/bin' }).click();
  await page.getByRole('button', { name: 'Confirm: Delete console/ret/bin' }).click();
  await page.getByText('Retained message of console/ret/bin deleted').waitFor();
  assert.equal(ferry.broker.tenant(INSTANCE).retained.size > 0, true);
  assert.deepEqual(problems, []);
});

test('console - parent topics, groups with tags and the blacklist are created from their pages and take effect', { skip }, async (t) => {
  const { page, problems } = await signedIn(t);
  await open(page, `i/${INSTANCE}/topics`, 'Parent topics');
  await page.getByLabel('Parent topic', { exact: true }).fill('consoletopic');
  await page.getByRole('button', { name: 'Create parent topic' }).click();
  await page.getByRole('cell', { name: 'consoletopic', exact: true }).waitFor();
  await assertLabelled(page);

  await open(page, `i/${INSTANCE}/groups`, 'Groups');
  await page.getByLabel('Group ID', { exact: true }).fill('GID_console');
  await page.getByLabel('Tags', { exact: true }).fill('env=prod, team=ops');
  await page.getByRole('button', { name: 'Create group' }).click();
  await page.getByRole('cell', { name: 'env=prod, team=ops', exact: true }).waitFor();
  await page.getByLabel('Tag (key=value)', { exact: true }).fill('env=prod');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByText('Group IDs tagged env=prod').waitFor();
  assert.equal(await page.getByRole('cell', { name: 'GID_console', exact: true }).count(), 1);
  await shot(page, 'groups');

  await open(page, `i/${INSTANCE}/blacklist`, 'Blacklist');
  await page.getByLabel('Client ID', { exact: true }).fill('GID_console@@@banned');
  await page.getByRole('button', { name: 'Add to blacklist' }).click();
  await page.getByRole('cell', { name: 'GID_console@@@banned', exact: true }).waitFor();
  await assert.rejects(mqttClient(t, ferry.ports.mqtt, 'GID_console@@@banned'), 'a blacklisted client id is refused at connect');
  assert.deepEqual(problems, []);
});

test('console - tokens, device credentials and custom identities: secrets shown, and they work', { skip }, async (t) => {
  const { page, problems } = await signedIn(t);
  await open(page, `i/${INSTANCE}/tokens`, 'Tokens');
  await page.getByLabel(/Resources/).fill('consoletopic/a');
  await page.getByRole('button', { name: 'Apply for token' }).click();
  const token = (await page.getByTestId('secret').textContent())!;
  assert.ok(token.length > 20);
  await page.getByLabel('Token', { exact: true }).fill(token);
  await page.getByRole('button', { name: 'Check token' }).click();
  await page.getByText('The token is valid.').waitFor();
  await assertLabelled(page);

  await open(page, `i/${INSTANCE}/credentials`, 'Device credentials');
  await page.getByLabel('Client ID', { exact: true }).fill('GID_console@@@dev-1');
  await page.getByRole('button', { name: 'Register credential' }).click();
  const secret = (await page.getByTestId('secret').textContent())!;
  const keyId = (await page.locator('dd.mono').first().textContent())!;
  assert.match(keyId, /^DC\./);
  const device = await mqttClient(t, ferry.ports.mqtt, 'GID_console@@@dev-1', { username: `DeviceCredential|${keyId}|${INSTANCE}`, password: await signatureInPage(page, 'DeviceCredential', keyId, secret, 'GID_console@@@dev-1') });
  assert.equal(device.connected, true, 'the registered credential logs the device in');
  await open(page, `i/${INSTANCE}/credentials`, 'Device credentials');
  await page.getByLabel('Group ID', { exact: true }).fill('GID_console');
  await page.getByRole('button', { name: 'List devices' }).click();
  await page.getByRole('cell', { name: 'GID_console@@@dev-1', exact: true }).waitFor();
  await shot(page, 'credentials');

  await open(page, `i/${INSTANCE}/custom-auth`, 'Custom authentication');
  await page.getByLabel('Username', { exact: true }).fill('console-user');
  await page.getByLabel('Secret', { exact: true }).fill('console-user-secret');
  await page.getByRole('button', { name: 'Add identity' }).click();
  await page.getByRole('cell', { name: 'console-user', exact: true }).waitFor();
  await page.getByLabel('Identity', { exact: true }).fill('console-user');
  await page.getByLabel('Topic filter', { exact: true }).fill('consoletopic/#');
  await page.getByRole('button', { name: 'Add permission' }).click();
  await page.getByRole('cell', { name: 'consoletopic/#', exact: true }).waitFor();
  await assertLabelled(page);
  assert.deepEqual(problems, []);
});

/** The signature tool's answer for these inputs (the page is left on the tool). */
async function signatureInPage(page: Page, mode: 'Signature' | 'DeviceCredential', keyId: string, secret: string, clientId: string): Promise<string> {
  await open(page, 'signature', 'Signature tool');
  await page.getByLabel('Mode', { exact: true }).selectOption(mode);
  await page.getByLabel(mode === 'Signature' ? 'AccessKey ID' : 'DeviceAccessKeyId').fill(keyId);
  await page.getByLabel(mode === 'Signature' ? 'AccessKey Secret' : 'DeviceAccessKeySecret').fill(secret);
  await page.getByLabel('Instance ID', { exact: true }).fill(INSTANCE);
  await page.getByLabel('Client ID', { exact: true }).fill(clientId);
  assert.equal(await page.getByTestId('mqtt-username').textContent(), `${mode}|${keyId}|${INSTANCE}`);
  return (await page.getByTestId('mqtt-password').textContent())!;
}

test('console - the signature tool computes a Signature-mode password the broker accepts', { skip }, async (t) => {
  const { page, problems } = await signedIn(t);
  const password = await signatureInPage(page, 'Signature', ADMIN.id, ADMIN.secret, 'GID_console@@@sig-1');
  await assertLabelled(page);
  await shot(page, 'signature');
  const c = await mqttClient(t, ferry.ports.mqtt, 'GID_console@@@sig-1', { username: `Signature|${ADMIN.id}|${INSTANCE}`, password });
  assert.equal(c.connected, true);
  await assert.rejects(mqttClient(t, ferry.ports.mqtt, 'GID_console@@@sig-2', { username: `Signature|${ADMIN.id}|${INSTANCE}`, password }), 'the password is bound to its client id');
  assert.deepEqual(problems, []);
});

test('console - AccessKeys: the new secret is shown once and signs in; disabling the key ends its console session', { skip }, async (t) => {
  const { page, problems } = await signedIn(t);
  await open(page, 'access-keys', 'AccessKeys');
  await page.getByLabel('Description', { exact: true }).fill('console read-only');
  await page.getByLabel('Policy', { exact: true }).selectOption('AliyunMQReadOnlyAccess');
  await page.getByRole('button', { name: 'Create AccessKey' }).click();
  const secret = (await page.getByTestId('secret').textContent())!;
  const id = (await page.locator('.note.secret .secret-box').first().textContent())!;
  await shot(page, 'access-keys');
  await page.reload();
  await page.getByRole('cell', { name: id, exact: true }).waitFor();
  assert.equal(await page.getByText(secret).count(), 0, 'the secret is not shown again');

  const other = await signedIn(t, { id, secret });
  await open(other.page, `i/${INSTANCE}/overview`, /Overview/);
  assert.equal(await other.page.getByRole('button', { name: 'Save instance' }).count(), 0, 'read-only: no settings form');
  await page.getByRole('button', { name: `Disable ${id}` }).click();
  await page.getByText(`${id} disabled`).waitFor();
  await other.page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 10_000 });
  assert.deepEqual(problems, []);
});

test('console - certificates: a CA is registered from the page with its proof of possession, then inactivated', { skip }, async (t) => {
  const { page, problems } = await signedIn(t);
  await open(page, `i/${INSTANCE}/certificates`, 'Certificates');
  await page.getByText('No CA registered').waitFor();
  await waitFor(async () => /\S{6,}/.test((await page.getByTestId('register-code').textContent()) ?? ''), { message: 'registration code shown' });
  const code = (await page.getByTestId('register-code').textContent())!.trim();
  const dir = tempDir(t, 'console-ca-');
  const ca = makeCa(dir, 'console-ca');
  const verification = issueCert(dir, ca, code);
  await page.getByLabel('CA name', { exact: true }).fill('console-ca');
  await page.getByLabel('CA certificate (PEM)', { exact: true }).fill(ca.cert);
  await page.getByLabel('Verification certificate (PEM)', { exact: true }).fill(verification.cert);
  await page.getByRole('button', { name: 'Register CA' }).click();
  await page.getByText('CA console-ca registered').waitFor();
  await page.getByRole('cell', { name: 'active', exact: true }).waitFor();
  await assertLabelled(page);
  await shot(page, 'certificates');
  await page.getByRole('button', { name: 'Inactivate console-ca' }).click();
  await page.getByRole('button', { name: 'Confirm: Inactivate console-ca' }).click();
  await page.getByRole('button', { name: 'Activate console-ca' }).waitFor();
  assert.deepEqual(problems, []);
});

test('console - every page of an instance renders real data with labelled controls', { skip }, async (t) => {
  await mqttClient(t, ferry.ports.mqtt, 'console-live-01');
  const { page, problems } = await signedIn(t);
  const pages: Array<[string, string | RegExp, string]> = [
    ['overview', /Overview/, 'Connections'],
    ['clients', 'Clients', 'console-live-01'],
    ['topics', 'Parent topics', 'Parent topics'],
    ['groups', 'Groups', 'Group IDs'],
    ['retained', 'Retained messages', 'Retained messages matching #'],
    ['tokens', 'Tokens', 'Apply for a device token'],
    ['credentials', 'Device credentials', 'Register a device'],
    ['custom-auth', 'Custom authentication', 'Identities'],
    ['blacklist', 'Blacklist', 'Blacklisted client ids'],
    ['traces', 'Traces', 'Device trace'],
    ['certificates', 'Certificates', 'Registered CA certificates'],
  ];
  for (const [path, heading, text] of pages) {
    await open(page, `i/${INSTANCE}/${path}`, heading);
    await page.getByText(text).first().waitFor();
    await assertLabelled(page);
    assert.equal(await page.getByRole('alert').count(), 0, `${path}: no error`);
  }
  if (shots !== undefined) {
    // Some traffic for the charts: a few clients, one publishing to two subscribers.
    const fleet = await Promise.all(Array.from({ length: 6 }, (_, i) => mqttClient(t, ferry.ports.mqtt, `GID_console@@@fleet-${i}`)));
    await fleet[0]!.subscribeAsync('fleet/#');
    await fleet[1]!.subscribeAsync('fleet/+/status');
    let n = 0;
    const timer = setInterval(() => void fleet[2 + (n++ % 4)]!.publishAsync(`fleet/${n % 4}/status`, `{"n":${n}}`).catch(() => undefined), 50);
    await open(page, `i/${INSTANCE}/overview`, /Overview/);
    await page.waitForTimeout(20_000);
    await shot(page, 'overview');
    clearInterval(timer);
    await open(page, `i/${INSTANCE}/clients`, 'Clients');
    await page.getByRole('link', { name: 'console-live-01' }).waitFor();
    await shot(page, 'clients');
    await page.getByRole('link', { name: 'console-live-01' }).click();
    await page.getByTestId('client-state').waitFor();
    await shot(page, 'client');
  }
  assert.deepEqual(problems, []);
});
