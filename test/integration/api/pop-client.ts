/** The real Alibaba Cloud SDK client (@alicloud/pop-core RPCClient), pointed at a test Ferry. */
import assert from 'node:assert/strict';
import RPCClient from '@alicloud/pop-core';

export interface Key {
  readonly id: string;
  readonly secret: string;
}

export function popClient(endpoint: string, key: Key, apiVersion = '2020-04-20'): RPCClient {
  return new RPCClient({ endpoint, apiVersion, accessKeyId: key.id, accessKeySecret: key.secret });
}

export type Answer = Record<string, unknown> & { RequestId: string };

/** Calls an action (POST form body by default, as the SDK docs show). */
export async function call(client: RPCClient, action: string, params: Record<string, unknown> = {}, method: 'POST' | 'GET' = 'POST'): Promise<Answer> {
  // The SDK parses with json-bigint (null-prototype objects): normalise for deepEqual.
  return JSON.parse(JSON.stringify(await client.request<Answer>(action, params, { method, timeout: 5000 }))) as Answer;
}

/** Calls an action that must fail with `code` and HTTP `status`; returns the error body. */
export async function refused(promise: Promise<unknown>, code: string, status: number): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    const e = err as { code?: string; data?: Record<string, unknown>; entry?: { response?: { statusCode?: number } } };
    assert.equal(e.code, code, `expected ${code}, got ${String(e.code)}: ${JSON.stringify(e.data)}`);
    assert.equal(e.entry?.response?.statusCode, status, `HTTP status of ${code}`);
    assert.match(String(e.data?.['RequestId']), /^[0-9A-F-]{36}$/);
    return e.data!;
  }
  assert.fail(`expected ${code}, the call succeeded`);
}
