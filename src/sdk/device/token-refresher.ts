/**
 * Keeps a Token-mode connection's tokens fresh without reconnecting (reference §2.7, §3.2):
 *
 *   scheduled   `refreshAheadMs` before a known expiry (default 6 min, before the broker's
 *               5-minute notice; half the remaining life for short tokens)
 *   notice      `$SYS/tokenExpireNotice {"expireTime","type"}`: renew that type now (the notice
 *               is best effort and comes once, so the schedule above is the first line)
 *       │ fetchToken(type)   your code asks your backend (which calls ApplyToken)
 *       ▼
 *   upload      PUBLISH `$SYS/uploadToken {"token","type"}` at QoS 1; the PUBACK says the broker
 *               checked and holds it. The client's password is updated too, so a later
 *               reconnect presents the new token.
 *
 *   `$SYS/tokenInvalidNotice {"code","type"}` comes before the broker disconnects: 2 (expired)
 *   and 3 (revoked) fetch a new token for the reconnect; other codes (1 forged, 4/5 a topic the
 *   token does not cover, 8 wrong key or instance, -1 account) are not fixed by a new token of the
 *   same grant and are reported only. Every failure reaches `onError`.
 */
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { systemClock, type Clock } from '../../auth/clock.js';
import {
  TOKEN_CODE,
  TOKEN_EXPIRE_NOTICE_TOPIC,
  TOKEN_INVALID_NOTICE_TOPIC,
  TOKEN_TYPES,
  TOKEN_UPLOAD_TOPIC,
  type TokenType,
} from '../../auth/token-wire.js';
import { TokenRefreshError } from '../errors.js';
import { tokenPassword, type TokenGrant } from './credentials.js';

export type RefreshReason = 'scheduled' | 'expire-notice' | 'invalid-notice' | 'manual';

export interface FreshToken {
  readonly token: string;
  /** Expiry, ms since the epoch; without it only the broker's notice triggers the next renewal. */
  readonly expireTime?: number;
}

export interface TokenRefreshOptions {
  /** Applies for a new token of `type` (your backend calls ApplyToken / POST …/tokens). */
  fetchToken(type: TokenType, reason: RefreshReason): Promise<FreshToken>;
  /** Renew this long before a known expiry; default 6 minutes. */
  readonly refreshAheadMs?: number;
  /** Failures (fetch, upload, an invalid notice); default: console.error. */
  readonly onError?: (error: TokenRefreshError) => void;
  /** Time source (tests pass the broker's ManualClock). */
  readonly clock?: Clock;
}

export interface TokenRefresherEvents {
  refreshed: [grant: TokenGrant, reason: RefreshReason];
  invalid: [notice: { code: number; type: TokenType | undefined }];
}

const DEFAULT_AHEAD_MS = 6 * 60 * 1000;

export class TokenRefresher extends EventEmitter<TokenRefresherEvents> {
  private readonly held = new Map<TokenType, TokenGrant>();
  private readonly timers = new Map<TokenType, () => void>();
  private readonly inFlight = new Map<TokenType, Promise<void>>();
  private readonly clock: Clock;
  private readonly aheadMs: number;
  private readonly reportError: (error: TokenRefreshError) => void;
  private stopped = false;
  private readonly onMessage = (topic: string, payload: Buffer): void => this.handle(topic, payload);

  constructor(
    private readonly client: MqttClient,
    tokens: readonly TokenGrant[],
    private readonly options: TokenRefreshOptions,
  ) {
    super();
    this.clock = options.clock ?? systemClock;
    this.aheadMs = options.refreshAheadMs ?? DEFAULT_AHEAD_MS;
    this.reportError = options.onError ?? ((error) => console.error(`ferry sdk: ${error.message}`));
    for (const grant of tokens) {
      this.held.set(grant.type, grant);
      this.schedule(grant);
    }
    client.on('message', this.onMessage);
  }

  /** The tokens held now, one per type. */
  tokens(): TokenGrant[] {
    return [...this.held.values()];
  }

  /** Renews one type now (also what the schedule and the notices do); resolves after the PUBACK. */
  refresh(type: TokenType, reason: RefreshReason = 'manual'): Promise<void> {
    const running = this.inFlight.get(type);
    if (running !== undefined) return running;
    const run = this.renew(type, reason).finally(() => this.inFlight.delete(type));
    this.inFlight.set(type, run);
    return run;
  }

  /** Stops timers and notice handling (the connection itself is left alone). */
  stop(): void {
    this.stopped = true;
    this.client.removeListener('message', this.onMessage);
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
  }

  private async renew(type: TokenType, reason: RefreshReason): Promise<void> {
    let fresh: FreshToken;
    try {
      fresh = await this.options.fetchToken(type, reason);
    } catch (err) {
      throw new TokenRefreshError(`could not get a new ${type} token (${reason}): ${(err as Error).message}`, { cause: err });
    }
    if (this.stopped) return;
    const grant: TokenGrant = fresh.expireTime === undefined ? { type, token: fresh.token } : { type, token: fresh.token, expireTime: fresh.expireTime };
    // After an invalid notice the broker is closing the connection: keep the token for the reconnect.
    if (reason !== 'invalid-notice' && this.client.connected) {
      try {
        await this.client.publishAsync(TOKEN_UPLOAD_TOPIC, JSON.stringify({ token: grant.token, type }), { qos: 1 });
      } catch (err) {
        throw new TokenRefreshError(`could not upload the new ${type} token: ${(err as Error).message}`, { cause: err });
      }
    }
    this.held.set(type, grant);
    // mqtt.js reads options.password on every (re)connect.
    this.client.options.password = tokenPassword(this.tokens());
    this.schedule(grant);
    this.emit('refreshed', grant, reason);
  }

  private schedule(grant: TokenGrant): void {
    this.timers.get(grant.type)?.();
    this.timers.delete(grant.type);
    if (grant.expireTime === undefined || this.stopped) return;
    const now = this.clock.now();
    const left = grant.expireTime - now;
    const delay = left > this.aheadMs ? left - this.aheadMs : Math.max(0, Math.floor(left / 2));
    this.timers.set(grant.type, this.clock.setTimer(delay, () => this.background(grant.type, 'scheduled')));
  }

  private background(type: TokenType, reason: RefreshReason): void {
    this.refresh(type, reason).catch((err: unknown) => this.reportError(err instanceof TokenRefreshError ? err : new TokenRefreshError(String(err), { cause: err })));
  }

  private handle(topic: string, payload: Buffer): void {
    if (topic !== TOKEN_EXPIRE_NOTICE_TOPIC && topic !== TOKEN_INVALID_NOTICE_TOPIC) return;
    let notice: { expireTime?: unknown; type?: unknown; code?: unknown };
    try {
      notice = JSON.parse(payload.toString('utf8')) as typeof notice;
    } catch {
      this.reportError(new TokenRefreshError(`unreadable ${topic}: ${payload.toString('utf8').slice(0, 200)}`));
      return;
    }
    const type = TOKEN_TYPES.includes(notice.type as TokenType) ? (notice.type as TokenType) : undefined;
    if (topic === TOKEN_EXPIRE_NOTICE_TOPIC) {
      const held = type === undefined ? undefined : this.held.get(type);
      // A notice about a token already replaced (it raced the upload) needs nothing.
      if (held?.expireTime !== undefined && typeof notice.expireTime === 'number' && held.expireTime > notice.expireTime) return;
      for (const t of type === undefined ? this.held.keys() : [type]) this.background(t, 'expire-notice');
      return;
    }
    const code = typeof notice.code === 'number' ? notice.code : NaN;
    this.emit('invalid', { code, type });
    this.reportError(new TokenRefreshError(`the broker refused a ${type ?? ''} token (tokenInvalidNotice code ${code}) and closes the connection`));
    if (code === TOKEN_CODE.expired || code === TOKEN_CODE.revoked) {
      for (const t of type === undefined ? [...this.held.keys()] : [type]) this.background(t, 'invalid-notice');
    }
  }
}
