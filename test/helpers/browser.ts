/**
 * A real headless browser for console tests: playwright-core driving Debian's chromium package
 * (nothing is downloaded). One browser per test file; each scenario takes its own context, so
 * cookies never leak between them. Playwright gives every launch a fresh temporary profile
 * (--user-data-dir) and removes it on close.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Teardown } from './temp.js';

export const CHROMIUM_PATH = process.env['FERRY_TEST_CHROMIUM'] ?? '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why browser tests cannot run here, or undefined when they can. */
export function browserMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `no browser at ${CHROMIUM_PATH} (apt-get install chromium, or set FERRY_TEST_CHROMIUM)`;
}

export async function launchBrowser(t: Teardown): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: FLAGS, timeout: 30_000 });
  t.after(() => browser.close());
  return browser;
}

/** A fresh context (own cookies) and page; page errors and CSP violations are collected. */
export async function newPage(browser: Browser, t: Teardown): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  t.after(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 40[134]/.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  return { context, page, problems };
}

/** A new page signed in to the console at `base` with an AccessKey, on the Instances page. */
export async function signedInPage(
  browser: Browser,
  t: Teardown,
  base: string,
  key: { id: string; secret: string },
): Promise<{ page: Page; problems: string[] }> {
  const { page, problems } = await newPage(browser, t);
  await page.goto(`${base}/console/`);
  await page.getByLabel('AccessKey ID', { exact: true }).fill(key.id);
  await page.getByLabel('AccessKey Secret', { exact: true }).fill(key.secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Instances', exact: true }).waitFor();
  return { page, problems };
}
