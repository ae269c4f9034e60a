/**
 * The web console in a real browser (chromium via playwright-core) against a running Ferry with
 * live mqtt.js clients: sign-in and sign-out, the session cookie and CSRF rules, the instances,
 * overview and clients pages, kicking a client, a read-only key's view, and hostile client ids
 * and topics shown as inert text. One Ferry and one browser for the whole file.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { RunningFerry } from '../../../src/internal.js';
import { consoleFixture } from '../../helpers/console.js';
import { browserMissing, launchBrowser, newPage } from '../../helpers/browser.js';
import { mqttClient, waitFor } from '../../helpers/index.js';

const ADMIN = { id: 'ConsoleAdmin01', secret: 'console-admin-secret-0123456789' };
const skip = browserMissing();

let ferry: RunningFerry;
let browser: Browser;
let base: string;

consoleFixture({ admin: ADMIN, skip, launch: launchBrowser }, (fixture) => ({ ferry, browser, base } = fixture));

async function signIn(page: Page, key: { id: string; secret: string }): Promise<void> {
  await page.goto(`${base}/console/`);
  await page.getByLabel('AccessKey ID').fill(key.id);
  await page.getByLabel('AccessKey Secret').fill(key.secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Instances', exact: true }).waitFor();
}

/** A key with the given system policy, made through the REST API with a bearer token. */
async function makeKey(policy: string): Promise<{ id: string; secret: string }> {
  const token = (await (await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accessKeyId: ADMIN.id, accessKeySecret: ADMIN.secret }) })).json()) as { token: string };
  const res = await fetch(`${base}/api/v1/access-keys`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token.token}` }, body: JSON.stringify({ policies: [policy], description: `console test ${policy}` }) });
  assert.equal(res.status, 201);
  return (await res.json()) as { id: string; secret: string };
}

test('console - /console redirects to /console/, served with a strict CSP and no inline code', { skip }, async () => {
  const redirect = await fetch(`${base}/console`, { redirect: 'manual' });
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.get('location'), '/console/');
  const page = await fetch(`${base}/console/`);
  assert.equal(page.status, 200);
  const csp = page.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(page.headers.get('cache-control'), 'no-store');
  const html = await page.text();
  assert.doesNotMatch(html, /<script>|<style>| on[a-z]+=/i, 'index.html holds no inline script, style or handler');
  const script = /src="(assets\/main-[A-Z0-9]+\.js)"/.exec(html)?.[1];
  assert.ok(script !== undefined, 'index.html references the hashed bundle');
  const asset = await fetch(`${base}/console/${script}`);
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
});

test('console - a wrong secret is refused; the right one opens the instance list; the session is an HttpOnly SameSite=Strict cookie only', { skip }, async (t) => {
  const { context, page, problems } = await newPage(browser, t);
  await page.goto(`${base}/console/`);
  await page.getByLabel('AccessKey ID').fill(ADMIN.id);
  await page.getByLabel('AccessKey Secret').fill('not-the-secret-at-all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'InvalidAccessKeyId' }).waitFor();
  assert.equal((await context.cookies()).length, 0, 'no cookie after a refused sign-in');

  await page.getByLabel('AccessKey Secret').fill(ADMIN.secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'mqtt-default', exact: true }).waitFor();
  const cookies = await context.cookies();
  assert.equal(cookies.length, 1);
  assert.equal(cookies[0]!.name, 'ferry_console');
  assert.equal(cookies[0]!.httpOnly, true);
  assert.equal(cookies[0]!.sameSite, 'Strict');
  const storage = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie }));
  assert.deepEqual(storage, { local: 0, session: 0, cookie: '' }, 'nothing readable by scripts holds the session');

  // A reload keeps the session (the cookie), and the header names the key.
  await page.reload();
  await page.getByRole('link', { name: 'mqtt-default', exact: true }).waitFor();
  assert.equal(await page.getByLabel('Signed in as').textContent(), ADMIN.id);
  assert.deepEqual(problems, []);
});

test('console - API calls with the cookie need the CSRF header; Sign out ends the session server-side', { skip }, async (t) => {
  const { context, page } = await newPage(browser, t);
  await signIn(page, ADMIN);
  const token = (await context.cookies())[0]!.value;
  const cookie = `ferry_console=${token}`;
  const csrf = ((await (await fetch(`${base}/console/session`, { headers: { cookie } })).json()) as { csrf: string }).csrf;

  const noCsrf = await fetch(`${base}/api/v1/instances`, { headers: { cookie } });
  assert.equal(noCsrf.status, 403);
  assert.equal(((await noCsrf.json()) as { error: { code: string } }).error.code, 'InvalidCsrfToken');
  const wrongCsrf = await fetch(`${base}/api/v1/instances`, { method: 'POST', headers: { cookie, 'x-ferry-csrf': 'forged', 'content-type': 'application/json' }, body: '{}' });
  assert.equal(wrongCsrf.status, 403);
  assert.equal((await fetch(`${base}/api/v1/instances`, { headers: { cookie, 'x-ferry-csrf': csrf } })).status, 200);
  const foreign = await fetch(`${base}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body: JSON.stringify({ accessKeyId: ADMIN.id, accessKeySecret: ADMIN.secret }) });
  assert.equal(foreign.status, 403, 'sign-in from a foreign origin is refused');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.equal((await context.cookies()).length, 0, 'the cookie is cleared');
  // The token behind the cookie is dead everywhere, not just forgotten by the browser.
  assert.equal((await fetch(`${base}/api/v1/instances`, { headers: { cookie, 'x-ferry-csrf': csrf } })).status, 401);
  assert.equal((await fetch(`${base}/api/v1/instances`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
});

test('console - the overview charts the instance\'s live numbers from the /metrics series', { skip }, async (t) => {
  const clients = await Promise.all(['ov-1', 'ov-2', 'ov-3'].map((id) => mqttClient(t, ferry.ports.mqtt, id)));
  await clients[0]!.subscribeAsync('ov/#');
  const { page, problems } = await newPage(browser, t);
  await signIn(page, ADMIN);
  await page.getByRole('link', { name: 'mqtt-default', exact: true }).click();
  await page.getByRole('heading', { name: /Overview/ }).waitFor();
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const expected = /ferry_instance_connections\{instance="mqtt-default"\} (\d+)/.exec(metrics)![1]!;
  await waitFor(async () => (await page.getByTestId('value-Connections').textContent()) === expected, { timeoutMs: 8000, message: `Connections shows ${expected}` });
  // Messages flow: the in-rate chart gets a point above zero.
  // A publish that fails (the client closing at teardown) only means one point less on the chart.
  const timer = setInterval(() => clients[1]!.publishAsync('ov/t', 'x').catch(() => undefined), 100);
  t.after(() => clearInterval(timer));
  await waitFor(async () => Number((await page.getByTestId('value-Messages in').textContent())?.replace(/[^\d.]/g, '')) > 0, { timeoutMs: 10000, message: 'messages in > 0' });
  clearInterval(timer);
  await page.getByText('No alarms.').waitFor();
  assert.equal(await page.locator('figure.chart svg path.line').count() > 0, true, 'charts draw lines');
  assert.deepEqual(problems, []);
});

test('console - clients: search by prefix, open a client, kick it and see it go', { skip }, async (t) => {
  const victim = await mqttClient(t, ferry.ports.mqtt, 'kick-me-01');
  await victim.subscribeAsync('kick/topic', { qos: 1 });
  await mqttClient(t, ferry.ports.mqtt, 'kick-other-02');
  await mqttClient(t, ferry.ports.mqtt, 'unrelated-03');
  const closed = new Promise<void>((resolve) => victim.once('close', () => resolve()));
  const { page, problems } = await newPage(browser, t);
  await signIn(page, ADMIN);
  await page.goto(`${base}/console/#/i/mqtt-default/clients`);
  await page.getByLabel('Client ID or prefix').fill('kick-');
  await page.getByRole('button', { name: 'Search' }).click();
  // kick-other-02 is in the unfiltered list too: wait for the filtered page, whose total counts the two kick- clients only.
  await page.getByText('2 in all').waitFor();
  await page.getByRole('link', { name: 'kick-other-02' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'unrelated-03' }).count(), 0, 'the prefix filters');
  await page.getByRole('link', { name: 'kick-me-01' }).click();
  await page.getByText('kick/topic').waitFor();
  assert.equal(await page.getByTestId('client-state').textContent(), 'online');
  await page.getByRole('button', { name: 'Kick' }).click();
  await page.getByRole('button', { name: 'Confirm: Kick' }).click();
  await closed;
  await waitFor(async () => (await page.getByTestId('client-state').textContent()) === 'offline' || (await page.getByRole('alert').count()) > 0, { message: 'client page shows it gone' });
  assert.equal(ferry.broker.client('kick-me-01', 'mqtt-default'), undefined);
  assert.deepEqual(problems, []);
});

test('console - clients are paged: the page holds one page of rows, Next page moves on', { skip }, async (t) => {
  await Promise.all(Array.from({ length: 55 }, (_, i) => mqttClient(t, ferry.ports.mqtt, `page-${String(i).padStart(3, '0')}`)));
  const { page } = await newPage(browser, t);
  await signIn(page, ADMIN);
  await page.goto(`${base}/console/#/i/mqtt-default/clients`);
  await page.getByLabel('Client ID or prefix').fill('page-');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: 'page-049' }).waitFor();
  assert.equal(await page.getByRole('link', { name: /^page-0/ }).count(), 50);
  await page.getByText('55 in all').waitFor();
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.getByRole('link', { name: 'page-054' }).waitFor();
  assert.equal(await page.getByRole('link', { name: /^page-0/ }).count(), 5);
});

test('console - a read-only key sees data but no write controls, and a direct write is refused with 403', { skip }, async (t) => {
  const key = await makeKey('AliyunMQReadOnlyAccess');
  await mqttClient(t, ferry.ports.mqtt, 'ro-target-01');
  const { page, problems } = await newPage(browser, t);
  await signIn(page, key);
  await page.getByRole('link', { name: 'mqtt-default', exact: true }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Create instance' }).count(), 0);
  await page.goto(`${base}/console/#/i/mqtt-default/clients/ro-target-01`);
  await page.getByTestId('client-state').waitFor();
  assert.equal(await page.getByTestId('client-state').textContent(), 'online');
  assert.equal(await page.getByRole('button', { name: /Kick|Clear session/ }).count(), 0, 'no write buttons');
  // The same call the button would make, from the page with the session and its CSRF token.
  const status = await page.evaluate(async () => {
    const session = (await (await fetch('/console/session')).json()) as { csrf: string };
    const res = await fetch('/api/v1/instances/mqtt-default/clients/ro-target-01/kick', { method: 'POST', headers: { 'x-ferry-csrf': session.csrf } });
    return { status: res.status, body: (await res.json()) as { error: { code: string } } };
  });
  assert.equal(status.status, 403);
  assert.equal(status.body.error.code, 'PermissionCheckFailed');
  assert.notEqual(ferry.broker.client('ro-target-01', 'mqtt-default'), undefined, 'the client is still connected');
  assert.deepEqual(problems, []);
});

test('console - a client id and a topic holding HTML are shown as text, never run', { skip }, async (t) => {
  const evilId = '<img src=x onerror="window.__xss=1">';
  const evilTopic = 'xss/<script>window.__xss=2</script>';
  const c = await mqttClient(t, ferry.ports.mqtt, evilId);
  await c.subscribeAsync(evilTopic);
  const { page, problems } = await newPage(browser, t);
  await signIn(page, ADMIN);
  await page.goto(`${base}/console/#/i/mqtt-default/clients`);
  await page.getByLabel('Client ID or prefix').fill('<img');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: evilId }).click();
  await page.getByText(evilTopic).waitFor();
  assert.equal(await page.locator('main img').count(), 0, 'no element was made from the id');
  assert.equal(await page.locator('main script').count(), 0);
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
  assert.deepEqual(problems, []);
});
