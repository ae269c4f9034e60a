/**
 * Write cursor over a buffer the encoder has sized exactly; no bounds checks here because the
 * size pass already did the arithmetic. One Writer is reused by the encoder.
 */
import { EncodeError } from './errors.js';
import { MAX_STRING_BYTES, MAX_VARINT } from './constants.js';

const EMPTY = Buffer.alloc(0);
/** Up to this many UTF-16 units a JS copy loop beats a native write call. */
const JS_WRITE_MAX = 24;

/** Buffer's own utf8Write skips write()'s argument juggling; undocumented, so with a fallback. */
type WriteFn = (this: Buffer, s: string, offset: number) => number;
const nativeUtf8Write = (Buffer.prototype as unknown as { utf8Write?: WriteFn }).utf8Write;
const utf8Write: WriteFn =
  typeof nativeUtf8Write === 'function'
    ? nativeUtf8Write
    : function (this: Buffer, s: string, offset: number): number {
        return this.write(s, offset, 'utf8');
      };

export function varintLength(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

/** Bytes a UTF-8 string field takes on the wire, length prefix included. */
export function stringFieldLength(s: string, field: string): number {
  const n = Buffer.byteLength(s, 'utf8');
  if (n > MAX_STRING_BYTES) throw new EncodeError(`${field}: ${n} bytes exceeds ${MAX_STRING_BYTES}`);
  return n + 2;
}

/** Bytes a Binary Data field takes on the wire, length prefix included. */
export function binaryFieldLength(b: Buffer, field: string): number {
  const n = b.length;
  if (n > MAX_STRING_BYTES) throw new EncodeError(`${field}: ${n} bytes exceeds ${MAX_STRING_BYTES}`);
  return n + 2;
}

export function checkVarint(n: number, field: string): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_VARINT) throw new EncodeError(`${field}: ${n} is not a valid variable byte integer`);
}

export function checkU16(n: number, field: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new EncodeError(`${field}: ${n} is not a two byte integer`);
}

export function checkU32(n: number, field: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new EncodeError(`${field}: ${n} is not a four byte integer`);
}

export function checkU8(n: number, field: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xff) throw new EncodeError(`${field}: ${n} is not a byte`);
}

export class Writer {
  buf: Buffer = EMPTY;
  pos = 0;

  reset(buf: Buffer): void {
    this.buf = buf;
    this.pos = 0;
  }

  /** Drop the reference so a finished packet is not kept alive by the shared writer. */
  release(): void {
    this.buf = EMPTY;
  }

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    const b = this.buf;
    b[this.pos++] = v >>> 8;
    b[this.pos++] = v & 0xff;
  }

  u32(v: number): void {
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  varint(v: number): void {
    const b = this.buf;
    do {
      let byte = v % 128;
      v = Math.floor(v / 128);
      if (v > 0) byte |= 0x80;
      b[this.pos++] = byte;
    } while (v > 0);
  }

  /** Length-prefixed UTF-8 string; the size pass guaranteed it fits in 65535 bytes. */
  string(s: string): void {
    const b = this.buf;
    const p = this.pos;
    const len = s.length;
    let n: number;
    if (len <= JS_WRITE_MAX) {
      // Short ASCII (most topics and ids): copy in JS; bail out at the first non-ASCII unit.
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[p + 2 + i] = c;
      }
      n = i === len ? len : utf8Write.call(b, s, p + 2);
    } else {
      n = utf8Write.call(b, s, p + 2);
    }
    b[p] = n >>> 8;
    b[p + 1] = n & 0xff;
    this.pos = p + 2 + n;
  }

  binary(b: Buffer): void {
    this.u16(b.length);
    this.bytes(b);
  }

  bytes(b: Buffer): void {
    if (b.length > 0) {
      b.copy(this.buf, this.pos);
      this.pos += b.length;
    }
  }
}
