/**
 * The current official SDK core (@alicloud/openapi-client 0.4.x, under every generated Tea SDK
 * such as @alicloud/onsmqtt20200420), pointed at a test Ferry. `callAction` calls `callApi`
 * exactly as the generated `…WithOptions` methods do: style RPC, POST, reqBodyType formData,
 * bodyType json, parameters flattened by OpenApiUtil.query into the query string (or, for the
 * actions whose models say so, into a form body). The client signs with ACS3-HMAC-SHA256 (its
 * default).
 */
import assert from 'node:assert/strict';
import OpenApiModule, * as $OpenApi from '@alicloud/openapi-client';
import OpenApiUtilModule from '@alicloud/openapi-util';
import * as $Util from '@alicloud/tea-util';
import type { Key } from './pop-client.js';

// CommonJS modules with `exports.default`: Node's ESM loader hands over the whole exports object.
const OpenApi = OpenApiModule.default;
const OpenApiUtil = OpenApiUtilModule.default;
type OpenApiClient = InstanceType<typeof OpenApi>;

export function teaClient(endpoint: string, key: Key, signatureAlgorithm?: string): OpenApiClient {
  const url = new URL(endpoint);
  return new OpenApi(
    new $OpenApi.Config({
      accessKeyId: key.id,
      accessKeySecret: key.secret,
      endpoint: url.host,
      protocol: url.protocol.replace(':', '').toUpperCase(),
      ...(signatureAlgorithm === undefined ? {} : { signatureAlgorithm }),
    }),
  );
}

export interface TeaCall {
  readonly query?: Record<string, unknown>;
  readonly body?: Record<string, unknown>;
  readonly version?: string;
  readonly method?: 'POST' | 'GET';
}

export type TeaAnswer = Record<string, unknown> & { RequestId: string };

/** One action, as a generated SDK method calls it; returns the response body. */
export async function callAction(client: OpenApiClient, action: string, call: TeaCall = {}): Promise<TeaAnswer> {
  const req = new $OpenApi.OpenApiRequest({
    ...(call.query === undefined ? {} : { query: OpenApiUtil.query(call.query) }),
    ...(call.body === undefined ? {} : { body: OpenApiUtil.parseToMap(call.body) }),
  });
  const params = new $OpenApi.Params({
    action,
    version: call.version ?? '2020-04-20',
    protocol: 'HTTPS',
    pathname: '/',
    method: call.method ?? 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
  const runtime = new $Util.RuntimeOptions({ readTimeout: 5000, connectTimeout: 5000 });
  const answer = (await client.callApi(params, req, runtime)) as { statusCode: number; body: TeaAnswer };
  assert.equal(answer.statusCode, 200);
  return answer.body;
}

/** A call that must fail with `code` and HTTP `status`; returns the error body. */
export async function teaRefused(promise: Promise<unknown>, code: string, status: number): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    const e = err as { code?: string; data?: Record<string, unknown> };
    assert.equal(e.code, code, `expected ${code}, got ${String(e.code)}: ${JSON.stringify(e.data)}`);
    assert.equal(e.data?.['statusCode'], status, `HTTP status of ${code}`);
    assert.match(String(e.data?.['RequestId']), /^[0-9A-F-]{36}$/);
    return e.data!;
  }
  assert.fail(`expected ${code}, the call succeeded`);
}
