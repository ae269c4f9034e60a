/**
 * Who is calling the REST API: the AccessKey behind a valid request signature (signing.ts) or a
 * bearer token (bearer.ts). Failures are 401 with a code naming what is wrong.
 */
import type { FastifyRequest } from 'fastify';
import { httpStatus, type ErrorCode } from '../../errors.js';
import { safeEqual } from '../../auth/crypto.js';
import type { Management } from '../../management/management.js';
import { MAX_NONCE_LENGTH, type NonceCache } from '../rpc/nonce-cache.js';
import type { BearerTokens } from './bearer.js';
import { parseSignedAuthorization, signRest } from './signing.js';

const WINDOW_MS = 15 * 60 * 1000;

declare module 'fastify' {
  interface FastifyRequest {
    ferryRawBody?: Buffer;
    ferryAccessKeyId?: string;
    ferryStarted?: number;
  }
}

export class RestAuthError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The catalogue's (401: who are you?) unless the caller is known and refused anyway (403) or only over a limit (429). */
    readonly status: number = httpStatus(code),
    /** Retry-After of the answer, seconds: the request was not executed and may be sent again (signed anew). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Who is calling: the AccessKeyId behind a valid signature or bearer token. */
export async function authenticate(request: FastifyRequest, management: Management, nonces: NonceCache, bearer: BearerTokens, now: number): Promise<string> {
  const header = request.headers.authorization;
  if (header === undefined) throw new RestAuthError('Unauthenticated', 'sign the request with an AccessKey or send a bearer token (docs/api.md, "Authentication")');
  if (header.startsWith('Bearer ')) {
    const issued = bearer.verify(header.slice(7).trim());
    if (issued === undefined) throw new RestAuthError('InvalidToken', 'the bearer token is unknown or expired');
    if (management.policyOf(issued.accessKeyId) === undefined) throw new RestAuthError('InvalidToken', 'the AccessKey of this token is gone or disabled');
    return issued.accessKeyId;
  }
  const parsed = parseSignedAuthorization(header);
  if (parsed === null) throw new RestAuthError('Unauthenticated', 'Authorization must be "FERRY-HMAC-SHA256 Credential=<id>, Signature=<sig>" or "Bearer <token>"');
  const date = request.headers['x-ferry-date'];
  const nonce = request.headers['x-ferry-nonce'];
  if (typeof date !== 'string' || typeof nonce !== 'string' || nonce.length === 0) {
    throw new RestAuthError('Unauthenticated', 'a signed request needs X-Ferry-Date and X-Ferry-Nonce');
  }
  const stamp = Date.parse(date);
  if (Number.isNaN(stamp) || Math.abs(now - stamp) > WINDOW_MS) throw new RestAuthError('RequestExpired', 'X-Ferry-Date is missing, malformed or more than 15 minutes off');
  const keys = management.accessKeys;
  const key = keys.get(parsed.accessKeyId);
  if (key === undefined || key.status !== 'Active') throw new RestAuthError('InvalidAccessKeyId', `AccessKey ${parsed.accessKeyId} does not exist or is disabled`);
  const url = request.raw.url ?? '/';
  const q = url.indexOf('?');
  const expected = signRest(
    { method: request.method, path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1), body: request.ferryRawBody ?? Buffer.alloc(0), date, nonce },
    keys.secret(parsed.accessKeyId)!,
  );
  if (!safeEqual(parsed.signature, expected)) throw new RestAuthError('SignatureDoesNotMatch', 'the request signature does not match (see docs/api.md for the string to sign)');
  let used;
  try {
    used = await nonces.claim(parsed.accessKeyId, nonce, now);
  } catch (err) {
    // Cluster mode and JetStream cannot say whether another node saw it (a leader election): refused,
    // never accepted unchecked; nothing was executed, so the client may send it again.
    throw new RestAuthError('ServiceUnavailable', (err as Error).message, httpStatus('ServiceUnavailable'), 1);
  }
  if (used === 'used') throw new RestAuthError('NonceUsed', 'X-Ferry-Nonce was used already');
  if (used === 'too-long') throw new RestAuthError('InvalidNonce', `X-Ferry-Nonce is longer than ${MAX_NONCE_LENGTH} characters`);
  // This key has used its quota of live nonces; other keys are not affected.
  if (used === 'quota') throw new RestAuthError('Throttled', 'this AccessKey has too many signed requests in the last 30 minutes; retry later or use a bearer token', 429);
  return parsed.accessKeyId;
}

