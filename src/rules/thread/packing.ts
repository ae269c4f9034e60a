/**
 * What crosses between the broker thread and the rule delivery thread, packed so that a batch of
 * outbox entries is ONE transferable buffer instead of an object graph structured-cloned entry by
 * entry: `u32 count`, then per entry `u32 metaBytes, meta (UTF-8 JSON, src/rules/items.ts),
 * u32 payloadBytes, payload`. The delivery thread decodes the items itself (decodeItem), with the
 * payloads as views of the buffer it received. Outcomes come back as one byte per item (ok,
 * retryable failure, refused) plus the reasons of the failures only.
 */
import type { DeliveryOutcome } from '../connectors/types.js';

export interface PackedEntry {
  readonly meta: string;
  readonly payload: Buffer;
}

/** One buffer of its own (not a slice of Node's pool), so its ArrayBuffer can be transferred. */
export function packEntries(entries: readonly PackedEntry[]): ArrayBuffer {
  let size = 4;
  for (const e of entries) size += 8 + Buffer.byteLength(e.meta) + e.payload.length;
  const buf = Buffer.allocUnsafeSlow(size);
  buf.writeUInt32LE(entries.length, 0);
  let at = 4;
  for (const e of entries) {
    const metaBytes = buf.write(e.meta, at + 4);
    buf.writeUInt32LE(metaBytes, at);
    at += 4 + metaBytes;
    buf.writeUInt32LE(e.payload.length, at);
    e.payload.copy(buf, at + 4);
    at += 4 + e.payload.length;
  }
  return buf.buffer;
}

/** The entries of a packed batch; payloads are views of `data` (no copy). Throws on a truncated buffer. */
export function unpackEntries(data: ArrayBuffer): PackedEntry[] {
  const buf = Buffer.from(data);
  const count = buf.readUInt32LE(0);
  const out: PackedEntry[] = new Array<PackedEntry>(count);
  let at = 4;
  for (let i = 0; i < count; i++) {
    const metaBytes = buf.readUInt32LE(at);
    const meta = buf.toString('utf8', at + 4, at + 4 + metaBytes);
    at += 4 + metaBytes;
    const payloadBytes = buf.readUInt32LE(at);
    if (at + 4 + payloadBytes > buf.length) throw new RangeError('packed rule batch is truncated');
    const payload = buf.subarray(at + 4, at + 4 + payloadBytes);
    at += 4 + payloadBytes;
    out[i] = { meta, payload };
  }
  return out;
}

const OK_CODE = 0;
const RETRY_CODE = 1;
const REFUSED_CODE = 2;

export interface PackedOutcomes {
  /** One code per item: 0 delivered, 1 failed (retryable), 2 refused by the target. */
  readonly codes: Uint8Array;
  /** The reason of each failure, in item order (delivered items have none). */
  readonly reasons: string[];
}

export function packOutcomes(outcomes: readonly DeliveryOutcome[], count: number): PackedOutcomes {
  const codes = new Uint8Array(count);
  const reasons: string[] = [];
  for (let i = 0; i < count; i++) {
    const o = outcomes[i];
    if (o === undefined) {
      codes[i] = RETRY_CODE;
      reasons.push('no outcome from the target');
    } else if (o.ok) codes[i] = OK_CODE;
    else {
      codes[i] = o.retryable ? RETRY_CODE : REFUSED_CODE;
      reasons.push(o.reason);
    }
  }
  return { codes, reasons };
}

const OK: DeliveryOutcome = Object.freeze({ ok: true });

export function unpackOutcomes(packed: PackedOutcomes): DeliveryOutcome[] {
  const out: DeliveryOutcome[] = new Array<DeliveryOutcome>(packed.codes.length);
  let r = 0;
  for (let i = 0; i < packed.codes.length; i++) {
    const code = packed.codes[i]!;
    out[i] = code === OK_CODE ? OK : { ok: false, reason: packed.reasons[r++] ?? 'unknown failure', retryable: code === RETRY_CODE };
  }
  return out;
}
