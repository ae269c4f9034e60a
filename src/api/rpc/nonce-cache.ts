/**
 * Replay protection: a SignatureNonce may be used once per AccessKey while a request carrying it
 * could still pass the timestamp check. A request passes when its Timestamp is within the window
 * (15 min) of now, so a nonce seen at time t must be remembered until t + 2 × window (a request
 * stamped up to one window ahead can be replayed up to one window after its stamp).
 * Entries are kept in insertion order with a monotonic expiry, so purging is a walk from the front.
 * When full, new nonces are refused (the caller answers Throttling) instead of forgetting old ones.
 */
export class NonceCache {
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = 1_000_000,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** 'ok' (recorded), 'used' (a replay) or 'full'. */
  use(accessKeyId: string, nonce: string, now: number): 'ok' | 'used' | 'full' {
    this.purge(now);
    const key = `${accessKeyId}\u001f${nonce}`;
    if (this.entries.has(key)) return 'used';
    if (this.entries.size >= this.maxEntries) return 'full';
    this.entries.set(key, now + 2 * this.windowMs);
    return 'ok';
  }

  private purge(now: number): void {
    for (const [key, expires] of this.entries) {
      if (expires > now) return;
      this.entries.delete(key);
    }
  }
}
