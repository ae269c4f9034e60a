/**
 * Preloaded into a child Ferry (`node --import <this file>`): records the URL of every script V8
 * parses on the main thread (the inspector's Debugger.scriptParsed), one a line, appended to
 * $FERRY_TEST_SCRIPTS_FILE as it is parsed: a test reads what the broker has loaded so far, for
 * real, at any point (test/integration/start-loads.test.ts).
 */
import { Session } from 'node:inspector';
import { appendFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const out = process.env['FERRY_TEST_SCRIPTS_FILE'];
if (isMainThread && out !== undefined) {
  const session = new Session();
  session.connect();
  session.on('Debugger.scriptParsed', (m) => {
    if (m.params.url !== '') appendFileSync(out, `${m.params.url}\n`);
  });
  session.post('Debugger.enable');
}
