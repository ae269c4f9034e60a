/**
 * A page of a stored queue as it crosses from the store thread to the main thread: columns
 * instead of one object per entry, and every payload and properties blob in one transferred
 * buffer. Cloning 256 entries as objects (each payload its own ArrayBuffer, copied on both
 * sides) cost the store thread more than reading them; this way a page is two transfers and a
 * few arrays of primitives, and on the main thread a small payload is a view into the page buffer.
 */
import type { QueuedMessage, StoreQoS } from '../types.js';
import { decodeIds } from './rows.js';
import type { QueueRow } from './rows.js';

/** Numbers per entry in `nums`, in this order. */
const N = 11;
const SEQ = 0;
const MESSAGE_ID = 1;
const DQOS = 2;
const DRETAIN = 3;
const QOS = 4;
const RETAIN = 5;
const EXPIRES_AT = 6;
const CREATED_AT = 7;
const TRACE_ID = 8;
const PAYLOAD_LENGTH = 9;
/** -1: no properties. */
const PROPS_LENGTH = 10;

/** Strings per entry in `strs`: topic, subscription ids (as stored), share group, share filter. */
const S = 4;
/**
 * Blobs at least this long are copied out of the page buffer on the main thread: a view would
 * keep the whole page alive while one of its messages waits (e.g. unacknowledged in a window).
 * Below it a page pins at most 256 × 1 KiB.
 */
const SHARE_BELOW = 1024;

export interface QueuePage {
  readonly kind: 'queue-page';
  readonly n: number;
  readonly nums: Float64Array;
  readonly strs: Array<string | null>;
  /** Each entry's payload, then its properties (if any), in entry order. */
  readonly bytes: ArrayBuffer;
}

/** Store thread: packs rows of `readQueue` (statements.ts). Transfer `nums.buffer` and `bytes`. */
export function packQueuePage(rows: readonly QueueRow[]): QueuePage {
  const n = rows.length;
  const nums = new Float64Array(n * N);
  const strs = new Array<string | null>(n * S);
  let total = 0;
  for (const row of rows) total += row.payload.length + (row.properties?.length ?? 0);
  const bytes = Buffer.allocUnsafeSlow(total);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const row = rows[i]!;
    const o = i * N;
    nums[o + SEQ] = row.seq;
    nums[o + MESSAGE_ID] = row.message_id;
    nums[o + DQOS] = row.dqos;
    nums[o + DRETAIN] = row.dretain;
    nums[o + QOS] = row.qos;
    nums[o + RETAIN] = row.retain;
    nums[o + EXPIRES_AT] = row.expires_at;
    nums[o + CREATED_AT] = row.created_at;
    nums[o + TRACE_ID] = row.trace_id ?? 0;
    nums[o + PAYLOAD_LENGTH] = row.payload.length;
    nums[o + PROPS_LENGTH] = row.properties === null ? -1 : row.properties.length;
    offset += row.payload.copy(bytes, offset);
    if (row.properties !== null) offset += row.properties.copy(bytes, offset);
    const s = i * S;
    strs[s] = row.topic;
    strs[s + 1] = row.sub_ids;
    strs[s + 2] = row.share_group;
    strs[s + 3] = row.share_filter;
  }
  return { kind: 'queue-page', n, nums, strs, bytes: bytes.buffer as ArrayBuffer };
}

/**
 * An entry of `readQueuePage` (statements.ts), in its JSON array's order: seq, message_id, delivery
 * qos, delivery retain, sub_ids, share_group, share_filter, topic, qos, retain, expires_at,
 * created_at, trace_id, payload length, properties length (null: none).
 */
export type QueueColumns = [
  number, number, number, number, string | null, string | null, string | null,
  string, number, number, number, number, number | null, number, number | null,
];

/** Store thread: the total blob bytes `packQueueColumns` needs for these entries. */
function queueColumnsBytes(rows: readonly QueueColumns[]): number {
  let total = 0;
  for (const row of rows) total += row[13] + (row[14] ?? 0);
  return total;
}

/**
 * Store thread: packs the entries of `readQueuePage` and their blobs, concatenated in entry
 * order. Throws when the blobs do not add up to the entries' lengths.
 */
export function packQueueColumns(rows: readonly QueueColumns[], blobs: Buffer | null): QueuePage {
  const n = rows.length;
  const nums = new Float64Array(n * N);
  const strs = new Array<string | null>(n * S);
  const total = queueColumnsBytes(rows);
  const got = blobs?.length ?? 0;
  if (got !== total) throw new Error(`queue page: ${got} blob bytes for rows that hold ${total}`);
  for (let i = 0; i < n; i++) {
    const row = rows[i]!;
    const o = i * N;
    nums[o + SEQ] = row[0];
    nums[o + MESSAGE_ID] = row[1];
    nums[o + DQOS] = row[2];
    nums[o + DRETAIN] = row[3];
    nums[o + QOS] = row[8];
    nums[o + RETAIN] = row[9];
    nums[o + EXPIRES_AT] = row[10];
    nums[o + CREATED_AT] = row[11];
    nums[o + TRACE_ID] = row[12] ?? 0;
    nums[o + PAYLOAD_LENGTH] = row[13];
    nums[o + PROPS_LENGTH] = row[14] ?? -1;
    const s = i * S;
    strs[s] = row[7];
    strs[s + 1] = row[4];
    strs[s + 2] = row[5];
    strs[s + 3] = row[6];
  }
  return { kind: 'queue-page', n, nums, strs, bytes: ownBuffer(blobs) };
}

/** An ArrayBuffer holding exactly these bytes, safe to transfer (copied if shared or offset). */
function ownBuffer(bytes: Buffer | null): ArrayBuffer {
  if (bytes === null || bytes.length === 0) return new ArrayBuffer(0);
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length && !(bytes.buffer instanceof SharedArrayBuffer)) {
    return bytes.buffer;
  }
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy.buffer as ArrayBuffer;
}

/** What to pass as postMessage's transfer list with a page. */
export function queuePageTransfer(page: QueuePage): ArrayBuffer[] {
  return page.bytes.byteLength > 0 ? [page.nums.buffer as ArrayBuffer, page.bytes] : [page.nums.buffer as ArrayBuffer];
}

export function isQueuePage(value: unknown): value is QueuePage {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'queue-page';
}

/** Main thread: the page's entries; small payloads and properties are views into the page buffer. */
export function unpackQueuePage(clientId: string, page: QueuePage): QueuedMessage[] {
  const { n, nums, strs } = page;
  const bytes = Buffer.from(page.bytes);
  const out = new Array<QueuedMessage>(n);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const o = i * N;
    const s = i * S;
    const payloadLength = nums[o + PAYLOAD_LENGTH]!;
    const payload = blob(bytes, offset, payloadLength);
    offset += payloadLength;
    const propsLength = nums[o + PROPS_LENGTH]!;
    let properties: Buffer | null = null;
    if (propsLength >= 0) {
      properties = blob(bytes, offset, propsLength);
      offset += propsLength;
    }
    const traceId = nums[o + TRACE_ID]!;
    out[i] = {
      clientId,
      seq: nums[o + SEQ]!,
      messageId: nums[o + MESSAGE_ID]!,
      qos: nums[o + DQOS]! as StoreQoS,
      retain: nums[o + DRETAIN] === 1,
      subscriptionIds: decodeIds(strs[s + 1] ?? null),
      shareGroup: strs[s + 2] ?? null,
      shareFilter: strs[s + 3] ?? null,
      message: {
        id: nums[o + MESSAGE_ID]!,
        topic: strs[s]!,
        payload,
        qos: nums[o + QOS]! as StoreQoS,
        retain: nums[o + RETAIN] === 1,
        properties,
        expiresAt: nums[o + EXPIRES_AT]!,
        createdAt: nums[o + CREATED_AT]!,
        ...(traceId !== 0 ? { traceId } : {}),
      },
    };
  }
  return out;
}

function blob(bytes: Buffer, offset: number, length: number): Buffer {
  const view = bytes.subarray(offset, offset + length);
  return length < SHARE_BELOW ? view : Buffer.from(view);
}
