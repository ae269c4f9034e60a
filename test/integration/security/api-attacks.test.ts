/**
 * Issue 12, HTTP side: a key holder with almost no rights, and anonymous HTTP clients, try to
 * exhaust or lock up the API — for real, over loopback, bounded in count and time, while the
 * admin (the bystander here) keeps working. The limits are in docs/security.md.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { test } from 'node:test';
import { signedHeaders } from '../../../src/api/rest/signing.js';
import { signRpc } from '../../../src/api/rpc/signature.js';
import type { RunningFerry } from '../../../src/internal.js';
import type { PolicyDocument } from '../../../src/auth/policy.js';
import { startFerry } from '../../helpers/index.js';
import { startBystander } from '../../helpers/bystander.js';

const ADMIN = { id: 'SECADMIN0001', secret: 'security-admin-secret-0001' };
/** Allowed only to subscribe to two topics: no API action at all. */
const SUB_ONLY: PolicyDocument = {
  Statement: [{ Effect: 'Allow', Action: ['mq:SUB'], Resource: ['acs:mq:*:*:topic/mqtt-default/a', 'acs:mq:*:*:topic/mqtt-default/b'] }],
};

async function ferryWithKeys(t: Parameters<typeof startFerry>[0], config: Parameters<typeof startFerry>[1] = {}): Promise<{ ferry: RunningFerry; url: string; low: { id: string; secret: string } }> {
  const ferry = await startFerry(t, { bootstrapAccessKeyId: ADMIN.id, bootstrapAccessKeySecret: ADMIN.secret, ...config });
  const { key, secret } = await ferry.auth.keys.create({ policies: [SUB_ONLY] });
  return { ferry, url: `http://127.0.0.1:${ferry.ports.http}`, low: { id: key.id, secret } };
}

/** One signed RPC call (signature v1) with the nonce we choose; the answer's Code or 'OK'. */
async function rpc(url: string, key: { id: string; secret: string }, action: string, nonce: string, extra: Record<string, string> = {}): Promise<string> {
  const params = new Map([
    ...Object.entries(extra),
    ['Action', action],
    ['Version', '2020-04-20'],
    ['Format', 'JSON'],
    ['AccessKeyId', key.id],
    ['SignatureMethod', 'HMAC-SHA1'],
    ['SignatureVersion', '1.0'],
    ['SignatureNonce', nonce],
    ['Timestamp', new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')],
  ]);
  params.set('Signature', signRpc('POST', params, key.secret));
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams([...params]).toString() });
  const body = (await res.json()) as { Code?: string };
  return res.ok ? 'OK' : String(body.Code);
}

/** One signed REST call with the nonce we choose; status and error code. */
async function rest(url: string, key: { id: string; secret: string }, method: string, path: string, nonce?: string, body?: unknown): Promise<{ status: number; code: string | undefined; body: Record<string, unknown> }> {
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers: Record<string, string> = {
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...signedHeaders({ method, path: `/api/v1${path}`, query: '', body: text, ...(nonce === undefined ? {} : { nonce }) }, key),
  };
  const res = await fetch(`${url}/api/v1${path}`, { method, headers, ...(body === undefined ? {} : { body: text }) });
  const raw = await res.text();
  const parsed = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown> & { error?: { code: string } });
  return { status: res.status, code: (parsed as { error?: { code: string } }).error?.code, body: parsed };
}

function nonceOf(i: number, length: number): string {
  return `${i}-`.padEnd(length, 'n');
}

test('nonces - a subscribe-only key cannot fill the RPC nonce cache or throttle the admin', async (t) => {
  const { ferry, url, low } = await ferryWithKeys(t, { apiNoncesPerKey: 200 });
  const hits = ferry.broker.counters.limitHits;
  // Huge nonces (the issue's 900 KB) are refused before anything is stored.
  for (let i = 0; i < 10; i++) assert.equal(await rpc(url, low, 'ListInstances', nonceOf(i, 900_000)), 'InvalidParameter');
  assert.equal(hits.get('api_nonce_length'), 10);
  // The key's quota of live nonces: 200 forbidden calls use it up, then the key is throttled.
  const codes = new Map<string, number>();
  for (let i = 0; i < 260; i++) {
    const code = await rpc(url, low, 'QueryToken', nonceOf(i, 64), { InstanceId: 'mqtt-default', Token: 'x' });
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(codes), { 'Forbidden.RAM': 200, Throttling: 60 });
  assert.equal(hits.get('api_nonce_quota'), 60);
  // Everyone else is unaffected, and replays are still refused.
  assert.equal(await rpc(url, ADMIN, 'ListInstances', 'admin-nonce-1'), 'OK');
  assert.equal(await rpc(url, ADMIN, 'ListInstances', 'admin-nonce-1'), 'SignatureNonceUsed');
});

test('nonces - a subscribe-only key cannot fill the REST nonce cache or throttle the admin', async (t) => {
  const { ferry, url, low } = await ferryWithKeys(t, { apiNoncesPerKey: 300 });
  const bystander = await startBystander(t, ferry.ports.mqtt);
  const tooLong = await rest(url, low, 'GET', '/access-keys', nonceOf(0, 15_000));
  assert.deepEqual([tooLong.status, tooLong.code], [401, 'InvalidNonce']);
  const statuses = new Map<number, number>();
  // 20 at a time, as a load generator would.
  for (let i = 0; i < 400; i += 20) {
    const batch = await Promise.all(Array.from({ length: 20 }, (_, j) => rest(url, low, 'GET', '/access-keys', nonceOf(i + j, 64))));
    for (const r of batch) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(statuses), { 403: 300, 429: 100 });
  const admin = await rest(url, ADMIN, 'GET', '/instances');
  assert.equal(admin.status, 200, JSON.stringify(admin.body));
  const report = await bystander.stop();
  assert.equal(report.lost, 0, JSON.stringify(report));
});

test('bearer tokens - one key cannot cancel other keys\' tokens; each key has its own quota', async (t) => {
  const { ferry, url, low } = await ferryWithKeys(t, { apiTokensPerKey: 50 });
  const issue = (key: { id: string; secret: string }): Promise<Response> =>
    fetch(`${url}/api/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accessKeyId: key.id, accessKeySecret: key.secret }) });
  const adminToken = ((await (await issue(ADMIN)).json()) as { token: string }).token;
  const statuses: number[] = [];
  for (let i = 0; i < 80; i++) statuses.push((await issue(low)).status);
  assert.equal(statuses.filter((s) => s === 201).length, 50);
  assert.equal(statuses.filter((s) => s === 429).length, 30);
  assert.equal(ferry.broker.counters.limitHits.get('api_token_quota'), 30);
  const whoami = await fetch(`${url}/api/v1/auth/whoami`, { headers: { authorization: `Bearer ${adminToken}` } });
  assert.equal(whoami.status, 200, "the admin's token survived");
  assert.equal((await issue(ADMIN)).status, 201, 'and the admin can still get more');
});

function rawHttp(port: number, localAddress?: string): Promise<Socket> {
  const socket = netConnect({ host: '127.0.0.1', port, ...(localAddress === undefined ? {} : { localAddress }) });
  socket.on('error', () => {});
  return once(socket, 'connect').then(() => socket);
}

function get(port: number, path: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.setTimeout(3000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

test('http - slow clients are cut by the header timeout and one address cannot hold every connection', async (t) => {
  const ferry = await startFerry(t, { httpHeadersTimeoutMs: 1000, httpRequestTimeoutMs: 2000, httpMaxConnectionsPerAddress: 20 });
  const port = ferry.ports.http;
  const bystander = await startBystander(t, ferry.ports.mqtt);
  // 100 connections from one address trickling header bytes (slowloris).
  const sockets = await Promise.all(Array.from({ length: 100 }, () => rawHttp(port)));
  t.after(() => sockets.forEach((s) => s.destroy()));
  const started = Date.now();
  for (const s of sockets) s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  const trickle = setInterval(() => sockets.forEach((s) => !s.destroyed && s.write('X-a: b\r\n')), 200);
  t.after(() => clearInterval(trickle));
  // Another loopback address is another client: it is served meanwhile.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await get(port, '/healthz', '127.0.0.2'), 200);
  await Promise.all(sockets.map((s) => (s.closed ? undefined : new Promise((r) => s.once('close', r)))));
  clearInterval(trickle);
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 3500, `all slow connections closed after ${elapsed} ms`);
  const hits = ferry.broker.counters.limitHits;
  assert.equal(hits.get('http_connections_per_address'), 80);
  assert.ok(hits.get('http_timeout') >= 1, 'the 20 admitted were cut by the timeout');
  assert.equal(await get(port, '/healthz', '127.0.0.1'), 200, 'the address is served again once its connections are gone');
  const report = await bystander.stop();
  assert.equal(report.lost, 0, JSON.stringify(report));
});

test('api - documented policy forms are accepted; lone surrogates in topics are refused', async (t) => {
  const { url } = await ferryWithKeys(t);
  for (const form of ['mq:SUB', ['mq:SUB']]) {
    const created = await rest(url, ADMIN, 'POST', '/access-keys', undefined, {
      policies: [{ Version: '1', Statement: [{ Effect: 'Allow', Action: form, Resource: Array.isArray(form) ? ['acs:mq:*:*:topic/mqtt-default/a'] : 'acs:mq:*:*:topic/mqtt-default/a' }] }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  }
  const lone = await rest(url, ADMIN, 'POST', '/instances/mqtt-default/messages', undefined, { topic: 'a/\ud800', payload: 'x' });
  assert.equal(lone.status, 400, JSON.stringify(lone.body));
  assert.equal((lone.body['error'] as { field?: string }).field, 'body.topic');
  const ok = await rest(url, ADMIN, 'POST', '/instances/mqtt-default/messages', undefined, { topic: 'a/\ud83d\ude00', payload: 'x' });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
});

test('metrics - open on loopback, a bearer token from elsewhere, by setting', async (t) => {
  const token = 'metrics-token-0123456789';
  const ferry = await startFerry(t, { metricsToken: token });
  const fromLoopback = await ferry.http.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' });
  assert.equal(fromLoopback.statusCode, 200);
  const remote = await ferry.http.inject({ method: 'GET', url: '/metrics', remoteAddress: '192.0.2.7' });
  assert.equal(remote.statusCode, 401);
  const wrong = await ferry.http.inject({ method: 'GET', url: '/metrics', remoteAddress: '192.0.2.7', headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.statusCode, 401);
  const right = await ferry.http.inject({ method: 'GET', url: '/metrics', remoteAddress: '192.0.2.7', headers: { authorization: `Bearer ${token}` } });
  assert.equal(right.statusCode, 200);
  assert.match(right.body, /ferry_limit_hits_total\{limit="api_nonce_quota"\} 0/);

  const strict = await startFerry(t, { metricsAccess: 'token', metricsToken: token });
  const res = await fetch(`http://127.0.0.1:${strict.ports.http}/metrics`);
  assert.equal(res.status, 401, 'token mode: loopback needs the token too');
});
