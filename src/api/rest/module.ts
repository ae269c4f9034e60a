/**
 * The native REST API under /api/v1 (Fastify): JSON in and out, a JSON schema on every route
 * (bad input → 400 naming the field), OpenAPI 3 at /api/v1/openapi.json (@fastify/swagger builds
 * it from the route schemas), AccessKey request signing or bearer tokens (signing.ts, bearer.ts),
 * the caller's policies checked per route, answers from the management facade.
 *
 *   error body: {"error": {"code": "InvalidParameter", "message": "...", "field": "body.qos"}, "requestId": "..."}
 */
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import { Ajv } from 'ajv';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HttpModule } from '../../http/server.js';
import { httpStatus } from '../../errors.js';
import { describeError, FacadeError } from '../../management/errors.js';
import type { Management } from '../../management/management.js';
import { NonceCache, type NonceLedger } from '../rpc/nonce-cache.js';
import { BearerTokens, DEFAULT_TOKENS_PER_KEY } from './bearer.js';
import type { LimitHits } from '../../observability/limit-hits.js';
import { registerRoutes, type RestContext } from './routes.js';
import { authenticate, RestAuthError } from './auth.js';

export const REST_PREFIX = '/api/v1';
const WINDOW_MS = 15 * 60 * 1000;

export interface RestOptions {
  readonly management: Management;
  readonly now?: () => number;
  /** Called once per request (metrics): route pattern, status, seconds. */
  readonly observe?: (method: string, route: string, status: number, seconds: number) => void;
  readonly version?: string;
  /** Bearer tokens shared with other modules (the console signs people in with them); default: own. */
  readonly bearer?: BearerTokens;
  /**
   * Who is calling when the request has no Authorization header: a browser session (the console's
   * cookie, src/console/sessions.ts). Returns the AccessKeyId, undefined when there is no session,
   * or throws RestAuthError (e.g. a missing CSRF token).
   */
  readonly sessionAuth?: (request: FastifyRequest) => string | undefined;
  /** The numbers of one instance behind GET /instances/{id}/stats (FerryMetrics.instanceSnapshot). */
  readonly stats?: (instanceId: string) => Promise<Record<string, unknown>>;
  /** What GET /cluster answers (src/cluster); `{enabled:false}` on a single node. */
  readonly cluster?: () => Record<string, unknown>;
  /** Live X-Ferry-Nonces per AccessKey (docs/security.md). */
  readonly noncesPerKey?: number;
  /** Live bearer tokens per AccessKey (docs/security.md). */
  readonly tokensPerKey?: number;
  /** Counts refusals by the nonce and token limits (ferry_limit_hits_total). */
  readonly limitHits?: LimitHits;
  /** Cluster mode: nonces single-use across the nodes (src/cluster/nonce-ledger.ts). */
  readonly nonceLedger?: NonceLedger;
}


/** 400 for schema errors, naming the field: `body.qos`, `querystring.limit`, `params.instanceId`. */
function validationField(error: { validation?: Array<{ instancePath?: string; params?: Record<string, unknown> }>; validationContext?: string }): string | undefined {
  const first = error.validation?.[0];
  if (first === undefined) return undefined;
  const path = (first.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const missing = first.params?.['missingProperty'];
  const extra = first.params?.['additionalProperty'];
  const leaf = typeof missing === 'string' ? missing : typeof extra === 'string' ? extra : '';
  return [error.validationContext ?? 'body', path, leaf].filter((s) => s !== '').join('.');
}

export function restModule(options: RestOptions): HttpModule {
  const { management } = options;
  const now = options.now ?? Date.now;
  const hits = options.limitHits;
  const nonces = new NonceCache(WINDOW_MS, options.noncesPerKey, hits === undefined ? null : (v) => hits.hit(v === 'quota' ? 'api_nonce_quota' : 'api_nonce_length'), options.nonceLedger ?? null);
  const bearer = options.bearer ?? new BearerTokens(now, options.tokensPerKey ?? DEFAULT_TOKENS_PER_KEY);
  return {
    name: 'rest',
    prefix: REST_PREFIX,
    plugin: async (app: FastifyInstance) => {
      await app.register(swagger, {
        openapi: {
          openapi: '3.0.3',
          info: { title: 'Ferry native API', version: options.version ?? '1', description: 'Manage a Ferry MQTT broker. Authentication: docs/api.md.' },
          servers: [{ url: '/' }],
          components: {
            securitySchemes: {
              signature: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'FERRY-HMAC-SHA256 Credential=<AccessKeyId>, Signature=<base64> with X-Ferry-Date and X-Ferry-Nonce' },
              bearer: { type: 'http', scheme: 'bearer' },
            },
          },
          security: [{ signature: [] }, { bearer: [] }],
        },
      });
      // Unknown fields are refused (400 naming them), not silently dropped as Fastify's default does.
      const ajv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
      app.setValidatorCompiler(({ schema }) => ajv.compile(schema));
      // Keep the raw body: the signature covers its hash.
      app.removeContentTypeParser('application/json');
      app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: 4 * 1024 * 1024 }, (request, body: Buffer, done) => {
        request.ferryRawBody = body;
        if (body.length === 0) return done(null, undefined);
        try {
          done(null, JSON.parse(body.toString('utf8')) as unknown);
        } catch {
          done(Object.assign(new Error('the body is not valid JSON'), { statusCode: 400, code: 'InvalidJson' }), undefined);
        }
      });
      app.addHook('onRequest', async (request) => {
        request.ferryStarted = performance.now();
      });
      app.addHook('onResponse', async (request, reply) => {
        if (request.ferryStarted !== undefined) {
          options.observe?.(request.method, `${REST_PREFIX}${request.routeOptions.url ?? 'unknown'}`.replace(`${REST_PREFIX}${REST_PREFIX}`, REST_PREFIX), reply.statusCode, (performance.now() - request.ferryStarted) / 1000);
        }
      });
      app.addHook('preValidation', async (request) => {
        const config = request.routeOptions.config as { public?: boolean } | undefined;
        if (config?.public === true) return;
        if (request.headers.authorization === undefined && options.sessionAuth !== undefined) {
          const fromSession = options.sessionAuth(request);
          if (fromSession !== undefined) {
            request.ferryAccessKeyId = fromSession;
            return;
          }
        }
        request.ferryAccessKeyId = await authenticate(request, management, nonces, bearer, now());
      });
      app.setErrorHandler(async (error: Error & { statusCode?: number; validation?: unknown; validationContext?: string; code?: string }, request, reply) => {
        const requestId = randomUUID();
        if (error instanceof RestAuthError) {
          if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
          return reply.code(error.status).send({ error: { code: error.code, message: error.message }, requestId });
        }
        if (error.validation !== undefined) {
          const field = validationField(error as Parameters<typeof validationField>[0]);
          return reply.code(httpStatus('InvalidParameter')).send({ error: { code: 'InvalidParameter', message: error.message, ...(field === undefined ? {} : { field }) }, requestId });
        }
        if (error instanceof FacadeError || error.name === 'ManagementError' || error.name === 'StoreUnavailableError') {
          const e = describeError(error);
          return reply.code(e.status).send({ error: { code: e.code, message: e.message, ...(e.field === undefined ? {} : { field: e.field }) }, requestId });
        }
        if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
          return reply.code(error.statusCode).send({ error: { code: error.code ?? 'BadRequest', message: error.message }, requestId });
        }
        request.log.error({ err: error, requestId }, 'api request failed');
        return reply.code(httpStatus('InternalError')).send({ error: { code: 'InternalError', message: 'internal error' }, requestId });
      });
      app.setNotFoundHandler(async (request, reply) =>
        reply.code(httpStatus('NotFound')).send({ error: { code: 'NotFound', message: `no route ${request.method} ${request.url}` }, requestId: randomUUID() }),
      );
      const ctx: RestContext = { management, bearer, nonces, limitHits: hits, ...(options.stats === undefined ? {} : { stats: options.stats }), ...(options.cluster === undefined ? {} : { cluster: options.cluster }) };
      registerRoutes(app, ctx);
      app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
    },
  };
}
