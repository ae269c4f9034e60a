/** GET /metrics over HTTP while mqtt.js clients connect, subscribe and publish. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, waitFor } from '../../helpers/index.js';
import { connect, connectRefused, uniqueId } from '../mqtt/clients.js';

/** Value of one sample line, e.g. metric('ferry_connections') or metric('x', 'instance="a"'). */
function sample(text: string, name: string, labels = ''): number | undefined {
  const prefix = labels === '' ? `${name} ` : `${name}{${labels}} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

async function scrape(port: number): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

test('metrics - /metrics exposes broker, instance and topic counters and they move', async (t) => {
  const ferry = await startFerry(t, { tracing: true });
  const url = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const http = ferry.ports.http;

  const before = await scrape(http);
  assert.equal(before.status, 200);
  assert.match(before.type ?? '', /^text\/plain/);
  assert.equal(sample(before.text, 'ferry_connections'), 0);
  assert.equal(sample(before.text, 'ferry_messages_received_total'), 0);
  assert.ok(before.text.includes('ferry_nodejs_eventloop_lag_seconds'), 'event-loop lag');
  assert.ok(before.text.includes('# TYPE ferry_auth_failures_total counter'));

  const sub = await connect(t, url, { clientId: uniqueId('msub') });
  await sub.client.subscribeAsync(['sensors/+/temp', 'sensors/#', 'alerts/x'], { qos: 1 });
  const pub = await connect(t, url, { clientId: uniqueId('mpub') });
  for (let i = 0; i < 5; i++) await pub.client.publishAsync('sensors/a/temp', String(i), { qos: 1 });
  await pub.client.publishAsync('alerts/x', 'fire', { qos: 0 });
  await sub.waitFor(6);

  const inst = 'instance="mqtt-default"';
  const after = await waitFor(async () => {
    const s = await scrape(http);
    return sample(s.text, 'ferry_messages_sent_total') === 6 ? s : undefined;
  });
  const text = after.text;
  assert.equal(sample(text, 'ferry_connections'), 2);
  assert.equal(sample(text, 'ferry_subscriptions'), 3);
  assert.equal(sample(text, 'ferry_messages_received_total'), 6);
  assert.equal(sample(text, 'ferry_instance_connections', inst), 2);
  assert.equal(sample(text, 'ferry_instance_subscriptions', inst), 3);
  assert.equal(sample(text, 'ferry_instance_messages_received_total', inst), 6);
  assert.equal(sample(text, 'ferry_instance_messages_sent_total', inst), 6);
  assert.ok((sample(text, 'ferry_instance_bytes_sent_total', inst) ?? 0) > 6 * 10);
  assert.equal(sample(text, 'ferry_instance_inflight_messages', inst) !== undefined, true);
  // Per parent topic (first level): two filters under sensors, one under alerts.
  assert.equal(sample(text, 'ferry_topic_messages_received_total', `${inst},topic="sensors"`), 5);
  assert.equal(sample(text, 'ferry_topic_messages_received_total', `${inst},topic="alerts"`), 1);
  assert.equal(sample(text, 'ferry_topic_messages_sent_total', `${inst},topic="sensors"`), 5, 'overlapping filters: one copy');
  assert.equal(sample(text, 'ferry_topic_subscriptions', `${inst},topic="sensors"`), 2);
  assert.equal(sample(text, 'ferry_topic_subscriptions', `${inst},topic="alerts"`), 1);
  assert.equal(sample(text, 'ferry_messages_dropped_total', 'reason="no_subscriber"'), 0);
  assert.ok((sample(text, 'ferry_trace_events_total') ?? 0) >= 2 + 6 + 6);
  assert.equal(sample(text, 'ferry_tracing_enabled'), 1);
  // The scrapes themselves are API requests, labelled by route pattern.
  assert.ok((sample(text, 'ferry_api_requests_total', 'method="GET",route="/metrics",status="200"') ?? 0) >= 1);
  assert.ok(text.includes('ferry_api_request_duration_seconds_bucket{le="0.005",method="GET",route="/metrics"}'));

  // QPS gauges sample once a second.
  await waitFor(async () => (sample((await scrape(http)).text, 'ferry_instance_qps_max', inst) ?? -1) >= 0, { timeoutMs: 3000 });

  // Auth failures: the broker counts refused CONNECTs, authenticators count causes.
  ferry.broker.hooks.authenticator = { authenticate: () => ({ ok: false, reasonCode: 0x86 }) };
  ferry.metrics.authFailures.inc({ instance: 'mqtt-default', reason: 'bad-signature' });
  await connectRefused(t, url, { clientId: uniqueId('mdenied'), username: 'u', password: 'p' });
  await pub.client.endAsync();
  const final = (await scrape(http)).text;
  assert.equal(sample(final, 'ferry_connect_auth_failures_total'), 1);
  assert.equal(sample(final, 'ferry_auth_failures_total', 'instance="mqtt-default",reason="bad-signature"'), 1);
  assert.equal(sample(final, 'ferry_connections'), 1);
  assert.equal(sample(final, 'ferry_instance_connections', inst), 1);

  const unknown = await fetch(`http://127.0.0.1:${http}/no/such/route`);
  assert.equal(unknown.status, 404);
  const afterUnknown = (await scrape(http)).text;
  assert.equal(sample(afterUnknown, 'ferry_api_requests_total', 'method="GET",route="unmatched",status="404"'), 1);
});
