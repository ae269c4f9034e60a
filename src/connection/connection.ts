/**
 * Per-socket driver (emqx_connection's job): reads bytes, decodes packets, hands them to the
 * channel, and owns the socket's write side: output backpressure and the close. Keepalive,
 * connect timeout and stuck-client checks are done by the broker's periodic sweep reading
 * the timestamps kept here, so an idle connection carries no timers of its own.
 *
 * Output is coalesced per event-loop turn: write() only queues, and one flush at the turn's end
 * (transport/turn-end.ts: at the end of a plain TCP read callback, else a process.nextTick shared
 * with the trace clock) for all connections written to in this turn hands each stream a single
 * buffer. A read chunk holding 250 PUBLISHes then costs each subscriber one socket write (one
 * syscall, one stream request) instead of 250. The flush runs before the turn ends, so nothing
 * waits for I/O or timers, and per-connection order is unchanged. A 4-byte ack (PUBACK/PUBREC/
 * PUBREL/PUBCOMP) is queued as a number and its bytes are written into that single buffer: no Buffer
 * of its own per QoS 1/2 message (issue 15, §41b).
 *
 * A Connection *is* its decoder (it extends Decoder) rather than holding one: one object per
 * connection instead of two, because idle connections are counted in bytes (issue 15).
 */
import { DecodeError, Decoder } from '../protocol/decoder.js';
import { encode, putShortAck, shortAck } from '../protocol/encoder.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import type { Packet } from '../protocol/packets.js';
import type { ByteStream, PeerInfo, StreamHandler } from '../transport/types.js';
import { atTurnEnd } from '../transport/turn-end.js';
import { Channel, type ChannelOutput } from '../channel/channel.js';
import type { Broker } from '../broker/broker.js';

const PACKET_TOO_LARGE = ReasonCode.PacketTooLarge;

const NO_BYTES = Buffer.alloc(0);

/** Queued buffers are concatenated into pieces of at most this size; a larger buffer is written alone. */
const COALESCE_MAX_BYTES = 64 * 1024;

/**
 * A connection's times are ticks of 0.1 s since this module loaded, rounded up, from 1: small
 * integers stored in place, where a ms timestamp (above 2^31) is a boxed double, 16 bytes more
 * per connection and field. Timeouts are checked once a second (the broker's sweep), so 0.1 s is
 * plenty; rounding up makes them fire at most that much late, never early. 2^31 ticks: 6.8 years.
 */
const EPOCH_MS = Date.now();
const TICK_MS = 100;

function tick(): number {
  return Math.ceil((Date.now() - EPOCH_MS) / TICK_MS) + 1;
}

function tickMs(t: number): number {
  return EPOCH_MS + (t - 1) * TICK_MS;
}

/** Connections with queued output, flushed together at the turn's end (turn-end.ts). Slots are reused. */
const dirty: (Connection | undefined)[] = [];
let dirtyCount = 0;

function flushDirty(): void {
  // A flush never queues output for another connection, but be safe: the loop re-reads dirtyCount.
  for (let i = 0; i < dirtyCount; i++) {
    const c = dirty[i] as Connection;
    dirty[i] = undefined;
    c.flush();
  }
  dirtyCount = 0;
}

/** Queued output: a buffer, or a 4-byte ack as encoder.shortAck() gives it. */
type Output = Buffer | number;

function outputLength(item: Output): number {
  return typeof item === 'number' ? 4 : item.length;
}

function put(item: Output, buf: Buffer, at: number): number {
  return typeof item === 'number' ? putShortAck(item, buf, at) : at + item.copy(buf, at);
}

/** `head` followed by more[from..to), `bytes` in total, as one new buffer. */
function concat(head: Output, more: readonly Output[], from: number, to: number, bytes: number): Buffer {
  const buf = Buffer.allocUnsafe(bytes);
  let o = put(head, buf, 0);
  for (let i = from; i < to; i++) o = put(more[i] as Output, buf, o);
  return buf;
}

/**
 * The bytes of an ack written alone (the usual output of a publisher's turn). Lent to the stream:
 * used again unless the stream still holds them (ByteStream.holdsLastWrite), then replaced.
 */
let loneAck = Buffer.allocUnsafe(4);

function writeOutput(stream: ByteStream, item: Output): boolean {
  if (typeof item !== 'number') return stream.write(item);
  const buf = loneAck;
  putShortAck(item, buf, 0);
  const ok = stream.write(buf);
  if (stream.holdsLastWrite !== false) loneAck = Buffer.allocUnsafe(4);
  return ok;
}

export class Connection extends Decoder implements ChannelOutput, StreamHandler {
  readonly channel: Channel;
  /**
   * Until CONNECT arrives: when the socket was accepted (the connect timeout runs from there, bytes
   * do not extend it). From CONNECT on: the last time any byte arrived (keepalive). In ticks.
   */
  private readTick = tick();
  /** While open: when the output went above its ceiling (0 while below it); once closed: when. Ticks. */
  private mark = 0;
  /** Set once we decided to close (our side); writes stop. */
  closed = false;
  /** Set once the underlying stream has closed. */
  private gone = false;
  /** Output queued in this turn: the first buffer, then (only if there are more) the rest. */
  private out1: Output | null = null;
  private outMore: Output[] | null = null;
  private outBytes = 0;

  constructor(
    readonly stream: ByteStream,
    broker: Broker,
  ) {
    // Until CONNECT has arrived, a socket nobody has authenticated may only make us buffer
    // maxConnectPacketSize bytes; the full maxPacketSize applies from the next packet on.
    super({ maxPacketSize: Math.min(broker.options.maxConnectPacketSize, broker.options.maxPacketSize) });
    this.channel = new Channel(this, broker);
    stream.attach(this);
  }

  /** Last time any byte arrived, ms (for keepalive; rounded up to the tick). */
  get lastReadAt(): number {
    return tickMs(this.readTick);
  }

  /** When the socket was accepted, ms; meaningful until CONNECT arrived (the connect timeout). */
  get acceptedAt(): number {
    return tickMs(this.readTick);
  }

  /** When the output buffer went above its ceiling, ms; 0 while below it (and once closed). */
  get congestedSince(): number {
    return this.closed || this.mark === 0 ? 0 : tickMs(this.mark);
  }

  /** When `closed` was set by close(), ms, so the sweep can destroy sockets whose peer never closes. */
  get closedAt(): number {
    return this.closed && this.mark !== 0 ? tickMs(this.mark) : 0;
  }

  get peer(): PeerInfo {
    return this.stream.peer;
  }

  /** The channel's broker (not a field of its own: one less slot per connection). */
  private get broker(): Broker {
    return this.channel.broker;
  }

  // StreamHandler (called by the transport only)

  /**
   * The boundary of one connection: a malformed packet is a protocol error, anything else thrown
   * while handling a packet is an unexpected error that closes this connection only
   * (Channel.internalError), never an exception up the socket callback, which would end the process.
   */
  onData(chunk: Buffer): void {
    if (this.channel.state !== 'awaiting-connect') this.readTick = tick();
    // Bytes while the channel waits (its CONNECT being authenticated): kept in the decoder, and
    // the stream stops until resumeProcessing(). Pausing only now, not when the wait starts,
    // spares the many clients that send nothing before their CONNACK a pause and a resume of
    // their stream (a stream state change, a nextTick and a read(0) each: issue 15 §9).
    if (this.channel.paused && chunk.length > 0) this.stream.pause();
    let packet: Packet | null = null;
    try {
      this.push(chunk);
      for (;;) {
        if (this.closed || this.channel.paused) return;
        packet = null;
        packet = this.next();
        if (packet === null) return;
        if (packet.type === 'connect') {
          this.maxPacketSize = this.broker.options.maxPacketSize;
          this.readTick = tick(); // from here on: keepalive
        }
        this.channel.handle(packet);
      }
    } catch (error) {
      if (!(error instanceof DecodeError)) {
        this.channel.internalError(error, 'handler', packet?.type);
        return;
      }
      if (this.channel.state === 'awaiting-connect' && error.reasonCode === PACKET_TOO_LARGE) this.broker.counters.limitHits.hit('connect_packet_size');
      this.channel.protocolError(error.reasonCode, error.message);
    }
  }

  /** Continue decoding after the channel un-pauses (e.g. once async authentication is done). */
  resumeProcessing(): void {
    // Still held for another reason (a decision, flow control): that one resumes it.
    if (this.closed || this.channel.paused) return;
    this.stream.resume(); // a no-op unless paused (ByteStream.resume)
    this.onData(NO_BYTES);
  }

  /** Stops the stream now. (A CONNECT's wait does not call this: onData pauses on the first bytes.) */
  pauseReading(): void {
    this.stream.pause();
  }

  onDrain(): void {
    if (!this.closed) this.mark = 0;
    try {
      this.channel.onDrain();
    } catch (err) {
      this.channel.internalError(err, 'event', 'drain');
    }
  }

  onClose(error?: Error): void {
    if (this.gone) return;
    this.gone = true;
    this.closed = true;
    try {
      this.broker.connectionGone(this);
      this.channel.onConnectionLost(error);
    } catch (err) {
      // The socket is gone already: log and count; there is nothing left to close.
      this.channel.internalError(err, 'event', 'close');
    }
  }

  // ChannelOutput

  get congested(): boolean {
    return this.stream.bufferedBytes + this.outBytes > this.broker.options.maxOutputBufferBytes;
  }

  /** Queue `data`; it reaches the stream in this turn's flush (see the header comment). */
  write(data: Buffer): void {
    this.queue(data, data.length);
  }

  private queue(item: Output, length: number): void {
    if (this.closed) return;
    if (this.out1 === null) {
      this.out1 = item;
      this.outBytes = length;
      if (dirtyCount === 0) atTurnEnd(flushDirty);
      dirty[dirtyCount++] = this;
      return;
    }
    if (this.outMore === null) this.outMore = [item];
    else this.outMore.push(item);
    this.outBytes += length;
  }

  /** Hand what write() queued to the stream. Called by the turn's flush and before closing. */
  flush(): void {
    const first = this.out1;
    if (first === null) return;
    const more = this.outMore;
    const bytes = this.outBytes;
    this.out1 = null;
    this.outMore = null;
    this.outBytes = 0;
    if (this.gone) return;
    let ok = true;
    if (more === null) {
      ok = writeOutput(this.stream, first);
    } else if (bytes <= COALESCE_MAX_BYTES) {
      ok = this.stream.write(concat(first, more, 0, more.length, bytes));
    } else {
      // Pieces of ≤ COALESCE_MAX_BYTES: buffers [from, i) of first+more, `sum` bytes.
      const n = more.length + 1;
      let from = 0;
      let sum = 0;
      for (let i = 0; i <= n; i++) {
        const b = i === 0 ? first : i < n ? (more[i - 1] as Output) : null;
        const length = b === null ? 0 : outputLength(b);
        if (b === null || (sum > 0 && sum + length > COALESCE_MAX_BYTES)) {
          const piece = i - from === 1 ? (from === 0 ? first : (more[from - 1] as Output)) : from === 0 ? concat(first, more, 0, i - 1, sum) : concat(more[from - 1] as Output, more, from, i - 1, sum);
          ok = writeOutput(this.stream, piece);
          from = i;
          sum = 0;
        }
        sum += length;
      }
    }
    if (!ok && !this.closed && this.mark === 0 && this.congested) this.mark = tick();
  }

  writePacket(packet: Packet): void {
    const version = this.protocolVersion ?? 4;
    const ack = shortAck(packet, version);
    if (ack >= 0) this.queue(ack, 4);
    else this.write(encode(packet, version));
  }

  setProtocolVersion(version: 3 | 4 | 5): void {
    this.protocolVersion = version;
  }

  limitPacketSize(bytes: number): void {
    this.maxPacketSize = Math.min(this.maxPacketSize, bytes);
  }

  close(): void {
    if (this.closed) return;
    // A client stuck above the output ceiling will not take the rest: flushing first would keep
    // its socket and buffer until the sweep's close grace runs out.
    const congested = this.mark !== 0;
    if (!congested) this.flush();
    this.closed = true;
    this.mark = tick();
    if (congested) this.stream.destroy();
    else this.stream.end();
  }

  destroy(): void {
    this.closed = true;
    this.out1 = null;
    this.outMore = null;
    this.outBytes = 0;
    this.stream.destroy();
  }
}
