/**
 * The web console at /console/ (docs/console.md): static files built from console/ at install
 * time (scripts/build-console.mjs → dist/console/), served with @fastify/static, plus the sign-in
 * session (sessions.ts). Everything the page does afterwards goes through /api/v1 with the
 * session cookie and its CSRF header: the console has no routes of its own beyond the session.
 *
 *   GET    /console              → 302 /console/
 *   GET    /console/             index.html (no-store), assets under /console/assets/ (immutable)
 *   POST   /console/session      {accessKeyId, accessKeySecret} | {token} → cookie + {accessKeyId, csrf, expiresAt}
 *   GET    /console/session      the current session (200) or 204 when signed out
 *   DELETE /console/session      ends it server-side (CSRF header required), clears the cookie
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { stringifySetCookie } from 'cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpModule } from '../http/server.js';
import { SECURITY_HEADERS } from './security-headers.js';
import { SESSION_COOKIE, SESSION_TTL_S, type ConsoleSessions } from './sessions.js';

export const CONSOLE_PATH = '/console/';

/** dist/console next to dist/src (this file runs as dist/src/console/module.js). */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

export interface ConsoleOptions {
  readonly sessions: ConsoleSessions;
  /** Directory of the built console; default dist/console. */
  readonly assetsDir?: string;
}

function error(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).send({ error: { code, message } });
}

/** State-changing session calls come from the console's own pages: a foreign Origin is refused. */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

function sessionCookie(request: FastifyRequest, token: string, maxAge: number): string {
  return stringifySetCookie({
    name: SESSION_COOKIE,
    value: token,
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    // Secure only where the browser would keep it: behind TLS (a proxy sets X-Forwarded-Proto only if trusted).
    secure: request.protocol === 'https',
    maxAge,
  });
}

export function consoleModule(options: ConsoleOptions): HttpModule {
  const { sessions } = options;
  const assetsDir = options.assetsDir ?? DEFAULT_ASSETS_DIR;
  return {
    name: 'console',
    plugin: async (app: FastifyInstance) => {
      app.addHook('onSend', async (_request, reply) => {
        reply.headers(SECURITY_HEADERS);
      });
      app.get('/console', { schema: { hide: true } }, async (_request, reply) => reply.redirect(CONSOLE_PATH, 302));

      if (existsSync(`${assetsDir}/index.html`)) {
        await app.register(fastifyStatic, {
          root: assetsDir,
          prefix: CONSOLE_PATH,
          index: 'index.html',
          // Asset names carry a content hash; the page itself must always be fresh.
          cacheControl: false,
          setHeaders(res, path) {
            res.header('cache-control', path.endsWith('.html') ? 'no-store' : 'public, max-age=31536000, immutable');
          },
        });
      } else {
        app.log.error({ assetsDir }, 'console assets are missing (run "npm run build"); /console/ answers 503');
        app.get(CONSOLE_PATH, async (_request, reply) => error(reply, 503, 'ConsoleNotBuilt', 'the console was not built: run "npm run build"'));
      }

      app.post(
        '/console/session',
        {
          schema: {
            hide: true,
            body: {
              type: 'object',
              additionalProperties: false,
              properties: { accessKeyId: { type: 'string', minLength: 1, maxLength: 128 }, accessKeySecret: { type: 'string', minLength: 1, maxLength: 256 }, token: { type: 'string', minLength: 1, maxLength: 256 } },
            },
          },
        },
        async (request, reply) => {
          if (!sameOrigin(request)) return error(reply, 403, 'ForeignOrigin', 'sign in from the console page itself');
          const body = request.body as { accessKeyId?: string; accessKeySecret?: string; token?: string };
          const started =
            body.token !== undefined
              ? sessions.adopt(body.token)
              : body.accessKeyId !== undefined && body.accessKeySecret !== undefined
                ? sessions.signIn(body.accessKeyId, body.accessKeySecret)
                : null;
          if (started === null) return error(reply, 400, 'InvalidParameter', 'send accessKeyId and accessKeySecret, or token');
          if (started === 'throttled') return error(reply, 429, 'Throttled', 'this AccessKey holds its quota of live bearer tokens (apiTokensPerKey); sign out elsewhere or wait');
          if (started === undefined) {
            request.log.info({ accessKeyId: body.accessKeyId ?? '(token)', ip: request.ip }, 'console sign-in refused');
            return error(reply, 401, 'InvalidAccessKeyId', 'unknown or disabled AccessKey, wrong secret, or expired token');
          }
          request.log.info({ accessKeyId: started.session.accessKeyId, ip: request.ip }, 'console sign-in');
          const maxAge = Math.max(1, Math.min(SESSION_TTL_S, Math.floor((started.session.expiresAt - Date.now()) / 1000)));
          return reply.header('set-cookie', sessionCookie(request, started.token, maxAge)).code(201).send(started.session);
        },
      );

      app.get('/console/session', { schema: { hide: true } }, async (request, reply) => {
        const token = sessions.tokenOf(request);
        const session = token === undefined ? undefined : sessions.describe(token);
        // 204, not 401: a signed-out visitor is the normal case, not an error for the browser to log.
        if (session === undefined) return reply.header('cache-control', 'no-store').code(204).send();
        return reply.header('cache-control', 'no-store').send(session);
      });

      app.delete('/console/session', { schema: { hide: true } }, async (request, reply) => {
        const token = sessions.tokenOf(request);
        if (token !== undefined) {
          if (!sameOrigin(request) || !sessions.csrfMatches(request, token)) return error(reply, 403, 'InvalidCsrfToken', 'sign out from the console page itself');
          sessions.signOut(token);
        }
        return reply.header('set-cookie', sessionCookie(request, '', 0)).code(204).send();
      });
    },
  };
}
