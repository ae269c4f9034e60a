/**
 * Liveness and readiness.
 *   GET /healthz  200 {"status":"ok"} while the process runs.
 *   GET /readyz   200 {"status":"ready"} once every listener accepts connections and no check
 *                 reports a problem; 503 {"status":"starting"|"stopping"} before that and from the
 *                 start of shutdown; 503 {"status":"degraded","problems":[{"check","reason"}]}
 *                 while a check fails (e.g. the store cannot write).
 */
import type { HttpModule } from './server.js';

export type ReadinessState = 'starting' | 'ready' | 'stopping';

export interface ReadinessProblem {
  readonly check: string;
  readonly reason: string;
}

export class Readiness {
  state: ReadinessState = 'starting';
  private readonly checks = new Map<string, () => string | null>();

  /** A named condition: the process is not ready while `check` returns a reason. */
  addCheck(name: string, check: () => string | null): void {
    this.checks.set(name, check);
  }

  get problems(): ReadinessProblem[] {
    const problems: ReadinessProblem[] = [];
    for (const [check, run] of this.checks) {
      const reason = run();
      if (reason !== null) problems.push({ check, reason });
    }
    return problems;
  }

  get ready(): boolean {
    return this.state === 'ready' && this.problems.length === 0;
  }
}

export function healthModule(readiness: Readiness): HttpModule {
  return {
    name: 'health',
    plugin: async (app) => {
      app.get('/healthz', async () => ({ status: 'ok' }));
      app.get('/readyz', async (_req, reply) => {
        const state = readiness.state;
        if (state !== 'ready') return reply.code(503).send({ status: state });
        const problems = readiness.problems;
        if (problems.length > 0) return reply.code(503).send({ status: 'degraded', problems });
        return reply.code(200).send({ status: state });
      });
    },
  };
}
