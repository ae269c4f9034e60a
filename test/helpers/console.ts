/**
 * The fixture every console browser suite shares: one Ferry with a bootstrap AccessKey and one
 * browser for the whole file, started in the file's `before` hook and stopped (last first) in its
 * `after` hook. Nothing starts when `skip` says the browser is missing.
 */
import { after, before } from 'node:test';
import type { FerryConfigInput, RunningFerry } from '../../src/internal.js';
import { startFerry } from './ferry.js';
import type { Teardown } from './temp.js';

export interface ConsoleFixture<B> {
  readonly ferry: RunningFerry;
  readonly browser: B;
  /** `http://127.0.0.1:<http port>` */
  readonly base: string;
}

export function consoleFixture<B>(
  options: {
    admin: { id: string; secret: string };
    skip: string | undefined;
    launch: (t: Teardown) => Promise<B>;
    config?: FerryConfigInput;
  },
  ready: (fixture: ConsoleFixture<B>) => void,
): void {
  const cleanups: Array<() => unknown> = [];
  const files: Teardown = { after: (fn) => void cleanups.push(fn) };
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  before(async () => {
    if (options.skip !== undefined) return;
    const ferry = await startFerry(
      files,
      { ...options.config, bootstrapAccessKeyId: options.admin.id, bootstrapAccessKeySecret: options.admin.secret },
      { announce: null },
    );
    const browser = await options.launch(files);
    ready({ ferry, browser, base: `http://127.0.0.1:${ferry.ports.http}` });
  });
}
