/**
 * Alibaba Cloud request signature V3 (ACS3), as `@alicloud/openapi-client` 0.4.x — the core of
 * every generated Tea SDK — signs `callApi` requests by default
 * (@alicloud/openapi-util getAuthorization):
 *
 *   Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=host;x-acs-…,Signature=<hex>
 *
 *   canonical request  METHOD \n
 *                      canonical URI (the path as sent, `/`) \n
 *                      canonical query (every query parameter, RFC 3986 encoded, sorted by name,
 *                                       `k=v` joined by '&') \n
 *                      canonical headers (each signed header `name:trimmed value\n`, sorted;
 *                                         repeated values sorted and joined by ',') \n
 *                      signed header names joined by ';' \n
 *                      hex(hash(body))   (also sent as x-acs-content-sha256)
 *   string to sign     `${algorithm}\n${hex(hash(canonical request))}`
 *   Signature          hex(HMAC(key = AccessKeySecret, data = string to sign))
 *
 * The Action, Version, date and nonce travel in the x-acs-* headers, parameters in the query
 * string or a form body (covered by the body hash). ACS3-HMAC-SM3 is the same with SM3.
 */
import { createHash, createHmac } from 'node:crypto';
import { percentEncode } from './signature.js';

/** The algorithms Ferry verifies and the hash behind each. */
export const ACS3_ALGORITHMS: ReadonlyMap<string, string> = new Map([
  ['ACS3-HMAC-SHA256', 'sha256'],
  ['ACS3-HMAC-SM3', 'sm3'],
]);

/**
 * Headers that must be among the signed ones: they decide what runs (action, version), when
 * (date), that it runs once (nonce) and on what (body hash, host).
 */
export const ACS3_REQUIRED_SIGNED = ['host', 'x-acs-action', 'x-acs-content-sha256', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-version'] as const;

export interface Acs3Authorization {
  readonly algorithm: string;
  readonly accessKeyId: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

/** True when the Authorization header asks for an ACS3 signature (any algorithm of that family). */
export function isAcs3(authorization: string | undefined): authorization is string {
  return authorization !== undefined && authorization.startsWith('ACS3-');
}

/**
 * `ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…` (spaces after the commas are
 * tolerated); null when a part is missing or repeated.
 */
export function parseAcs3Authorization(header: string): Acs3Authorization | null {
  const space = header.indexOf(' ');
  if (space < 0) return null;
  const algorithm = header.slice(0, space);
  const fields = new Map<string, string>();
  for (const part of header.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return null;
    const name = part.slice(0, eq).trim();
    if (fields.has(name)) return null;
    fields.set(name, part.slice(eq + 1).trim());
  }
  const accessKeyId = fields.get('Credential');
  const signed = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (accessKeyId === undefined || accessKeyId === '' || signed === undefined || signature === undefined || signature === '') return null;
  const signedHeaders = signed.split(';').map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
  return { algorithm, accessKeyId, signedHeaders, signature };
}

/** The canonical query string of a raw (still encoded) query string. */
export function acs3CanonicalQuery(rawQuery: string): string {
  const pairs = [...new URLSearchParams(rawQuery)].map(([k, v]) => [percentEncode(k), percentEncode(v)] as const);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** `name:value\n` for each signed header (lower-case names, trimmed values, repeats sorted and joined by ','). */
export function acs3CanonicalHeaders(signedHeaders: readonly string[], headers: ReadonlyMap<string, readonly string[]>): string {
  return [...signedHeaders]
    .sort()
    .map((name) => `${name}:${[...(headers.get(name) ?? [])].map((v) => v.trim()).sort().join(',')}\n`)
    .join('');
}

export interface Acs3Request {
  readonly method: string;
  /** The path as sent (before '?'). */
  readonly path: string;
  readonly rawQuery: string;
  /** Every header, lower-case name → its values in arrival order. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly payloadHash: string;
}

export function acs3CanonicalRequest(request: Acs3Request, signedHeaders: readonly string[]): string {
  const sorted = [...signedHeaders].sort();
  return [
    request.method.toUpperCase(),
    request.path,
    acs3CanonicalQuery(request.rawQuery),
    acs3CanonicalHeaders(sorted, request.headers),
    sorted.join(';'),
    request.payloadHash,
  ].join('\n');
}

/** Hex digest of `data` with the algorithm's hash; undefined for an algorithm Ferry does not verify. */
export function acs3Hash(algorithm: string, data: string | Buffer): string | undefined {
  const hash = ACS3_ALGORITHMS.get(algorithm);
  return hash === undefined ? undefined : createHash(hash).update(data).digest('hex');
}

export function acs3StringToSign(algorithm: string, canonicalRequest: string): string {
  return `${algorithm}\n${acs3Hash(algorithm, Buffer.from(canonicalRequest, 'utf8'))}`;
}

export function acs3Sign(algorithm: string, stringToSign: string, accessKeySecret: string): string {
  const hash = ACS3_ALGORITHMS.get(algorithm);
  if (hash === undefined) throw new Error(`unsupported ACS3 algorithm ${algorithm}`);
  return createHmac(hash, accessKeySecret).update(stringToSign, 'utf8').digest('hex');
}
