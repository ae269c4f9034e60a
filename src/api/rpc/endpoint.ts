/**
 * The compatible RPC endpoint: `GET /` and `POST /` (form body) on the HTTP port, speaking the
 * managed service's OnsMqtt API (versions 2020-04-20 and 2019-12-11).
 *
 *   parse params (query + form body, one value per name)
 *   → Version, Action known?            InvalidVersion / InvalidAction.NotFound
 *   → common parameters present?        MissingParameter
 *   → Timestamp well formed, ±15 min?   InvalidTimeStamp.Format / .Expired
 *   → AccessKey exists and active?      InvalidAccessKeyId.NotFound / .Inactive
 *   → signature matches?                SignatureDoesNotMatch
 *   → nonce unused?                     SignatureNonceUsed      (after the signature, so a
 *                                                                forger cannot burn nonces)
 *   → policy allows the action?         Forbidden.RAM (403)
 *   → handler                           200 {"RequestId": ..., <fields>}
 *
 * Every answer carries a RequestId (upper-case UUID), errors also HostId, Code and Message.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { safeEqual } from '../../auth/crypto.js';
import type { PolicyResource } from '../../auth/policy.js';
import { SELF_TIMED } from '../../http/metrics.js';
import type { HttpModule } from '../../http/server.js';
import { describeError } from '../../management/errors.js';
import type { Management } from '../../management/management.js';
import { RPC_VERSIONS, type RpcVersion } from './action.js';
import { RPC_ACTIONS } from './actions/index.js';
import { RpcError } from './errors.js';
import { NonceCache } from './nonce-cache.js';
import { invalidParam, RpcParams } from './params.js';
import { parseTimestamp, signRpc, stringToSign } from './signature.js';

export const RPC_TIMESTAMP_WINDOW_MS = 15 * 60 * 1000;
const MAX_BODY_BYTES = 1024 * 1024;
const COMMON = ['AccessKeyId', 'Signature', 'SignatureMethod', 'SignatureVersion', 'SignatureNonce', 'Timestamp'] as const;

/**
 * Called once per request (metrics: FerryMetrics.observeRpcRequest). `action` is a known action
 * name or '' (unknown, missing, or refused before parsing), so it is a bounded label; `code` is
 * 'OK' or the error code. When an observer is given, the process-wide HTTP timing hook leaves
 * these routes to it (route config `selfTimed`), so each request is counted once.
 */
export type RpcObserver = (event: { method: string; action: string; code: string; status: number; durationMs: number }) => void;

export interface RpcEndpointOptions {
  readonly management: Management;
  readonly now?: () => number;
  readonly observe?: RpcObserver;
}

/** Parses `a=1&b=2` (RFC 3986 or form encoding) into `into`; a repeated name is an error. */
function parseInto(into: Map<string, string>, text: string): void {
  if (text.length === 0) return;
  for (const [key, value] of new URLSearchParams(text)) {
    if (into.has(key)) throw invalidParam(key, 'given more than once');
    into.set(key, value);
  }
}

export class RpcEndpoint {
  private readonly nonces = new NonceCache(RPC_TIMESTAMP_WINDOW_MS);
  private readonly now: () => number;

  constructor(private readonly options: RpcEndpointOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Handles one request; returns the HTTP status and the JSON body. */
  async handle(method: string, rawQuery: string, body: string | null, host: string): Promise<{ status: number; body: Record<string, unknown>; action: string }> {
    const requestId = randomUUID().toUpperCase();
    let actionName = '';
    try {
      const raw = new Map<string, string>();
      parseInto(raw, rawQuery);
      if (body !== null) parseInto(raw, body);
      const p = new RpcParams(raw);
      actionName = raw.get('Action') ?? '';
      const result = await this.dispatch(method, p, requestId);
      return { status: 200, body: { RequestId: requestId, ...result }, action: actionName };
    } catch (err) {
      const e = err instanceof RpcError ? { code: err.code, status: err.status, message: err.message, internal: false } : describeError(err);
      // The managed service answers business conflicts with 400, not 409.
      const status = e.status === 409 ? 400 : e.status;
      return {
        status,
        body: { RequestId: requestId, HostId: host, Code: e.code, Message: e.internal ? 'The request processing has failed due to some unknown error.' : e.message },
        action: actionName,
      };
    }
  }

  private async dispatch(method: string, p: RpcParams, requestId: string): Promise<Record<string, unknown>> {
    const version = p.required('Version');
    if (!RPC_VERSIONS.includes(version as RpcVersion)) throw RpcError.of('InvalidVersion');
    const name = p.required('Action');
    const action = RPC_ACTIONS.get(name);
    if (action === undefined || !action.versions.includes(version as RpcVersion)) throw RpcError.of('InvalidAction.NotFound', `${name}/${version}`);
    const format = p.optional('Format');
    if (format !== undefined && format.toUpperCase() !== 'JSON') throw invalidParam('Format', 'only JSON is supported');

    const accessKeyId = this.verify(method, p);
    const management = this.options.management;
    const resources = action.resource(p);
    if (resources !== null) {
      const policy = management.policyOf(accessKeyId);
      for (const resource of Array.isArray(resources) ? resources : [resources]) {
        if (policy?.allows(action.ram, resource) !== true) {
          throw RpcError.of('Forbidden.RAM', `AccessKey ${accessKeyId} is not allowed ${action.ram} on ${describe(resource)}.`);
        }
      }
    }
    return action.handle({ management, accessKeyId, version: version as RpcVersion, requestId }, p);
  }

  /** Signature v1 checks; returns the verified AccessKeyId. */
  private verify(method: string, p: RpcParams): string {
    for (const name of COMMON) p.required(name);
    if (p.required('SignatureMethod') !== 'HMAC-SHA1') throw invalidParam('SignatureMethod', 'must be HMAC-SHA1');
    if (p.required('SignatureVersion') !== '1.0') throw invalidParam('SignatureVersion', 'must be 1.0');
    const stamp = parseTimestamp(p.required('Timestamp'));
    if (stamp === null) throw RpcError.of('InvalidTimeStamp.Format');
    const now = this.now();
    if (Math.abs(now - stamp) > RPC_TIMESTAMP_WINDOW_MS) throw RpcError.of('InvalidTimeStamp.Expired');

    const keys = this.options.management.accessKeys;
    const accessKeyId = p.required('AccessKeyId');
    const key = keys.get(accessKeyId);
    if (key === undefined) throw RpcError.of('InvalidAccessKeyId.NotFound');
    if (key.status !== 'Active') throw RpcError.of('InvalidAccessKeyId.Inactive');
    const secret = keys.secret(accessKeyId)!;
    if (!safeEqual(p.required('Signature'), signRpc(method, p.raw, secret))) {
      const error = RpcError.of('SignatureDoesNotMatch');
      throw new RpcError(error.code, error.status, `${error.message} server string to sign is:${stringToSign(method, p.raw)}`);
    }
    const nonce = this.nonces.use(accessKeyId, p.required('SignatureNonce'), now);
    if (nonce === 'used') throw RpcError.of('SignatureNonceUsed');
    if (nonce === 'full') throw RpcError.of('Throttling');
    return accessKeyId;
  }
}

function describe(r: PolicyResource): string {
  switch (r.type) {
    case 'instance':
      return `acs:mq:*:*:instance/${r.instanceId}`;
    case 'topic':
      return `acs:mq:*:*:topic/${r.instanceId}/${r.topic}`;
    case 'groupId':
      return `acs:mq:*:*:groupId/${r.instanceId}/${r.groupId}`;
    case 'rule':
      return `acs:mq:*:*:rule/${r.instanceId}/${r.ruleId}`;
  }
}

/** The endpoint as an HttpModule: `GET /` and `POST /` at the root of the HTTP port. */
export function rpcModule(options: RpcEndpointOptions): HttpModule {
  const endpoint = new RpcEndpoint(options);
  return {
    name: 'rpc',
    plugin: async (app) => {
      // Form bodies (and anything else) arrive as text; this context only (the REST API keeps JSON).
      app.removeAllContentTypeParsers();
      app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_req, text, done) => done(null, text));
      const serve = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
        const url = request.raw.url ?? '/';
        const q = url.indexOf('?');
        const form = request.method === 'POST' && typeof request.body === 'string' && isForm(request.headers['content-type']) ? request.body : null;
        const host = (request.headers.host ?? '').replace(/:\d+$/, '');
        const answer = await endpoint.handle(request.method, q < 0 ? '' : url.slice(q + 1), form, host);
        options.observe?.({
          method: request.method,
          action: RPC_ACTIONS.has(answer.action) ? answer.action : '',
          code: typeof answer.body['Code'] === 'string' ? answer.body['Code'] : 'OK',
          status: answer.status,
          durationMs: reply.elapsedTime,
        });
        await reply.code(answer.status).header('content-type', 'application/json;charset=utf-8').send(JSON.stringify(answer.body));
      };
      const config = options.observe === undefined ? {} : SELF_TIMED;
      app.get('/', { config }, serve);
      app.post('/', { config }, serve);
      app.setErrorHandler(async (error: { statusCode?: number; message: string }, request, reply) => {
        const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? 400 : 500;
        const code = status === 400 ? 'InvalidParameter' : 'InternalError';
        request.log.warn({ err: error }, 'rpc request failed before dispatch');
        options.observe?.({ method: request.method, action: '', code, status, durationMs: reply.elapsedTime });
        await reply.code(status).send({ RequestId: randomUUID().toUpperCase(), HostId: request.hostname, Code: code, Message: error.message });
      });
    },
  };
}

function isForm(contentType: string | undefined): boolean {
  return contentType === undefined || contentType.toLowerCase().startsWith('application/x-www-form-urlencoded');
}
