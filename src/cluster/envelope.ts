/**
 * A message between nodes, versioned (STYLE.md §11.12): a small binary header, then the payload
 * as published, so a payload is never re-encoded.
 *
 *   u8  version (1)          u8  flags: qos (bits 0-1), retain (2), properties (3), wants ack (4)
 *   u32 sequence of the origin node (duplicate detection, acknowledgements)
 *   f64 expiresAt (ms since the epoch, 0 = never)
 *   u16 origin length, origin (UTF-8: `<nodeId>#<boot>`)
 *   u32 topic length, topic (UTF-8)
 *   u32 properties length, properties (JSON; correlationData as base64)
 *   payload (the rest)
 *
 * A reader meeting another version refuses the envelope (counted, logged once); readers for old
 * versions will live next to this one when there is a version 2.
 */
import type { Properties, QoS } from '../protocol/packets.js';

export const ENVELOPE_VERSION = 1;

export interface Envelope {
  readonly origin: string;
  readonly seq: number;
  readonly topic: string;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly wantsAck: boolean;
  readonly expiresAt: number;
  readonly properties: Properties | undefined;
  readonly payload: Uint8Array;
}

export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
}

export function encodeEnvelope(e: Envelope): Uint8Array {
  const origin = Buffer.from(e.origin, 'utf8');
  const topic = Buffer.from(e.topic, 'utf8');
  const props = e.properties === undefined ? null : Buffer.from(JSON.stringify(propertiesToJson(e.properties)), 'utf8');
  const size = 1 + 1 + 4 + 8 + 2 + origin.length + 4 + topic.length + 4 + (props?.length ?? 0) + e.payload.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  out[at++] = ENVELOPE_VERSION;
  out[at++] = e.qos | (e.retain ? 4 : 0) | (props !== null ? 8 : 0) | (e.wantsAck ? 16 : 0);
  at = out.writeUInt32BE(e.seq >>> 0, at);
  at = out.writeDoubleBE(e.expiresAt, at);
  at = out.writeUInt16BE(origin.length, at);
  at += origin.copy(out, at);
  at = out.writeUInt32BE(topic.length, at);
  at += topic.copy(out, at);
  at = out.writeUInt32BE(props?.length ?? 0, at);
  if (props !== null) at += props.copy(out, at);
  out.set(e.payload, at);
  return out;
}

export function decodeEnvelope(data: Uint8Array): Envelope {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 24) throw new EnvelopeError(`envelope of ${buf.length} bytes is too short`);
  if (buf[0] !== ENVELOPE_VERSION) throw new EnvelopeError(`envelope version ${buf[0]} is not ${ENVELOPE_VERSION}`);
  const flags = buf[1]!;
  let at = 2;
  const seq = buf.readUInt32BE(at);
  at += 4;
  const expiresAt = buf.readDoubleBE(at);
  at += 8;
  const originLen = buf.readUInt16BE(at);
  at += 2;
  const origin = buf.toString('utf8', at, at + originLen);
  at += originLen;
  const topicLen = buf.readUInt32BE(at);
  at += 4;
  const topic = buf.toString('utf8', at, at + topicLen);
  at += topicLen;
  const propsLen = buf.readUInt32BE(at);
  at += 4;
  const properties = (flags & 8) !== 0 ? propertiesFromJson(JSON.parse(buf.toString('utf8', at, at + propsLen)) as JsonProperties) : undefined;
  at += propsLen;
  if (at > buf.length) throw new EnvelopeError('envelope truncated');
  return {
    origin,
    seq,
    topic,
    qos: (flags & 3) as QoS,
    retain: (flags & 4) !== 0,
    wantsAck: (flags & 16) !== 0,
    expiresAt,
    properties,
    // A copy: the message may be queued for long, the NATS read buffer must not be pinned.
    payload: Buffer.from(buf.subarray(at)),
  };
}

type JsonProperties = Omit<Properties, 'correlationData'> & { correlationData?: string };

function propertiesToJson(p: Properties): JsonProperties {
  const { correlationData, ...rest } = p;
  return correlationData === undefined ? rest : { ...rest, correlationData: Buffer.from(correlationData).toString('base64') };
}

function propertiesFromJson(p: JsonProperties): Properties {
  const { correlationData, ...rest } = p;
  return correlationData === undefined ? (rest as Properties) : ({ ...rest, correlationData: Buffer.from(correlationData, 'base64') } as Properties);
}
