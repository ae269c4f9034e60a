/**
 * Short-lived bearer tokens for people and the CLI: `Authorization: Bearer <token>`. A token
 * acts as the AccessKey it was issued for (its policies are checked at each use, so disabling
 * or deleting the key ends its tokens). Tokens are random, kept hashed in memory only: a
 * restart ends them all, which is fine for credentials meant to last minutes or hours.
 */
import { createHash, randomBytes } from 'node:crypto';

export const DEFAULT_BEARER_TTL_S = 3600;
export const MAX_BEARER_TTL_S = 12 * 3600;
const MAX_LIVE_TOKENS = 100_000;

interface Issued {
  readonly accessKeyId: string;
  readonly expiresAt: number;
}

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class BearerTokens {
  private readonly tokens = new Map<string, Issued>();

  constructor(private readonly now: () => number = Date.now) {}

  issue(accessKeyId: string, ttlSeconds = DEFAULT_BEARER_TTL_S): { token: string; expiresAt: number } {
    this.purge();
    if (this.tokens.size >= MAX_LIVE_TOKENS) this.tokens.delete(this.tokens.keys().next().value!);
    const token = `fbt_${randomBytes(24).toString('base64url')}`;
    const expiresAt = this.now() + Math.min(ttlSeconds, MAX_BEARER_TTL_S) * 1000;
    this.tokens.set(hash(token), { accessKeyId, expiresAt });
    return { token, expiresAt };
  }

  /** The AccessKeyId a live token stands for. */
  verify(token: string): { accessKeyId: string; expiresAt: number } | undefined {
    const issued = this.tokens.get(hash(token));
    if (issued === undefined) return undefined;
    if (issued.expiresAt <= this.now()) {
      this.tokens.delete(hash(token));
      return undefined;
    }
    return issued;
  }

  revoke(token: string): boolean {
    return this.tokens.delete(hash(token));
  }

  private purge(): void {
    const now = this.now();
    for (const [key, issued] of this.tokens) if (issued.expiresAt <= now) this.tokens.delete(key);
  }
}
