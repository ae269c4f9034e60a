import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createConnectorRegistry, type TargetItem } from '../../../src/rules/connectors/index.js';
import { asMessages, assertProperties, assertStatusBody, fullMessage, plainMessage, statusEvent } from '../../helpers/connector-fixtures.js';
import type { Teardown } from '../../helpers/temp.js';

const registry = createConnectorRegistry();

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A local HTTP receiver on port 0; `respond` decides the answer per request. */
async function receiver(
  t: Teardown,
  respond: (req: Received, res: ServerResponse) => void = (_req, res) => res.writeHead(204).end(),
): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      received.push(r);
      respond(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

/** What a receiver does: recompute HMAC-SHA256(secret, "<timestamp>.<raw body>") and compare in constant time. */
function verify(secret: string, req: Received): boolean {
  const timestamp = String(req.headers['x-ferry-timestamp']);
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(req.body).digest('hex')}`);
  const given = Buffer.from(String(req.headers['x-ferry-signature']));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('webhook connector', () => {
  it('webhook connector - POSTs JSON with every property, payload base64, a verifiable signature; status = reference body', async (t) => {
    const { url, received } = await receiver(t);
    const secret = 'per-rule-secret';
    const target = registry.createTarget(`${url}/hooks/ferry?tenant=a`, { secret });
    t.after(() => target.stop());
    await target.start();
    const messages = [fullMessage(1), plainMessage(2)];
    const events = [statusEvent(3, 'disconnect')];
    const batch: TargetItem[] = [...asMessages(messages), ...events.map((event) => ({ type: 'status' as const, event }))];
    assert.deepEqual(await target.deliver(batch), batch.map(() => ({ ok: true })));
    assert.equal(received.length, 3);
    for (const req of received) {
      assert.equal(req.method, 'POST');
      assert.equal(req.url, '/hooks/ferry?tenant=a', 'the query is the receiver\'s, passed unchanged');
      assert.equal(req.headers['content-type'], 'application/json');
      assert.ok(verify(secret, req), 'signature verifies with the secret');
      assert.ok(!verify('other-secret', req), 'and not with another one');
      assert.ok(Math.abs(Number(req.headers['x-ferry-timestamp']) - Date.now()) < 60_000);
    }
    // Requests run concurrently: match bodies by msgId, not by arrival order.
    for (const message of messages) {
      const req = received.find((r) => r.headers['x-ferry-event'] === 'message' && JSON.parse(r.body.toString()).msgId === message.msgId)!;
      const { payload, ...properties } = JSON.parse(req.body.toString()) as Record<string, string>;
      assertProperties(properties, message);
      assert.deepEqual(Buffer.from(payload!, 'base64'), message.payload);
    }
    const status = received.find((r) => r.headers['x-ferry-event'] === 'disconnect')!;
    assertStatusBody(status.body, events[0]!);
    // A tampered body no longer verifies.
    assert.ok(!verify(secret, { ...status, body: Buffer.from(status.body.toString().replace('disconnect', 'connect')) }));
  });

  it('webhook connector - 5xx/429 are retryable, other 4xx are refusals, slow receivers time out, credentials go as Basic auth', async (t) => {
    const statuses = [500, 429, 400, 404];
    const { url, received } = await receiver(t, (req, res) => {
      const wanted = Number(new URL(req.url, 'http://x').searchParams.get('status'));
      if (wanted === 0) return; // never answers
      res.writeHead(wanted).end();
    });
    for (const status of statuses) {
      const target = registry.createTarget(`${url}/?status=${status}`);
      t.after(() => target.stop());
      const [outcome] = await target.deliver(asMessages([plainMessage(status)]));
      assert.ok(outcome && !outcome.ok, `HTTP ${status} fails`);
      assert.equal(outcome.reason.startsWith(`HTTP ${status}`), true, outcome.reason);
      assert.equal(outcome.retryable, status >= 500 || status === 429, `HTTP ${status} retryable`);
    }
    const slow = registry.createTarget(`${url}/?status=0`, { timeoutMs: 300 });
    t.after(() => slow.stop());
    const started = Date.now();
    const [timedOut] = await slow.deliver(asMessages([plainMessage(1)]));
    assert.ok(timedOut && !timedOut.ok && timedOut.retryable && /300 ms/.test(timedOut.reason), JSON.stringify(timedOut));
    assert.ok(Date.now() - started < 3_000);

    const withAuth = registry.createTarget(`http://user:p%40ss@${url.slice('http://'.length)}/?status=200`);
    t.after(() => withAuth.stop());
    assert.equal(withAuth.url.includes('p%40ss'), false, 'the shown URL hides the password');
    assert.ok((await withAuth.deliver(asMessages([plainMessage(9)])))[0]!.ok);
    assert.equal(received.at(-1)!.headers.authorization, `Basic ${Buffer.from('user:p@ss').toString('base64')}`);
  });

  it('webhook connector - keeps per-client order: a client\'s later messages are not sent after one of its failures', async (t) => {
    const { url, received } = await receiver(t, (req, res) => {
      const body = JSON.parse(req.body.toString()) as { msgId: string };
      // Slow first answers would let a later message overtake if requests of one client overlapped.
      const delay = body.msgId.endsWith('1') ? 100 : 0;
      setTimeout(() => res.writeHead(body.msgId.endsWith('3') ? 503 : 204).end(), delay);
    });
    const target = registry.createTarget(`${url}/in`);
    t.after(() => target.stop());
    const a = (n: number) => fullMessage(n, { clientId: 'GID_a@@@1' });
    const b = (n: number) => fullMessage(n, { clientId: 'GID_b@@@1' });
    // a: 11 (slow), 12, 13 (503), 14 (must not be sent); b: 21 (slow), 22.
    const batch = asMessages([a(11), b(21), a(12), a(13), b(22), a(14)]);
    const outcomes = await target.deliver(batch);
    assert.deepEqual(outcomes.map((o) => (o.ok ? 'ok' : o.reason.slice(0, 12))), ['ok', 'ok', 'ok', 'HTTP 503 Ser', 'ok', 'not sent: an']);
    assert.equal(outcomes[5]!.ok === false && outcomes[5]!.retryable, true);
    const order = (client: string) =>
      received.map((r) => JSON.parse(r.body.toString()) as { clientId: string; msgId: string }).filter((m) => m.clientId === client).map((m) => m.msgId.slice(-2));
    assert.deepEqual(order('GID_a@@@1'), ['11', '12', '13']);
    assert.deepEqual(order('GID_b@@@1'), ['21', '22']);
  });

  it('webhook connector - a receiver that is down is a retryable failure; without a secret there is no signature', async (t) => {
    const { url, server, received } = await receiver(t);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const target = registry.createTarget(`${url}/x`, { timeoutMs: 2_000 });
    t.after(() => target.stop());
    const [down] = await target.deliver(asMessages([plainMessage(1)]));
    assert.ok(down && !down.ok && down.retryable && /ECONNREFUSED|fetch failed/.test(down.reason), JSON.stringify(down));
    assert.equal((await target.health()).state, 'disconnected');

    const up = await receiver(t);
    const unsigned = registry.createTarget(`${up.url}/x`);
    t.after(() => unsigned.stop());
    assert.ok((await unsigned.deliver(asMessages([plainMessage(2)])))[0]!.ok);
    assert.equal(up.received[0]!.headers['x-ferry-signature'], undefined);
    assert.equal(received.length, 0);
  });
});
