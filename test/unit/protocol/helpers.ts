/** Test helpers shared by the codec tests. */
import { Decoder } from '../../../src/protocol/decoder.js';
import { MAX_PACKET_SIZE } from '../../../src/protocol/constants.js';
import type { Packet, ProtocolVersion } from '../../../src/protocol/packets.js';

/** Small deterministic PRNG (mulberry32) so random splits are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Feeds `chunks` one by one, collecting every packet; asserts nothing is left over. */
export function decodeChunks(chunks: Buffer[], version: ProtocolVersion | undefined): Packet[] {
  const d = new Decoder(version === undefined ? { maxPacketSize: MAX_PACKET_SIZE } : { maxPacketSize: MAX_PACKET_SIZE, protocolVersion: version });
  const out: Packet[] = [];
  for (const c of chunks) {
    d.push(c);
    for (let p = d.next(); p !== null; p = d.next()) out.push(p);
  }
  if (d.bufferedBytes !== 0) throw new Error(`${d.bufferedBytes} bytes left undecoded`);
  return out;
}

/** Splits `buf` at random points (including empty chunks now and then). */
export function randomSplit(buf: Buffer, random: () => number, maxPiece = 7): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const n = Math.floor(random() * (maxPiece + 1)); // 0 = empty chunk
    out.push(buf.subarray(pos, Math.min(buf.length, pos + n)));
    pos += n;
  }
  return out;
}

export function oneByteChunks(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i++) out.push(buf.subarray(i, i + 1));
  return out;
}
