/** The console can be turned off: no page, no session routes, the REST API unchanged. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFerry } from '../../helpers/index.js';

test('console - console=false serves no console and no session cookie route; the API still works', async (t) => {
  const ferry = await startFerry(t, { console: false, bootstrapAccessKeyId: 'ConsoleOff0001', bootstrapAccessKeySecret: 'console-off-secret-0123456789' }, { announce: null });
  const base = `http://127.0.0.1:${ferry.ports.http}`;
  assert.equal((await fetch(`${base}/console/`)).status, 404);
  assert.equal((await fetch(`${base}/console`, { redirect: 'manual' })).status, 404);
  const signIn = await fetch(`${base}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accessKeyId: 'ConsoleOff0001', accessKeySecret: 'console-off-secret-0123456789' }) });
  assert.equal(signIn.status, 404);
  assert.equal(signIn.headers.get('set-cookie'), null);
  const token = await fetch(`${base}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accessKeyId: 'ConsoleOff0001', accessKeySecret: 'console-off-secret-0123456789' }) });
  assert.equal(token.status, 201);
});

test('console - on by default at /console/', async (t) => {
  const ferry = await startFerry(t, {}, { announce: null });
  const res = await fetch(`http://127.0.0.1:${ferry.ports.http}/console/`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /<div id="app">/);
});
