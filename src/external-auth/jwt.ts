/**
 * JWT authentication of one instance (jose does the cryptography): the token comes in the
 * CONNECT password (or username), is verified with the instance's key — an HMAC secret, a PEM
 * public key or JWKS file, or a JWKS URL whose keys jose caches (`jwksCacheSeconds`, refetched
 * for a `kid` it does not know) — and its claims are mapped: the client id claim must equal the
 * CONNECT client id, the instance claim the instance, and the ACL claim becomes the client's
 * topic permissions.
 *
 *   not a JWT (no three dot-separated parts)   → ignore (the next mode decides)
 *   bad signature, alg, exp, nbf, iss, aud     → deny
 *   claims that do not match the connection    → deny
 */
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, errors, importSPKI, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ConfigError } from '../config/errors.js';
import { parseAcl, type TopicAcl } from './acl.js';
import type { JwtSettings } from './config.js';

export type ProviderOutcome =
  | { readonly kind: 'allow'; readonly acl: TopicAcl | null; readonly expiresAt?: number }
  | { readonly kind: 'deny'; readonly cause: string; readonly reason: string }
  | { readonly kind: 'ignore' };

export interface ConnectFacts {
  readonly instanceId: string;
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: string;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

type Key = Uint8Array | CryptoKey | JWTVerifyGetKey;

export class JwtProvider {
  private constructor(
    private readonly settings: JwtSettings,
    private readonly key: Key,
  ) {}

  static async open(settings: JwtSettings): Promise<JwtProvider> {
    return new JwtProvider(settings, await loadKey(settings));
  }

  async authenticate(facts: ConnectFacts): Promise<ProviderOutcome> {
    const s = this.settings;
    const token = s.from === 'username' ? (facts.username ?? '') : facts.password;
    if (!JWT_SHAPE.test(token)) return { kind: 'ignore' };
    let payload: JWTPayload;
    try {
      const options = {
        algorithms: [...s.algorithms],
        ...(s.issuer === undefined ? {} : { issuer: s.issuer }),
        ...(s.audience === undefined ? {} : { audience: s.audience }),
        clockTolerance: s.clockToleranceSeconds ?? 0,
      };
      const key = this.key;
      ({ payload } = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options));
    } catch (err) {
      return { kind: 'deny', cause: `jwt-${errorCause(err)}`, reason: `JWT refused: ${errorCause(err)}` };
    }
    const clientIdClaim = s.clientIdClaim ?? 'clientid';
    const claimedClient = payload[clientIdClaim];
    if (claimedClient !== undefined && claimedClient !== facts.clientId) {
      return { kind: 'deny', cause: 'jwt-client-id', reason: `the token's ${clientIdClaim} claim is not the client id` };
    }
    const instanceClaim = s.instanceClaim ?? 'instance';
    const claimedInstance = payload[instanceClaim];
    if (claimedInstance !== undefined && claimedInstance !== facts.instanceId) {
      return { kind: 'deny', cause: 'jwt-instance', reason: `the token's ${instanceClaim} claim names another instance` };
    }
    const acl = parseAcl(payload[s.aclClaim ?? 'acl']);
    if (typeof acl === 'string') return { kind: 'deny', cause: 'jwt-acl', reason: `the token's ACL claim is malformed: ${acl}` };
    const expiresAt = typeof payload.exp === 'number' && s.disconnectOnExpiry !== false ? payload.exp * 1000 : undefined;
    return { kind: 'allow', acl, ...(expiresAt === undefined ? {} : { expiresAt }) };
  }
}

async function loadKey(s: JwtSettings): Promise<Key> {
  if (s.secret !== undefined) return new TextEncoder().encode(s.secret);
  if (s.secretFile !== undefined) return readFileSync(s.secretFile);
  if (s.jwksUrl !== undefined) {
    return createRemoteJWKSet(new URL(s.jwksUrl), {
      cacheMaxAge: (s.jwksCacheSeconds ?? 300) * 1000,
      // A token with an unknown kid may refetch at most this often (bounds what a forger can make us fetch).
      cooldownDuration: 30_000,
      timeoutDuration: s.jwksTimeoutMs ?? 5000,
    });
  }
  const file = s.publicKeyFile!;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read externalAuth publicKeyFile ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    if (text.trimStart().startsWith('{')) return createLocalJWKSet(JSON.parse(text) as JSONWebKeySet);
    return await importSPKI(text, s.algorithms[0]!);
  } catch (err) {
    throw new ConfigError(`externalAuth publicKeyFile ${file} is not a PEM public key or a JWKS: ${(err as Error).message}`, { cause: err });
  }
}

/** A short, secret-free cause for logs and the auth-failure metric. */
function errorCause(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `claim-${err.claim}`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad-signature';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'alg-not-allowed';
  if (err instanceof errors.JWKSNoMatchingKey) return 'unknown-key';
  if (err instanceof errors.JWKSTimeout) return 'jwks-timeout';
  if (err instanceof errors.JOSEError) return err.code.replace(/^ERR_/, '').toLowerCase();
  return 'invalid';
}
