/**
 * A feed of outbox entries from the broker thread to a rule's lane on the delivery thread
 * (feeder.ts → lane.ts), packed as ONE transferable buffer: `u32 count`, then per entry
 * `f64 seq, u32 attempts, u32 metaBytes, meta (UTF-8 JSON, src/rules/items.ts), u32 payloadBytes,
 * payload`. Payloads arrive as views of the received buffer (no copy on the thread).
 */

export interface FeedEntry {
  readonly seq: number;
  /** Delivery attempts already made (crashes of the delivery thread with the entry in hand). */
  readonly attempts: number;
  readonly meta: string;
  readonly payload: Buffer;
}

/** What packFeed reads of an entry (an outbox entry as it is). */
export interface FeedSource {
  readonly seq: number;
  readonly meta: string;
  readonly payload: Buffer;
}

/**
 * The first `count` entries (all by default), with their attempts from `attemptsOf` (by seq).
 * One buffer of its own (not a slice of Node's pool), so its ArrayBuffer can be transferred.
 */
export function packFeed(
  entries: readonly FeedSource[],
  count = entries.length,
  attemptsOf: (seq: number) => number = () => 0,
): ArrayBuffer {
  let size = 4;
  // UTF-8 needs at most 3 bytes per UTF-16 code unit: one pass, no byteLength() per meta.
  for (let i = 0; i < count; i++) size += 20 + 3 * entries[i]!.meta.length + entries[i]!.payload.length;
  const buf = Buffer.allocUnsafeSlow(size);
  buf.writeUInt32LE(count, 0);
  let at = 4;
  for (let i = 0; i < count; i++) {
    const e = entries[i]!;
    buf.writeDoubleLE(e.seq, at);
    buf.writeUInt32LE(attemptsOf(e.seq), at + 8);
    const metaBytes = buf.write(e.meta, at + 16, 'utf8');
    buf.writeUInt32LE(metaBytes, at + 12);
    at += 16 + metaBytes;
    buf.writeUInt32LE(e.payload.length, at);
    e.payload.copy(buf, at + 4);
    at += 4 + e.payload.length;
  }
  // The slack stays unused (count says where the entries end); transferring it costs nothing.
  return buf.buffer;
}

/** The entries of a packed feed. Throws on a truncated buffer. */
export function unpackFeed(data: ArrayBuffer): FeedEntry[] {
  const buf = Buffer.from(data);
  const count = buf.readUInt32LE(0);
  const out: FeedEntry[] = new Array<FeedEntry>(count);
  let at = 4;
  for (let i = 0; i < count; i++) {
    const seq = buf.readDoubleLE(at);
    const attempts = buf.readUInt32LE(at + 8);
    const metaBytes = buf.readUInt32LE(at + 12);
    const meta = buf.toString('utf8', at + 16, at + 16 + metaBytes);
    at += 16 + metaBytes;
    const payloadBytes = buf.readUInt32LE(at);
    if (at + 4 + payloadBytes > buf.length) throw new RangeError('packed rule feed is truncated');
    const payload = buf.subarray(at + 4, at + 4 + payloadBytes);
    at += 4 + payloadBytes;
    out[i] = { seq, attempts, meta, payload };
  }
  return out;
}
