/**
 * The HTTP server (Fastify). It owns nothing but the server: features come as HttpModules, each a
 * Fastify plugin registered in its own encapsulated context, optionally under a prefix. server.ts
 * lists the modules (health now; /api/v1, /metrics and the RPC endpoint at / later).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import { DEFAULT_HTTP_LIMITS, limitedHttpServer, type HttpLimits } from './connection-limits.js';

export interface HttpModule {
  /** For logs and errors. */
  readonly name: string;
  /** URL prefix for every route of the module, e.g. '/api/v1'. */
  readonly prefix?: string;
  readonly plugin: FastifyPluginAsync;
}

export interface HttpServerOptions {
  logger: Logger;
  modules: readonly HttpModule[];
  /** Timeouts and the per-address connection cap (connection-limits.ts); defaults when absent. */
  limits?: HttpLimits;
}

/** Build the app with every module registered; call `listen` to serve (or `inject` in tests). */
export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const limits = options.limits ?? DEFAULT_HTTP_LIMITS;
  const app = Fastify({
    serverFactory: (handler) => limitedHttpServer(handler, limits),
    loggerInstance: options.logger as FastifyBaseLogger,
    // Health probes and API calls are not logged one line per request.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // At stop the broker is already closed; a client trickling a request must not hold the stop.
    forceCloseConnections: true,
  });
  for (const module of options.modules) {
    await app.register(module.plugin, module.prefix === undefined ? {} : { prefix: module.prefix });
  }
  await app.ready();
  return app;
}

/** Listen and return the bound port. */
export async function listenHttp(app: FastifyInstance, host: string, port: number): Promise<number> {
  await app.listen({ host, port });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('http server has no TCP address');
  return address.port;
}
