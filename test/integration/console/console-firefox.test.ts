/**
 * The console in Firefox: Debian's firefox-esr over WebDriver BiDi (puppeteer-core; no browser
 * download; test/helpers/firefox.ts says why not Playwright). A smoke suite against a running
 * Ferry with a live mqtt.js client: sign in, the overview's live numbers, the clients page and a
 * client's page, sending a message the client receives, creating a rule, and sign out (the
 * session ends server-side).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunningFerry } from '../../../src/internal.js';
import { control, field, firefoxMissing, launchFirefox, newFirefoxPage, pageText, testIdText, type Browser } from '../../helpers/firefox.js';
import { consoleFixture } from '../../helpers/console.js';
import { mqttClient, waitFor } from '../../helpers/index.js';

const ADMIN = { id: 'ConsoleFirefox1', secret: 'console-firefox-secret-0123456789' };
const INSTANCE = 'mqtt-default';
const skip = firefoxMissing();

let ferry: RunningFerry;
let browser: Browser;
let base: string;

consoleFixture({ admin: ADMIN, skip, launch: launchFirefox }, (fixture) => ({ ferry, browser, base } = fixture));

test('console in firefox - sign in, live overview, a client\'s page, send a message, create a rule, sign out', { skip }, async (t) => {
  assert.match(await browser.version(), /firefox/i);
  const sub = await mqttClient(t, ferry.ports.mqtt, 'firefox-sub-01');
  await sub.subscribeAsync('firefox/#', { qos: 1 });
  const got = new Promise<string>((resolve) => sub.once('message', (_topic, payload) => resolve(payload.toString())));
  const { context, page, problems } = await newFirefoxPage(browser, t);

  await page.goto(`${base}/console/`);
  await (await field(page, 'AccessKey ID')).type(ADMIN.id);
  await (await field(page, 'AccessKey Secret')).type(ADMIN.secret);
  await (await control(page, 'Sign in')).click();
  await (await control(page, INSTANCE)).click();
  await pageText(page, 'Overview');
  await testIdText(page, 'value-Connections', (text) => Number(text) >= 1);

  await (await control(page, 'Clients')).click();
  await (await control(page, 'firefox-sub-01')).click();
  assert.equal(await testIdText(page, 'client-state'), 'online');
  await pageText(page, 'firefox/#');

  await (await control(page, 'Send a message')).click();
  await (await field(page, 'Topic')).type('firefox/a');
  await (await field(page, 'Payload')).type('hello from firefox');
  await (await control(page, 'Send message')).click();
  assert.equal(await got, 'hello from firefox');
  assert.match(await testIdText(page, 'msg-id'), /^[0-9A-F]{32}$/i);

  await (await control(page, 'Rules')).click();
  await (await field(page, 'Rule name')).type('ff-queue');
  await (await field(page, 'Topic filters')).type('firefox/#');
  await (await field(page, 'Queue name')).type('ff-jobs');
  await (await control(page, 'Create rule')).click();
  await control(page, 'ff-queue');
  await sub.publishAsync('firefox/b', 'to the queue', { qos: 1 });
  await waitFor(async () => ((await (await fetch(`${base}/metrics`)).text()).match(/ferry_rule_delivered_total\{[^}]*\} 1/) ? true : null), { timeoutMs: 10_000, message: 'the rule delivered' });

  const cookie = (await context.cookies()).find((c) => c.name === 'ferry_console');
  assert.ok(cookie !== undefined && cookie.httpOnly && cookie.sameSite === 'Strict', JSON.stringify(cookie));
  const csrf = ((await (await fetch(`${base}/console/session`, { headers: { cookie: `ferry_console=${cookie.value}` } })).json()) as { csrf: string }).csrf;
  const headers = { cookie: `ferry_console=${cookie.value}`, 'x-ferry-csrf': csrf };
  assert.equal((await fetch(`${base}/api/v1/instances`, { headers })).status, 200);
  await (await control(page, 'Sign out')).click();
  await control(page, 'Sign in');
  assert.equal((await fetch(`${base}/api/v1/instances`, { headers })).status, 401, 'the session ended server-side');
  assert.deepEqual(problems, []);
});
