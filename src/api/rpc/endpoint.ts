/**
 * The compatible RPC endpoint: `GET /` and `POST /` (form body) on the HTTP port, speaking the
 * managed service's OnsMqtt API (versions 2020-04-20 and 2019-12-11).
 *
 * Two request signatures are accepted: version 1.0 (HMAC-SHA1 in the parameters, signature.ts;
 * @alicloud/pop-core and the older SDKs) and V3 (ACS3-HMAC-SHA256 in the Authorization header,
 * acs3.ts; @alicloud/openapi-client, the core of every current Tea SDK). The Authorization header
 * decides which one a request uses.
 *
 *   parse params (query + form body, one value per name)
 *   → Version, Action known?            InvalidVersion / InvalidAction.NotFound
 *                                       (ACS3: from x-acs-version / x-acs-action)
 *   → common parameters present?        MissingParameter / IncompleteSignature (ACS3)
 *   → Timestamp well formed, ±15 min?   InvalidTimeStamp.Format / .Expired (ACS3: x-acs-date)
 *   → AccessKey exists and active?      InvalidAccessKeyId.NotFound / .Inactive
 *   → signature matches?                SignatureDoesNotMatch (ACS3: body hash too)
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
import { rpcStatus } from '../../errors.js';
import { describeError } from '../../management/errors.js';
import type { Management } from '../../management/management.js';
import { ACS3_ALGORITHMS, ACS3_REQUIRED_SIGNED, acs3CanonicalRequest, acs3Hash, acs3Sign, acs3StringToSign, isAcs3, parseAcs3Authorization } from './acs3.js';
import { RPC_VERSIONS, type RpcVersion } from './action.js';
import { RPC_ACTIONS } from './actions/index.js';
import { RpcError } from './errors.js';
import type { LimitHits } from '../../observability/limit-hits.js';
import { MAX_NONCE_LENGTH, NonceCache, type NonceLedger } from './nonce-cache.js';
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
  /** Live SignatureNonces per AccessKey (docs/security.md); default DEFAULT_NONCES_PER_KEY. */
  readonly noncesPerKey?: number;
  /** Counts refusals by the nonce limits (ferry_limit_hits_total). */
  readonly limitHits?: LimitHits;
  /** Cluster mode: nonces single-use across the nodes (src/cluster/nonce-ledger.ts). */
  readonly nonceLedger?: NonceLedger;
}

/** Parses `a=1&b=2` (RFC 3986 or form encoding) into `into`; a repeated name is an error. */
function parseInto(into: Map<string, string>, text: string): void {
  if (text.length === 0) return;
  for (const [key, value] of new URLSearchParams(text)) {
    if (into.has(key)) throw invalidParam(key, 'given more than once');
    into.set(key, value);
  }
}

/** One HTTP request as the endpoint sees it. */
export interface RpcRequest {
  readonly method: string;
  /** The path as sent, before '?' (ACS3 signs it). */
  readonly path: string;
  readonly rawQuery: string;
  /** The body when it is a form (its parameters join the query's); null otherwise. */
  readonly form: string | null;
  /** The body as received, whatever its type ('' when none): ACS3 signs its hash. */
  readonly body: string;
  /** Lower-case header name → values in arrival order. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  /** The Host header without its port (errors' HostId). */
  readonly host: string;
}

/**
 * Nonces are at most this long (the SDKs send 32 (Tea) to 36 (UUID) characters) and remembered as
 * a fixed-size digest, with a quota per AccessKey: nonce-cache.ts, shared with the REST API.
 */
export { MAX_NONCE_LENGTH } from './nonce-cache.js';

export class RpcEndpoint {
  private readonly nonces: NonceCache;
  private readonly now: () => number;

  constructor(private readonly options: RpcEndpointOptions) {
    this.now = options.now ?? Date.now;
    const hits = options.limitHits;
    this.nonces = new NonceCache(
      RPC_TIMESTAMP_WINDOW_MS,
      options.noncesPerKey,
      hits === undefined ? null : (v) => hits.hit(v === 'quota' ? 'api_nonce_quota' : 'api_nonce_length'),
      options.nonceLedger ?? null,
    );
  }

  /** Handles one request; returns the HTTP status and the JSON body. */
  async handle(request: RpcRequest): Promise<{ status: number; body: Record<string, unknown>; action: string }> {
    const requestId = randomUUID().toUpperCase();
    let actionName = '';
    try {
      const raw = new Map<string, string>();
      parseInto(raw, request.rawQuery);
      if (request.form !== null) parseInto(raw, request.form);
      const p = new RpcParams(raw);
      const acs3 = isAcs3(firstHeader(request.headers, 'authorization'));
      actionName = (acs3 ? firstHeader(request.headers, 'x-acs-action') : raw.get('Action')) ?? '';
      const result = await this.dispatch(request, p, acs3, requestId);
      return { status: 200, body: { RequestId: requestId, ...result }, action: actionName };
    } catch (err) {
      const e = err instanceof RpcError ? { code: err.code, status: err.status, message: err.message, internal: false } : describeError(err);
      // The catalogue's status on this endpoint (the managed service answers conflicts with 400, not 409).
      const status = rpcStatus(e.code) ?? (e.status === 409 ? 400 : e.status);
      return {
        status,
        body: { RequestId: requestId, HostId: request.host, Code: e.code, Message: e.internal ? 'The request processing has failed due to some unknown error.' : e.message },
        action: actionName,
      };
    }
  }

  private async dispatch(request: RpcRequest, p: RpcParams, acs3: boolean, requestId: string): Promise<Record<string, unknown>> {
    const version = acs3 ? signedValue(request, p, 'x-acs-version', 'Version') : p.required('Version');
    if (!RPC_VERSIONS.includes(version as RpcVersion)) throw RpcError.of('InvalidVersion');
    const name = acs3 ? signedValue(request, p, 'x-acs-action', 'Action') : p.required('Action');
    const action = RPC_ACTIONS.get(name);
    if (action === undefined || !action.versions.includes(version as RpcVersion)) throw RpcError.of('InvalidAction.NotFound', `${name}/${version}`);
    const format = p.optional('Format');
    if (format !== undefined && format.toUpperCase() !== 'JSON') throw invalidParam('Format', 'only JSON is supported');

    const accessKeyId = acs3 ? await this.verifyAcs3(request) : await this.verifyV1(request.method, p);
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
  private async verifyV1(method: string, p: RpcParams): Promise<string> {
    for (const name of COMMON) p.required(name);
    if (p.required('SignatureMethod') !== 'HMAC-SHA1') throw invalidParam('SignatureMethod', 'must be HMAC-SHA1');
    if (p.required('SignatureVersion') !== '1.0') throw invalidParam('SignatureVersion', 'must be 1.0');
    const nonce = this.checkNonceLength('SignatureNonce', p.required('SignatureNonce'));
    const now = this.checkTimestamp(p.required('Timestamp'));
    const accessKeyId = p.required('AccessKeyId');
    const secret = this.secretOf(accessKeyId);
    if (!safeEqual(p.required('Signature'), signRpc(method, p.raw, secret))) {
      const error = RpcError.of('SignatureDoesNotMatch');
      throw new RpcError(error.code, error.status, `${error.message} server string to sign is:${stringToSign(method, p.raw)}`);
    }
    await this.useNonce(accessKeyId, nonce, now);
    return accessKeyId;
  }

  /** Signature V3 (ACS3) checks; returns the verified AccessKeyId. */
  private async verifyAcs3(request: RpcRequest): Promise<string> {
    const auth = parseAcs3Authorization(firstHeader(request.headers, 'authorization') ?? '');
    if (auth === null) throw RpcError.of('IncompleteSignature', 'The Authorization header must be "<algorithm> Credential=<AccessKeyId>,SignedHeaders=<names>,Signature=<hex>".');
    if (!ACS3_ALGORITHMS.has(auth.algorithm)) {
      throw RpcError.of('IncompleteSignature', `The signature algorithm ${auth.algorithm} is not supported; use one of ${[...ACS3_ALGORITHMS.keys()].join(', ')}.`);
    }
    const unsigned = ACS3_REQUIRED_SIGNED.filter((h) => !auth.signedHeaders.includes(h));
    if (unsigned.length > 0) throw RpcError.of('IncompleteSignature', `SignedHeaders must include ${unsigned.join(', ')}.`);
    const contentHash = requiredHeader(request, 'x-acs-content-sha256');
    const nonce = this.checkNonceLength('x-acs-signature-nonce', requiredHeader(request, 'x-acs-signature-nonce'));
    const now = this.checkTimestamp(requiredHeader(request, 'x-acs-date'));
    const secret = this.secretOf(auth.accessKeyId);
    const payloadHash = acs3Hash(auth.algorithm, Buffer.from(request.body, 'utf8'))!;
    if (contentHash.toLowerCase() !== payloadHash) {
      const error = RpcError.of('SignatureDoesNotMatch');
      throw new RpcError(error.code, error.status, `${error.message} x-acs-content-sha256 is not the ${auth.algorithm} hash of the request body (${payloadHash}).`);
    }
    const canonical = acs3CanonicalRequest({ ...request, payloadHash }, auth.signedHeaders);
    const toSign = acs3StringToSign(auth.algorithm, canonical);
    if (!safeEqual(auth.signature.toLowerCase(), acs3Sign(auth.algorithm, toSign, secret))) {
      const error = RpcError.of('SignatureDoesNotMatch');
      throw new RpcError(error.code, error.status, `${error.message} server string to sign is:${toSign} canonical request is:${canonical}`);
    }
    await this.useNonce(auth.accessKeyId, nonce, now);
    return auth.accessKeyId;
  }

  /** Now, when `text` is a well-formed timestamp within the window of it. */
  private checkTimestamp(text: string): number {
    const stamp = parseTimestamp(text);
    if (stamp === null) throw RpcError.of('InvalidTimeStamp.Format');
    const now = this.now();
    if (Math.abs(now - stamp) > RPC_TIMESTAMP_WINDOW_MS) throw RpcError.of('InvalidTimeStamp.Expired');
    return now;
  }

  /** The secret of an existing, active AccessKey. */
  private secretOf(accessKeyId: string): string {
    const keys = this.options.management.accessKeys;
    const key = keys.get(accessKeyId);
    if (key === undefined) throw RpcError.of('InvalidAccessKeyId.NotFound');
    if (key.status !== 'Active') throw RpcError.of('InvalidAccessKeyId.Inactive');
    return keys.secret(accessKeyId)!;
  }

  /** Records the nonce (after the signature, so a forger cannot burn nonces); the cache keeps a digest. */
  private async useNonce(accessKeyId: string, nonce: string, now: number): Promise<void> {
    let used;
    try {
      used = await this.nonces.claim(accessKeyId, nonce, now);
    } catch (err) {
      // Cluster mode and JetStream cannot say whether another node saw it: refused, never accepted unchecked.
      throw RpcError.of('ServiceUnavailable', (err as Error).message);
    }
    if (used === 'used') throw RpcError.of('SignatureNonceUsed');
    if (used === 'too-long') throw invalidParam('SignatureNonce', `must be at most ${MAX_NONCE_LENGTH} characters`);
    // This key has used its quota of live nonces; other keys are not affected.
    if (used === 'quota') throw RpcError.of('Throttling');
  }

  /** Refuses a nonce too long to be one before the signature is even computed. */
  private checkNonceLength(name: string, nonce: string): string {
    if (NonceCache.tooLong(nonce)) {
      this.options.limitHits?.hit('api_nonce_length');
      throw invalidParam(name, `must be at most ${MAX_NONCE_LENGTH} characters`);
    }
    return nonce;
  }
}

function firstHeader(headers: ReadonlyMap<string, readonly string[]>, name: string): string | undefined {
  return headers.get(name)?.[0];
}

function requiredHeader(request: RpcRequest, name: string): string {
  const value = firstHeader(request.headers, name);
  if (value === undefined || value.trim() === '') throw RpcError.of('MissingParameter', name);
  return value.trim();
}

/**
 * An ACS3 request's Action or Version: the signed header; the same name in the parameters may
 * repeat it but not contradict it.
 */
function signedValue(request: RpcRequest, p: RpcParams, header: string, param: string): string {
  const value = requiredHeader(request, header);
  const given = p.optional(param);
  if (given !== undefined && given !== value) throw invalidParam(param, `differs from the ${header} header`);
  return value;
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
        const body = request.method === 'POST' && typeof request.body === 'string' ? request.body : '';
        const answer = await endpoint.handle({
          method: request.method,
          path: q < 0 ? url : url.slice(0, q),
          rawQuery: q < 0 ? '' : url.slice(q + 1),
          form: request.method === 'POST' && isForm(request.headers['content-type']) ? body : null,
          body,
          headers: headerMap(request.raw.rawHeaders),
          host: (request.headers.host ?? '').replace(/:\d+$/, ''),
        });
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

/** Node's raw header list as lower-case name → values (repeats kept apart, as ACS3 signs them). */
function headerMap(rawHeaders: readonly string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const values = map.get(name);
    if (values === undefined) map.set(name, [rawHeaders[i + 1]!]);
    else values.push(rawHeaders[i + 1]!);
  }
  return map;
}

function isForm(contentType: string | undefined): boolean {
  return contentType === undefined || contentType.toLowerCase().startsWith('application/x-www-form-urlencoded');
}
