/**
 * A page of a stored queue as it crosses from the store thread to the main thread: columns
 * instead of one object per entry, and every payload and properties blob in one transferred
 * buffer. Cloning 256 entries as objects (each payload its own ArrayBuffer, copied on both
 * sides) cost the store thread more than reading them; this way a page is two transfers, a
 * Float64Array and the page's distinct strings (a topic repeated on every entry is sent once).
 * On the main thread it stays columnar (ColumnPage) until the session takes an entry to send it:
 * a page read ahead holds no per-entry object that could outlive the young generation
 * (bench/RESULTS.md issue 15 §28, §31).
 */
import { QueuedRecords } from '../queued-records.js';
import type { QueuedMessage, QueueEntryMaker, StoredQueuePage, StoreQoS } from '../types.js';
import { decodeIds } from './rows.js';
import type { QueueRow } from './rows.js';

/** Numbers per entry in `nums`, in this order. */
const N = 16;
const SEQ = 0;
const MESSAGE_ID = 1;
const DQOS = 2;
const DRETAIN = 3;
const QOS = 4;
const RETAIN = 5;
const EXPIRES_AT = 6;
const CREATED_AT = 7;
const TRACE_ID = 8;
/** Where the entry's payload starts in `bytes`; its properties follow it. */
const OFFSET = 9;
const PAYLOAD_LENGTH = 10;
/** -1: no properties. */
const PROPS_LENGTH = 11;
/** Indexes into `strs`, -1 for null: topic, subscription ids (as stored), share group, share filter. */
const TOPIC = 12;
const SUB_IDS = 13;
const SHARE_GROUP = 14;
const SHARE_FILTER = 15;

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
  /** The page's distinct strings, each once; entries refer to them by index. */
  readonly strs: string[];
  /** Each entry's payload, then its properties (if any), in entry order. */
  readonly bytes: ArrayBuffer;
}

/**
 * Store thread: each distinct string of a page once, by index. The strings are listed only at the
 * end, from the map (insertion order = index): an array pushed to per page starts as V8's
 * small-integer kind and turns into an object array with the first string, and that change made
 * the optimized packers deopt ("not a Smi", "wrong map") on the drain's first pages (issue 15 §37).
 */
class StringTable {
  private readonly index = new Map<string, number>();

  of(text: string | null): number {
    if (text === null) return -1;
    let i = this.index.get(text);
    if (i === undefined) {
      i = this.index.size;
      this.index.set(text, i);
    }
    return i;
  }

  get strs(): string[] {
    return Array.from(this.index.keys());
  }
}

/** Store thread: packs rows of `readQueue` (statements.ts). Transfer `nums.buffer` and `bytes`. */
export function packQueuePage(rows: readonly QueueRow[]): QueuePage {
  const n = rows.length;
  const nums = new Float64Array(n * N);
  const table = new StringTable();
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
    nums[o + OFFSET] = offset;
    nums[o + PAYLOAD_LENGTH] = row.payload.length;
    nums[o + PROPS_LENGTH] = row.properties === null ? -1 : row.properties.length;
    offset += row.payload.copy(bytes, offset);
    if (row.properties !== null) offset += row.properties.copy(bytes, offset);
    nums[o + TOPIC] = table.of(row.topic);
    nums[o + SUB_IDS] = table.of(row.sub_ids);
    nums[o + SHARE_GROUP] = table.of(row.share_group);
    nums[o + SHARE_FILTER] = table.of(row.share_filter);
  }
  return { kind: 'queue-page', n, nums, strs: table.strs, bytes: bytes.buffer as ArrayBuffer };
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
  const table = new StringTable();
  const total = queueColumnsBytes(rows);
  const got = blobs?.length ?? 0;
  if (got !== total) throw new Error(`queue page: ${got} blob bytes for rows that hold ${total}`);
  let offset = 0;
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
    nums[o + OFFSET] = offset;
    nums[o + PAYLOAD_LENGTH] = row[13];
    nums[o + PROPS_LENGTH] = row[14] ?? -1;
    offset += row[13] + (row[14] ?? 0);
    nums[o + TOPIC] = table.of(row[7]);
    nums[o + SUB_IDS] = table.of(row[4]);
    nums[o + SHARE_GROUP] = table.of(row[5]);
    nums[o + SHARE_FILTER] = table.of(row[6]);
  }
  return { kind: 'queue-page', n, nums, strs: table.strs, bytes: ownBuffer(blobs) };
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

/**
 * `x` as a small integer when it is one. A Float64Array gives every number as a heap number, and
 * a heap number in a field where live messages hold small integers (a Delivery's qos, a Message's
 * storeId) changes that field's representation for every object of the shape: V8 deprecates the
 * map and the send path's optimized code deopts on "wrong map" at the drain's start (issue 15 §37).
 */
function int(x: number): number {
  const i = x | 0;
  return i === x ? i : x;
}

/**
 * Main thread: a received page, columnar until an entry is asked for. Receiving it costs O(1);
 * `take(i, maker)` hands that entry's fields to the maker then (small payloads and properties are
 * views into the page buffer), so entries taken one by one and sent die young.
 */
export class ColumnPage implements StoredQueuePage {
  readonly length: number;
  private readonly nums: Float64Array;
  private readonly strs: readonly string[];
  private readonly buffer: Buffer;

  constructor(
    private readonly clientId: string,
    page: QueuePage,
  ) {
    this.length = page.n;
    this.nums = page.nums;
    this.strs = page.strs;
    this.buffer = Buffer.from(page.bytes);
  }

  get bytes(): number {
    return this.buffer.byteLength;
  }

  seq(index: number): number {
    return this.nums[this.at(index) + SEQ]!;
  }

  take<T>(index: number, maker: QueueEntryMaker<T>): T {
    const nums = this.nums;
    const o = this.at(index);
    const offset = nums[o + OFFSET]! | 0;
    const payloadLength = nums[o + PAYLOAD_LENGTH]! | 0;
    const propsLength = nums[o + PROPS_LENGTH]! | 0;
    return maker.make(
      int(nums[o + SEQ]!),
      int(nums[o + MESSAGE_ID]!),
      (nums[o + DQOS]! | 0) as StoreQoS,
      nums[o + DRETAIN] === 1,
      decodeIds(this.str(nums[o + SUB_IDS]!)),
      this.str(nums[o + SHARE_GROUP]!),
      this.str(nums[o + SHARE_FILTER]!),
      this.str(nums[o + TOPIC]!)!,
      this.blob(offset, payloadLength),
      (nums[o + QOS]! | 0) as StoreQoS,
      nums[o + RETAIN] === 1,
      propsLength < 0 ? null : this.blob(offset + payloadLength, propsLength),
      int(nums[o + EXPIRES_AT]!),
      int(nums[o + CREATED_AT]!),
      int(nums[o + TRACE_ID]!),
    );
  }

  entry(index: number): QueuedMessage {
    return this.take(index, new QueuedRecords(this.clientId));
  }

  private at(index: number): number {
    if (!(index >= 0 && index < this.length)) throw new RangeError(`queue page: no entry ${index} of ${this.length}`);
    return index * N;
  }

  private str(index: number): string | null {
    return index < 0 ? null : this.strs[index | 0]!;
  }

  private blob(offset: number, length: number): Buffer {
    const view = this.buffer.subarray(offset, offset + length);
    return length < SHARE_BELOW ? view : Buffer.from(view);
  }
}
