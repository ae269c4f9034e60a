/**
 * Replay protection: a SignatureNonce (RPC) or X-Ferry-Nonce (REST) may be used once per
 * AccessKey while a request carrying it could still pass the timestamp check. A request passes
 * when its Timestamp is within the window (15 min) of now, so a nonce seen at time t must be
 * remembered until t + 2 × window (a request stamped up to one window ahead can be replayed up to
 * one window after its stamp).
 *
 * Bounded against a key holder who wants to exhaust it (docs/security.md):
 * - a nonce longer than MAX_NONCE_LENGTH is refused before anything is stored (the SDKs send a
 *   UUID or 32-64 hex characters);
 * - what is stored is a fixed-size digest (16 bytes of SHA-256), never the nonce itself;
 * - each AccessKey has its own table and quota (`perKey` live nonces): a key that fills its quota
 *   is throttled alone, every other key (the admin's included) is unaffected.
 * Within a key, entries are kept in insertion order with a monotonic expiry, so purging is a walk
 * from the front. Memory is at most about 100 bytes × perKey per active AccessKey.
 *
 * In cluster mode a NonceLedger makes a nonce single-use across every node (src/cluster/
 * nonce-ledger.ts): `claim` asks it once the local table has accepted the nonce.
 */
import { createHash } from 'node:crypto';

/** Longest nonce accepted, characters: the SDKs send 32 (Tea) to 36 (UUID). */
export const MAX_NONCE_LENGTH = 64;
/** Live nonces per AccessKey by default (~55 signed requests a second, sustained, per key). */
export const DEFAULT_NONCES_PER_KEY = 100_000;
/** How often every key's table is swept, not only the table of the key in use. */
const SWEEP_EVERY_MS = 60_000;

export type NonceVerdict = 'ok' | 'used' | 'too-long' | 'quota';

/** Nonces shared by the nodes of a cluster. */
export interface NonceLedger {
  /**
   * True when this is the first use of `id` (a digest of the AccessKey and the nonce) on any node
   * within `ttlMs`; false when some node used it. Rejects when it cannot tell: the request is
   * then refused, never accepted unchecked.
   */
  claim(id: string, ttlMs: number): Promise<boolean>;
}

export class NonceCache {
  private readonly keys = new Map<string, Map<string, number>>();
  private lastSweep = 0;

  constructor(
    private readonly windowMs: number,
    private readonly perKey = DEFAULT_NONCES_PER_KEY,
    /** Told about every refusal by a limit (metrics). */
    private readonly onLimit: ((verdict: 'too-long' | 'quota') => void) | null = null,
    /** The cluster's shared nonces; null on a single node. */
    private readonly ledger: NonceLedger | null = null,
  ) {}

  /** Nonces remembered over all keys. */
  get size(): number {
    let n = 0;
    for (const table of this.keys.values()) n += table.size;
    return n;
  }

  /** Refuses a nonce that is too long to be one, before any other work is done for it. */
  static tooLong(nonce: string): boolean {
    return nonce.length > MAX_NONCE_LENGTH;
  }

  /**
   * 'ok' (recorded), 'used' (a replay), 'too-long' (refused, nothing stored) or 'quota' (this
   * key has `perKey` live nonces; nothing stored).
   */
  use(accessKeyId: string, nonce: string, now: number): NonceVerdict {
    if (NonceCache.tooLong(nonce)) {
      this.onLimit?.('too-long');
      return 'too-long';
    }
    if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
    let table = this.keys.get(accessKeyId);
    if (table === undefined) this.keys.set(accessKeyId, (table = new Map()));
    else purge(table, now);
    const digest = digestOf(nonce);
    if (table.has(digest)) return 'used';
    if (table.size >= this.perKey) {
      this.onLimit?.('quota');
      return 'quota';
    }
    table.set(digest, now + 2 * this.windowMs);
    return 'ok';
  }

  /**
   * `use`, then (cluster mode) the ledger: a nonce another node saw is 'used'. When the ledger
   * cannot answer, the nonce is forgotten here (a retry may use it) and the error goes to the caller.
   */
  async claim(accessKeyId: string, nonce: string, now: number): Promise<NonceVerdict> {
    const verdict = this.use(accessKeyId, nonce, now);
    if (verdict !== 'ok' || this.ledger === null) return verdict;
    try {
      const id = createHash('sha256').update(accessKeyId).update('\u0000').update(nonce, 'utf8').digest('hex').slice(0, 40);
      return (await this.ledger.claim(id, 2 * this.windowMs)) ? 'ok' : 'used';
    } catch (err) {
      this.keys.get(accessKeyId)?.delete(digestOf(nonce));
      throw err;
    }
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, table] of this.keys) {
      purge(table, now);
      if (table.size === 0) this.keys.delete(key);
    }
  }
}

function digestOf(nonce: string): string {
  return createHash('sha256').update(nonce, 'utf8').digest().toString('latin1', 0, 16);
}

function purge(table: Map<string, number>, now: number): void {
  for (const [digest, expires] of table) {
    if (expires > now) return;
    table.delete(digest);
  }
}
