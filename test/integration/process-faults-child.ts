/**
 * Child process of process-faults.test.ts: runs the real `ferry start` (the CLI module, as
 * `node dist/src/cli/main.js start ARGS` would) and injects a process-level fault on command over
 * IPC, to check the CLI's last-resort handlers. Test code only: Ferry itself has no such switch.
 * Not a test itself: without the IPC channel of its parent (e.g. when the test runner loads every
 * file under dist/test) it does nothing.
 */
import { CLI_PATH } from '../helpers/cli.js';
import { pathToFileURL } from 'node:url';

if (process.send !== undefined) {
  process.argv = [process.execPath, CLI_PATH, 'start', ...process.argv.slice(2)];
  await import(pathToFileURL(CLI_PATH).href);
  process.on('message', (command: string) => {
    if (command === 'reject') {
      // eslint-disable-next-line @typescript-eslint/no-floating-promises -- the point: a rejection nobody handles
      Promise.reject(new Error('injected stray rejection'));
    } else if (command === 'throw') {
      setTimeout(() => {
        throw new Error('injected uncaught exception');
      });
    }
  });
}
