/**
 * Token mode (reference §3.2, §2.7): temporary grants an application server applies for with its
 * AccessKey and hands to a device.
 *
 * A token is self-contained and signed, so checking one needs no store read:
 *
 *   <base64url(JSON claims)>.<base64url(HMAC-SHA256(token key, first part))>
 *   claims: { v: 1, id, i: instanceId, k: AccessKeyId, r: [topic filters], a: 'R'|'W'|'RW', e: expireTime ms, t: issued ms }
 *
 * Revocation is a list of token ids kept until the token would have expired anyway
 * (store collection `auth.revokedTokens`). Validity is 60 s to 30 days (the instance's limits);
 * a longer expiry is capped silently, as the managed service does. At most 100 resources
 * (wildcards allowed); actions `R`, `W` or `R,W`.
 *
 * Codes of `$SYS/tokenInvalidNotice` (reference §2.7; docs/compatibility.md for our reading):
 *   1 not a token Ferry issued (unparsable, or its signature does not verify)
 *   2 expired
 *   3 revoked
 *   4 the topic is not among the token's resources
 *   5 the topic is among the resources, but not for this action (R token used to publish, ...)
 *   8 a genuine token presented on another AccessKey or instance than the username names
 *  -1 the AccessKey that applied for it is gone, inactive, or no longer allowed mq:ApplyToken
 */
import { randomBytes } from 'node:crypto';
import { isValidTopicFilter } from '../protocol/topic.js';
import type { Store } from '../store/types.js';
import { ManagementError } from '../tenancy/errors.js';
import type { Tenancy } from '../tenancy/registry.js';
import { pages } from '../tenancy/registry.js';
import type { AccessKeys } from './access-keys.js';
import type { Clock } from './clock.js';
import { safeEqual, type SecretBox } from './crypto.js';
import { filterCovers } from './filters.js';
import { MQ_ACTIONS } from './policy.js';

// The wire format (types, notice codes, $SYS topics, the password) is shared with the SDK.
export {
  EXPIRE_NOTICE_LEAD_MS,
  TOKEN_CODE,
  TOKEN_EXPIRE_NOTICE_TOPIC,
  TOKEN_INVALID_NOTICE_TOPIC,
  TOKEN_TYPES,
  TOKEN_UPLOAD_TOPIC,
  parseTokenPassword,
  type TokenCode,
  type TokenType,
} from './token-wire.js';
import { EXPIRE_NOTICE_LEAD_MS, TOKEN_CODE, TOKEN_TYPES, type TokenCode, type TokenType } from './token-wire.js';

export interface TokenClaims {
  readonly v: 1;
  readonly id: string;
  readonly i: string;
  readonly k: string;
  readonly r: readonly string[];
  readonly a: TokenType;
  readonly e: number;
  readonly t: number;
}

export type TokenCheck = { readonly ok: true; readonly claims: TokenClaims } | { readonly ok: false; readonly code: TokenCode };

export interface ApplyTokenInput {
  readonly instanceId: string;
  readonly accessKeyId: string;
  /** Topic filters; a comma-separated string is accepted too (the API's `Resources`). */
  readonly resources: string | readonly string[];
  /** 'R', 'W', 'R,W' (also 'RW', 'W,R'). */
  readonly actions: string;
  /** Absolute expiry, ms since the epoch. */
  readonly expireTime: number;
}

const REVOKED = 'auth.revokedTokens';

/** 'R', 'W', 'RW', 'R,W', 'W,R' → the token type; null otherwise. */
export function parseTokenActions(actions: string): TokenType | null {
  const parts = new Set(actions.split(',').map((p) => p.trim().toUpperCase()));
  if (parts.size === 1 && parts.has('RW')) return 'RW';
  if (parts.has('RW')) return null;
  const r = parts.has('R');
  const w = parts.has('W');
  if (parts.size !== Number(r) + Number(w)) return null;
  return r && w ? 'RW' : r ? 'R' : w ? 'W' : null;
}

/**
 * A token presented as `type` (`R|tok`, an upload of type R): accepted when its actions cover
 * that type (an RW token serves as R, W or RW; an R token only as R), and then held as that type:
 * the connection said what it uses the token for, so an RW token presented as R grants reading
 * only and its notices name R. Null when the actions do not cover the type (notice code 5).
 */
export function presentAs(claims: TokenClaims, type: TokenType): TokenClaims | null {
  if (claims.a === type) return claims;
  if (claims.a !== 'RW') return null;
  return { ...claims, a: type };
}

/** Publishing needs W or RW; subscribing needs R or RW. */
export function tokenAllows(type: TokenType, action: 'publish' | 'subscribe'): boolean {
  return type === 'RW' || (action === 'publish' ? type === 'W' : type === 'R');
}

/**
 * Whether a connection's tokens cover one action on one topic (or filter): null when they do,
 * else the notice code (4: no token names the topic; 5: only a token of the other type does;
 * 2: the token that would cover it has expired).
 */
export function checkGrant(tokens: Iterable<TokenClaims>, action: 'publish' | 'subscribe', topic: string, now: number): TokenCode | null {
  let wrongType = false;
  let expired = false;
  for (const claims of tokens) {
    if (!claims.r.some((resource) => filterCovers(resource, topic))) continue;
    if (!tokenAllows(claims.a, action)) {
      wrongType = true;
      continue;
    }
    if (claims.e <= now) {
      expired = true;
      continue;
    }
    return null;
  }
  return expired ? TOKEN_CODE.expired : wrongType ? TOKEN_CODE.typeMismatch : TOKEN_CODE.resourceMismatch;
}

/** Payload of `$SYS/tokenExpireNotice`. */
export function expireNotice(claims: TokenClaims): Buffer {
  return Buffer.from(JSON.stringify({ expireTime: claims.e, type: claims.a }));
}

/** Payload of `$SYS/tokenInvalidNotice`. */
export function invalidNotice(code: TokenCode, type: TokenType | undefined): Buffer {
  return Buffer.from(JSON.stringify(type === undefined ? { code } : { code, type }));
}

/** `$SYS/uploadToken` payload `{"token":"…","type":"R"|"W"|"RW"}`; null if malformed. */
export function parseUpload(payload: Buffer): { token: string; type: TokenType } | null {
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null) return null;
  const { token, type } = body as { token?: unknown; type?: unknown };
  if (typeof token !== 'string' || token.length === 0 || typeof type !== 'string' || !TOKEN_TYPES.includes(type as TokenType)) return null;
  return { token, type: type as TokenType };
}

export class TokenService {
  /** Revoked token id → when it would have expired. */
  private readonly revoked = new Map<string, number>();
  private readonly revokeListeners: Array<(tokenId: string) => void> = [];

  private constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly keys: AccessKeys,
    private readonly tenancy: Tenancy,
    private readonly clock: Clock,
  ) {}

  static async open(store: Store, box: SecretBox, keys: AccessKeys, tenancy: Tenancy, clock: Clock): Promise<TokenService> {
    const service = new TokenService(store, box, keys, tenancy, clock);
    // Revocations made on other nodes (cluster mode) cut the token's clients here too.
    store.onRecordChanged?.(REVOKED, (id, value) => {
      if (value === undefined) {
        service.revoked.delete(id);
        return;
      }
      service.revoked.set(id, (value as { expireTime: number }).expireTime);
      for (const listener of service.revokeListeners) listener(id);
    });
    for await (const { key, value } of pages(store, REVOKED)) {
      service.revoked.set(key, (value as { expireTime: number }).expireTime);
    }
    return service;
  }

  /** Called with the id of every revoked token (live connections holding it are cut). */
  onRevoke(listener: (tokenId: string) => void): void {
    this.revokeListeners.push(listener);
  }

  /** ApplyToken: checks the AccessKey may grant this, returns the token and its (capped) expiry. */
  apply(input: ApplyTokenInput): { token: string; expireTime: number } {
    const instance = this.tenancy.get(input.instanceId);
    if (instance === undefined) throw new ManagementError('InstanceNotFound', `instance ${input.instanceId} does not exist`);
    const limits = instance.limits;
    const resources = (typeof input.resources === 'string' ? input.resources.split(',') : [...input.resources]).map((r) => r.trim());
    if (resources.length === 0 || resources.some((r) => r.length === 0)) {
      throw new ManagementError('ParameterFieldCheckFailed', 'Resources must name at least one topic');
    }
    if (resources.length > limits.maxTokenResources) {
      throw new ManagementError('ParameterFieldCheckFailed', `a token covers at most ${limits.maxTokenResources} topics`);
    }
    for (const resource of resources) {
      if (!isValidTopicFilter(resource) || resource.startsWith('$')) {
        throw new ManagementError('ParameterFieldCheckFailed', `resource "${resource}" is not a valid topic or filter`);
      }
    }
    const type = parseTokenActions(input.actions);
    if (type === null) throw new ManagementError('ParameterFieldCheckFailed', 'Actions must be R, W or R,W');
    const now = this.clock.now();
    if (!Number.isSafeInteger(input.expireTime) || input.expireTime - now < limits.minTokenValidityMs) {
      throw new ManagementError('ParameterFieldCheckFailed', `ExpireTime must be at least ${limits.minTokenValidityMs / 1000} s from now`);
    }
    const expireTime = Math.min(input.expireTime, now + limits.maxTokenValidityMs);
    const policy = this.keys.policy(input.accessKeyId);
    if (policy === undefined) throw new ManagementError('AccessKeyNotFound', `AccessKey ${input.accessKeyId} does not exist or is inactive`);
    if (!policy.allows(MQ_ACTIONS.applyToken, { type: 'instance', instanceId: instance.id })) {
      throw new ManagementError('PermissionCheckFailed', `AccessKey ${input.accessKeyId} may not apply for tokens on ${instance.id}`);
    }
    for (const resource of resources) {
      for (const action of [type !== 'W' ? MQ_ACTIONS.sub : null, type !== 'R' ? MQ_ACTIONS.pub : null]) {
        if (action !== null && !policy.allows(action, { type: 'topic', instanceId: instance.id, topic: resource })) {
          throw new ManagementError('PermissionCheckFailed', `AccessKey ${input.accessKeyId} lacks ${action} on ${resource}`);
        }
      }
    }
    const claims: TokenClaims = {
      v: 1,
      id: randomBytes(12).toString('base64url'),
      i: instance.id,
      k: input.accessKeyId,
      r: [...resources].sort(),
      a: type,
      e: expireTime,
      t: now,
    };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return { token: `${body}.${this.box.signToken(body)}`, expireTime };
  }

  /** Decodes and verifies a token's signature; no other check. */
  decode(token: string): TokenCheck {
    const dot = token.indexOf('.');
    if (dot <= 0 || dot !== token.lastIndexOf('.')) return { ok: false, code: TOKEN_CODE.forged };
    const body = token.slice(0, dot);
    if (!safeEqual(token.slice(dot + 1), this.box.signToken(body))) return { ok: false, code: TOKEN_CODE.forged };
    try {
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenClaims;
      if (claims.v !== 1 || typeof claims.id !== 'string' || !Array.isArray(claims.r) || !TOKEN_TYPES.includes(claims.a)) {
        return { ok: false, code: TOKEN_CODE.forged };
      }
      return { ok: true, claims };
    } catch {
      return { ok: false, code: TOKEN_CODE.forged };
    }
  }

  /**
   * Full check of a token presented by a connection that named `accessKeyId` and `instanceId`
   * in its username: signature, owner, revocation, expiry, and the AccessKey still standing.
   */
  verify(token: string, accessKeyId: string, instanceId: string): TokenCheck {
    const decoded = this.decode(token);
    if (!decoded.ok) return decoded;
    const claims = decoded.claims;
    if (claims.k !== accessKeyId || claims.i !== instanceId) return { ok: false, code: TOKEN_CODE.badSignature };
    return this.standing(claims);
  }

  /** Revocation, expiry and the issuing key of already-decoded claims. */
  standing(claims: TokenClaims): TokenCheck {
    if (this.revoked.has(claims.id)) return { ok: false, code: TOKEN_CODE.revoked };
    if (claims.e <= this.clock.now()) return { ok: false, code: TOKEN_CODE.expired };
    const policy = this.keys.policy(claims.k);
    if (policy === undefined || !policy.allows(MQ_ACTIONS.applyToken, { type: 'instance', instanceId: claims.i })) {
      return { ok: false, code: TOKEN_CODE.accountInvalid };
    }
    return { ok: true, claims };
  }

  /** QueryToken: true while the token is valid on that instance. */
  query(instanceId: string, token: string): boolean {
    const decoded = this.decode(token);
    return decoded.ok && decoded.claims.i === instanceId && this.standing(decoded.claims).ok;
  }

  /** RevokeToken: takes effect at once, on every connection holding the token. */
  async revoke(instanceId: string, token: string): Promise<void> {
    const decoded = this.decode(token);
    if (!decoded.ok || decoded.claims.i !== instanceId) throw new ManagementError('TokenInvalid', 'not a token of this instance');
    const claims = decoded.claims;
    if (!this.revoked.has(claims.id) && claims.e > this.clock.now()) {
      this.revoked.set(claims.id, claims.e);
      this.store.putRecord(REVOKED, claims.id, { instanceId, expireTime: claims.e, revokedAt: this.clock.now() });
    }
    for (const listener of this.revokeListeners) listener(claims.id);
    await this.store.whenDurable();
  }

  /** Forgets revocations of tokens that have expired since (they fail on expiry now). */
  purgeRevoked(): number {
    const now = this.clock.now();
    let removed = 0;
    for (const [id, expireTime] of this.revoked) {
      if (expireTime > now) continue;
      this.revoked.delete(id);
      this.store.deleteRecord(REVOKED, id);
      removed++;
    }
    return removed;
  }

  get revokedCount(): number {
    return this.revoked.size;
  }
}

/**
 * The tokens of one live connection, with the timers of their notices: `$SYS/tokenExpireNotice`
 * EXPIRE_NOTICE_LEAD_MS before a token expires (once, only if still held), and at expiry the
 * invalid notice (code 2) followed by a disconnect.
 */
export class TokenGrant {
  private readonly tokens = new Map<TokenType, TokenClaims>();
  private readonly timers = new Map<TokenType, Array<() => void>>();
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly events: {
      expireSoon(claims: TokenClaims): void;
      expired(claims: TokenClaims): void;
    },
  ) {}

  get claims(): IterableIterator<TokenClaims> {
    return this.tokens.values();
  }

  has(id: string): boolean {
    for (const claims of this.tokens.values()) if (claims.id === id) return true;
    return false;
  }

  /** Holds `claims` in the slot of its type (replacing an earlier token of that type). */
  set(claims: TokenClaims): void {
    if (this.closed) return;
    this.cancel(claims.a);
    this.tokens.set(claims.a, claims);
    const now = this.clock.now();
    const timers: Array<() => void> = [];
    const noticeAt = claims.e - EXPIRE_NOTICE_LEAD_MS;
    if (noticeAt > now) {
      timers.push(this.clock.setTimer(noticeAt - now, () => this.tokens.get(claims.a) === claims && this.events.expireSoon(claims)));
    }
    timers.push(this.clock.setTimer(claims.e - now, () => this.tokens.get(claims.a) === claims && this.events.expired(claims)));
    this.timers.set(claims.a, timers);
  }

  /** Stops every timer (the connection closed). */
  close(): void {
    this.closed = true;
    for (const type of [...this.timers.keys()]) this.cancel(type);
  }

  private cancel(type: TokenType): void {
    for (const cancel of this.timers.get(type) ?? []) cancel();
    this.timers.delete(type);
  }
}
