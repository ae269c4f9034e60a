/**
 * Minimal MQTT 3.1.1 wire helpers for the load generator.
 *
 * Deliberately hand-rolled (no mqtt.js / mqtt-packet): packets are built once
 * as templates and the streaming reader only walks fixed headers, so the load
 * generator spends as little CPU per message as possible.
 */

export const PKT_CONNECT = 1;
export const PKT_CONNACK = 2;
export const PKT_PUBLISH = 3;
export const PKT_PUBACK = 4;
export const PKT_SUBSCRIBE = 8;
export const PKT_SUBACK = 9;
export const PKT_DISCONNECT = 14;

/** Encode an MQTT "remaining length" varint. */
export function encodeRemainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    bytes.push(b);
  } while (n > 0);
  return Buffer.from(bytes);
}

function packet(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), encodeRemainingLength(body.length), body]);
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(2 + b.length);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

/** CONNECT, protocol level 4 (3.1.1), clean session (unless `clean` is false), no will/auth. */
export function buildConnect(clientId: string, keepAliveSec = 60, clean = true): Buffer {
  const vh = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, clean ? 0x02 : 0x00, (keepAliveSec >> 8) & 0xff, keepAliveSec & 0xff]);
  return packet(0x10, Buffer.concat([vh, str(clientId)]));
}

export function buildSubscribe(packetId: number, topicFilter: string, qos: 0 | 1): Buffer {
  const id = Buffer.from([(packetId >> 8) & 0xff, packetId & 0xff]);
  return packet(0x82, Buffer.concat([id, str(topicFilter), Buffer.from([qos])]));
}

export interface PublishTemplate {
  /** Complete encoded packet (packet id 0 / timestamp 0 placeholders). */
  readonly bytes: Buffer;
  /** Offset of the 2-byte packet id (QoS 1 only), else -1. */
  readonly idOffset: number;
  /** Offset of the first payload byte. */
  readonly payloadOffset: number;
}

/** PUBLISH with a fixed payload size; payload is filled with 'x' bytes. */
export function buildPublish(topic: string, qos: 0 | 1, payloadSize: number): PublishTemplate {
  const t = str(topic);
  const idLen = qos > 0 ? 2 : 0;
  const payload = Buffer.alloc(payloadSize, 0x78);
  const body = Buffer.concat([t, Buffer.alloc(idLen), payload]);
  const rl = encodeRemainingLength(body.length);
  const bytes = Buffer.concat([Buffer.from([0x30 | (qos << 1)]), rl, body]);
  const varHeaderStart = 1 + rl.length;
  return {
    bytes,
    idOffset: qos > 0 ? varHeaderStart + t.length : -1,
    payloadOffset: varHeaderStart + t.length + idLen,
  };
}

export function buildPuback(packetId: number): Buffer {
  return Buffer.from([0x40, 0x02, (packetId >> 8) & 0xff, packetId & 0xff]);
}

export const DISCONNECT = Buffer.from([0xe0, 0x00]);

/**
 * Called once per complete packet.
 * `buf[start]` is the fixed-header byte; the variable header begins at
 * `bodyStart` and the packet ends at `end` (exclusive).
 */
export type PacketHandler = (type: number, flags: number, buf: Buffer, bodyStart: number, end: number) => void;

/**
 * Streaming packet splitter. Handles packets split across TCP chunks; only
 * the fixed header is decoded here, handlers look at the body if they care.
 */
export class PacketReader {
  private pending: Buffer | null = null;

  constructor(private readonly onPacket: PacketHandler) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const len = buf.length;
    let off = 0;
    while (off + 2 <= len) {
      const first = buf[off]!;
      // remaining length varint (max 4 bytes)
      let rl = 0;
      let mult = 1;
      let p = off + 1;
      let complete = false;
      for (let i = 0; i < 4 && p < len; i++) {
        const b = buf[p++]!;
        rl += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete) {
        if (p - off - 1 >= 4) throw new Error('malformed remaining length');
        break;
      }
      const end = p + rl;
      if (end > len) break;
      this.onPacket(first >> 4, first & 0x0f, buf, p, end);
      off = end;
    }
    // Copy: callers may reuse `chunk`'s memory for the next read (net `onread`).
    if (off < len) this.pending = Buffer.from(buf.subarray(off));
  }
}
