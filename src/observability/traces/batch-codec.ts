/**
 * How one batch of trace events is stored: one BLOB of columns, plus the summaries that let a
 * query find the batches it needs without reading the others (trace-db.ts).
 *
 *   BLOB = msg f64[n] | time u32[n] | channel u32[n] | code u8[n]       (17 bytes per event)
 *
 * - `msg` is the stored MsgId number (epoch × 2^40 + counter), 0 for device events;
 * - `time` is ms after the batch's first_time (its earliest event);
 * - `channel` is channels.id;
 * - `code` is a codes.ts TraceCode.
 * Numbers are in the platform's byte order (little-endian on every platform Node runs on); the
 * columns are aligned for typed-array views (8n and 12n are multiples of their element sizes).
 *
 * Summaries of a batch, computed while encoding:
 * - per channel: how many device and message events it has in the batch, and their time span
 *   (`channel_blocks`: the client queries count whole batches from these and decode only the
 *   ones that straddle the time range or hold the page);
 * - the MsgId buckets (msg ÷ MSG_BUCKET) its message events fall in (`batch_msgs`: the MsgId
 *   queries decode only the batches of the message's bucket).
 */
import { MESSAGE_EVENT_BASE } from './codes.js';

/** Events of one batch, as columns. `channel` holds channels.id, `msg` the stored number. */
export interface TraceColumns {
  count: number;
  readonly time: Float64Array;
  readonly code: Uint8Array;
  readonly channel: Float64Array;
  readonly msg: Float64Array;
}

/** Messages numbered close together share a bucket; a batch is indexed once per bucket. */
export const MSG_BUCKET = 256;

export const BYTES_PER_EVENT = 17;

export interface ChannelSummary {
  readonly channel: number;
  devices: number;
  messages: number;
  first: number;
  last: number;
}

export interface EncodedBatch {
  readonly count: number;
  readonly firstTime: number;
  readonly lastTime: number;
  readonly data: Buffer;
  readonly channels: ChannelSummary[];
  readonly buckets: number[];
}

export function encodeBatch(c: TraceColumns): EncodedBatch {
  const n = c.count;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const t = c.time[i]!;
    if (t < first) first = t;
    if (t > last) last = t;
  }
  if (n === 0) first = last = 0;
  const buffer = new ArrayBuffer(n * BYTES_PER_EVENT);
  new Float64Array(buffer, 0, n).set(c.msg.subarray(0, n));
  const time = new Uint32Array(buffer, 8 * n, n);
  const channel = new Uint32Array(buffer, 12 * n, n);
  new Uint8Array(buffer, 16 * n, n).set(c.code.subarray(0, n));
  const summaries = new Map<number, ChannelSummary>();
  const buckets: number[] = [];
  const seenBuckets = new Set<number>();
  let lastBucket = -1;
  let s: ChannelSummary | undefined;
  for (let i = 0; i < n; i++) {
    const t = c.time[i]!;
    const ch = c.channel[i]!;
    time[i] = t - first;
    channel[i] = ch;
    if (s === undefined || s.channel !== ch) {
      s = summaries.get(ch);
      if (s === undefined) {
        s = { channel: ch, devices: 0, messages: 0, first: t, last: t };
        summaries.set(ch, s);
      }
    }
    if (t < s.first) s.first = t;
    if (t > s.last) s.last = t;
    if (c.code[i]! < MESSAGE_EVENT_BASE) {
      s.devices++;
    } else {
      s.messages++;
      const msg = c.msg[i]!;
      if (msg > 0) {
        const bucket = Math.floor(msg / MSG_BUCKET);
        if (bucket !== lastBucket) {
          lastBucket = bucket;
          if (!seenBuckets.has(bucket)) {
            seenBuckets.add(bucket);
            buckets.push(bucket);
          }
        }
      }
    }
  }
  return { count: n, firstTime: first, lastTime: last, data: Buffer.from(buffer), channels: [...summaries.values()].sort((a, b) => a.channel - b.channel), buckets };
}

/** A stored batch, read back: typed-array views over its BLOB. */
export class DecodedBatch {
  readonly msg: Float64Array;
  /** ms after firstTime; see timeAt. */
  readonly time: Uint32Array;
  readonly channel: Uint32Array;
  readonly code: Uint8Array;

  constructor(
    readonly id: number,
    readonly firstTime: number,
    readonly count: number,
    data: Uint8Array,
  ) {
    const n = count;
    if (data.byteLength !== n * BYTES_PER_EVENT) throw new Error(`trace batch ${id}: ${data.byteLength} bytes for ${n} events`);
    let bytes = data;
    if (bytes.byteOffset % 8 !== 0) bytes = new Uint8Array(data); // copy to an aligned buffer
    const b = bytes.buffer;
    const o = bytes.byteOffset;
    this.msg = new Float64Array(b, o, n);
    this.time = new Uint32Array(b, o + 8 * n, n);
    this.channel = new Uint32Array(b, o + 12 * n, n);
    this.code = new Uint8Array(b, o + 16 * n, n);
  }

  timeAt(i: number): number {
    return this.firstTime + this.time[i]!;
  }

  /** The events at positions `keep` (ascending), as columns to store again. */
  columns(keep: (i: number) => boolean): TraceColumns {
    const n = this.count;
    const out: TraceColumns = { count: 0, time: new Float64Array(n), code: new Uint8Array(n), channel: new Float64Array(n), msg: new Float64Array(n) };
    let k = 0;
    for (let i = 0; i < n; i++) {
      if (!keep(i)) continue;
      out.time[k] = this.timeAt(i);
      out.code[k] = this.code[i]!;
      out.channel[k] = this.channel[i]!;
      out.msg[k] = this.msg[i]!;
      k++;
    }
    out.count = k;
    return out;
  }

  /** The MsgId buckets of its message events (batch_msgs rows). */
  buckets(): number[] {
    const buckets = new Set<number>();
    for (let i = 0; i < this.count; i++) {
      const msg = this.msg[i]!;
      if (msg > 0 && this.code[i]! >= MESSAGE_EVENT_BASE) buckets.add(Math.floor(msg / MSG_BUCKET));
    }
    return [...buckets];
  }
}
