/**
 * Liveness and readiness.
 *   GET /healthz  200 {"status":"ok"} while the process runs.
 *   GET /readyz   200 {"status":"ready"} once every listener accepts connections;
 *                 503 {"status":"starting"|"stopping"} before that and from the start of shutdown.
 */
import type { HttpModule } from './server.js';

export type ReadinessState = 'starting' | 'ready' | 'stopping';

export class Readiness {
  state: ReadinessState = 'starting';
  get ready(): boolean {
    return this.state === 'ready';
  }
}

export function healthModule(readiness: Readiness): HttpModule {
  return {
    name: 'health',
    plugin: async (app) => {
      app.get('/healthz', async () => ({ status: 'ok' }));
      app.get('/readyz', async (_req, reply) => {
        const state = readiness.state;
        return reply.code(state === 'ready' ? 200 : 503).send({ status: state });
      });
    },
  };
}
