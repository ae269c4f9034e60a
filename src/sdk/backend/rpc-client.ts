/**
 * A client for the compatible RPC endpoint (the managed service's OnsMqtt 2020-04-20 actions,
 * docs/api.md "Compatible RPC endpoint"), for backends that want the managed service's action
 * names without an Alibaba Cloud SDK. Requests are POSTed as a form and signed with signature
 * version 1.0 (HMAC-SHA1, pop-core's) or, with `signature: 'acs3'`, ACS3-HMAC-SHA256 (the Tea
 * SDKs'), by src/api/rpc/signature.ts and acs3.ts — the code Ferry verifies with. Lists are
 * flattened as the SDKs do (`ClientIdList.1=a`, `Tag.1.Key=k`).
 */
import { createHash, randomUUID } from 'node:crypto';
import { acs3CanonicalRequest, acs3Sign, acs3StringToSign } from '../../api/rpc/acs3.js';
import { formatTimestamp, signRpc } from '../../api/rpc/signature.js';
import { FerryRpcError } from '../errors.js';

export const RPC_VERSION = '2020-04-20';

export type RpcValue = string | number | boolean | readonly RpcValue[] | { readonly [key: string]: RpcValue };

export interface RpcClientOptions {
  /** Ferry's HTTP listener, e.g. `http://127.0.0.1:8080` (instead of https://onsmqtt.<region>.aliyuncs.com). */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** `v1` (default): HMAC-SHA1 over the parameters; `acs3`: ACS3-HMAC-SHA256 in the Authorization header. */
  readonly signature?: 'v1' | 'acs3';
  readonly timeoutMs?: number;
}

/** Every answer carries the RequestId; the newer actions also Code, Success, Message. */
export interface RpcAnswer {
  readonly RequestId: string;
  readonly [field: string]: unknown;
}

/** `{Tag: [{Key:'a', Value:'b'}]}` → `Tag.1.Key=a`, `Tag.1.Value=b`, as the SDKs send lists. */
export function flattenParams(params: { readonly [key: string]: RpcValue | undefined }, into = new Map<string, string>(), prefix = ''): Map<string, string> {
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    const name = prefix === '' ? key : `${prefix}.${key}`;
    if (Array.isArray(value)) (value as readonly RpcValue[]).forEach((item, i) => flattenParams({ [String(i + 1)]: item }, into, name));
    else if (typeof value === 'object') flattenParams(value as { readonly [key: string]: RpcValue }, into, name);
    else into.set(name, String(value));
  }
  return into;
}

export class RpcClient {
  private readonly endpoint: string;

  constructor(private readonly options: RpcClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
  }

  /** Calls one action; rejects with FerryRpcError (`code` = the answer's Code) for an error answer. */
  async call<T extends RpcAnswer = RpcAnswer>(action: string, params: { readonly [key: string]: RpcValue | undefined } = {}): Promise<T> {
    const form = flattenParams(params);
    const request = this.options.signature === 'acs3' ? this.signAcs3(action, form) : this.signV1(action, form);
    const res = await fetch(`${this.endpoint}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...request.headers },
      body: request.body,
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
    });
    const raw = await res.text();
    let answer: Record<string, unknown>;
    try {
      answer = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      throw new FerryRpcError(res.status, 'InvalidResponse', `${action} answered ${res.status} with a body that is not JSON: ${raw.slice(0, 200)}`, undefined);
    }
    if (!res.ok) {
      throw new FerryRpcError(res.status, String(answer['Code'] ?? `HTTP${res.status}`), String(answer['Message'] ?? res.statusText), answer['RequestId'] as string | undefined);
    }
    return answer as T;
  }

  private signV1(action: string, form: Map<string, string>): { headers: Record<string, string>; body: string } {
    form.set('Action', action);
    form.set('Version', RPC_VERSION);
    form.set('Format', 'JSON');
    form.set('AccessKeyId', this.options.accessKeyId);
    form.set('SignatureMethod', 'HMAC-SHA1');
    form.set('SignatureVersion', '1.0');
    form.set('SignatureNonce', randomUUID());
    form.set('Timestamp', formatTimestamp(Date.now()));
    form.set('Signature', signRpc('POST', form, this.options.accessKeySecret));
    return { headers: {}, body: new URLSearchParams([...form]).toString() };
  }

  /** Action, version, date and nonce in signed x-acs-* headers; the form body is covered by its hash. */
  private signAcs3(action: string, form: Map<string, string>): { headers: Record<string, string>; body: string } {
    const algorithm = 'ACS3-HMAC-SHA256';
    const body = new URLSearchParams([...form]).toString();
    const payloadHash = createHash('sha256').update(body, 'utf8').digest('hex');
    const signed: Record<string, string> = {
      // fetch sends the URL's host; it is signed, not set.
      host: new URL(this.endpoint).host,
      'x-acs-action': action,
      'x-acs-content-sha256': payloadHash,
      'x-acs-date': formatTimestamp(Date.now()),
      'x-acs-signature-nonce': randomUUID(),
      'x-acs-version': RPC_VERSION,
    };
    const names = Object.keys(signed).sort();
    const canonical = acs3CanonicalRequest({ method: 'POST', path: '/', rawQuery: '', headers: new Map(names.map((n) => [n, [signed[n]!]])), payloadHash }, names);
    const signature = acs3Sign(algorithm, acs3StringToSign(algorithm, canonical), this.options.accessKeySecret);
    const { host: _host, ...headers } = signed;
    return { headers: { ...headers, authorization: `${algorithm} Credential=${this.options.accessKeyId},SignedHeaders=${names.join(';')},Signature=${signature}` }, body };
  }

  // ---- The actions backends use most, typed (reference §4.2 field names). ----

  async applyToken(p: { InstanceId: string; Resources: string | readonly string[]; Actions: 'R' | 'W' | 'R,W'; ExpireTime: number }): Promise<string> {
    const resources = typeof p.Resources === 'string' ? p.Resources : [...p.Resources].sort().join(',');
    return (await this.call<RpcAnswer & { Token: string }>('ApplyToken', { ...p, Resources: resources })).Token;
  }

  async revokeToken(p: { InstanceId: string; Token: string }): Promise<void> {
    await this.call('RevokeToken', p);
  }

  /** Publishes to a topic (Payload as the managed service takes it: a string, Base64 advised). */
  async sendMessage(p: { InstanceId: string; MqttTopic: string; Payload: string }): Promise<string> {
    return (await this.call<RpcAnswer & { MsgId: string }>('SendMessage', p)).MsgId;
  }

  async querySessionByClientId(p: { InstanceId: string; ClientId: string }): Promise<boolean> {
    return (await this.call<RpcAnswer & { OnlineStatus: boolean }>('QuerySessionByClientId', p)).OnlineStatus;
  }

  async batchQuerySessionByClientIds(p: { InstanceId: string; ClientIdList: readonly string[] }): Promise<Array<{ ClientId: string; OnlineStatus: boolean }>> {
    return (await this.call<RpcAnswer & { OnlineStatusList: Array<{ ClientId: string; OnlineStatus: boolean }> }>('BatchQuerySessionByClientIds', p)).OnlineStatusList;
  }

  async registerDeviceCredential(p: { InstanceId: string; ClientId: string }): Promise<{ ClientId: string; InstanceId: string; DeviceAccessKeyId: string; DeviceAccessKeySecret: string; CreateTime: number; UpdateTime: number }> {
    return (await this.call<RpcAnswer & { DeviceCredential: Awaited<ReturnType<RpcClient['registerDeviceCredential']>> }>('RegisterDeviceCredential', p)).DeviceCredential;
  }

  async createGroupId(p: { InstanceId: string; GroupId: string }): Promise<void> {
    await this.call('CreateGroupId', p);
  }
}
