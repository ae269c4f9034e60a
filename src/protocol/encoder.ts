/**
 * MQTT 3.1 / 3.1.1 / 5.0 encoder. Each packet is sized exactly first, then written into one
 * Buffer.allocUnsafe() of that size: no intermediate buffers or arrays.
 *
 * For 3.x the MQTT 5-only parts of a packet are not sent: `properties`, and `reasonCode` of
 * PUBACK/PUBREC/PUBREL/PUBCOMP/DISCONNECT. A 3.x SUBACK carries any failure code (>= 0x80) as
 * 0x80, and a 3.x UNSUBACK carries no reason codes. AUTH exists only in MQTT 5.
 *
 * Returned buffers may be shared constants (PINGREQ, PINGRESP, 3.x DISCONNECT, 3.x CONNACK accepting): treat them
 * as read-only.
 */
import type {
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  ProtocolVersion,
  PublishPacket,
  SubackPacket,
  SubscribePacket,
  UnsubackPacket,
  UnsubscribePacket,
  PubackPacket,
  PubrecPacket,
  PubrelPacket,
  PubcompPacket,
  Properties,
} from './packets.js';
import { EncodeError } from './errors.js';
import {
  CONNECT_CLEAN,
  CONNECT_PASSWORD,
  CONNECT_USERNAME,
  CONNECT_WILL,
  CONNECT_WILL_QOS_SHIFT,
  CONNECT_WILL_RETAIN,
  MAX_REMAINING_LENGTH,
  PacketCode,
  SUB_NO_LOCAL,
  SUB_RETAIN_AS_PUBLISHED,
  SUB_RETAIN_HANDLING_SHIFT,
  WILL_CONTEXT,
} from './constants.js';
import { SUBACK_FAILURE_V3 } from './reason-codes.js';
import { propertiesLength, writeProperties } from './properties.js';
import { Writer, binaryFieldLength, checkU16, stringFieldLength, varintLength } from './writer.js';

export { EncodeError } from './errors.js';

const PINGREQ = Buffer.from([PacketCode.pingreq << 4, 0]);
const PINGRESP = Buffer.from([PacketCode.pingresp << 4, 0]);
const DISCONNECT_V3 = Buffer.from([PacketCode.disconnect << 4, 0]);
/** A 3.x CONNACK accepting the connection, without and with session present: one per connect in a storm. */
const CONNACK_V3_ACCEPTED = [Buffer.from([PacketCode.connack << 4, 2, 0, 0]), Buffer.from([PacketCode.connack << 4, 2, 1, 0])] as const;

const writer = new Writer();

// Scratch results of the size pass, read by the write pass that follows it. encode() is
// synchronous and not re-entrant, so module state is safe and saves a per-packet object.
let propsLength = 0;
let willPropsLength = 0;

type Ack = PubackPacket | PubrecPacket | PubrelPacket | PubcompPacket;

function packetIdOf(id: number | undefined, type: string): number {
  if (id === undefined || !Number.isInteger(id) || id < 1 || id > 0xffff) {
    throw new EncodeError(`${type}: packet identifier ${String(id)} is not in 1..65535 [MQTT-2.2.1-3]`);
  }
  return id;
}

/** Size of Property Length + properties; leaves the properties' length in `propsLength`. */
function sizeProperties(p: Properties | undefined, context: number): number {
  const n = p === undefined ? 0 : propertiesLength(p, context);
  propsLength = n;
  return varintLength(n) + n;
}

function checkReasonCode(rc: number, type: string): void {
  if (!Number.isInteger(rc) || rc < 0 || rc > 0xff) throw new EncodeError(`${type}: reason code ${rc} is not a byte`);
}

// ---------------------------------------------------------------------------------------------
// Size pass: remaining length of each packet type.

function sizeConnect(p: ConnectPacket): number {
  const v = p.protocolVersion;
  if (v !== 3 && v !== 4 && v !== 5) throw new EncodeError(`connect: protocol version ${String(v)} is not 3, 4 or 5`);
  checkU16(p.keepalive, 'keepalive');
  let n = stringFieldLength(p.protocolName, 'protocol name') + 1 + 1 + 2;
  if (v === 5) {
    n += sizeProperties(p.properties, PacketCode.connect);
    if (p.properties?.authenticationData !== undefined && p.properties.authenticationMethod === undefined) {
      throw new EncodeError('connect: authentication data without authentication method [3.1.2.11.10]');
    }
  }
  n += stringFieldLength(p.clientId, 'client identifier');
  const will = p.will;
  if (will !== undefined) {
    if (will.qos !== 0 && will.qos !== 1 && will.qos !== 2) throw new EncodeError(`will: QoS ${String(will.qos)}`);
    if (v === 5) {
      const wl = will.properties === undefined ? 0 : propertiesLength(will.properties, WILL_CONTEXT);
      willPropsLength = wl;
      n += varintLength(wl) + wl;
    }
    n += stringFieldLength(will.topic, 'will topic') + binaryFieldLength(will.payload, 'will payload');
  }
  if (p.username !== undefined) n += stringFieldLength(p.username, 'user name');
  if (p.password !== undefined) {
    // 3.x cannot carry a password without a user name [MQTT-3.1.2-22].
    if (p.username === undefined && v !== 5) throw new EncodeError('connect: password without user name [MQTT-3.1.2-22]');
    n += binaryFieldLength(p.password, 'password');
  }
  return n;
}

function sizeConnack(p: ConnackPacket, version: ProtocolVersion): number {
  checkReasonCode(p.reasonCode, 'connack');
  return version === 5 ? 2 + sizeProperties(p.properties, PacketCode.connack) : 2;
}

function sizePublish(p: PublishPacket, version: ProtocolVersion): number {
  const qos = p.qos;
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new EncodeError(`publish: QoS ${String(qos)}`);
  let n = stringFieldLength(p.topic, 'topic name') + p.payload.length;
  if (qos > 0) {
    packetIdOf(p.packetId, 'publish');
    n += 2;
  } else if (p.dup) {
    throw new EncodeError('publish: DUP with QoS 0 [MQTT-3.3.1-2]');
  }
  if (version === 5) n += sizeProperties(p.properties, PacketCode.publish);
  return n;
}

/** PUBACK/PUBREC/PUBREL/PUBCOMP: MQTT 5 omits what it can [3.4.2.1] [3.4.2.2.1]. */
function sizeAck(p: Ack, code: number, version: ProtocolVersion): number {
  packetIdOf(p.packetId, p.type);
  if (version !== 5) return 2;
  const rc = p.reasonCode ?? 0;
  checkReasonCode(rc, p.type);
  const pl = p.properties === undefined ? 0 : propertiesLength(p.properties, code);
  propsLength = pl;
  if (pl > 0) return 3 + varintLength(pl) + pl;
  return rc === 0 ? 2 : 3;
}

function sizeSubscribe(p: SubscribePacket, version: ProtocolVersion): number {
  packetIdOf(p.packetId, 'subscribe');
  const subs = p.subscriptions;
  // At least one topic filter [MQTT-3.8.3-3].
  if (subs.length === 0) throw new EncodeError('subscribe: no subscriptions [MQTT-3.8.3-3]');
  let n = 2;
  if (version === 5) n += sizeProperties(p.properties, PacketCode.subscribe);
  for (let i = 0; i < subs.length; i++) {
    const s = subs[i] as SubscribePacket['subscriptions'][number];
    if (s.qos !== 0 && s.qos !== 1 && s.qos !== 2) throw new EncodeError(`subscribe: QoS ${String(s.qos)}`);
    if (s.retainHandling !== 0 && s.retainHandling !== 1 && s.retainHandling !== 2) {
      throw new EncodeError(`subscribe: retain handling ${String(s.retainHandling)}`);
    }
    n += stringFieldLength(s.topicFilter, 'topic filter') + 1;
  }
  return n;
}

function sizeSuback(p: SubackPacket, version: ProtocolVersion): number {
  packetIdOf(p.packetId, 'suback');
  if (p.reasonCodes.length === 0) throw new EncodeError('suback: no reason codes');
  for (let i = 0; i < p.reasonCodes.length; i++) checkReasonCode(p.reasonCodes[i] as number, 'suback');
  let n = 2 + p.reasonCodes.length;
  if (version === 5) n += sizeProperties(p.properties, PacketCode.suback);
  return n;
}

function sizeUnsubscribe(p: UnsubscribePacket, version: ProtocolVersion): number {
  packetIdOf(p.packetId, 'unsubscribe');
  const filters = p.topicFilters;
  if (filters.length === 0) throw new EncodeError('unsubscribe: no topic filters [MQTT-3.10.3-2]');
  let n = 2;
  if (version === 5) n += sizeProperties(p.properties, PacketCode.unsubscribe);
  for (let i = 0; i < filters.length; i++) n += stringFieldLength(filters[i] as string, 'topic filter');
  return n;
}

function sizeUnsuback(p: UnsubackPacket, version: ProtocolVersion): number {
  packetIdOf(p.packetId, 'unsuback');
  if (version !== 5) return 2;
  if (p.reasonCodes.length === 0) throw new EncodeError('unsuback: no reason codes');
  for (let i = 0; i < p.reasonCodes.length; i++) checkReasonCode(p.reasonCodes[i] as number, 'unsuback');
  return 2 + sizeProperties(p.properties, PacketCode.unsuback) + p.reasonCodes.length;
}

/** DISCONNECT (5): omits reason code and properties when it can [3.14.2.1]. */
function sizeDisconnect(p: DisconnectPacket): number {
  const rc = p.reasonCode ?? 0;
  checkReasonCode(rc, 'disconnect');
  const pl = p.properties === undefined ? 0 : propertiesLength(p.properties, PacketCode.disconnect);
  propsLength = pl;
  if (pl > 0) return 1 + varintLength(pl) + pl;
  return rc === 0 ? 0 : 1;
}

/** AUTH (5 only): always with reason code and Property Length, which every peer accepts. */
function sizeAuth(p: AuthPacket): number {
  const rc = p.reasonCode ?? 0;
  checkReasonCode(rc, 'auth');
  return 1 + sizeProperties(p.properties, PacketCode.auth);
}

/** Remaining Length of `packet`, validating it; fills the property scratch for the write pass. */
function remainingLength(packet: Packet, version: ProtocolVersion): number {
  switch (packet.type) {
    case 'publish':
      return sizePublish(packet, version);
    case 'connect':
      return sizeConnect(packet);
    case 'connack':
      return sizeConnack(packet, version);
    case 'puback':
      return sizeAck(packet, PacketCode.puback, version);
    case 'pubrec':
      return sizeAck(packet, PacketCode.pubrec, version);
    case 'pubrel':
      return sizeAck(packet, PacketCode.pubrel, version);
    case 'pubcomp':
      return sizeAck(packet, PacketCode.pubcomp, version);
    case 'subscribe':
      return sizeSubscribe(packet, version);
    case 'suback':
      return sizeSuback(packet, version);
    case 'unsubscribe':
      return sizeUnsubscribe(packet, version);
    case 'unsuback':
      return sizeUnsuback(packet, version);
    case 'pingreq':
    case 'pingresp':
      return 0;
    case 'disconnect':
      return version === 5 ? sizeDisconnect(packet) : 0;
    case 'auth':
      if (version !== 5) throw new EncodeError('auth: AUTH exists only in MQTT 5');
      return sizeAuth(packet);
    default:
      throw new EncodeError(`unknown packet type ${String((packet as { type: unknown }).type)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Write pass.

function writeConnect(w: Writer, p: ConnectPacket): void {
  const v = p.protocolVersion;
  w.string(p.protocolName);
  w.u8(v);
  const will = p.will;
  let flags = p.clean ? CONNECT_CLEAN : 0;
  if (will !== undefined) {
    flags |= CONNECT_WILL | (will.qos << CONNECT_WILL_QOS_SHIFT);
    if (will.retain) flags |= CONNECT_WILL_RETAIN;
  }
  if (p.username !== undefined) flags |= CONNECT_USERNAME;
  if (p.password !== undefined) flags |= CONNECT_PASSWORD;
  w.u8(flags);
  w.u16(p.keepalive);
  if (v === 5) writeProperties(w, p.properties, propsLength);
  w.string(p.clientId);
  if (will !== undefined) {
    if (v === 5) writeProperties(w, will.properties, willPropsLength);
    w.string(will.topic);
    w.binary(will.payload);
  }
  if (p.username !== undefined) w.string(p.username);
  if (p.password !== undefined) w.binary(p.password);
}

function writeBody(w: Writer, packet: Packet, version: ProtocolVersion): void {
  switch (packet.type) {
    case 'publish':
      w.string(packet.topic);
      if (packet.qos > 0) w.u16(packet.packetId as number);
      if (version === 5) writeProperties(w, packet.properties, propsLength);
      w.bytes(packet.payload);
      return;
    case 'connect':
      writeConnect(w, packet);
      return;
    case 'connack':
      w.u8(packet.sessionPresent ? 1 : 0);
      w.u8(packet.reasonCode);
      if (version === 5) writeProperties(w, packet.properties, propsLength);
      return;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp': {
      w.u16(packet.packetId);
      if (version !== 5) return;
      const rc = packet.reasonCode ?? 0;
      if (propsLength > 0) {
        w.u8(rc);
        writeProperties(w, packet.properties, propsLength);
      } else if (rc !== 0) {
        w.u8(rc);
      }
      return;
    }
    case 'subscribe': {
      w.u16(packet.packetId);
      if (version === 5) writeProperties(w, packet.properties, propsLength);
      const subs = packet.subscriptions;
      for (let i = 0; i < subs.length; i++) {
        const s = subs[i] as SubscribePacket['subscriptions'][number];
        w.string(s.topicFilter);
        let options: number = s.qos;
        if (version === 5) {
          if (s.noLocal) options |= SUB_NO_LOCAL;
          if (s.retainAsPublished) options |= SUB_RETAIN_AS_PUBLISHED;
          options |= s.retainHandling << SUB_RETAIN_HANDLING_SHIFT;
        }
        w.u8(options);
      }
      return;
    }
    case 'suback': {
      w.u16(packet.packetId);
      if (version === 5) writeProperties(w, packet.properties, propsLength);
      const codes = packet.reasonCodes;
      for (let i = 0; i < codes.length; i++) {
        const rc = codes[i] as number;
        // 3.x has one failure code [MQTT-3.9.3-2].
        w.u8(version !== 5 && rc >= 0x80 ? SUBACK_FAILURE_V3 : rc);
      }
      return;
    }
    case 'unsubscribe': {
      w.u16(packet.packetId);
      if (version === 5) writeProperties(w, packet.properties, propsLength);
      const filters = packet.topicFilters;
      for (let i = 0; i < filters.length; i++) w.string(filters[i] as string);
      return;
    }
    case 'unsuback': {
      w.u16(packet.packetId);
      if (version !== 5) return;
      writeProperties(w, packet.properties, propsLength);
      const codes = packet.reasonCodes;
      for (let i = 0; i < codes.length; i++) w.u8(codes[i] as number);
      return;
    }
    case 'disconnect': {
      const rc = packet.reasonCode ?? 0;
      if (propsLength > 0) {
        w.u8(rc);
        writeProperties(w, packet.properties, propsLength);
      } else if (rc !== 0) {
        w.u8(rc);
      }
      return;
    }
    case 'auth':
      w.u8(packet.reasonCode ?? 0);
      writeProperties(w, packet.properties, propsLength);
      return;
    default:
      return; // pingreq, pingresp: no body
  }
}

function firstByte(packet: Packet): number {
  switch (packet.type) {
    case 'publish':
      return (
        (PacketCode.publish << 4) | (packet.dup ? 0x08 : 0) | (packet.qos << 1) | (packet.retain ? 0x01 : 0)
      );
    // Reserved flags 0b0010 [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1].
    case 'pubrel':
    case 'subscribe':
    case 'unsubscribe':
      return (PacketCode[packet.type] << 4) | 0x02;
    default:
      return PacketCode[packet.type] << 4;
  }
}

function checkRemaining(n: number): void {
  if (n > MAX_REMAINING_LENGTH) throw new EncodeError(`remaining length ${n} exceeds ${MAX_REMAINING_LENGTH}`);
}

/** Encoded size of `packet` in bytes (fixed header included); validates like encode(). */
export function encodedLength(packet: Packet, version: ProtocolVersion): number {
  const n = remainingLength(packet, version);
  checkRemaining(n);
  return 1 + varintLength(n) + n;
}

/**
 * A PUBACK/PUBREC/PUBREL/PUBCOMP whose encoding is its 4 bytes (3.x, or 5 with success and no
 * properties) as one small integer, `first byte << 16 | packet id`, so a connection can queue it
 * without a Buffer of its own (putShortAck writes the bytes); -1 for any other packet, and for an
 * id encode() refuses (it says why).
 */
export function shortAck(packet: Packet, version: ProtocolVersion): number {
  if (packet.type !== 'puback' && packet.type !== 'pubrec' && packet.type !== 'pubrel' && packet.type !== 'pubcomp') return -1;
  const id = packet.packetId;
  if (!Number.isInteger(id) || id < 1 || id > 0xffff) return -1;
  if (version === 5 && ((packet.reasonCode ?? 0) !== 0 || packet.properties !== undefined)) return -1;
  return (firstByte(packet) << 16) | id;
}

/** Writes the 4 bytes of a shortAck() at `at` in `buf`; returns the offset after them. */
export function putShortAck(ack: number, buf: Buffer, at: number): number {
  buf[at] = ack >>> 16;
  buf[at + 1] = 2;
  buf[at + 2] = (ack >>> 8) & 0xff;
  buf[at + 3] = ack & 0xff;
  return at + 4;
}

/**
 * Encodes one packet for a connection speaking `version` (a CONNECT uses its own
 * protocolVersion). Throws EncodeError for packets that cannot be represented.
 */
export function encode(packet: Packet, version: ProtocolVersion): Buffer {
  switch (packet.type) {
    case 'pingreq':
      return PINGREQ;
    case 'pingresp':
      return PINGRESP;
    case 'disconnect':
      if (version !== 5) return DISCONNECT_V3;
      break;
    case 'connack':
      if (version !== 5 && packet.reasonCode === 0) return CONNACK_V3_ACCEPTED[packet.sessionPresent ? 1 : 0];
      break;
    case 'connect':
      version = packet.protocolVersion;
      break;
    default:
      break;
  }
  const n = remainingLength(packet, version);
  checkRemaining(n);
  const buf = Buffer.allocUnsafe(1 + varintLength(n) + n);
  const w = writer;
  w.reset(buf);
  w.u8(firstByte(packet));
  w.varint(n);
  writeBody(w, packet, version);
  w.release();
  if (w.pos !== buf.length) {
    // A size/write mismatch is a codec bug; never hand out a half-written buffer.
    throw new EncodeError(`internal: wrote ${w.pos} of ${buf.length} bytes for ${packet.type}`);
  }
  return buf;
}

/**
 * Returns a copy of an encoded QoS 1/2 PUBLISH with its packet identifier replaced, and the
 * DUP flag set or cleared when `dup` is given. Lets a broker encode a message once and patch
 * the id per subscriber.
 */
export function setPacketId(encodedPublish: Buffer, packetId: number, dup?: boolean): Buffer {
  const b0 = encodedPublish[0];
  if (b0 === undefined || b0 >> 4 !== PacketCode.publish || (b0 & 0x06) === 0) {
    throw new EncodeError('setPacketId: not an encoded QoS 1/2 PUBLISH');
  }
  packetIdOf(packetId, 'setPacketId');
  // Skip the Remaining Length, then the topic name, to reach the packet identifier.
  let pos = 1;
  while (pos < 5 && ((encodedPublish[pos] ?? 0) & 0x80) !== 0) pos++;
  pos++;
  const topicLength = ((encodedPublish[pos] ?? 0) << 8) | (encodedPublish[pos + 1] ?? 0);
  const idPos = pos + 2 + topicLength;
  if (idPos + 2 > encodedPublish.length) throw new EncodeError('setPacketId: truncated PUBLISH');
  const out = Buffer.allocUnsafe(encodedPublish.length);
  encodedPublish.copy(out, 0);
  if (dup !== undefined) out[0] = dup ? b0 | 0x08 : b0 & ~0x08;
  out[idPos] = packetId >>> 8;
  out[idPos + 1] = packetId & 0xff;
  return out;
}
