/**
 * Console sessions: a person signs in with an AccessKey (or a bearer token) and the browser gets
 * an HttpOnly, SameSite=Strict cookie holding a bearer token of the REST API (api/rest/bearer.ts).
 * The token carries the key's policies, so the console can do exactly what the key can do
 * through the API, and every check stays in the API.
 *
 *   cookie  ferry_console=<bearer token>; Path=/; HttpOnly; SameSite=Strict
 *   header  X-Ferry-CSRF: <HMAC(server key, token)>   on every cookie-authenticated API call
 *
 * The CSRF token is derived from the session token with a per-process key, so nothing else is
 * stored; the page reads it from GET /console/session (same-origin only: no CORS headers exist).
 * Requiring it on reads as well as writes keeps one rule for all calls and stops cross-site reads
 * that a lax proxy or an old browser would otherwise let through with the cookie.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { parseCookie } from 'cookie';
import type { FastifyRequest } from 'fastify';
import { safeEqual } from '../auth/crypto.js';
import { RestAuthError } from '../api/rest/auth.js';
import type { BearerTokens } from '../api/rest/bearer.js';
import type { Management } from '../management/management.js';

export const SESSION_COOKIE = 'ferry_console';
export const CSRF_HEADER = 'x-ferry-csrf';
/** A console session lasts a working day at most (the bearer token's own cap is 12 h). */
export const SESSION_TTL_S = 8 * 3600;

export interface ConsoleSession {
  readonly accessKeyId: string;
  readonly csrf: string;
  readonly expiresAt: number;
}

export class ConsoleSessions {
  private readonly key = randomBytes(32);

  constructor(
    private readonly bearer: BearerTokens,
    private readonly management: Management,
  ) {}

  /**
   * A new session for an AccessKey and its secret; undefined for an unknown/disabled key or a wrong
   * secret; 'throttled' when the key holds its quota of bearer tokens (apiTokensPerKey).
   */
  signIn(accessKeyId: string, secret: string): { token: string; session: ConsoleSession } | undefined | 'throttled' {
    const known = this.management.accessKeys.secret(accessKeyId);
    // Compare even for an unknown key so the answer takes the same time.
    const matches = safeEqual(secret, known ?? randomBytes(16).toString('hex'));
    if (known === undefined || !matches || this.management.policyOf(accessKeyId) === undefined) return undefined;
    const issued = this.bearer.issue(accessKeyId, SESSION_TTL_S);
    if (issued === null) return 'throttled';
    return { token: issued.token, session: { accessKeyId, csrf: this.csrfOf(issued.token), expiresAt: issued.expiresAt } };
  }

  /** A session bound to a bearer token someone already holds (`ferry login`, POST /api/v1/auth/token). */
  adopt(token: string): { token: string; session: ConsoleSession } | undefined {
    const session = this.describe(token);
    return session === undefined ? undefined : { token, session };
  }

  describe(token: string): ConsoleSession | undefined {
    const issued = this.bearer.verify(token);
    if (issued === undefined || this.management.policyOf(issued.accessKeyId) === undefined) return undefined;
    return { accessKeyId: issued.accessKeyId, csrf: this.csrfOf(token), expiresAt: issued.expiresAt };
  }

  /** Ends the session server-side: its token stops working for every request at once. */
  signOut(token: string): void {
    this.bearer.revoke(token);
  }

  /** The session token in the request's cookie, if any. */
  tokenOf(request: FastifyRequest): string | undefined {
    const header = request.headers.cookie;
    if (header === undefined) return undefined;
    const token = parseCookie(header)[SESSION_COOKIE];
    return token === undefined || token === '' ? undefined : token;
  }

  /** True when the request carries the CSRF token of its session. */
  csrfMatches(request: FastifyRequest, token: string): boolean {
    const sent = request.headers[CSRF_HEADER];
    return typeof sent === 'string' && safeEqual(sent, this.csrfOf(token));
  }

  /**
   * The REST API's session hook (RestOptions.sessionAuth): the AccessKeyId of a cookie session
   * with its CSRF token, undefined without a cookie; a dead session or a missing/wrong CSRF token
   * is refused (401 / 403) rather than tried as another kind of credential.
   */
  readonly authenticate = (request: FastifyRequest): string | undefined => {
    const token = this.tokenOf(request);
    if (token === undefined) return undefined;
    const session = this.describe(token);
    if (session === undefined) throw new RestAuthError('SessionExpired', 'the console session has ended; sign in again');
    if (!this.csrfMatches(request, token)) throw new RestAuthError('InvalidCsrfToken', `a console session request needs the ${CSRF_HEADER} header of its session`, 403);
    return session.accessKeyId;
  };

  private csrfOf(token: string): string {
    return createHmac('sha256', this.key).update(token).digest('base64url');
  }
}
