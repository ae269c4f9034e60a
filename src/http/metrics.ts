/**
 * GET /metrics: Prometheus text format from the process's FerryMetrics registry.
 *
 * The module also times every HTTP request of the process (health, /api/v1, the RPC endpoint)
 * into ferry_api_requests_total and ferry_api_request_duration_seconds. Its plugin skips Fastify
 * encapsulation (the `skip-override` symbol fastify-plugin sets), so its onResponse hook lands on
 * the root instance; server.ts registers it first so every later route gets the hook. Routes are
 * labelled by their pattern (`/api/v1/clients/:clientId`), unmatched URLs as "unmatched".
 * Routes whose config says `selfTimed` (the RPC endpoint, when given metrics.observeRpcRequest
 * as its observer) are skipped here: they report each request themselves, with an `action` label.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { isLoopbackAddress } from '../config/load.js';
import { safeEqual } from '../auth/crypto.js';
import type { FerryMetrics } from '../observability/metrics.js';
import type { HttpModule } from './server.js';

/** Route config of a route that reports its own requests (`{ config: SELF_TIMED }`): the hook skips it. */
export const SELF_TIMED: Readonly<Record<string, unknown>> = { selfTimed: true };

/**
 * Who may read /metrics: 'loopback' (default) serves callers on this machine without a token and
 * everyone else only with `Authorization: Bearer <token>`; 'token' wants the token from everyone;
 * 'open' serves everyone. Without a configured token, 'loopback' refuses remote callers.
 */
export interface MetricsAccess {
  readonly mode: 'loopback' | 'token' | 'open';
  readonly token?: string | undefined;
}

function allowed(access: MetricsAccess, request: FastifyRequest): boolean {
  if (access.mode === 'open') return true;
  if (access.mode === 'loopback' && isLoopbackAddress(request.socket.remoteAddress ?? '')) return true;
  const header = request.headers.authorization;
  return access.token !== undefined && header !== undefined && header.startsWith('Bearer ') && safeEqual(header.slice(7).trim(), access.token);
}

export function metricsModule(metrics: FerryMetrics, access: MetricsAccess = { mode: 'loopback' }): HttpModule {
  const plugin: FastifyPluginAsync = async (app) => {
    app.addHook('onResponse', async (request, reply) => {
      // Routes that report their own requests (the RPC endpoint, with its action label).
      if ((request.routeOptions.config as { selfTimed?: unknown } | undefined)?.selfTimed === true) return;
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.observeApiRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    });
    app.get('/metrics', async (request, reply) => {
      if (!allowed(access, request)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="ferry-metrics"')
          .send({ error: { code: 'Unauthenticated', message: 'GET /metrics from another host needs Authorization: Bearer <metricsToken> (docs/security.md)' } });
      }
      const body = await metrics.render();
      return reply.header('content-type', metrics.contentType).send(body);
    });
  };
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return { name: 'metrics', plugin };
}
