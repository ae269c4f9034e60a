/**
 * WebSocket framing (RFC 6455 §5) on an upgraded socket, as a ByteStream: the lean replacement of
 * the `ws` library's WebSocket/Receiver/Sender (~9 KB per idle connection with their stream states
 * and buffers). An idle connection here holds the socket and one WsStream of a few numbers.
 *
 * - Inbound frames are unmasked in place and their payload is handed to the handler as it arrives,
 *   fragment by fragment and even part of a frame at a time: MQTT is a byte stream, message
 *   boundaries carry no meaning [MQTT-6.0.0-2], so nothing is reassembled or buffered.
 * - Protocol errors close with the RFC's codes, as `ws` does: unmasked client frame, RSV bits
 *   (no extension is ever negotiated), unknown opcode, a continuation without a message or a new
 *   message inside one, a fragmented or over-long control frame, a bad close code → 1002; a close
 *   reason that is not UTF-8 → 1007; a message longer than maxMessageBytes → 1009. A text frame
 *   closes with 1003 [MQTT-6.0.0-1].
 * - Ping is answered with a pong carrying its payload; pong is ignored; a close frame is answered
 *   with a close frame (its code echoed) and the socket is ended.
 * - Outbound: one unmasked binary frame per write(). write() returns false once the socket holds
 *   WS_HIGH_WATER_MARK bytes; onDrain fires when the socket has drained after that.
 */
import { isUtf8 } from 'node:buffer';
import type { Socket } from 'node:net';
import type { ByteStream, PeerInfo, StreamHandler } from './types.js';
import { kError, kStream, noteError, shareEmptyPipes, type SlottedSocket } from './socket-slots.js';
import { PackedPeer, PEER_FREE_BIT } from './peer.js';

export const WS_HIGH_WATER_MARK = 64 * 1024;

/** Close codes (RFC 6455 §7.4.1). */
export const WS_CLOSE = {
  normal: 1000,
  unsupportedData: 1003,
  protocolError: 1002,
  invalidPayload: 1007,
  tooBig: 1009,
} as const;

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

// WsStream's flags, in the bits of PackedPeer.portBits above the port (one field for both)
const FRAGMENTED = PEER_FREE_BIT;
const CLOSING = PEER_FREE_BIT << 1;
const NEED_DRAIN = PEER_FREE_BIT << 2;
const DRAIN_HOOKED = PEER_FREE_BIT << 3;

/** What a WebSocket listener's socket holds in its stream slot: the handshake (ws.ts), then the WsStream. */
export interface WsReceiver {
  receive(chunk: Buffer): void;
}

// Shared socket listeners (`this` is the socket): no closures per connection.
function socketData(this: Socket, chunk: Buffer): void {
  ((this as SlottedSocket)[kStream] as WsReceiver | undefined)?.receive(chunk);
}
function socketDrain(this: Socket): void {
  ((this as SlottedSocket)[kStream] as WsStream | undefined)?.drained();
}
function socketEnd(this: Socket): void {
  // A half-open capable socket: a FIN without a close frame ends our side too.
  this.end();
}

/**
 * The listeners a WebSocket socket keeps for its life, added once it is accepted: 'data' goes to
 * whatever is in its stream slot (the handshake, then the WsStream), 'error' is remembered for the
 * close. Added once and never removed: removing the last listener of an event deletes a property
 * of the socket's `_events`, which turns that object into a slower and larger dictionary.
 */
export function prepareWsSocket(socket: Socket, first: WsReceiver): void {
  (socket as SlottedSocket)[kStream] = first as unknown as WsStream;
  socket.on('error', noteError);
  socket.on('data', socketData);
  shareEmptyPipes(socket);
}

/** Valid close code in a received close frame (RFC 6455 §7.4). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** Frame header for an unmasked server frame of `len` payload bytes. */
function frameHeader(opcode: number, len: number): Buffer {
  if (len < 126) return Buffer.from([0x80 | opcode, len]);
  if (len < 0x10000) return Buffer.from([0x80 | opcode, 126, len >>> 8, len & 0xff]);
  const h = Buffer.allocUnsafe(10);
  h[0] = 0x80 | opcode;
  h[1] = 127;
  h.writeUInt32BE(Math.floor(len / 0x100000000), 2);
  h.writeUInt32BE(len >>> 0, 6);
  return h;
}

/** XOR `buf[start, end)` with the mask, starting at mask byte `pos`; returns the next mask byte. */
function unmask(buf: Buffer, start: number, end: number, mask: number, pos: number): number {
  for (let i = start; i < end; i++, pos++) buf[i] = buf[i]! ^ ((mask >>> ((3 - (pos & 3)) << 3)) & 0xff);
  return pos & 3;
}

/** The peer is kept packed (PackedPeer: no PeerInfo object or address string per connection). */
export class WsStream extends PackedPeer implements ByteStream, WsReceiver {
  handler: StreamHandler | undefined;
  /** Start of a frame header split across reads (rare), else null. */
  private partial: Buffer | null = null;
  /** Payload bytes of the current frame still to come (0: the next byte starts a header). */
  private left = 0;
  private opcode = 0;
  private mask = 0;
  private maskPos = 0;
  /** Bytes of the current message so far (max payload). */
  private messageBytes = 0;
  /** Payload of the control frame being read (≤ 125 bytes), else null. */
  private control: Buffer | null = null;
  private controlAt = 0;

  /** A binary message is open (its last frame had FIN = 0). */
  private get fragmented(): boolean {
    return (this.portBits & FRAGMENTED) !== 0;
  }
  private set fragmented(on: boolean) {
    this.portBits = on ? this.portBits | FRAGMENTED : this.portBits & ~FRAGMENTED;
  }
  /** We sent a close frame (or gave up): inbound bytes are ignored from now on. */
  private get closing(): boolean {
    return (this.portBits & CLOSING) !== 0;
  }
  private set closing(on: boolean) {
    this.portBits = on ? this.portBits | CLOSING : this.portBits & ~CLOSING;
  }
  private get needDrain(): boolean {
    return (this.portBits & NEED_DRAIN) !== 0;
  }
  private set needDrain(on: boolean) {
    this.portBits = on ? this.portBits | NEED_DRAIN : this.portBits & ~NEED_DRAIN;
  }
  private get drainHooked(): boolean {
    return (this.portBits & DRAIN_HOOKED) !== 0;
  }
  private set drainHooked(on: boolean) {
    this.portBits = on ? this.portBits | DRAIN_HOOKED : this.portBits & ~DRAIN_HOOKED;
  }

  constructor(
    private readonly socket: Socket,
    peer: PeerInfo,
    private readonly maxMessageBytes: number,
    /** Bytes the client sent after its handshake in the same read. */
    private head: Buffer | null,
  ) {
    super(peer);
    // Its listeners were added when it was accepted (prepareWsSocket).
    socket.setNoDelay(true);
  }

  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  write(data: Buffer): boolean {
    this.send(OP_BINARY, data);
    if (this.socket.writableLength < WS_HIGH_WATER_MARK) return true;
    this.needDrain = true;
    if (!this.drainHooked) {
      this.drainHooked = true;
      this.socket.on('drain', socketDrain);
    }
    return false;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    // Readable.resume() of a flowing stream still queues a nextTick and a read(0).
    if (this.socket.isPaused()) this.socket.resume();
  }

  /** Close frame 1000, flush, FIN. */
  end(): void {
    this.shut(WS_CLOSE.normal);
  }

  destroy(): void {
    this.closing = true;
    this.socket.destroy();
  }

  attach(handler: StreamHandler): void {
    const socket = this.socket as SlottedSocket;
    this.handler = handler;
    // From now on its 'data' (prepareWsSocket's listener) comes here.
    socket[kStream] = this;
    // A half-open capable socket needs telling that a FIN ends our side too (the listeners' are not).
    if (socket.allowHalfOpen) socket.on('end', socketEnd);
    // Its 'close' reaches the handler through the listener's (socket-slots.ts); closed already, now.
    if (socket.closed) {
      queueMicrotask(() => handler.onClose(socket[kError]));
      return;
    }
    const head = this.head;
    this.head = null;
    if (head !== null && head.length > 0) this.receive(head);
  }

  drained(): void {
    if (!this.needDrain || this.socket.writableLength >= WS_HIGH_WATER_MARK) return;
    this.needDrain = false;
    this.handler?.onDrain();
  }

  /** Parse one read: headers, unmask, deliver data payloads, act on control frames. */
  receive(chunk: Buffer): void {
    if (this.closing) return;
    let buf = chunk;
    if (this.partial !== null) {
      buf = Buffer.concat([this.partial, chunk]);
      this.partial = null;
    }
    const end = buf.length;
    let off = 0;
    while (off < end && !this.closing) {
      if (this.left === 0) {
        const used = this.readHeader(buf, off);
        if (used === 0) {
          // Incomplete header (or a protocol error, then we are closing): keep the rest.
          if (!this.closing) this.partial = Buffer.from(buf.subarray(off));
          return;
        }
        off += used;
        continue;
      }
      const stop = Math.min(end, off + this.left);
      this.maskPos = unmask(buf, off, stop, this.mask, this.maskPos);
      this.left -= stop - off;
      if (this.control !== null) {
        buf.copy(this.control, this.controlAt, off, stop);
        this.controlAt += stop - off;
        if (this.left === 0) this.controlFrame();
      } else {
        this.handler?.onData(buf.subarray(off, stop));
      }
      off = stop;
    }
  }

  /** Parse the header at `off`; 0 if it is not complete yet, else its length. */
  private readHeader(buf: Buffer, off: number): number {
    const avail = buf.length - off;
    if (avail < 2) return 0;
    const b0 = buf[off]!;
    const b1 = buf[off + 1]!;
    let len = b1 & 0x7f;
    let size = 2;
    if (len === 126) size = 4;
    else if (len === 127) size = 10;
    if ((b1 & 0x80) !== 0) size += 4;
    if (avail < size) return 0;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    if ((b0 & 0x70) !== 0) return this.fail(WS_CLOSE.protocolError, 'RSV bits set (no extension was negotiated)');
    if ((b1 & 0x80) === 0) return this.fail(WS_CLOSE.protocolError, 'client frame not masked');
    if (len === 126) len = buf.readUInt16BE(off + 2);
    else if (len === 127) {
      if (buf.readUInt32BE(off + 2) !== 0) return this.fail(WS_CLOSE.tooBig, 'frame too large');
      len = buf.readUInt32BE(off + 6);
    }
    // Signed: a value above 2^31 would be a heap number, and the field a boxed double on every connection.
    this.mask = buf.readInt32BE(off + size - 4);
    this.maskPos = 0;
    this.opcode = opcode;
    if (opcode >= OP_CLOSE) {
      if (opcode !== OP_CLOSE && opcode !== OP_PING && opcode !== OP_PONG) return this.fail(WS_CLOSE.protocolError, `invalid opcode ${opcode}`);
      if (!fin) return this.fail(WS_CLOSE.protocolError, 'fragmented control frame');
      if (len > 125) return this.fail(WS_CLOSE.protocolError, 'control frame payload over 125 bytes');
      this.control = Buffer.allocUnsafe(len);
      this.controlAt = 0;
      this.left = len;
      if (len === 0) this.controlFrame();
      return size;
    }
    if (opcode === OP_TEXT) return this.fail(WS_CLOSE.unsupportedData, 'MQTT requires binary frames');
    if (opcode === OP_CONTINUATION) {
      if (!this.fragmented) return this.fail(WS_CLOSE.protocolError, 'continuation frame without a message');
    } else if (opcode === OP_BINARY) {
      if (this.fragmented) return this.fail(WS_CLOSE.protocolError, 'new message inside a fragmented one');
      this.messageBytes = 0;
    } else {
      return this.fail(WS_CLOSE.protocolError, `invalid opcode ${opcode}`);
    }
    this.messageBytes += len;
    if (this.messageBytes > this.maxMessageBytes) return this.fail(WS_CLOSE.tooBig, `message over ${this.maxMessageBytes} bytes`);
    this.fragmented = !fin;
    this.left = len;
    return size;
  }

  private controlFrame(): void {
    const payload = this.control!;
    this.control = null;
    if (this.opcode === OP_PING) {
      this.send(OP_PONG, payload);
    } else if (this.opcode === OP_CLOSE) {
      if (payload.length === 0) return this.shut(null);
      if (payload.length === 1) return void this.fail(WS_CLOSE.protocolError, 'close frame with a 1-byte payload');
      const code = payload.readUInt16BE(0);
      if (!isValidCloseCode(code)) return void this.fail(WS_CLOSE.protocolError, `invalid close code ${code}`);
      if (!isUtf8(payload.subarray(2))) return void this.fail(WS_CLOSE.invalidPayload, 'close reason not UTF-8');
      this.shut(code);
    }
    // A pong needs nothing.
  }

  private send(opcode: number, payload: Buffer): void {
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    const h = frameHeader(opcode, payload.length);
    if (payload.length <= 1024) {
      socket.write(Buffer.concat([h, payload], h.length + payload.length));
    } else {
      socket.cork();
      socket.write(h);
      socket.write(payload);
      socket.uncork();
    }
  }

  /** Send a close frame (null: an empty one), then flush and FIN; ignore whatever still comes in. */
  private shut(code: number | null, reason = ''): void {
    if (this.closing) return;
    this.closing = true;
    const r = Buffer.from(reason.slice(0, 120), 'utf8');
    const payload = code === null ? Buffer.alloc(0) : Buffer.concat([Buffer.from([code >>> 8, code & 0xff]), r]);
    this.send(OP_CLOSE, payload);
    this.socket.destroySoon();
  }

  /** Protocol error: remember it for onClose, close with `code`. Returns 0 (nothing consumed). */
  private fail(code: number, reason: string): 0 {
    (this.socket as SlottedSocket)[kError] ??= new Error(`WebSocket protocol error: ${reason}`);
    this.shut(code, reason);
    return 0;
  }
}
