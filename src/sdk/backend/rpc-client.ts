/**
 * A client for the compatible RPC endpoint (the managed service's OnsMqtt 2020-04-20 actions,
 * docs/api.md "Compatible RPC endpoint"), for backends that want the managed service's action
 * names without an Alibaba Cloud SDK. Requests are POSTed as a form and signed with signature
 * version 1.0 (HMAC-SHA1) by src/api/rpc/signature.ts — the code Ferry verifies with. Lists
 * are flattened as the SDKs do (`ClientIdList.1=a`, `Tag.1.Key=k`).
 */
import { randomUUID } from 'node:crypto';
import { formatTimestamp, signRpc } from '../../api/rpc/signature.js';
import { FerryRpcError } from '../errors.js';

export const RPC_VERSION = '2020-04-20';

export type RpcValue = string | number | boolean | readonly RpcValue[] | { readonly [key: string]: RpcValue };

export interface RpcClientOptions {
  /** Ferry's HTTP listener, e.g. `http://127.0.0.1:8080` (instead of https://onsmqtt.<region>.aliyuncs.com). */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
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
    form.set('Action', action);
    form.set('Version', RPC_VERSION);
    form.set('Format', 'JSON');
    form.set('AccessKeyId', this.options.accessKeyId);
    form.set('SignatureMethod', 'HMAC-SHA1');
    form.set('SignatureVersion', '1.0');
    form.set('SignatureNonce', randomUUID());
    form.set('Timestamp', formatTimestamp(Date.now()));
    form.set('Signature', signRpc('POST', form, this.options.accessKeySecret));
    const res = await fetch(`${this.endpoint}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams([...form]).toString(),
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
