/**
 * JWT authentication and the HTTP authentication/authorization callbacks, per instance, against
 * real local HTTP servers (node:http on port 0: a JWKS endpoint and the callback service) and
 * real mqtt.js clients. Tokens are signed with jose.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { captureLogger, startFerry, tempDir } from '../../helpers/index.js';
import { rest } from '../api/rest-client.js';
import { ADMIN, closed, open, publish, refused, subscribe } from './fixture.js';

const SECRET = 'hs256-secret-for-tests-0123456789abcdef';
const V5 = { protocolVersion: 5 as const };

async function hs256(payload: JWTPayload, secret = SECRET, alg = 'HS256'): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg }).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(secret));
}

interface Served {
  readonly url: string;
  readonly hits: Map<string, number>;
  readonly bodies: Array<{ path: string; body: Record<string, unknown>; headers: IncomingMessage['headers'] }>;
}

/** A local HTTP server on port 0; `route` answers by path. */
async function serve(t: TestContext, route: (path: string, body: Record<string, unknown>, res: ServerResponse) => void): Promise<Served> {
  const hits = new Map<string, number>();
  const bodies: Served['bodies'] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      const path = req.url ?? '/';
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
      bodies.push({ path, body, headers: req.headers });
      route(path, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, bodies };
}

function json(res: ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(body === undefined ? undefined : JSON.stringify(body));
}

test('external auth - JWT per instance: HS256 inline on one, ES256 from a PEM file on another; claims map client id, instance and topics', async (t) => {
  const dir = tempDir(t, 'ferry-jwt-');
  const es = await generateKeyPair('ES256');
  const pemFile = join(dir, 'es256.pem');
  writeFileSync(pemFile, await exportSPKI(es.publicKey));
  const ferry = await startFerry(
    t,
    {
      storeEngine: 'memory',
      bootstrapAccessKeyId: ADMIN.id,
      bootstrapAccessKeySecret: ADMIN.secret,
      listenerInstances: { ws: 'mqtt-es' },
      externalAuth: {
        'mqtt-default': { jwt: { algorithms: ['HS256'], secret: SECRET } },
        'mqtt-es': { jwt: { algorithms: ['ES256'], publicKeyFile: pemFile, from: 'username' } },
      },
    },
    { announce: null },
  );
  const endpoint = `http://127.0.0.1:${ferry.ports.http}`;
  assert.equal((await rest(endpoint, ADMIN, 'POST', '/instances', { instanceId: 'mqtt-es', mode: 'relaxed' })).status, 201);
  const tcp = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const ws = `ws://127.0.0.1:${ferry.ports.ws}/mqtt`;

  const acl = { pub: ['up/${clientid}/#'], sub: ['down/${clientid}'] };
  const token = await hs256({ clientid: 'dev1', instance: 'mqtt-default', acl });
  const dev = await open(t, tcp, { ...V5, clientId: 'dev1', username: 'dev1', password: token });
  assert.equal(await publish(dev, 'up/dev1/temp'), 0);
  assert.equal(await publish(dev, 'up/dev2/temp'), 0x87, 'outside the acl claim');
  assert.deepEqual(await subscribe(dev, 'down/dev1'), [1]);
  assert.deepEqual(await subscribe(dev, 'down/#'), [0x87]);

  // Refusals: each a failed login (0x86).
  assert.equal(await refused(t, tcp, { ...V5, clientId: 'dev1', username: 'dev1', password: await hs256({ clientid: 'dev1' }, 'another-secret-that-is-long-enough-0000') }), 0x86, 'bad signature');
  assert.equal(await refused(t, tcp, { ...V5, clientId: 'dev2', username: 'dev2', password: token }), 0x86, 'client id claim of another client');
  assert.equal(await refused(t, tcp, { ...V5, clientId: 'dev1', username: 'dev1', password: await hs256({ instance: 'mqtt-es' }) }), 0x86, 'instance claim of another instance');
  assert.equal(await refused(t, tcp, { ...V5, clientId: 'dev1', username: 'dev1', password: await hs256({}, SECRET, 'HS512') }), 0x86, 'algorithm not allowed');
  const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(new TextEncoder().encode(SECRET));
  assert.equal(await refused(t, tcp, { ...V5, clientId: 'dev1', username: 'dev1', password: expired }), 0x86, 'expired');
  assert.equal(await refused(t, tcp, { clientId: 'dev1', username: 'dev1', password: expired }), 4, 'MQTT 3.1.1: bad user name or password');
  // No JWT at all: the instance's usual answer (anonymous on a loopback default instance).
  const anon = await open(t, tcp, { clientId: 'plain' });
  assert.equal(anon.connack.returnCode, 0);

  // The token's expiry closes the connection.
  const short = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor(Date.now() / 1000) + 2).sign(new TextEncoder().encode(SECRET));
  const brief = await open(t, tcp, { ...V5, clientId: 'brief', username: 'brief', password: short });
  await closed(brief, 5000);
  assert.equal(brief.disconnectReason, 0x87);

  // The other instance: ES256 from the PEM file, token in the username; HS256 is not its algorithm.
  const esToken = await new SignJWT({ clientid: 'sensor-1' }).setProtectedHeader({ alg: 'ES256' }).setExpirationTime('1h').sign(es.privateKey);
  const sensor = await open(t, ws, { ...V5, clientId: 'sensor-1', username: esToken });
  assert.equal(await publish(sensor, 'any/topic'), 0, 'no acl claim: every topic of the instance');
  const sensorInfo = await rest(endpoint, ADMIN, 'GET', '/instances/mqtt-es/clients/sensor-1');
  assert.equal(sensorInfo.body['connected'], true);
  assert.equal(sensorInfo.body['username'], '(JWT)', 'a token in the username is a credential: not shown');
  assert.equal(await refused(t, ws, { ...V5, clientId: 'sensor-2', username: await hs256({}) }), 0x86);
  assert.equal(await refused(t, ws, { ...V5, clientId: 'sensor-1', username: 'not-a-jwt' }), 0x86, 'no JWT and no custom identity of that name');
  assert.equal(await refused(t, ws, { ...V5, clientId: 'sensor-1' }), 0x87, 'no credentials: anonymous, which only the default instance allows');
});

test('external auth - RS256 keys from a JWKS URL are fetched once and cached', async (t) => {
  const rs = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(rs.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const jwks = await serve(t, (path, _body, res) => (path === '/jwks.json' ? json(res, 200, { keys: [jwk] }) : json(res, 404)));
  const ferry = await startFerry(t, {
    storeEngine: 'memory',
    broker: { allowAnonymous: false },
    externalAuth: { 'mqtt-default': { jwt: { algorithms: ['RS256'], jwksUrl: `${jwks.url}/jwks.json`, jwksCacheSeconds: 600, audience: 'ferry' } } },
  }, { announce: null });
  const tcp = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const sign = (kid: string, aud = 'ferry'): Promise<string> => new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid }).setAudience(aud).setExpirationTime('1h').sign(rs.privateKey);

  // MQTT 3.1.1 needs a user name with a password [MQTT-3.1.2-22]; any name without '|' will do.
  for (const id of ['a', 'b', 'c']) await open(t, tcp, { clientId: id, username: 'device', password: await sign('k1') });
  assert.equal(jwks.hits.get('/jwks.json'), 1, 'the key set is cached');
  assert.equal(await refused(t, tcp, { clientId: 'd', username: 'device', password: await sign('k1', 'someone-else') }), 4, 'wrong audience');
  assert.equal(await refused(t, tcp, { clientId: 'e', username: 'device', password: await sign('unknown-kid') }), 4, 'a kid the set does not have');
  assert.equal(jwks.hits.get('/jwks.json'), 1, 'an unknown kid does not refetch within the cooldown');
  assert.equal(await refused(t, tcp, { clientId: 'f' }), 5, 'no token, and anonymous access is off');
});

test('external auth - HTTP callbacks authenticate and authorize with caching, timeouts, failure policy, and no secret logged', async (t) => {
  const service = await serve(t, (path, body, res) => {
    if (path === '/auth') {
      const password = String(body['password']);
      if (password === 'good') return json(res, 200, { result: 'allow', acl: { all: ['ok/#', 'no/#', 'slow/#'] } });
      if (password === 'nocontent') return json(res, 204);
      if (password === 'bad') return json(res, 401, { result: 'deny' });
      if (password === 'boom') return json(res, 500);
      if (password === 'skip') return json(res, 200, { result: 'ignore' });
      if (password === 'slow') return void setTimeout(() => json(res, 200, { result: 'allow' }), 1500);
      return json(res, 200, { result: 'deny' });
    }
    if (path === '/authz') {
      const topic = String(body['topic']);
      if (topic.startsWith('ok/')) return json(res, 200, { result: 'allow' });
      if (topic.startsWith('slow/')) return void setTimeout(() => json(res, 200, { result: 'allow' }), 1500);
      return json(res, 403);
    }
    json(res, 404);
  });
  const logs = captureLogger('debug');
  const ferry = await startFerry(
    t,
    {
      storeEngine: 'memory',
      broker: { allowAnonymous: false },
      externalAuth: {
        'mqtt-default': {
          http: {
            authUrl: `${service.url}/auth`,
            authorizeUrl: `${service.url}/authz`,
            headers: { authorization: 'Bearer callback-service-secret' },
            timeoutMs: 300,
            cacheSeconds: 60,
            failurePolicy: 'deny',
          },
        },
      },
    },
    { announce: null, logger: logs.logger },
  );
  const tcp = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;

  const dev = await open(t, tcp, { ...V5, clientId: 'dev1', username: 'alice', password: 'good' });
  const asked = service.bodies.find((b) => b.path === '/auth')!;
  assert.deepEqual(
    { ...asked.body, remotePort: 0 },
    { clientId: 'dev1', username: 'alice', password: 'good', instanceId: 'mqtt-default', remoteAddress: '127.0.0.1', remotePort: 0, listener: 'mqtt', transport: 'tcp', protocolVersion: 5 },
  );
  assert.equal(asked.headers['authorization'], 'Bearer callback-service-secret');
  dev.client.end(true);
  await closed(dev);
  const again = await open(t, tcp, { ...V5, clientId: 'dev1', username: 'alice', password: 'good' });
  assert.equal(service.hits.get('/auth'), 1, 'the answer is cached');

  // Authorization: asked per topic and action, cached; the client's packets wait for the answer.
  assert.equal(await publish(again, 'ok/1'), 0);
  assert.equal(await publish(again, 'ok/1'), 0);
  assert.equal(service.hits.get('/authz'), 1, 'the authorization is cached');
  assert.equal(await publish(again, 'no/1'), 0x87, 'callback says 403');
  assert.deepEqual(await subscribe(again, ['ok/#', 'no/#']), [1, 0x87]);
  assert.equal(await publish(again, 'elsewhere/1'), 0x87, 'outside the acl of the auth answer: the callback is not even asked');
  const started = Date.now();
  assert.equal(await publish(again, 'slow/1'), 0x87, 'timeout: failure policy deny');
  assert.ok(Date.now() - started < 1400, 'the timeout, not the slow answer, decided');
  assert.equal(await publish(again, 'ok/2'), 0, 'still connected, in order');

  // Authentication refusals.
  assert.equal(await refused(t, tcp, { ...V5, clientId: 'x1', username: 'alice', password: 'bad' }), 0x86, '4xx');
  assert.equal(await refused(t, tcp, { ...V5, clientId: 'x2', username: 'alice', password: 'boom' }), 0x86, '5xx, policy deny');
  const t0 = Date.now();
  assert.equal(await refused(t, tcp, { ...V5, clientId: 'x3', username: 'alice', password: 'slow' }), 0x86, 'timeout, policy deny');
  assert.ok(Date.now() - t0 < 1400);
  assert.equal(await refused(t, tcp, { ...V5, clientId: 'x4', username: 'alice', password: 'skip' }), 0x86, 'ignore: no custom identity alice, anonymous off');
  const noContent = await open(t, tcp, { ...V5, clientId: 'x5', username: 'bob', password: 'nocontent' });
  assert.equal(noContent.connack.reasonCode, 0, '204 = allow');

  // Nothing secret in the logs.
  const text = JSON.stringify(logs.lines);
  assert.ok(text.includes('HTTP auth callback failed'), 'failures are logged');
  for (const secret of ['callback-service-secret', '"good"', '"slow"', '"boom"']) assert.ok(!text.includes(secret), `${secret} logged`);
});

test('external auth - failure policy "ignore" lets the instance decide when the callback is down', async (t) => {
  const down = await serve(t, (_path, _body, res) => json(res, 503));
  const ferry = await startFerry(t, {
    storeEngine: 'memory',
    externalAuth: { 'mqtt-default': { http: { authUrl: `${down.url}/auth`, timeoutMs: 500, failurePolicy: 'ignore' } } },
  }, { announce: null });
  const tcp = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  // Anonymous access is on (loopback): a callback failure falls through to it.
  const dev = await open(t, tcp, { clientId: 'dev1', username: 'u', password: 'p' });
  assert.equal(dev.connack.returnCode, 0);
  assert.equal(down.hits.get('/auth'), 1);
  // Failures are not cached: the next client asks again.
  await open(t, tcp, { clientId: 'dev2', username: 'u', password: 'p' });
  assert.equal(down.hits.get('/auth'), 2);
});
