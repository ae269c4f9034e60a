/**
 * Retained messages and deletions with their versions (retained-versions.ts) as nodes send them:
 * live updates on `<prefix>.r` and the chunks of a catch-up (retained-sync.ts) use one format.
 *
 *   entry:  u8 format (1), f64 version timestamp (µs), u16 node length, node (UTF-8),
 *           then the message's envelope (envelope.ts): topic `<instanceId>/<topic>`, retain set;
 *           an empty payload is a deletion (a tombstone), as in MQTT
 *   chunk:  u32 index, then entries, each as u32 length + entry
 *
 * A reader meeting another format refuses the entry (counted as unreadable).
 */
import { decodeEnvelope, encodeEnvelope, type Envelope } from './envelope.js';
import type { VersionEntry } from './retained-versions.js';

export const RETAINED_ENTRY_FORMAT = 1;

export interface RetainedEntry {
  readonly version: VersionEntry;
  readonly envelope: Envelope;
}

export class RetainedEntryError extends Error {
  override readonly name = 'RetainedEntryError';
}

export function encodeRetainedEntry(entry: RetainedEntry): Buffer {
  const node = Buffer.from(entry.version.node, 'utf8');
  const envelope = encodeEnvelope(entry.envelope);
  const out = Buffer.allocUnsafe(1 + 8 + 2 + node.length + envelope.length);
  let at = out.writeUInt8(RETAINED_ENTRY_FORMAT, 0);
  at = out.writeDoubleBE(entry.version.ts, at);
  at = out.writeUInt16BE(node.length, at);
  at += node.copy(out, at);
  out.set(envelope, at);
  return out;
}

export function decodeRetainedEntry(data: Uint8Array): RetainedEntry {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 11) throw new RetainedEntryError(`retained entry of ${buf.length} bytes is too short`);
  if (buf[0] !== RETAINED_ENTRY_FORMAT) throw new RetainedEntryError(`retained entry format ${buf[0]} is not ${RETAINED_ENTRY_FORMAT}`);
  const ts = buf.readDoubleBE(1);
  const nodeLength = buf.readUInt16BE(9);
  if (11 + nodeLength > buf.length) throw new RetainedEntryError('retained entry truncated');
  const node = buf.toString('utf8', 11, 11 + nodeLength);
  const envelope = decodeEnvelope(buf.subarray(11 + nodeLength));
  const deleted = envelope.payload.length === 0;
  return { version: { ts, node, deleted, expiresAt: deleted ? 0 : envelope.expiresAt }, envelope };
}

/** Entries in chunks that stop growing past `maxBytes`, each chunk numbered from 0. */
export function chunkEntries(entries: Iterable<Buffer>, maxBytes: number): Buffer[] {
  const chunks: Buffer[] = [];
  let parts: Buffer[] = [];
  let size = 0;
  const close = (): void => {
    const index = Buffer.allocUnsafe(4);
    index.writeUInt32BE(chunks.length, 0);
    chunks.push(Buffer.concat([index, ...parts]));
    parts = [];
    size = 0;
  };
  for (const entry of entries) {
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32BE(entry.length, 0);
    parts.push(length, entry);
    size += entry.length + 4;
    if (size >= maxBytes) close();
  }
  if (parts.length > 0) close();
  return chunks;
}

/** The index of a chunk and its entries' bytes (decode each with decodeRetainedEntry). */
export function splitChunk(data: Uint8Array): { index: number; entries: Buffer[] } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 4) throw new RetainedEntryError(`chunk of ${buf.length} bytes is too short`);
  const entries: Buffer[] = [];
  let at = 4;
  while (at < buf.length) {
    if (at + 4 > buf.length) throw new RetainedEntryError('chunk truncated');
    const length = buf.readUInt32BE(at);
    if (at + 4 + length > buf.length) throw new RetainedEntryError('chunk truncated');
    entries.push(buf.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return { index: buf.readUInt32BE(0), entries };
}
