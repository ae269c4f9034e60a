/**
 * How a rule's items sit in a durable log (src/store, `appendLog`): the payload bytes as the
 * entry's payload, everything else as compact JSON meta. Versioned (`v`), so a later layout can
 * still read entries written by this one.
 */
import type { RuleMessage, StatusEvent, TargetItem } from './connectors/index.js';

interface MessageMeta {
  v: 1;
  t: 'm';
  c: string; // clientId
  to: string; // topic
  q: 0 | 1 | 2;
  cs: boolean; // cleanSession
  b: number; // bornTime
  id: string; // msgId
  up?: Array<[string, string]>;
  ct?: string;
  ex?: number;
}

interface StatusMeta {
  v: 1;
  t: 's';
  e: StatusEvent;
}

export function encodeItem(item: TargetItem): { meta: string; payload: Buffer; item: TargetItem } {
  if (item.type === 'status') {
    return { meta: JSON.stringify({ v: 1, t: 's', e: item.event } satisfies StatusMeta), payload: EMPTY, item };
  }
  const m = item.message;
  const meta = messageMeta(
    m.clientId,
    m.topic,
    m.qos,
    m.cleanSession,
    m.bornTime,
    m.msgId,
    m.userProperties?.map((p) => [p.key, p.value] as const),
    m.contentType,
    m.messageExpiryInterval,
  );
  return { meta, payload: m.payload, item };
}

/**
 * The meta of a message item from its fields (what encodeItem writes for a RuleMessage): the
 * rule engine calls it straight from the MQTT message, without building the item, when every
 * matching rule's dispatcher runs on the delivery thread (it only needs meta and payload).
 */
export function messageMeta(
  clientId: string,
  topic: string,
  qos: 0 | 1 | 2,
  cleanSession: boolean,
  bornTime: number,
  msgId: string,
  userProperties: ReadonlyArray<readonly [string, string]> | undefined,
  contentType: string | undefined,
  messageExpiryInterval: number | undefined,
): string {
  // The JSON of a MessageMeta, written out: this runs on the broker thread for every message a
  // rule matches, and building the object to stringify it cost twice as much (same text, same
  // key order; numbers are integers, strings go through JSON.stringify).
  let meta = `{"v":1,"t":"m","c":${JSON.stringify(clientId)},"to":${JSON.stringify(topic)},"q":${qos},"cs":${cleanSession},"b":${bornTime},"id":${JSON.stringify(msgId)}`;
  if (userProperties !== undefined && userProperties.length > 0) meta += `,"up":${JSON.stringify(userProperties)}`;
  if (contentType !== undefined) meta += `,"ct":${JSON.stringify(contentType)}`;
  if (messageExpiryInterval !== undefined) meta += `,"ex":${messageExpiryInterval}`;
  return `${meta}}`;
}

/** The item of a log entry; throws on an entry of an unknown layout. */
export function decodeItem(meta: string, payload: Buffer): TargetItem {
  const parsed = JSON.parse(meta) as MessageMeta | StatusMeta;
  if (parsed.v !== 1) throw new Error(`rule log entry of unknown layout v${String((parsed as { v: unknown }).v)}`);
  if (parsed.t === 's') return { type: 'status', event: parsed.e };
  const message: { -readonly [K in keyof RuleMessage]: RuleMessage[K] } = {
    clientId: parsed.c,
    topic: parsed.to,
    qos: parsed.q,
    cleanSession: parsed.cs,
    bornTime: parsed.b,
    msgId: parsed.id,
    payload,
  };
  if (parsed.up !== undefined) message.userProperties = parsed.up.map(([key, value]) => ({ key, value }));
  if (parsed.ct !== undefined) message.contentType = parsed.ct;
  if (parsed.ex !== undefined) message.messageExpiryInterval = parsed.ex;
  return { type: 'message', message };
}

/** The client an item belongs to (per-client order). */
export function itemClient(item: TargetItem): string {
  return item.type === 'message' ? item.message.clientId : item.event.clientId;
}

const EMPTY = Buffer.alloc(0);

/**
 * The bytes on their own: a payload that is a view into a larger buffer (a socket read) is
 * copied, so an in-memory cache of recent entries pins what it counts, not whole read buffers.
 * A view into a buffer no larger than Node's pool slab (what a small copy itself is) is kept as
 * it is: copying it again would pin just as much, at the cost of another allocation.
 */
export function detached(bytes: Buffer): Buffer {
  return bytes.byteLength > 0 && bytes.buffer.byteLength > Math.max(Buffer.poolSize, 2 * bytes.byteLength) ? Buffer.from(bytes) : bytes;
}
