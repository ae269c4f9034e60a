/**
 * The values the JetStream store writes, versioned (`v`). Small records are JSON with payloads in
 * base64; stream entries (queued deliveries, log entries) are `u32 header length | JSON header |
 * payload bytes`, so a payload is carried untouched.
 *
 * A queued delivery carries its message: in JetStream a message queued for n sessions is stored
 * n times (the memory mirror still keeps it once). That lets any node load one session's queue
 * from its own subject, without a shared message table to reference-count across nodes.
 */
import type {
  DeliveryInfo,
  LoadedSession,
  MessageRecord,
  NewMessage,
  SessionRecord,
  SubscriptionRecord,
  WillRecord,
} from '../types.js';

interface MessageJson {
  readonly t: string;
  readonly q: 0 | 1 | 2;
  readonly r: boolean;
  /** Properties, base64; null when none. */
  readonly pr: string | null;
  readonly e: number;
  readonly c: number;
}

export interface SessionDoc {
  readonly v: 1;
  /** The node that wrote it: the node its client is connected to (or was, last). */
  readonly owner: string;
  /** The generation of its queue's subject (layout.queueSubject). */
  readonly q: string;
  readonly session: SessionRecord;
  readonly subscriptions: readonly SubscriptionRecord[];
  readonly inbound: readonly number[];
}

/** A session record as stored, decoded (its in-flight window is in its own bucket). */
export interface DecodedSession {
  readonly owner: string;
  readonly gen: string;
  readonly session: SessionRecord;
  readonly subscriptions: readonly SubscriptionRecord[];
  readonly inbound: readonly number[];
}

export type DeliveryJson = Omit<DeliveryInfo, 'messageId'>;

function messageJson(m: NewMessage): MessageJson {
  return {
    t: m.topic,
    q: m.qos,
    r: m.retain,
    pr: m.properties === null ? null : m.properties.toString('base64'),
    e: m.expiresAt,
    c: m.createdAt,
  };
}

function fromJson(m: MessageJson, payload: Buffer): NewMessage {
  return {
    topic: m.t,
    payload,
    qos: m.q,
    retain: m.r,
    properties: m.pr === null ? null : Buffer.from(m.pr, 'base64'),
    expiresAt: m.e,
    createdAt: m.c,
  };
}

export function encodeSession(owner: string, gen: string, state: LoadedSession): Uint8Array {
  const doc: SessionDoc = {
    v: 1,
    owner,
    q: gen,
    session: state.session,
    subscriptions: state.subscriptions,
    inbound: state.inboundQos2,
  };
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

/** The owner alone (cheap enough to read on a revision conflict). */
export function sessionOwner(data: Uint8Array): string | null {
  try {
    const doc = JSON.parse(Buffer.from(data).toString('utf8')) as Partial<SessionDoc>;
    return typeof doc.owner === 'string' ? doc.owner : null;
  } catch {
    return null;
  }
}

export function decodeSession(data: Uint8Array): DecodedSession {
  const doc = JSON.parse(Buffer.from(data).toString('utf8')) as SessionDoc;
  if (doc.v !== 1) throw new Error(`session record version ${String(doc.v)} is not supported by this Ferry`);
  return {
    owner: doc.owner,
    gen: doc.q,
    session: doc.session,
    subscriptions: doc.subscriptions,
    inbound: doc.inbound,
  };
}

/** `u32 length | JSON | payload`. */
function framed(header: unknown, payload: Buffer): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.allocUnsafe(4 + json.length + payload.length);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  payload.copy(out, 4 + json.length);
  return out;
}

function unframe<T>(data: Uint8Array): { header: T; payload: Buffer } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const length = buf.readUInt32BE(0);
  const header = JSON.parse(buf.subarray(4, 4 + length).toString('utf8')) as T;
  // A copy: the payload outlives the message it came in.
  return { header, payload: Buffer.from(buf.subarray(4 + length)) };
}

/** One entry of an outbound in-flight window (its message null once released). */
export interface InflightEntry {
  /** The store's seq when it entered the window: resend order. */
  readonly seq: number;
  readonly delivery: DeliveryJson;
  readonly released: boolean;
  readonly message: NewMessage | null;
}

/** The delivery fields alone (callers may pass a record carrying more). */
export function deliveryJson(delivery: DeliveryInfo | DeliveryJson): DeliveryJson {
  return {
    qos: delivery.qos,
    retain: delivery.retain,
    subscriptionIds: delivery.subscriptionIds,
    shareGroup: delivery.shareGroup,
    shareFilter: delivery.shareFilter,
  };
}

export function encodeInflight(seq: number, delivery: DeliveryInfo | DeliveryJson, released: boolean, message: NewMessage | null): Uint8Array {
  return framed({ v: 1, s: seq, d: deliveryJson(delivery), r: released, m: message === null ? null : messageJson(message) }, message?.payload ?? Buffer.alloc(0));
}

export function decodeInflight(data: Uint8Array): InflightEntry {
  const { header, payload } = unframe<{ v: number; s: number; d: DeliveryJson; r: boolean; m: MessageJson | null }>(data);
  if (header.v !== 1) throw new Error(`in-flight entry version ${header.v} is not supported by this Ferry`);
  return { seq: header.s, delivery: header.d, released: header.r, message: header.m === null ? null : fromJson(header.m, payload) };
}

export function encodeQueued(delivery: DeliveryInfo, message: MessageRecord): Uint8Array {
  return framed({ v: 1, d: deliveryJson(delivery), m: messageJson(message) }, message.payload);
}

export function decodeQueued(data: Uint8Array): { delivery: DeliveryJson; message: NewMessage } {
  const { header, payload } = unframe<{ v: number; d: DeliveryJson; m: MessageJson }>(data);
  if (header.v !== 1) throw new Error(`queue entry version ${header.v} is not supported by this Ferry`);
  return { delivery: header.d, message: fromJson(header.m, payload) };
}

export function encodeLogEntry(log: string, meta: string, payload: Buffer, createdAt: number): Uint8Array {
  return framed({ v: 1, log, meta, c: createdAt }, payload);
}

export function decodeLogEntry(data: Uint8Array): { log: string; meta: string; createdAt: number; payload: Buffer } {
  const { header, payload } = unframe<{ v: number; log: string; meta: string; c: number }>(data);
  if (header.v !== 1) throw new Error(`log entry version ${header.v} is not supported by this Ferry`);
  return { log: header.log, meta: header.meta, createdAt: header.c, payload };
}

export function encodeRetained(topic: string, message: MessageRecord): Uint8Array {
  return framed({ v: 1, topic, m: messageJson(message) }, message.payload);
}

export function decodeRetained(data: Uint8Array): { topic: string; message: NewMessage } {
  const { header, payload } = unframe<{ v: number; topic: string; m: MessageJson }>(data);
  if (header.v !== 1) throw new Error(`retained record version ${header.v} is not supported by this Ferry`);
  return { topic: header.topic, message: fromJson(header.m, payload) };
}

export function encodeWill(owner: string, will: WillRecord): Uint8Array {
  const { payload, properties, ...rest } = will;
  return framed({ v: 1, owner, ...rest, pr: properties === null ? null : properties.toString('base64') }, payload);
}

export function decodeWill(data: Uint8Array): { owner: string; will: WillRecord } {
  const { header, payload } = unframe<Omit<WillRecord, 'payload' | 'properties'> & { v: number; owner: string; pr: string | null }>(data);
  if (header.v !== 1) throw new Error(`will record version ${header.v} is not supported by this Ferry`);
  const { v: _v, owner, pr, ...rest } = header;
  return { owner, will: { ...rest, payload, properties: pr === null ? null : Buffer.from(pr, 'base64') } };
}
