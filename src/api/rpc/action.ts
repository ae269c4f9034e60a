/**
 * One action of the compatible endpoint: which API versions have it, the RAM action its caller
 * needs on which resource (checked against the AccessKey's policies before it runs), and the
 * handler that answers with the managed service's response fields (RequestId is added by the
 * endpoint).
 */
import type { PolicyResource } from '../../auth/policy.js';
import type { Management } from '../../management/management.js';
import type { RpcParams } from './params.js';

export const RPC_VERSIONS = ['2020-04-20', '2019-12-11'] as const;
export type RpcVersion = (typeof RPC_VERSIONS)[number];

export interface RpcContext {
  readonly management: Management;
  readonly accessKeyId: string;
  readonly version: RpcVersion;
  readonly requestId: string;
}

export interface RpcAction {
  readonly name: string;
  readonly versions: readonly RpcVersion[];
  /** RAM action name, e.g. `mq:CreateMqttGroupId`. */
  readonly ram: string;
  /**
   * The resources the RAM action must be allowed on (every one of them); null when the handler
   * filters by the caller's policy itself (ListInstances lists only what the key may see).
   */
  resource(p: RpcParams): PolicyResource | PolicyResource[] | null;
  handle(ctx: RpcContext, p: RpcParams): Promise<Record<string, unknown>> | Record<string, unknown>;
}

export const BOTH: readonly RpcVersion[] = ['2020-04-20', '2019-12-11'];
export const V2020: readonly RpcVersion[] = ['2020-04-20'];
export const V2019: readonly RpcVersion[] = ['2019-12-11'];

export function onInstance(p: RpcParams): PolicyResource {
  return { type: 'instance', instanceId: p.required('InstanceId') };
}

/** The answer of the newer actions that return no data. */
export function ok(): Record<string, unknown> {
  return { Code: 200, Success: true, Message: 'operation success.' };
}
