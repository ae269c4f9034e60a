/**
 * Debian's stock Firefox (firefox-esr) for console tests, driven over WebDriver BiDi by
 * puppeteer-core (nothing is downloaded). Playwright cannot drive it: its Firefox needs
 * Playwright's patched build, and its BiDi channel (moz-firefox) sends commands Firefox 140 ESR
 * does not have yet (network.addDataCollector). Puppeteer's BiDi works with 140 ESR, except for
 * two things these helpers avoid:
 *  - waitForFunction and locators evaluate `new Function` inside the page, which the console's
 *    CSP (no 'unsafe-eval') refuses in Firefox; so polling happens here, one evaluate per try;
 *  - setViewport sends emulation.setScreenOrientationOverride (not in 140 ESR); the window size
 *    is set at launch instead.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Teardown } from './temp.js';
import { waitFor } from './wait.js';

// puppeteer-core is loaded at run time, and only the parts used here are typed: a checkout whose
// node_modules predates the dependency still type-checks and skips these tests.
export interface ElementHandle {
  type(text: string): Promise<void>;
  click(): Promise<void>;
  dispose(): Promise<void>;
}
interface JSHandle {
  asElement(): ElementHandle | null;
  dispose(): Promise<void>;
}
export interface Page {
  goto(url: string): Promise<unknown>;
  evaluate<A, R>(fn: (arg: A) => R, arg: A): Promise<Awaited<R>>;
  evaluateHandle<A>(fn: (arg: A) => unknown, arg: A): Promise<JSHandle>;
  on(event: 'pageerror', handler: (err: unknown) => void): unknown;
  on(event: 'console', handler: (msg: { type(): string; text(): string }) => void): unknown;
}
export interface BrowserContext {
  newPage(): Promise<Page>;
  cookies(): Promise<Array<{ name: string; value: string; httpOnly: boolean; sameSite?: string }>>;
  close(): Promise<void>;
}
export interface Browser {
  version(): Promise<string>;
  createBrowserContext(): Promise<BrowserContext>;
  close(): Promise<void>;
}
interface Puppeteer {
  launch(options: Record<string, unknown>): Promise<Browser>;
}

const PUPPETEER = 'puppeteer-core';

export const FIREFOX_PATH = process.env['FERRY_TEST_FIREFOX'] ?? '/usr/bin/firefox-esr';

/** Why Firefox tests cannot run here, or undefined when they can. */
export function firefoxMissing(): string | undefined {
  if (!existsSync(FIREFOX_PATH)) return `no Firefox at ${FIREFOX_PATH} (apt-get install firefox-esr, or set FERRY_TEST_FIREFOX)`;
  try {
    createRequire(import.meta.url).resolve(PUPPETEER);
  } catch {
    return `${PUPPETEER} is not installed (npm ci)`;
  }
  return undefined;
}

export async function launchFirefox(t: Teardown): Promise<Browser> {
  const puppeteer = ((await import(PUPPETEER)) as { default: Puppeteer }).default;
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    timeout: 60_000,
    defaultViewport: null,
    args: ['--width=1280', '--height=860'],
  });
  t.after(() => browser.close());
  return browser;
}

/** A fresh context (own cookies) and page; page errors and console errors are collected. */
export async function newFirefoxPage(browser: Browser, t: Teardown): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.createBrowserContext();
  t.after(() => context.close());
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err instanceof Error ? err.message : String(err)}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  return { context, page, problems };
}

/** Polls a page function until it returns an element (one evaluate per try: no in-page Function()). */
async function element(page: Page, what: string, find: (arg: string) => Element | null | undefined, arg: string, timeoutMs = 10_000): Promise<ElementHandle> {
  return waitFor(
    async () => {
      const handle = await page.evaluateHandle(find, arg);
      const el = handle.asElement() as ElementHandle | null;
      if (el === null) await handle.dispose();
      return el;
    },
    { timeoutMs, intervalMs: 100, message: what },
  );
}

/** The form control whose visible <label> reads `label`. */
export function field(page: Page, label: string): Promise<ElementHandle> {
  return element(page, `a field labelled "${label}"`, (l) => [...document.querySelectorAll('label')].find((x) => x.textContent?.trim() === l)?.control, label);
}

/** The button or link whose text is `text`. */
export function control(page: Page, text: string): Promise<ElementHandle> {
  return element(page, `a button or link "${text}"`, (s) => [...document.querySelectorAll('button, a')].find((x) => x.textContent?.trim() === s), text);
}

/** The element with this data-testid, once its text satisfies `ok`; answers the text. */
export async function testIdText(page: Page, testId: string, ok: (text: string) => boolean = () => true, timeoutMs = 10_000): Promise<string> {
  return waitFor(
    async () => {
      const text = await page.evaluate((id) => document.querySelector(`[data-testid="${id}"]`)?.textContent ?? null, testId);
      return text !== null && ok(text) ? text : null;
    },
    { timeoutMs, intervalMs: 200, message: `data-testid ${testId}` },
  );
}

/** Waits until the page's main text contains `text`. */
export async function pageText(page: Page, text: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(async () => page.evaluate((s) => document.body.textContent?.includes(s) === true, text), { timeoutMs, intervalMs: 100, message: `"${text}" on the page` });
}
