/**
 * Request signing of the native REST API (docs/api.md, "Authentication"). A caller with an
 * AccessKey signs every request; people and the CLI may instead trade a signed request (or the
 * key's id and secret) for a short-lived bearer token.
 *
 *   Authorization:           FERRY-HMAC-SHA256 Credential=<AccessKeyId>, Signature=<base64>
 *   X-Ferry-Date:            request time, ISO 8601 UTC (within 15 minutes of the server's clock)
 *   X-Ferry-Nonce:           a random string, never reused with the same key within 30 minutes
 *   X-Ferry-Content-SHA256:  optional; hex SHA-256 of the body (the server computes its own)
 *
 *   string to sign = "FERRY-HMAC-SHA256\n" + METHOD + "\n" + path + "\n" + canonical query + "\n"
 *                    + hex(SHA-256(body bytes)) + "\n" + X-Ferry-Date + "\n" + X-Ferry-Nonce
 *   Signature      = Base64(HMAC-SHA256(key = AccessKeySecret, data = string to sign))
 *
 * `path` is the request path exactly as sent (still percent-encoded), without the query;
 * the canonical query is every query parameter sorted by name, then value, each name and value
 * RFC 3986 percent-encoded (as in the RPC signature), joined as `k=v` with '&'. An empty body
 * hashes as the empty string.
 */
import { createHash, createHmac } from 'node:crypto';
import { percentEncode } from '../rpc/signature.js';

export const SIGNING_ALGORITHM = 'FERRY-HMAC-SHA256';

export function sha256Hex(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex');
}

/** The canonical form of a raw query string (`a=1&b=2`, without '?'). */
export function canonicalRestQuery(rawQuery: string): string {
  const pairs = [...new URLSearchParams(rawQuery)].map(([k, v]) => [percentEncode(k), percentEncode(v)] as const);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

export interface SignedParts {
  readonly method: string;
  /** Path as sent, without the query. */
  readonly path: string;
  /** Raw query string without '?'. */
  readonly query: string;
  readonly body: Buffer | string;
  readonly date: string;
  readonly nonce: string;
}

export function restStringToSign(parts: SignedParts): string {
  return [SIGNING_ALGORITHM, parts.method.toUpperCase(), parts.path, canonicalRestQuery(parts.query), sha256Hex(parts.body), parts.date, parts.nonce].join('\n');
}

export function signRest(parts: SignedParts, secret: string): string {
  return createHmac('sha256', secret).update(restStringToSign(parts), 'utf8').digest('base64');
}

/** Headers for a signed request (used by the CLI and tests). */
export function signedHeaders(parts: Omit<SignedParts, 'date' | 'nonce'> & { date?: string; nonce?: string }, key: { id: string; secret: string }): Record<string, string> {
  const date = parts.date ?? new Date().toISOString();
  const nonce = parts.nonce ?? createHash('sha256').update(`${Math.random()}${process.hrtime.bigint()}`).digest('hex').slice(0, 32);
  const signature = signRest({ ...parts, date, nonce }, key.secret);
  return {
    authorization: `${SIGNING_ALGORITHM} Credential=${key.id}, Signature=${signature}`,
    'x-ferry-date': date,
    'x-ferry-nonce': nonce,
    'x-ferry-content-sha256': sha256Hex(parts.body),
  };
}

/** Parses the Authorization header of a signed request; null if it is not one. */
export function parseSignedAuthorization(header: string): { accessKeyId: string; signature: string } | null {
  const m = /^FERRY-HMAC-SHA256\s+Credential=([^,\s]+),\s*Signature=([A-Za-z0-9+/=]+)$/.exec(header.trim());
  return m === null ? null : { accessKeyId: m[1]!, signature: m[2]! };
}
