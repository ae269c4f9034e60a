/**
 * Incremental MQTT 3.1 / 3.1.1 / 5.0 decoder.
 *
 * Feed bytes with push() as they arrive (any fragmentation) and call next() until it returns
 * null. The fixed header is validated as soon as it is complete — reserved flags, QoS, and the
 * declared size against maxPacketSize — before any of the body is buffered.
 *
 * Zero-copy: when a packet lies inside one pushed chunk, its Buffers (PUBLISH payload, will
 * payload, password, correlation/authentication data) are subarrays of that chunk. Callers that
 * keep them beyond the current tick (retained store, offline queues) should copy them, or they
 * pin the whole chunk in memory. Only packets spanning chunks are copied, once, into a buffer of
 * exactly the packet's size.
 *
 * next() throws only DecodeError; every DecodeError is fatal and the decoder stays failed.
 */
import type {
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  ProtocolVersion,
  PublishPacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
  Will,
  PubackPacket,
  PubrecPacket,
  PubrelPacket,
  PubcompPacket,
} from './packets.js';
import { DecodeError } from './errors.js';
import {
  CONNECT_CLEAN,
  CONNECT_PASSWORD,
  CONNECT_RESERVED,
  CONNECT_USERNAME,
  CONNECT_WILL,
  CONNECT_WILL_QOS_MASK,
  CONNECT_WILL_QOS_SHIFT,
  CONNECT_WILL_RETAIN,
  MAX_PACKET_SIZE,
  PROTOCOL_NAME,
  PROTOCOL_NAME_V3,
  PacketCode,
  REQUIRED_FLAGS,
  SUB_NO_LOCAL,
  SUB_QOS_MASK,
  SUB_RESERVED_V3,
  SUB_RESERVED_V5,
  SUB_RETAIN_AS_PUBLISHED,
  SUB_RETAIN_HANDLING_MASK,
  SUB_RETAIN_HANDLING_SHIFT,
  WILL_CONTEXT,
} from './constants.js';
import { ReasonCode, SUBACK_FAILURE_V3, VALID_REASON_CODES } from './reason-codes.js';
import { Reader, malformed, protocolError } from './reader.js';
import { readProperties } from './properties.js';
import { parseSharedSubscription } from './topic.js';

export { DecodeError } from './errors.js';

export interface DecoderOptions {
  /** Largest whole packet (fixed header included) accepted, bytes; larger ones fail with 0x95. */
  maxPacketSize: number;
  /** Version of the packets to expect; omitted on a server, where CONNECT sets it. */
  protocolVersion?: ProtocolVersion;
}

const EMPTY = Buffer.alloc(0);
/**
 * One Reader for every Decoder: decoding is synchronous and never re-entrant, and a Reader per
 * connection (plus the read chunk it would keep referencing) is memory an idle client pays for.
 */
const sharedReader = new Reader();
/**
 * The chunk queue of every decoder that holds no chunk: never written (push() makes a new array
 * first, because tail === length (0) there). An idle connection keeps no array of its own.
 */
const NO_CHUNKS: Buffer[] = [EMPTY];
NO_CHUNKS.pop(); // an empty array of the same elements kind as the real ones (one shape at the hot accesses)
/**
 * A packet spanning reads, being copied together: `buf` filled up to `fill` of `total` bytes. Its
 * own object, made per such packet, so a connection that has none carries no fields for it.
 */
interface Assembly {
  buf: Buffer;
  fill: number;
  readonly total: number;
  readonly headerLength: number;
}

/** First assembly buffer size for a packet still arriving; grows by doubling. */
const ASM_INITIAL = 16 * 1024;

// ---------------------------------------------------------------------------------------------
// Packet body decoders. Each reads from `r`, which spans exactly the packet's variable header
// and payload; the caller checks that nothing is left over.

function packetId(r: Reader): number {
  const id = r.u16('packet identifier');
  // Packet identifiers are non-zero [MQTT-2.2.1-3] (3.1.1: [MQTT-2.3.1-1]).
  if (id === 0) throw protocolError('packet identifier: 0 is not allowed [MQTT-2.2.1-3]');
  return id;
}

function decodeConnect(r: Reader): ConnectPacket {
  const protocolName = r.string('protocol name');
  const level = r.u8('protocol level');
  if (protocolName !== PROTOCOL_NAME && protocolName !== PROTOCOL_NAME_V3) {
    throw protocolError(`protocol name: unknown '${protocolName}' [MQTT-3.1.2-1]`);
  }
  // MQIsdp goes with 3 only, MQTT with 4 or 5; anything else is answered with
  // "unacceptable protocol version" [MQTT-3.1.2-2].
  const version: ProtocolVersion | 0 =
    protocolName === PROTOCOL_NAME ? (level === 4 || level === 5 ? level : 0) : level === 3 ? 3 : 0;
  if (version === 0) {
    throw new DecodeError(
      `protocol level: ${level} is not supported with '${protocolName}' [MQTT-3.1.2-2]`,
      ReasonCode.UnsupportedProtocolVersion,
    );
  }
  const flags = r.u8('connect flags');
  if ((flags & CONNECT_RESERVED) !== 0) throw malformed('connect flags: reserved bit set [MQTT-3.1.2-3]');
  const hasWill = (flags & CONNECT_WILL) !== 0;
  const willQos = (flags & CONNECT_WILL_QOS_MASK) >> CONNECT_WILL_QOS_SHIFT;
  const willRetain = (flags & CONNECT_WILL_RETAIN) !== 0;
  if (willQos === 3) throw malformed('connect flags: will QoS 3 [MQTT-3.1.2-12]');
  if (!hasWill && (willQos !== 0 || willRetain)) {
    throw malformed('connect flags: will QoS/retain set without will flag [MQTT-3.1.2-11] [MQTT-3.1.2-13]');
  }
  const hasUsername = (flags & CONNECT_USERNAME) !== 0;
  const hasPassword = (flags & CONNECT_PASSWORD) !== 0;
  // 3.x forbids a password without a user name [MQTT-3.1.2-22]; MQTT 5 allows it.
  if (hasPassword && !hasUsername && version !== 5) {
    throw protocolError('connect flags: password without user name [MQTT-3.1.2-22]');
  }
  const clean = (flags & CONNECT_CLEAN) !== 0;
  const keepalive = r.u16('keep alive');
  const properties = version === 5 ? readProperties(r, PacketCode.connect) : undefined;
  if (properties?.authenticationData !== undefined && properties.authenticationMethod === undefined) {
    throw protocolError('authentication data without authentication method [3.1.2.11.10]');
  }
  const clientId = r.string('client identifier');
  if (clientId.length === 0) {
    // 3.1 requires 1-23 characters; 3.1.1 allows empty only with Clean Session
    // [MQTT-3.1.3-7] [MQTT-3.1.3-8]; MQTT 5 always allows it (the server assigns one).
    if (version === 3 || (version === 4 && !clean)) {
      throw new DecodeError('client identifier: empty [MQTT-3.1.3-8]', ReasonCode.ClientIdentifierNotValid);
    }
  }
  const packet: ConnectPacket = { type: 'connect', protocolName, protocolVersion: version, clean, keepalive, clientId };
  if (hasWill) {
    const willProperties = version === 5 ? readProperties(r, WILL_CONTEXT) : undefined;
    const topic = r.string('will topic');
    if (topic.length === 0 || r.wildcard) {
      throw new DecodeError('will topic: not a valid topic name [MQTT-3.1.3-11]', ReasonCode.TopicNameInvalid);
    }
    const payload = r.binary('will payload');
    const will: Will = { topic, payload, qos: willQos as QoS, retain: willRetain };
    if (willProperties !== undefined) will.properties = willProperties;
    packet.will = will;
  }
  if (hasUsername) packet.username = r.string('user name');
  if (hasPassword) packet.password = r.binary('password');
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

function decodeConnack(r: Reader, version: ProtocolVersion): ConnackPacket {
  const flags = r.u8('connect acknowledge flags');
  if ((flags & 0xfe) !== 0) throw malformed('connect acknowledge flags: reserved bits set [MQTT-3.2.2-1]');
  const sessionPresent = flags === 1;
  const reasonCode = r.u8('connect reason code');
  if (version === 5) {
    if (!VALID_REASON_CODES.connack.has(reasonCode)) {
      throw protocolError(`connect reason code: 0x${reasonCode.toString(16)} is not valid in CONNACK`);
    }
  } else if (reasonCode > 5) {
    throw protocolError(`connect return code: ${reasonCode} is reserved`);
  }
  // A refused connection never has a session [MQTT-3.2.2-4] (5: [MQTT-3.2.2-6]).
  if (sessionPresent && reasonCode !== 0) throw protocolError('session present with a non-zero reason code [MQTT-3.2.2-4]');
  const packet: ConnackPacket = { type: 'connack', sessionPresent, reasonCode };
  if (version === 5) {
    const properties = readProperties(r, PacketCode.connack);
    if (properties !== undefined) packet.properties = properties;
  }
  return packet;
}

function decodePublish(r: Reader, flags: number, version: ProtocolVersion): PublishPacket {
  const qos = ((flags >> 1) & 3) as QoS; // 3 rejected with the fixed header
  const topic = r.string('topic name');
  // Topic names carry no wildcards [MQTT-3.3.2-2].
  if (r.wildcard) throw new DecodeError('topic name: contains wildcards [MQTT-3.3.2-2]', ReasonCode.TopicNameInvalid);
  const packet: PublishPacket =
    qos === 0
      ? { type: 'publish', topic, payload: EMPTY, qos, retain: (flags & 1) !== 0, dup: false }
      : { type: 'publish', topic, payload: EMPTY, qos, retain: (flags & 1) !== 0, dup: (flags & 8) !== 0, packetId: packetId(r) };
  if (version === 5) {
    const properties = readProperties(r, PacketCode.publish);
    if (properties !== undefined) packet.properties = properties;
    // An empty topic is only allowed together with a Topic Alias [MQTT-3.3.2-1] [3.3.2.3.4].
    if (topic.length === 0 && properties?.topicAlias === undefined) {
      throw protocolError('topic name: empty without a topic alias');
    }
  } else if (topic.length === 0) {
    throw protocolError('topic name: empty [MQTT-4.7.3-1]');
  }
  packet.payload = r.rest();
  return packet;
}

function decodeAck(
  r: Reader,
  type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp',
  code: number,
  version: ProtocolVersion,
): PubackPacket | PubrecPacket | PubrelPacket | PubcompPacket {
  const id = packetId(r);
  const packet: PubackPacket | PubrecPacket | PubrelPacket | PubcompPacket = { type, packetId: id };
  // MQTT 5: Reason Code and Property Length may be omitted [3.4.2.1] [3.4.2.2.1].
  if (version === 5 && r.remaining > 0) {
    const rc = r.u8('reason code');
    const valid = code === PacketCode.puback || code === PacketCode.pubrec ? VALID_REASON_CODES.puback : VALID_REASON_CODES.pubrel;
    if (!valid.has(rc)) throw protocolError(`reason code: 0x${rc.toString(16)} is not valid in ${type.toUpperCase()}`);
    if (rc !== 0) packet.reasonCode = rc;
    if (r.remaining > 0) {
      const properties = readProperties(r, code);
      if (properties !== undefined) packet.properties = properties;
    }
  }
  return packet;
}

function decodeSubscribe(r: Reader, version: ProtocolVersion): SubscribePacket {
  const id = packetId(r);
  const properties = version === 5 ? readProperties(r, PacketCode.subscribe) : undefined;
  // At least one subscription [MQTT-3.8.3-3] (3.1.1: [MQTT-3.8.3-3] as well).
  if (r.remaining === 0) throw protocolError('subscribe: no topic filters [MQTT-3.8.3-3]');
  const subscriptions: Subscription[] = [];
  while (r.remaining > 0) {
    const topicFilter = r.string('topic filter');
    const options = r.u8('subscription options');
    const qos = options & SUB_QOS_MASK;
    let noLocal = false;
    let retainAsPublished = false;
    let retainHandling = 0;
    if (version === 5) {
      if ((options & SUB_RESERVED_V5) !== 0) throw malformed('subscription options: reserved bits set [MQTT-3.8.3-5]');
      if (qos === 3) throw protocolError('subscription options: QoS 3 [3.8.3.1]');
      retainHandling = (options & SUB_RETAIN_HANDLING_MASK) >> SUB_RETAIN_HANDLING_SHIFT;
      if (retainHandling === 3) throw protocolError('subscription options: retain handling 3 [3.8.3.1]');
      noLocal = (options & SUB_NO_LOCAL) !== 0;
      retainAsPublished = (options & SUB_RETAIN_AS_PUBLISHED) !== 0;
      // No Local on a shared subscription is a protocol error [MQTT-3.8.3-4].
      if (noLocal && parseSharedSubscription(topicFilter) !== null) {
        throw protocolError('subscription options: no local on a shared subscription [MQTT-3.8.3-4]');
      }
    } else if ((options & SUB_RESERVED_V3) !== 0 || qos === 3) {
      throw malformed('requested QoS: reserved bits set or QoS 3 [MQTT-3-8.3-4]');
    }
    subscriptions.push({
      topicFilter,
      qos: qos as QoS,
      noLocal,
      retainAsPublished,
      retainHandling: retainHandling as 0 | 1 | 2,
    });
  }
  const packet: SubscribePacket = { type: 'subscribe', packetId: id, subscriptions };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

function decodeSuback(r: Reader, version: ProtocolVersion): SubackPacket {
  const id = packetId(r);
  const properties = version === 5 ? readProperties(r, PacketCode.suback) : undefined;
  if (r.remaining === 0) throw protocolError('suback: no reason codes');
  const reasonCodes: number[] = [];
  while (r.remaining > 0) {
    const rc = r.u8('suback reason code');
    if (version === 5 ? !VALID_REASON_CODES.suback.has(rc) : rc > 2 && rc !== SUBACK_FAILURE_V3) {
      throw protocolError(`suback reason code: 0x${rc.toString(16)} is not valid [MQTT-3.9.3-2]`);
    }
    reasonCodes.push(rc);
  }
  const packet: SubackPacket = { type: 'suback', packetId: id, reasonCodes };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

function decodeUnsubscribe(r: Reader, version: ProtocolVersion): UnsubscribePacket {
  const id = packetId(r);
  const properties = version === 5 ? readProperties(r, PacketCode.unsubscribe) : undefined;
  if (r.remaining === 0) throw protocolError('unsubscribe: no topic filters [MQTT-3.10.3-2]');
  const topicFilters: string[] = [];
  while (r.remaining > 0) topicFilters.push(r.string('topic filter'));
  const packet: UnsubscribePacket = { type: 'unsubscribe', packetId: id, topicFilters };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

function decodeUnsuback(r: Reader, version: ProtocolVersion): UnsubackPacket {
  const id = packetId(r);
  const packet: UnsubackPacket = { type: 'unsuback', packetId: id, reasonCodes: [] };
  if (version === 5) {
    const properties = readProperties(r, PacketCode.unsuback);
    if (properties !== undefined) packet.properties = properties;
    if (r.remaining === 0) throw protocolError('unsuback: no reason codes');
    while (r.remaining > 0) {
      const rc = r.u8('unsuback reason code');
      if (!VALID_REASON_CODES.unsuback.has(rc)) {
        throw protocolError(`unsuback reason code: 0x${rc.toString(16)} is not valid`);
      }
      packet.reasonCodes.push(rc);
    }
  }
  return packet;
}

/** DISCONNECT and AUTH (MQTT 5): optional reason code, then optional properties [3.14.2.1]. */
function decodeDisconnectOrAuth(r: Reader, code: number, version: ProtocolVersion): DisconnectPacket | AuthPacket {
  const packet: DisconnectPacket | AuthPacket = code === PacketCode.auth ? { type: 'auth' } : { type: 'disconnect' };
  if (version === 5 && r.remaining > 0) {
    const rc = r.u8('reason code');
    const valid = code === PacketCode.auth ? VALID_REASON_CODES.auth : VALID_REASON_CODES.disconnect;
    if (!valid.has(rc)) throw protocolError(`reason code: 0x${rc.toString(16)} is not valid in ${packet.type.toUpperCase()}`);
    if (rc !== 0) packet.reasonCode = rc;
    if (r.remaining > 0) {
      const properties = readProperties(r, code);
      if (properties !== undefined) packet.properties = properties;
    }
  }
  return packet;
}


// ---------------------------------------------------------------------------------------------

export class Decoder {
  /** Protocol version for non-CONNECT packets; set by each CONNECT decoded. */
  protocolVersion: ProtocolVersion | undefined;
  /** Largest whole packet accepted, bytes (fixed header included). */
  maxPacketSize: number;

  // Queue of pushed chunks not yet consumed: chunks[head..tail) with chunks[head] read from
  // `offset`. The shared NO_CHUNKS while empty: a chunk that is decoded whole in the turn it
  // arrived costs one small array; chunks queued behind an incomplete packet reuse their slots.
  private chunks: Buffer[] = NO_CHUNKS;
  private head = 0;
  private tail = 0;
  private offset = 0;
  private queued = 0;
  // Assembly of a packet spanning chunks: filled by push() until its total. It
  // grows with the data (doubling, capped at the packet size) so a header that merely declares
  // a large packet does not make us allocate it.
  private asm: Assembly | null = null;
  private error: DecodeError | null = null;

  constructor(options: DecoderOptions) {
    this.maxPacketSize = options.maxPacketSize;
    this.protocolVersion = options.protocolVersion;
  }

  /** Bytes received but not yet returned as packets. */
  get bufferedBytes(): number {
    return this.queued + (this.asm === null ? 0 : this.asm.fill);
  }

  /** Appends bytes. Never throws; bytes after a decode error are dropped. */
  push(chunk: Buffer): void {
    if (this.error !== null || chunk.length === 0) return;
    const asm = this.asm;
    if (asm !== null && asm.fill < asm.total) {
      // A spanning packet is being assembled: it precedes everything queued (queue is empty).
      const n = Math.min(chunk.length, asm.total - asm.fill);
      const need = asm.fill + n;
      if (need > asm.buf.length) {
        const grown = Buffer.allocUnsafe(Math.min(asm.total, Math.max(need, asm.buf.length * 2)));
        asm.buf.copy(grown, 0, 0, asm.fill);
        asm.buf = grown;
      }
      chunk.copy(asm.buf, asm.fill, 0, n);
      asm.fill = need;
      if (n === chunk.length) return;
      chunk = chunk.subarray(n);
    }
    if (this.chunks === NO_CHUNKS) this.chunks = [chunk];
    else if (this.tail === this.chunks.length) this.chunks.push(chunk);
    else this.chunks[this.tail] = chunk;
    this.tail++;
    this.queued += chunk.length;
  }

  /** The next complete packet, or null when more bytes are needed. Throws only DecodeError. */
  next(): Packet | null {
    if (this.error !== null) throw this.error;
    try {
      return this.step();
    } catch (e) {
      // Anything unexpected is still reported as a malformed packet, never as a crash.
      const err = e instanceof DecodeError ? e : new DecodeError(`malformed packet: ${String(e)}`, ReasonCode.MalformedPacket);
      this.fail(err);
      throw err;
    }
  }

  private fail(err: DecodeError): void {
    this.error = err;
    this.chunks = NO_CHUNKS;
    this.head = 0;
    this.tail = 0;
    this.offset = 0;
    this.queued = 0;
    this.asm = null;
  }

  private step(): Packet | null {
    const asm = this.asm;
    if (asm !== null) {
      if (asm.fill < asm.total) return null;
      this.asm = null; // complete: buf.length === total, capacity is capped at the total
      return this.decodePacket(asm.buf, asm.buf[0] as number, asm.headerLength, asm.buf.length);
    }
    if (this.queued === 0) return null;

    // Fixed header: first byte, validated before anything else arrives.
    const first = this.chunks[this.head] as Buffer;
    const b0 = first[this.offset] as number;
    this.checkFirstByte(b0);

    // Remaining Length: up to 4 bytes [MQTT-1.5.5].
    let remaining = 0;
    let mult = 1;
    let headerLength = 0;
    for (let i = 1; i <= 4; i++) {
      if (i >= this.queued) return null;
      const b = this.offset + i < first.length ? (first[this.offset + i] as number) : this.byteAt(i);
      remaining += (b & 0x7f) * mult;
      if (b < 0x80) {
        // Minimal encoding only [MQTT-1.5.5-1]: a trailing zero byte adds nothing.
        if (b === 0 && i > 1) throw malformed('remaining length: not minimally encoded [MQTT-1.5.5-1]');
        headerLength = i + 1;
        break;
      }
      mult *= 128;
    }
    if (headerLength === 0) throw malformed('remaining length: variable byte integer longer than 4 bytes');
    const total = headerLength + remaining;
    if (total > this.maxPacketSize) {
      throw new DecodeError(
        `packet size ${total} exceeds the maximum ${this.maxPacketSize}`,
        ReasonCode.PacketTooLarge,
      );
    }

    // Whole packet inside the first chunk: decode in place.
    const start = this.offset;
    if (first.length - start >= total) {
      this.offset = start + total;
      this.queued -= total;
      if (this.offset === first.length) this.dropHead();
      return this.decodePacket(first, b0, start + headerLength, start + total);
    }
    // Spans chunks: copy into a buffer of the packet's size.
    if (this.queued >= total) {
      const buf = Buffer.allocUnsafe(total);
      this.copyOut(buf, total);
      return this.decodePacket(buf, b0, headerLength, total);
    }
    const have = this.queued;
    const buf = Buffer.allocUnsafe(Math.min(total, Math.max(have, ASM_INITIAL)));
    this.copyOut(buf, have);
    this.asm = { buf, fill: have, total, headerLength };
    return null;
  }

  /** Fixed-header checks that need only the first byte. */
  private checkFirstByte(b0: number): void {
    const code = b0 >> 4;
    const flags = b0 & 0x0f;
    if (code === 0) throw malformed('packet type 0 is reserved');
    if (code === PacketCode.publish) {
      const qos = (flags >> 1) & 3;
      if (qos === 3) throw malformed('publish: QoS 3 [MQTT-3.3.1-4]');
      if (qos === 0 && (flags & 8) !== 0) throw malformed('publish: DUP set with QoS 0 [MQTT-3.3.1-2]');
    } else if (flags !== REQUIRED_FLAGS[code]) {
      throw malformed(`fixed header: reserved flags 0x${flags.toString(16)} for packet type ${code} [MQTT-2.2.2-1]`);
    }
    const version = this.protocolVersion;
    if (code !== PacketCode.connect) {
      // CONNECT comes first [MQTT-3.1.0-1]; without it the version is unknown.
      if (version === undefined) throw protocolError('first packet is not CONNECT [MQTT-3.1.0-1]');
      if (code === PacketCode.auth && version !== 5) throw malformed('packet type 15 is reserved before MQTT 5');
    }
  }

  /** Byte `i` positions past the read point, across chunks; caller ensures i < queued. */
  private byteAt(i: number): number {
    let idx = this.head;
    let pos = this.offset + i;
    for (;;) {
      const c = this.chunks[idx] as Buffer;
      if (pos < c.length) return c[pos] as number;
      pos -= c.length;
      idx++;
    }
  }

  /** Moves `n` queued bytes into `dst` and consumes them. */
  private copyOut(dst: Buffer, n: number): void {
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[this.head] as Buffer;
      const take = Math.min(c.length - this.offset, n - filled);
      c.copy(dst, filled, this.offset, this.offset + take);
      filled += take;
      this.offset += take;
      if (this.offset === c.length) this.dropHead();
    }
    this.queued -= n;
  }

  private dropHead(): void {
    this.chunks[this.head] = EMPTY; // release the chunk
    this.head++;
    this.offset = 0;
    if (this.head === this.tail) {
      // Nothing queued: let go of the array (an idle connection holds none between reads).
      this.chunks = NO_CHUNKS;
      this.head = 0;
      this.tail = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.tail) {
      // Many small chunks queued behind an incomplete header: compact.
      this.chunks.copyWithin(0, this.head, this.tail);
      this.tail -= this.head;
      this.chunks.fill(EMPTY, this.tail);
      this.head = 0;
    }
  }

  /** Decodes a packet body in buf[start, end); `b0` is its fixed header's first byte. */
  private decodePacket(buf: Buffer, b0: number, start: number, end: number): Packet {
    const r = sharedReader;
    const code = b0 >> 4;
    r.reset(buf, start, end);
    let packet: Packet;
    if (code === PacketCode.connect) {
      const connect = decodeConnect(r);
      this.protocolVersion = connect.protocolVersion;
      packet = connect;
    } else {
      const version = this.protocolVersion as ProtocolVersion; // checked with the fixed header
      switch (code) {
        case PacketCode.publish:
          packet = decodePublish(r, b0 & 0x0f, version);
          break;
        case PacketCode.connack:
          packet = decodeConnack(r, version);
          break;
        case PacketCode.puback:
          packet = decodeAck(r, 'puback', code, version);
          break;
        case PacketCode.pubrec:
          packet = decodeAck(r, 'pubrec', code, version);
          break;
        case PacketCode.pubrel:
          packet = decodeAck(r, 'pubrel', code, version);
          break;
        case PacketCode.pubcomp:
          packet = decodeAck(r, 'pubcomp', code, version);
          break;
        case PacketCode.subscribe:
          packet = decodeSubscribe(r, version);
          break;
        case PacketCode.suback:
          packet = decodeSuback(r, version);
          break;
        case PacketCode.unsubscribe:
          packet = decodeUnsubscribe(r, version);
          break;
        case PacketCode.unsuback:
          packet = decodeUnsuback(r, version);
          break;
        case PacketCode.pingreq:
          packet = { type: 'pingreq' };
          break;
        case PacketCode.pingresp:
          packet = { type: 'pingresp' };
          break;
        default: // disconnect, auth
          packet = decodeDisconnectOrAuth(r, code, version);
          break;
      }
    }
    if (r.pos !== end) throw malformed(`${packet.type}: ${end - r.pos} unexpected trailing bytes`);
    r.buf = EMPTY; // don't keep the chunk alive (payloads that need it hold their own views)
    return packet;
  }
}

/** Decodes every packet in `buf` (tests, tools). Throws DecodeError on errors or a partial tail. */
export function decodeAll(buf: Buffer, version?: ProtocolVersion): Packet[] {
  const decoder = new Decoder(version === undefined ? { maxPacketSize: MAX_PACKET_SIZE } : { maxPacketSize: MAX_PACKET_SIZE, protocolVersion: version });
  decoder.push(buf);
  const out: Packet[] = [];
  for (let p = decoder.next(); p !== null; p = decoder.next()) out.push(p);
  if (decoder.bufferedBytes > 0) throw malformed(`${decoder.bufferedBytes} bytes left: truncated packet`);
  return out;
}
