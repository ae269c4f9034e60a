/**
 * Per-instance quotas (reference §1.1 capacity dimensions) and failed-login rate limiting.
 *
 * - Connections and subscriptions are counted by the broker (tenant.connections, session
 *   subscriptions, trie size); the checks here only compare against the instance's limits.
 * - Messages per second: a token bucket per instance, refilled continuously at
 *   maxMessagesPerSecond with a bucket of messageBurst (default: one second's worth).
 * - Failed logins (LoginLimiter): after `maxFailuresPerIp` failures within `windowMs` from one
 *   IP address, or `maxFailuresPerUsername` for one username from one address, further attempts
 *   from it / for that pair are refused without checking credentials for `blockMs`, doubling with
 *   each further block up to `maxBlockMs`. The address threshold is higher: many devices may
 *   share one address behind NAT. Memory is bounded (least recently failing entries evicted).
 */
import type { Clock } from './clock.js';

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes one token if available. */
  take(now: number): boolean {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSecond) / 1000);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface QuotaCounters {
  connectionsRefused: number;
  subscriptionsRefused: number;
  messagesThrottled: number;
  loginsRateLimited: number;
}

/** The message-rate buckets and refusal counters of every instance. */
export class InstanceQuotas {
  private readonly buckets = new Map<string, { bucket: TokenBucket; rate: number; burst: number }>();
  private readonly counters = new Map<string, QuotaCounters>();

  constructor(private readonly clock: Clock) {}

  /** One message into the instance: false when over its rate (the message is refused). */
  takeMessage(instanceId: string, ratePerSecond: number, burst: number): boolean {
    if (ratePerSecond <= 0) return true;
    const size = burst > 0 ? burst : ratePerSecond;
    let entry = this.buckets.get(instanceId);
    if (entry === undefined || entry.rate !== ratePerSecond || entry.burst !== size) {
      entry = { bucket: new TokenBucket(ratePerSecond, size, this.clock.now()), rate: ratePerSecond, burst: size };
      this.buckets.set(instanceId, entry);
    }
    if (entry.bucket.take(this.clock.now())) return true;
    this.count(instanceId).messagesThrottled++;
    return false;
  }

  /** Refusal counters of every instance that has refused something (for /metrics). */
  entries(): IterableIterator<[string, QuotaCounters]> {
    return this.counters.entries();
  }

  count(instanceId: string): QuotaCounters {
    let counters = this.counters.get(instanceId);
    if (counters === undefined) {
      counters = { connectionsRefused: 0, subscriptionsRefused: 0, messagesThrottled: 0, loginsRateLimited: 0 };
      this.counters.set(instanceId, counters);
    }
    return counters;
  }

  forget(instanceId: string): void {
    this.buckets.delete(instanceId);
    this.counters.delete(instanceId);
  }
}

export interface LoginLimits {
  /** Failures within `windowMs` from one address after which the address is blocked. */
  readonly maxFailuresPerIp: number;
  /** Failures within `windowMs` for one username from one address after which that pair is blocked. */
  readonly maxFailuresPerUsername: number;
  readonly windowMs: number;
  /** The first block; each further block of the same source doubles, up to maxBlockMs. */
  readonly blockMs: number;
  readonly maxBlockMs: number;
  /** Keys (addresses + username/address pairs) tracked at most. */
  readonly maxEntries: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  maxFailuresPerIp: 100,
  maxFailuresPerUsername: 10,
  windowMs: 60_000,
  blockMs: 60_000,
  maxBlockMs: 3600_000,
  maxEntries: 100_000,
};

interface Failures {
  /** Failures in the current window. */
  count: number;
  first: number;
  last: number;
  /** Blocks so far; the next one lasts blockMs × 2^strikes. Forgotten after maxBlockMs of quiet. */
  strikes: number;
  blockedUntil: number;
}

/**
 * Failed-login limiting by source, never by credential alone: a username (`Signature|AK|inst`
 * carries the AccessKeyId, which is not secret) is only ever blocked together with the address
 * its failures came from, so nobody can lock a fleet out by failing on its behalf elsewhere.
 * Blocks back off exponentially per source. A success clears the failures of that username from
 * that address only.
 */
export class LoginLimiter {
  private readonly entries = new Map<string, Failures>();

  constructor(
    private readonly clock: Clock,
    private readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
  ) {}

  /** True if attempts from this address, or for this username from this address, are blocked. */
  blocked(ip: string, username: string | undefined): boolean {
    return this.isBlocked(`ip:${ip}`) || (username !== undefined && this.isBlocked(pairKey(ip, username)));
  }

  failed(ip: string, username: string | undefined): void {
    this.record(`ip:${ip}`, this.limits.maxFailuresPerIp);
    if (username !== undefined) this.record(pairKey(ip, username), this.limits.maxFailuresPerUsername);
  }

  /** A successful login clears the failures of the username from this address (not the address's own). */
  succeeded(ip: string, username: string | undefined): void {
    if (username !== undefined) this.entries.delete(pairKey(ip, username));
  }

  get size(): number {
    return this.entries.size;
  }

  private isBlocked(key: string): boolean {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.blockedUntil > this.clock.now();
  }

  private record(key: string, max: number): void {
    if (max <= 0) return;
    const now = this.clock.now();
    let entry = this.entries.get(key);
    if (entry !== undefined) {
      this.entries.delete(key); // re-insert below: the Map's order is least recently failed first
      if (now - entry.last > this.limits.maxBlockMs && entry.blockedUntil <= now) entry.strikes = 0;
      if (now - entry.first > this.limits.windowMs) {
        entry.count = 0;
        entry.first = now;
      }
    } else {
      if (this.entries.size >= this.limits.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      entry = { count: 0, first: now, last: now, strikes: 0, blockedUntil: 0 };
    }
    entry.count++;
    entry.last = now;
    if (entry.count >= max && entry.blockedUntil <= now) {
      entry.blockedUntil = now + Math.min(this.limits.blockMs * 2 ** entry.strikes, this.limits.maxBlockMs);
      entry.strikes = Math.min(entry.strikes + 1, 30);
      entry.count = 0;
      entry.first = now;
    }
    this.entries.set(key, entry);
  }
}

function pairKey(ip: string, username: string): string {
  return `user:${ip}\u001f${username}`;
}
