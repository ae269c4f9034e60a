/**
 * Signature V3 (ACS3-HMAC-SHA256) on the compatible RPC endpoint, proven with the current
 * official SDK core (@alicloud/openapi-client `callApi`, as the generated Tea SDKs call it) for
 * reads, writes and refusals, plus hand-made requests signed by the SDK's own signer
 * (@alicloud/openapi-util getAuthorization) and then tampered with.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import OpenApiUtilModule from '@alicloud/openapi-util';
import mqtt from 'mqtt';
import { waitFor } from '../../helpers/index.js';
import { ADMIN, startApi } from './harness.js';
import { callAction, teaClient, teaRefused } from './tea-client.js';

const I = 'mqtt-default';
const OpenApiUtil = OpenApiUtilModule.default;

function acsDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

test('rpc acs3 - the Tea SDK core reads and writes: query parameters, form body, GET', async (t) => {
  const h = await startApi(t);
  const client = teaClient(h.endpoint, ADMIN);
  const listed = await callAction(client, 'ListInstances');
  assert.match(listed.RequestId, /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
  assert.deepEqual((listed['Instances'] as Array<Record<string, unknown>>).map((i) => i['InstanceId']), [I]);

  // A write with its parameters in the query string (the generated models' default) ...
  await callAction(client, 'CreateGroupId', { query: { InstanceId: I, GroupId: 'GID_acs3' } });
  const groups = await callAction(client, 'ListGroupId', { query: { InstanceId: I } });
  assert.deepEqual((groups['Data'] as Array<Record<string, unknown>>).map((g) => g['GroupId']).filter((g) => g === 'GID_acs3'), ['GID_acs3']);

  // ... and one with a form body (covered by x-acs-content-sha256), delivered to a real subscriber.
  const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.mqttPort}`, { clientId: 'GID_acs3@@@sub', reconnectPeriod: 0, protocolVersion: 5 });
  t.after(() => sub.end(true));
  const got: string[] = [];
  sub.on('message', (topic, payload) => got.push(`${topic}=${payload.toString('utf8')}`));
  await sub.subscribeAsync('cmd/#', { qos: 1 });
  const payload = "x*y~z!'()+&=% 中";
  const sent = await callAction(client, 'SendMessage', { query: { InstanceId: I }, body: { MqttTopic: 'cmd/a b', Payload: payload } });
  assert.match(String(sent['MsgId']), /^[0-9a-f]{32}$/);
  await callAction(client, 'SendMessage', { query: { InstanceId: I, MqttTopic: 'cmd/q', Payload: 'in-query' } });
  await waitFor(() => got.length === 2);
  assert.deepEqual(got, [`cmd/a b=${payload}`, 'cmd/q=in-query']);

  // GET (no body: the empty body's hash) works too.
  const token = await callAction(client, 'ApplyToken', { query: { InstanceId: I, Resources: 'cmd/#', Actions: 'R', ExpireTime: Date.now() + 3_600_000 } });
  const status = await callAction(client, 'QueryToken', { method: 'GET', query: { InstanceId: I, Token: token['Token'] } });
  assert.equal(status['TokenStatus'], true);

  // SM3 is the other HMAC of the family.
  const sm3 = teaClient(h.endpoint, ADMIN, 'ACS3-HMAC-SM3');
  assert.equal((await callAction(sm3, 'ListInstances'))['Success'], true);
});

test('rpc acs3 - refused with the managed service codes: signature, key, date, nonce, permission', async (t) => {
  const h = await startApi(t);
  const wrong = await teaRefused(callAction(teaClient(h.endpoint, { id: ADMIN.id, secret: 'wrong-secret-000000' }), 'ListInstances'), 'SignatureDoesNotMatch', 400);
  assert.match(String(wrong['Message']), /server string to sign is:ACS3-HMAC-SHA256\n[0-9a-f]{64}/);
  assert.equal(wrong['HostId'], '127.0.0.1');
  await teaRefused(callAction(teaClient(h.endpoint, { id: 'NOSUCHKEY000', secret: 'whatever-secret-0000' }), 'ListInstances'), 'InvalidAccessKeyId.NotFound', 404);
  const { key, secret } = await h.keys.create({ policies: ['AliyunMQFullAccess'] });
  await h.keys.update(key.id, { status: 'Inactive' });
  await teaRefused(callAction(teaClient(h.endpoint, { id: key.id, secret }), 'ListInstances'), 'InvalidAccessKeyId.Inactive', 400);

  // The SDK lets a request override its x-acs-* headers: stale, future and malformed dates.
  const admin = teaClient(h.endpoint, ADMIN);
  const withHeaders = async (headers: Record<string, string>, action = 'ListInstances'): Promise<unknown> => {
    const { OpenApiRequest, Params } = await import('@alicloud/openapi-client');
    const { RuntimeOptions } = await import('@alicloud/tea-util');
    return admin.callApi(
      new Params({ action, version: '2020-04-20', protocol: 'HTTPS', pathname: '/', method: 'POST', authType: 'AK', style: 'RPC', reqBodyType: 'formData', bodyType: 'json' }),
      new OpenApiRequest({ headers, query: {} }),
      new RuntimeOptions({}),
    );
  };
  await teaRefused(withHeaders({ 'x-acs-date': acsDate(Date.now() - 16 * 60_000) }), 'InvalidTimeStamp.Expired', 400);
  await teaRefused(withHeaders({ 'x-acs-date': acsDate(Date.now() + 16 * 60_000) }), 'InvalidTimeStamp.Expired', 400);
  await teaRefused(withHeaders({ 'x-acs-date': 'Sun, 06 Dec 2026 04:00:00 GMT' }), 'InvalidTimeStamp.Format', 400);
  // A nonce is used once; a forged request does not burn it.
  await withHeaders({ 'x-acs-signature-nonce': 'acs3-nonce-once' });
  await teaRefused(withHeaders({ 'x-acs-signature-nonce': 'acs3-nonce-once' }), 'SignatureNonceUsed', 400);
  const forger = teaClient(h.endpoint, { id: ADMIN.id, secret: 'wrong-secret-000000' });
  const { OpenApiRequest, Params } = await import('@alicloud/openapi-client');
  const { RuntimeOptions } = await import('@alicloud/tea-util');
  const params = new Params({ action: 'ListInstances', version: '2020-04-20', protocol: 'HTTPS', pathname: '/', method: 'POST', authType: 'AK', style: 'RPC', reqBodyType: 'formData', bodyType: 'json' });
  await teaRefused(forger.callApi(params, new OpenApiRequest({ headers: { 'x-acs-signature-nonce': 'acs3-nonce-2' }, query: {} }), new RuntimeOptions({})), 'SignatureDoesNotMatch', 400);
  await withHeaders({ 'x-acs-signature-nonce': 'acs3-nonce-2' });
  // Nonces share one memory with signature v1 and are capped in length.
  await teaRefused(withHeaders({ 'x-acs-signature-nonce': 'n'.repeat(65) }), 'InvalidParameter', 400);

  await teaRefused(callAction(admin, 'NoSuchAction'), 'InvalidAction.NotFound', 404);
  await teaRefused(callAction(admin, 'ListInstances', { version: '2018-01-01' }), 'InvalidVersion', 400);
  await teaRefused(callAction(admin, 'SendMessage', { query: { InstanceId: I, Payload: 'x' } }), 'MissingParameter', 400);
  await h.tenancy.createGroup(I, 'GID_dup');
  await teaRefused(callAction(admin, 'CreateGroupId', { query: { InstanceId: I, GroupId: 'GID_dup' } }), 'GroupIdAlreadyExsited', 400);
  const sub = await h.keys.create({ policies: ['AliyunMQSubOnlyAccess'] });
  await teaRefused(callAction(teaClient(h.endpoint, { id: sub.key.id, secret: sub.secret }), 'SendMessage', { query: { InstanceId: I, MqttTopic: 'a/b', Payload: 'x' } }), 'Forbidden.RAM', 403);
});

/** A request signed by the SDK's signer, sent with fetch after `tamper` changed it. */
async function signedFetch(endpoint: string, tamper: (r: { headers: Record<string, string>; body: string; query: Record<string, string> }) => void, opts: { nonce?: string; signed?: (names: string[]) => string[] } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(endpoint);
  const body = 'InstanceId=mqtt-default&MqttTopic=t%2F1&Payload=hello';
  const request = {
    method: 'POST',
    pathname: '/',
    query: {} as Record<string, string>,
    headers: {
      host: url.host,
      'x-acs-action': 'SendMessage',
      'x-acs-version': '2020-04-20',
      'x-acs-date': acsDate(Date.now()),
      'x-acs-signature-nonce': opts.nonce ?? `n-${Math.random()}`,
      'x-acs-content-sha256': createHash('sha256').update(body).digest('hex'),
      'content-type': 'application/x-www-form-urlencoded',
    } as Record<string, string>,
  };
  type SdkRequest = Parameters<typeof OpenApiUtil.getAuthorization>[0];
  let auth = OpenApiUtil.getAuthorization(request as unknown as SdkRequest, 'ACS3-HMAC-SHA256', request.headers['x-acs-content-sha256']!, ADMIN.id, ADMIN.secret);
  if (opts.signed !== undefined) {
    // Re-sign with fewer headers: the signature is right but covers too little.
    const names = opts.signed(Object.keys(request.headers));
    const kept = Object.fromEntries(Object.entries(request.headers).filter(([k]) => names.includes(k)));
    auth = OpenApiUtil.getAuthorization({ ...request, headers: kept } as unknown as SdkRequest, 'ACS3-HMAC-SHA256', request.headers['x-acs-content-sha256']!, ADMIN.id, ADMIN.secret);
  }
  const sent = { headers: { ...request.headers, authorization: auth }, body, query: request.query };
  tamper(sent);
  const qs = new URLSearchParams(sent.query).toString();
  const res = await fetch(`${endpoint}/${qs === '' ? '' : `?${qs}`}`, { method: 'POST', headers: sent.headers, body: sent.body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('rpc acs3 - hand-made: tampered body, header or query, unsigned headers, bad Authorization', async (t) => {
  const h = await startApi(t);
  const ok = await signedFetch(h.endpoint, () => {});
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const cases: Array<[string, Parameters<typeof signedFetch>[1], Parameters<typeof signedFetch>[2], string, number]> = [
    ['body changed, hash header kept', (r) => (r.body = r.body.replace('hello', 'HELLO')), {}, 'SignatureDoesNotMatch', 400],
    ['body and hash header changed', (r) => {
      r.body = r.body.replace('hello', 'HELLO');
      r.headers['x-acs-content-sha256'] = createHash('sha256').update(r.body).digest('hex');
    }, {}, 'SignatureDoesNotMatch', 400],
    ['action header changed', (r) => (r.headers['x-acs-action'] = 'ListInstances'), {}, 'SignatureDoesNotMatch', 400],
    ['query parameter added', (r) => (r.query['Extra'] = '1'), {}, 'SignatureDoesNotMatch', 400],
    ['action not signed', () => {}, { signed: (n) => n.filter((x) => x !== 'x-acs-action') }, 'IncompleteSignature', 400],
    ['host not signed', () => {}, { signed: (n) => n.filter((x) => x !== 'host') }, 'IncompleteSignature', 400],
    ['malformed Authorization', (r) => (r.headers['authorization'] = 'ACS3-HMAC-SHA256 Credential=x'), {}, 'IncompleteSignature', 400],
    ['unsupported algorithm', (r) => (r.headers['authorization'] = r.headers['authorization']!.replace('ACS3-HMAC-SHA256', 'ACS3-RSA-SHA256')), {}, 'IncompleteSignature', 400],
    ['no date', (r) => delete r.headers['x-acs-date'], {}, 'MissingParameter', 400],
    ['query Action contradicts the header', (r) => (r.query['Action'] = 'ListInstances'), {}, 'InvalidParameter', 400],
  ];
  for (const [name, tamper, opts, code, status] of cases) {
    const answer = await signedFetch(h.endpoint, tamper, opts);
    assert.equal(answer.body['Code'], code, `${name}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.status, status, name);
  }
});
