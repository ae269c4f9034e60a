/**
 * Bounds-checked cursor over one packet's bytes. Every read names the field it reads, so a
 * DecodeError says what was wrong ("topic name: truncated"). One Reader is reused per Decoder.
 */
import { isUtf8 } from 'node:buffer';
import { DecodeError } from './errors.js';
import { ReasonCode } from './reason-codes.js';

const EMPTY = Buffer.alloc(0);
/** Below this many bytes a JS scan beats the native calls' fixed cost. */
const NATIVE_SCAN_MIN = 32;
const PLUS = 0x2b;
const HASH = 0x23;

/**
 * Buffer's own utf8Slice skips toString()'s argument juggling (a measurable share of decoding
 * short topics). It is undocumented, so fall back to toString() if it ever goes away.
 */
type SliceFn = (this: Buffer, start: number, end: number) => string;
const nativeUtf8Slice = (Buffer.prototype as unknown as { utf8Slice?: SliceFn }).utf8Slice;
const utf8Slice: SliceFn =
  typeof nativeUtf8Slice === 'function'
    ? nativeUtf8Slice
    : function (this: Buffer, start: number, end: number): string {
        return this.toString('utf8', start, end);
      };

export function malformed(message: string): DecodeError {
  return new DecodeError(message, ReasonCode.MalformedPacket);
}

export function protocolError(message: string): DecodeError {
  return new DecodeError(message, ReasonCode.ProtocolError);
}

export class Reader {
  buf: Buffer = EMPTY;
  pos = 0;
  end = 0;
  /** Whether the last string() read contained '+' or '#' (topic-name check without a rescan). */
  wildcard = false;

  reset(buf: Buffer, pos: number, end: number): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, field: string): void {
    if (this.end - this.pos < n) throw malformed(`${field}: truncated`);
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++] as number;
  }

  u16(field: string): number {
    this.need(2, field);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return ((b[p] as number) << 8) | (b[p + 1] as number);
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Variable Byte Integer, at most 4 bytes [MQTT-1.5.5-1]. */
  varint(field: string): number {
    const b = this.buf;
    let value = 0;
    let mult = 1;
    for (let i = 0; i < 4; i++) {
      if (this.pos >= this.end) throw malformed(`${field}: truncated`);
      const byte = b[this.pos++] as number;
      value += (byte & 0x7f) * mult;
      if (byte < 0x80) {
        if (byte === 0 && i > 0) throw malformed(`${field}: not minimally encoded [MQTT-1.5.5-1]`);
        return value;
      }
      mult *= 128;
    }
    throw malformed(`${field}: variable byte integer longer than 4 bytes`);
  }

  /**
   * UTF-8 Encoded String: well-formed UTF-8 [MQTT-1.5.4-1] without U+0000 [MQTT-1.5.4-2].
   * (U+0000 can only appear as a 0x00 byte in valid UTF-8, so a byte scan finds it.)
   */
  string(field: string): string {
    const len = this.u16(field);
    this.need(len, field);
    const b = this.buf;
    const start = this.pos;
    const end = start + len;
    this.pos = end;
    if (len < NATIVE_SCAN_MIN) {
      let high = 0;
      let wildcard = false;
      for (let i = start; i < end; i++) {
        const c = b[i] as number;
        if (c === 0) throw malformed(`${field}: contains U+0000 [MQTT-1.5.4-2]`);
        if (c === PLUS || c === HASH) wildcard = true;
        high |= c;
      }
      this.wildcard = wildcard;
      if (high >= 0x80 && !isUtf8(b.subarray(start, end))) {
        throw malformed(`${field}: invalid UTF-8 [MQTT-1.5.4-1]`);
      }
    } else {
      const s = b.subarray(start, end);
      if (s.indexOf(0) !== -1) throw malformed(`${field}: contains U+0000 [MQTT-1.5.4-2]`);
      if (!isUtf8(s)) throw malformed(`${field}: invalid UTF-8 [MQTT-1.5.4-1]`);
      this.wildcard = s.indexOf(PLUS) !== -1 || s.indexOf(HASH) !== -1;
    }
    return len === 0 ? '' : utf8Slice.call(b, start, end);
  }

  /** Binary Data (two-byte length + bytes), returned as a subarray: no copy. */
  binary(field: string): Buffer {
    const len = this.u16(field);
    this.need(len, field);
    const start = this.pos;
    this.pos = start + len;
    return this.buf.subarray(start, start + len);
  }

  /** Everything up to the end of the packet (PUBLISH payload), as a subarray. */
  rest(): Buffer {
    const start = this.pos;
    this.pos = this.end;
    return this.buf.subarray(start, this.end);
  }
}
