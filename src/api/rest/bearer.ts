/**
 * Short-lived bearer tokens for people and the CLI: `Authorization: Bearer <token>`. A token
 * acts as the AccessKey it was issued for (its policies are checked at each use, so disabling
 * or deleting the key ends its tokens). Tokens are random, kept hashed in memory only: a
 * restart ends them all, which is fine for credentials meant to last minutes or hours.
 *
 * Bounded per AccessKey (docs/security.md): each key may hold `perKey` live tokens; one more is
 * refused (the caller answers 429) until some expire or are revoked. A key can never push out
 * another key's tokens. Issue, lookup and revoke are O(1); expired tokens are swept from the key
 * being issued for (from its oldest end) and from every key once a minute.
 */
import { createHash, randomBytes } from 'node:crypto';

export const DEFAULT_BEARER_TTL_S = 3600;
export const MAX_BEARER_TTL_S = 12 * 3600;
/** Live bearer tokens per AccessKey by default. */
export const DEFAULT_TOKENS_PER_KEY = 1000;
const SWEEP_EVERY_MS = 60_000;

interface Issued {
  readonly accessKeyId: string;
  readonly expiresAt: number;
}

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class BearerTokens {
  private readonly tokens = new Map<string, Issued>();
  /** Token hashes of each AccessKey, oldest first. */
  private readonly byKey = new Map<string, Set<string>>();
  private lastSweep = 0;

  constructor(
    private readonly now: () => number = Date.now,
    /** Live tokens each AccessKey may hold. */
    readonly perKey = DEFAULT_TOKENS_PER_KEY,
  ) {}

  get size(): number {
    return this.tokens.size;
  }

  /** A new token for the key, or null when the key already holds `perKey` live tokens. */
  issue(accessKeyId: string, ttlSeconds = DEFAULT_BEARER_TTL_S): { token: string; expiresAt: number } | null {
    const now = this.now();
    if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
    let mine = this.byKey.get(accessKeyId);
    if (mine === undefined) this.byKey.set(accessKeyId, (mine = new Set()));
    // Most tokens have the default lifetime, so the oldest usually expire first.
    for (const key of mine) {
      const issued = this.tokens.get(key);
      if (issued !== undefined && issued.expiresAt > now) break;
      mine.delete(key);
      this.tokens.delete(key);
    }
    if (mine.size >= this.perKey) return null;
    const token = `fbt_${randomBytes(24).toString('base64url')}`;
    const expiresAt = now + Math.min(ttlSeconds, MAX_BEARER_TTL_S) * 1000;
    const key = hash(token);
    this.tokens.set(key, { accessKeyId, expiresAt });
    mine.add(key);
    return { token, expiresAt };
  }

  /** The AccessKeyId a live token stands for. */
  verify(token: string): { accessKeyId: string; expiresAt: number } | undefined {
    const key = hash(token);
    const issued = this.tokens.get(key);
    if (issued === undefined) return undefined;
    if (issued.expiresAt <= this.now()) {
      this.forget(key, issued);
      return undefined;
    }
    return issued;
  }

  revoke(token: string): boolean {
    const key = hash(token);
    const issued = this.tokens.get(key);
    if (issued === undefined) return false;
    this.forget(key, issued);
    return true;
  }

  private forget(key: string, issued: Issued): void {
    this.tokens.delete(key);
    const mine = this.byKey.get(issued.accessKeyId);
    mine?.delete(key);
    if (mine?.size === 0) this.byKey.delete(issued.accessKeyId);
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, issued] of this.tokens) if (issued.expiresAt <= now) this.forget(key, issued);
  }
}
