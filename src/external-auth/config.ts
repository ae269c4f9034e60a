/**
 * Per-instance settings of the external providers (config key `externalAuth`):
 *
 *   {"<instanceId>": {"jwt": {…}, "http": {…}}}
 *
 * Checked here when the configuration is loaded, so a mistake stops the start with a message
 * that names the field; key files are read when the providers open (index.ts).
 */

export const JWT_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export interface JwtSettings {
  /** Accepted `alg` values; a token signed with another is refused. */
  readonly algorithms: readonly JwtAlgorithm[];
  /** HMAC secret (HS*), inline or in a file. */
  readonly secret?: string;
  readonly secretFile?: string;
  /** PEM public key (SPKI) or a JWKS JSON file (RS*, PS*, ES*, EdDSA). */
  readonly publicKeyFile?: string;
  /** JWKS endpoint; keys are cached for jwksCacheSeconds, refetched for an unknown `kid`. */
  readonly jwksUrl?: string;
  readonly jwksCacheSeconds?: number;
  readonly jwksTimeoutMs?: number;
  /** Where the token is in CONNECT (default password). */
  readonly from?: 'password' | 'username';
  readonly issuer?: string;
  readonly audience?: string;
  readonly clockToleranceSeconds?: number;
  /** Claim names: client id (must equal the CONNECT client id when present), instance, ACL. */
  readonly clientIdClaim?: string;
  readonly instanceClaim?: string;
  readonly aclClaim?: string;
  /** Disconnect the client when its token expires (default true). */
  readonly disconnectOnExpiry?: boolean;
}

export interface HttpSettings {
  /** Authentication callback: POST JSON {clientId, username, password, instanceId, …}. */
  readonly authUrl?: string;
  /** Authorization callback: POST JSON {clientId, username, instanceId, action, topic}. */
  readonly authorizeUrl?: string;
  /** Extra request headers (e.g. an Authorization for the callback service); never logged. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  /** How long answers (allow and deny) are reused, seconds; 0 = ask every time. */
  readonly cacheSeconds?: number;
  /** When the callback fails (timeout, network, 5xx, bad body): refuse, or let the next mode decide. */
  readonly failurePolicy?: 'deny' | 'ignore';
}

export interface InstanceExternalAuth {
  readonly jwt?: JwtSettings;
  readonly http?: HttpSettings;
}

export type ExternalAuthConfig = Readonly<Record<string, InstanceExternalAuth>>;

type Check = { value: unknown } | { error: string };

const INSTANCE_ID = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const JWT_KEYS = new Set(['algorithms', 'secret', 'secretFile', 'publicKeyFile', 'jwksUrl', 'jwksCacheSeconds', 'jwksTimeoutMs', 'from', 'issuer', 'audience', 'clockToleranceSeconds', 'clientIdClaim', 'instanceClaim', 'aclClaim', 'disconnectOnExpiry']);
const HTTP_KEYS = new Set(['authUrl', 'authorizeUrl', 'headers', 'timeoutMs', 'cacheSeconds', 'failurePolicy']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function httpUrl(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    const url = new URL(v);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function intIn(v: unknown, min: number, max: number): boolean {
  return Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
}

function checkJwt(at: string, jwt: unknown): string | null {
  if (!isObject(jwt)) return `${at} must be an object`;
  for (const k of Object.keys(jwt)) if (!JWT_KEYS.has(k)) return `${at}: unknown field "${k}"`;
  const algs = jwt['algorithms'];
  if (!Array.isArray(algs) || algs.length === 0 || !algs.every((a) => (JWT_ALGORITHMS as readonly unknown[]).includes(a))) {
    return `${at}.algorithms must be a non-empty array of ${JWT_ALGORITHMS.join(', ')}`;
  }
  const hmac = algs.some((a) => String(a).startsWith('HS'));
  const asym = algs.some((a) => !String(a).startsWith('HS'));
  const sources = ['secret', 'secretFile', 'publicKeyFile', 'jwksUrl'].filter((k) => jwt[k] !== undefined);
  if (sources.length === 0) return `${at} needs a key: secret, secretFile, publicKeyFile or jwksUrl`;
  if (hmac && asym) return `${at}.algorithms mixes HMAC (HS*) and public-key algorithms: use one kind per instance`;
  if (hmac && jwt['secret'] === undefined && jwt['secretFile'] === undefined) return `${at}: HS* algorithms need secret or secretFile`;
  if (asym && jwt['publicKeyFile'] === undefined && jwt['jwksUrl'] === undefined) return `${at}: ${String(algs[0])} needs publicKeyFile or jwksUrl`;
  if (jwt['secret'] !== undefined && (typeof jwt['secret'] !== 'string' || jwt['secret'].length < 32)) return `${at}.secret must be at least 32 characters`;
  for (const k of ['secretFile', 'publicKeyFile', 'issuer', 'audience', 'clientIdClaim', 'instanceClaim', 'aclClaim']) {
    if (jwt[k] !== undefined && (typeof jwt[k] !== 'string' || jwt[k] === '')) return `${at}.${k} must be a non-empty string`;
  }
  if (jwt['jwksUrl'] !== undefined && !httpUrl(jwt['jwksUrl'])) return `${at}.jwksUrl must be an http(s) URL`;
  if (jwt['jwksCacheSeconds'] !== undefined && !intIn(jwt['jwksCacheSeconds'], 1, 86_400)) return `${at}.jwksCacheSeconds must be 1-86400`;
  if (jwt['jwksTimeoutMs'] !== undefined && !intIn(jwt['jwksTimeoutMs'], 100, 60_000)) return `${at}.jwksTimeoutMs must be 100-60000`;
  if (jwt['clockToleranceSeconds'] !== undefined && !intIn(jwt['clockToleranceSeconds'], 0, 3600)) return `${at}.clockToleranceSeconds must be 0-3600`;
  if (jwt['from'] !== undefined && jwt['from'] !== 'password' && jwt['from'] !== 'username') return `${at}.from must be "password" or "username"`;
  if (jwt['disconnectOnExpiry'] !== undefined && typeof jwt['disconnectOnExpiry'] !== 'boolean') return `${at}.disconnectOnExpiry must be true or false`;
  return null;
}

function checkHttp(at: string, http: unknown): string | null {
  if (!isObject(http)) return `${at} must be an object`;
  for (const k of Object.keys(http)) if (!HTTP_KEYS.has(k)) return `${at}: unknown field "${k}"`;
  if (http['authUrl'] === undefined && http['authorizeUrl'] === undefined) return `${at} needs authUrl, authorizeUrl or both`;
  for (const k of ['authUrl', 'authorizeUrl']) if (http[k] !== undefined && !httpUrl(http[k])) return `${at}.${k} must be an http(s) URL`;
  const headers = http['headers'];
  if (headers !== undefined && (!isObject(headers) || !Object.values(headers).every((v) => typeof v === 'string'))) return `${at}.headers must be an object of strings`;
  if (http['timeoutMs'] !== undefined && !intIn(http['timeoutMs'], 10, 60_000)) return `${at}.timeoutMs must be 10-60000`;
  if (http['cacheSeconds'] !== undefined && !intIn(http['cacheSeconds'], 0, 86_400)) return `${at}.cacheSeconds must be 0-86400`;
  if (http['failurePolicy'] !== undefined && http['failurePolicy'] !== 'deny' && http['failurePolicy'] !== 'ignore') return `${at}.failurePolicy must be "deny" or "ignore"`;
  return null;
}

/** The config table's check for `externalAuth` (never echoes a value: it may hold secrets). */
export function checkExternalAuth(value: unknown): Check {
  if (!isObject(value)) return { error: 'expected a JSON object {"<instanceId>": {"jwt": {…}, "http": {…}}}' };
  for (const [instanceId, entry] of Object.entries(value)) {
    if (!INSTANCE_ID.test(instanceId)) return { error: `"${instanceId}" is not an instance id` };
    if (!isObject(entry)) return { error: `${instanceId} must be an object with jwt and/or http` };
    for (const k of Object.keys(entry)) if (k !== 'jwt' && k !== 'http') return { error: `${instanceId}: unknown field "${k}" (jwt, http)` };
    const problem = (entry['jwt'] === undefined ? null : checkJwt(`${instanceId}.jwt`, entry['jwt'])) ?? (entry['http'] === undefined ? null : checkHttp(`${instanceId}.http`, entry['http']));
    if (problem !== null) return { error: problem };
  }
  return { value };
}
