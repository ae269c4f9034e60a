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
 *
 * In cluster mode (clusterStore jetstream) the tokens are shared: each one (its hash, key and
 * expiry) is also a record of the store (`api.bearerTokens`), so a token issued by one node works
 * on every node, and a revocation on one ends it on all (the store's change feed); they then last
 * across restarts too. On a single node no store is given and nothing is written.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Store } from '../../store/types.js';
import { pages } from '../../tenancy/registry.js';

export const DEFAULT_BEARER_TTL_S = 3600;
export const MAX_BEARER_TTL_S = 12 * 3600;
/** Live bearer tokens per AccessKey by default. */
export const DEFAULT_TOKENS_PER_KEY = 1000;
const SWEEP_EVERY_MS = 60_000;
const COLLECTION = 'api.bearerTokens';

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
    /** Cluster mode: the store the nodes share; null on a single node. */
    private readonly store: Store | null = null,
  ) {
    store?.onRecordChanged?.(COLLECTION, (key, value) => {
      const issued = this.tokens.get(key);
      if (value === undefined) {
        if (issued !== undefined) this.forget(key, issued, false);
      } else if (issued === undefined) {
        this.remember(key, value as Issued);
      }
    });
  }

  /** Tokens shared through `store` (cluster mode): those issued before this node started are loaded. */
  static async open(now: () => number, perKey: number, store: Store | null): Promise<BearerTokens> {
    const tokens = new BearerTokens(now, perKey, store);
    if (store === null) return tokens;
    const at = now();
    for await (const { key, value } of pages(store, COLLECTION)) {
      const issued = value as Issued;
      if (issued.expiresAt > at && !tokens.tokens.has(key)) tokens.remember(key, issued);
    }
    return tokens;
  }

  /** Resolves when what was issued or revoked is shared with the other nodes (at once on a single node). */
  whenShared(): Promise<void> {
    return this.store?.whenDurable() ?? Promise.resolve();
  }

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
    for (const key of [...mine]) {
      const issued = this.tokens.get(key);
      if (issued !== undefined && issued.expiresAt > now) break;
      if (issued === undefined) mine.delete(key);
      else this.forget(key, issued);
    }
    if (mine.size >= this.perKey) return null;
    const token = `fbt_${randomBytes(24).toString('base64url')}`;
    const expiresAt = now + Math.min(ttlSeconds, MAX_BEARER_TTL_S) * 1000;
    const key = hash(token);
    this.remember(key, { accessKeyId, expiresAt });
    this.store?.putRecord(COLLECTION, key, { accessKeyId, expiresAt });
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

  private remember(key: string, issued: Issued): void {
    this.tokens.set(key, { accessKeyId: issued.accessKeyId, expiresAt: issued.expiresAt });
    let mine = this.byKey.get(issued.accessKeyId);
    if (mine === undefined) this.byKey.set(issued.accessKeyId, (mine = new Set()));
    mine.add(key);
  }

  private forget(key: string, issued: Issued, shared = true): void {
    if (shared) this.store?.deleteRecord(COLLECTION, key);
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
