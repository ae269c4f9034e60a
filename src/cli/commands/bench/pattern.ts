/** Topic and client-id patterns of `ferry bench`: %i is the client's index (1..N), %c its client id. */
export function expand(pattern: string, index: number, clientId: string): string {
  return pattern.replace(/%([ic%])/g, (_, k: string) => (k === 'i' ? String(index) : k === 'c' ? clientId : '%'));
}

/**
 * Payload of a bench publish: a 12-byte header ("FBN1" and the send time as a float64 of
 * epoch milliseconds) so `ferry bench sub` can measure end-to-end latency, then filler. Payloads
 * smaller than the header carry no time.
 */
const MAGIC = 0x46424e31; // "FBN1"
export const STAMP_BYTES = 12;

export function stampedPayload(size: number, now: number): Buffer {
  const payload = Buffer.alloc(size, 0x78);
  if (size >= STAMP_BYTES) {
    payload.writeUInt32BE(MAGIC, 0);
    payload.writeDoubleLE(now, 4);
  }
  return payload;
}

/** Send time of a bench payload, or undefined for other payloads. */
export function stampOf(payload: Buffer): number | undefined {
  if (payload.length < STAMP_BYTES || payload.readUInt32BE(0) !== MAGIC) return undefined;
  return payload.readDoubleLE(4);
}

/** Epoch milliseconds with sub-millisecond resolution (monotonic within the process). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
