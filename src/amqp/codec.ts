/**
 * AMQP 0-9-1 framing and method (de)serialisation for Ferry's server-SDK endpoint.
 *
 * Why amqplib's codec: `amqplib/lib/defs.js` is generated from the 0-9-1 XML spec and encodes and
 * decodes every method of both directions (connection.start is encoded the same way a server
 * sends it), field tables with all value types, and the basic content header. It is the codec the
 * Node AMQP ecosystem has exercised for a decade and is already a dependency (the RabbitMQ rule
 * connector), so hand-writing 0-9-1 here would only add bugs. What it lacks for a server is done
 * here: an incremental frame reader that enforces frame-max and the frame-end octet (501), and
 * method decoding that turns unknown ids and truncated arguments into reply codes rather than throws.
 *
 *   socket bytes ─▶ FrameReader.push ─▶ Frame (method | header | body | heartbeat) ─▶ connection
 *   connection   ─▶ encodeMethod / encodeContent (split at frame-max) ─▶ socket
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface AmqplibDefs {
  decode(id: number, buf: Buffer): Record<string, unknown>;
  encodeMethod(id: number, channel: number, fields: Record<string, unknown>): Buffer;
  encodeProperties(id: number, channel: number, size: number, fields: Record<string, unknown>): Buffer;
  info(id: number): { name: string };
}

const DEFS_MODULE = 'amqplib/lib/defs.js';
let loadedDefs: AmqplibDefs | undefined;

/**
 * amqplib's generated codec, required at the first frame: a broker that no SDK connects to does
 * not carry it in its heap (0.3 MB; bench/RESULTS.md issue 15 §27). checkCodecInstalled() at the
 * endpoint's start makes a missing amqplib fail the start instead of the first connection.
 */
function defs(): AmqplibDefs {
  return (loadedDefs ??= require(DEFS_MODULE) as AmqplibDefs);
}

/** Throws (naming the module) when amqplib's codec cannot be found; loads nothing. */
export function checkCodecInstalled(): void {
  require.resolve(DEFS_MODULE);
}

export const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

export const FRAME = { method: 1, header: 2, body: 3, heartbeat: 8, end: 0xce } as const;
/** Frame header (type, channel, size) plus the frame-end octet. */
export const FRAME_OVERHEAD = 8;
/** Smallest frame-max a peer may ask for (spec: 4096). */
export const FRAME_MIN_SIZE = 4096;

/** Method ids (class << 16 | method) of the subset Ferry answers, named as in the spec. */
export const M = {
  ConnectionStart: 0x000a000a,
  ConnectionStartOk: 0x000a000b,
  ConnectionSecure: 0x000a0014,
  ConnectionSecureOk: 0x000a0015,
  ConnectionTune: 0x000a001e,
  ConnectionTuneOk: 0x000a001f,
  ConnectionOpen: 0x000a0028,
  ConnectionOpenOk: 0x000a0029,
  ConnectionClose: 0x000a0032,
  ConnectionCloseOk: 0x000a0033,
  ConnectionBlocked: 0x000a003c,
  ConnectionUnblocked: 0x000a003d,
  ChannelOpen: 0x0014000a,
  ChannelOpenOk: 0x0014000b,
  ChannelFlow: 0x00140014,
  ChannelFlowOk: 0x00140015,
  ChannelClose: 0x00140028,
  ChannelCloseOk: 0x00140029,
  QueueDeclare: 0x0032000a,
  QueueDeclareOk: 0x0032000b,
  BasicQos: 0x003c000a,
  BasicQosOk: 0x003c000b,
  BasicConsume: 0x003c0014,
  BasicConsumeOk: 0x003c0015,
  BasicCancel: 0x003c001e,
  BasicCancelOk: 0x003c001f,
  BasicPublish: 0x003c0028,
  BasicReturn: 0x003c0032,
  BasicDeliver: 0x003c003c,
  BasicAck: 0x003c0050,
  BasicReject: 0x003c005a,
  BasicRecoverAsync: 0x003c0064,
  BasicRecover: 0x003c006e,
  BasicRecoverOk: 0x003c006f,
  BasicNack: 0x003c0078,
  ConfirmSelect: 0x0055000a,
  ConfirmSelectOk: 0x0055000b,
} as const;

/** The basic class: the only one with content (its content header class id). */
export const BASIC_CLASS = 60;

export interface BasicProperties {
  contentType?: string;
  contentEncoding?: string;
  headers?: Record<string, unknown>;
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  expiration?: string;
  messageId?: string;
  timestamp?: number;
  type?: string;
  userId?: string;
  appId?: string;
}

export type Frame =
  | { readonly type: 'method'; readonly channel: number; readonly id: number; readonly args: Buffer }
  | { readonly type: 'header'; readonly channel: number; readonly classId: number; readonly size: number; readonly properties: BasicProperties }
  | { readonly type: 'body'; readonly channel: number; readonly payload: Buffer }
  | { readonly type: 'heartbeat'; readonly channel: number };

/** A protocol violation, with the reply code the connection closes with (spec §1.2 constants). */
export class AmqpProtocolError extends Error {
  constructor(
    readonly replyCode: number,
    message: string,
    readonly classId = 0,
    readonly methodId = 0,
  ) {
    super(message);
    this.name = 'AmqpProtocolError';
  }
}

/** Reads frames from a byte stream; throws AmqpProtocolError (501 FRAME_ERROR, 505 UNEXPECTED_FRAME). */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  /** Largest frame accepted (negotiated frame-max; 0 = not negotiated yet: FRAME_MIN_SIZE). */
  frameMax = FRAME_MIN_SIZE;

  push(chunk: Buffer): Frame[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: Frame[] = [];
    let offset = 0;
    const buf = this.buffered;
    while (buf.length - offset >= 7) {
      const type = buf[offset]!;
      const channel = buf.readUInt16BE(offset + 1);
      const size = buf.readUInt32BE(offset + 3);
      if (size + FRAME_OVERHEAD > this.frameMax) {
        throw new AmqpProtocolError(501, `FRAME_ERROR - frame of ${size + FRAME_OVERHEAD} bytes is larger than frame-max ${this.frameMax}`);
      }
      if (buf.length - offset < size + FRAME_OVERHEAD) break;
      if (buf[offset + 7 + size] !== FRAME.end) throw new AmqpProtocolError(501, 'FRAME_ERROR - frame-end octet missing');
      const payload = buf.subarray(offset + 7, offset + 7 + size);
      offset += size + FRAME_OVERHEAD;
      frames.push(decodeFrame(type, channel, payload));
    }
    this.buffered = offset === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(offset));
    return frames;
  }
}

function decodeFrame(type: number, channel: number, payload: Buffer): Frame {
  switch (type) {
    case FRAME.method:
      if (payload.length < 4) throw new AmqpProtocolError(501, 'FRAME_ERROR - method frame shorter than a method id');
      return { type: 'method', channel, id: payload.readUInt32BE(0), args: payload.subarray(4) };
    case FRAME.header: {
      if (payload.length < 14) throw new AmqpProtocolError(501, 'FRAME_ERROR - content header frame too short');
      const classId = payload.readUInt16BE(0);
      if (classId !== BASIC_CLASS) throw new AmqpProtocolError(505, `UNEXPECTED_FRAME - content header of class ${classId}`);
      const high = payload.readUInt32BE(4);
      const size = high * 0x1_0000_0000 + payload.readUInt32BE(8);
      let properties: BasicProperties;
      try {
        properties = defs().decode(BASIC_CLASS, payload.subarray(12)) as BasicProperties;
      } catch (error) {
        throw new AmqpProtocolError(502, `SYNTAX_ERROR - content header properties: ${(error as Error).message}`);
      }
      return { type: 'header', channel, classId, size, properties };
    }
    case FRAME.body:
      return { type: 'body', channel, payload };
    case FRAME.heartbeat:
      if (channel !== 0) throw new AmqpProtocolError(501, 'FRAME_ERROR - heartbeat on a channel other than 0');
      return { type: 'heartbeat', channel };
    default:
      throw new AmqpProtocolError(501, `FRAME_ERROR - unknown frame type ${type}`);
  }
}

/** "class.method" of an id, for errors ("basic.get"); the numbers when the spec has no such method. */
export function methodName(id: number): string {
  try {
    const name = defs().info(id).name; // "BasicRecoverAsync"
    const cls = /^[A-Z][a-z]+/.exec(name)![0];
    const method = name.slice(cls.length).replace(/[A-Z]/g, (c, at: number) => (at === 0 ? '' : '-') + c.toLowerCase());
    return `${cls.toLowerCase()}.${method}`;
  } catch {
    return `${id >>> 16}.${id & 0xffff}`;
  }
}

/** Whether the spec defines this method (else: 503 COMMAND_INVALID rather than 540). */
export function isKnownMethod(id: number): boolean {
  try {
    defs().info(id);
    return true;
  } catch {
    return false;
  }
}

/** The arguments of a method frame; 502 SYNTAX_ERROR when they do not parse. */
export function decodeArgs<T>(id: number, args: Buffer): T {
  try {
    return defs().decode(id, args) as T;
  } catch (error) {
    throw new AmqpProtocolError(502, `SYNTAX_ERROR - ${methodName(id)} arguments: ${(error as Error).message}`, id >>> 16, id & 0xffff);
  }
}

export function encodeMethod(id: number, channel: number, fields: Record<string, unknown>): Buffer {
  return defs().encodeMethod(id, channel, fields);
}

/** Content header + body frames of a message, bodies split so each frame fits `frameMax`. */
export function encodeContent(channel: number, properties: BasicProperties, body: Buffer, frameMax: number): Buffer[] {
  const out = [defs().encodeProperties(BASIC_CLASS, channel, body.length, properties as Record<string, unknown>)];
  const max = frameMax - FRAME_OVERHEAD;
  for (let offset = 0; offset < body.length; offset += max) {
    const part = body.subarray(offset, Math.min(body.length, offset + max));
    const frame = Buffer.allocUnsafe(part.length + FRAME_OVERHEAD);
    frame[0] = FRAME.body;
    frame.writeUInt16BE(channel, 1);
    frame.writeUInt32BE(part.length, 3);
    part.copy(frame, 7);
    frame[7 + part.length] = FRAME.end;
    out.push(frame);
  }
  return out;
}

export const HEARTBEAT_FRAME = Buffer.from([FRAME.heartbeat, 0, 0, 0, 0, 0, 0, FRAME.end]);
