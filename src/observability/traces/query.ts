/**
 * Trace queries, shaped like the managed service's QueryMqttTrace* actions (reference §4.2):
 * the same field names (DeviceInfoList, MessageOfClientList, MessageTraceLists; Time, ChannelId,
 * MsgId, ClientId, Action, ActionCode, ActionInfo), paging from CurrentPage 1 with PageSize 1-100.
 * Besides page numbers, every paged query takes a `cursor` (keyset paging: the `NextCursor` of
 * the previous page, a position in the store), which stays fast however deep one pages.
 *
 * Events are stored a batch per row (trace-db.ts, batch-codec.ts): a client's queries count from
 * the per-channel summaries and decode only the batches they must; a MsgId's from the batches of
 * its bucket. Results are in store order (batch, then position), i.e. time order.
 *
 * Time: BeginTime/EndTime are ms since the epoch, both inclusive; `Time` in records is
 * `YYYY-MM-DD hh:mm:ss.SSS` in the server's local time zone (as the managed service shows it).
 */
import type Database from 'better-sqlite3';
import { FacadeError } from '../../management/errors.js';
import { DELIVERY_CODES, MESSAGE_EVENT_BASE, TraceCode, traceKind } from './codes.js';
import { formatTraceId } from './recorder.js';
import { DecodedBatch, MSG_BUCKET } from './batch-codec.js';
import { BLOCK_BATCHES, BLOCK_ENTRY, MSG_EPOCH_FACTOR, summarizedBelow } from './trace-db.js';

export interface DeviceTraceRecord {
  readonly Time: string;
  readonly ChannelId: string;
  readonly Action: string;
  readonly ActionCode: string;
  readonly ActionInfo: string;
}

export interface MessageTraceRecord {
  readonly Time: string;
  readonly MsgId: string;
  readonly ClientId: string;
  readonly Action: string;
  readonly ActionCode: string;
  readonly ActionInfo: string;
}

export interface TimeRange {
  readonly instanceId: string;
  /** ms since the epoch, inclusive. */
  readonly beginTime: number;
  readonly endTime: number;
}

export interface Paging {
  /** Page number from 1 (managed service CurrentPage); ignored when `cursor` is given. */
  readonly currentPage?: number | undefined;
  /** 1-100, default 20. */
  readonly pageSize?: number | undefined;
  /** NextCursor of the previous page (keyset paging). */
  readonly cursor?: string | undefined;
  /** Newest first. */
  readonly reverse?: boolean | undefined;
}

export interface ClientTraceQuery extends TimeRange, Paging {
  readonly clientId: string;
}

export interface MessageTraceQuery extends TimeRange {
  /** 32 hex characters. */
  readonly msgId: string;
}

export interface MessageSubscribeQuery extends MessageTraceQuery, Paging {
  /** Only deliveries to this client. */
  readonly clientId?: string | undefined;
}

export interface PageInfo {
  readonly CurrentPage: number;
  readonly PageSize: number;
  readonly Total: number;
  /** Present when more rows follow: pass it as `cursor` for the next page. */
  readonly NextCursor?: string;
}

export interface DeviceTracePage extends PageInfo {
  readonly DeviceInfoList: DeviceTraceRecord[];
}
export interface MessageOfClientPage extends PageInfo {
  readonly MessageOfClientList: MessageTraceRecord[];
}
export interface MessageSubscribePage extends PageInfo {
  readonly MessageTraceLists: MessageTraceRecord[];
}
export interface MessagePublishResult {
  readonly MessageTraceLists: MessageTraceRecord[];
}

/**
 * A query parameter is out of range; `field` names it as the managed service does. It is the
 * facade's InvalidParameter, so the RPC actions and REST routes answer 400 naming the field.
 */
export class TraceQueryError extends FacadeError {
  declare readonly field: string;

  constructor(field: string, message: string) {
    super('InvalidParameter', `${field}: ${message}`, field);
    this.name = 'TraceQueryError';
  }
}

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

/** One matching event: where it is stored and what it says. */
interface Hit {
  readonly batch: number;
  readonly pos: number;
  readonly time: number;
  readonly channel: number;
  readonly code: number;
  readonly msg: number;
}

/** A channel's identity, as a query shows it. */
interface ChannelInfo {
  readonly instanceId: string;
  readonly clientId: string;
  readonly channelId: string;
  /** ActionInfo detail of a rule's events, '' otherwise. */
  readonly info: string;
}

/** What one query reads: batches (decoded once), channels, epochs. */
class Reader {
  private readonly batches = new Map<number, DecodedBatch | null>();
  private readonly channels = new Map<number, ChannelInfo | null>();
  private prefixes: Map<number, string> | null = null;
  constructor(readonly db: Database.Database) {}

  batch(id: number): DecodedBatch | null {
    let b = this.batches.get(id);
    if (b === undefined) {
      const row = this.db.prepare('SELECT first_time, count, data FROM batches WHERE id = ?').get(id) as
        | { first_time: number; count: number; data: Buffer }
        | undefined;
      b = row === undefined ? null : new DecodedBatch(id, row.first_time, row.count, row.data);
      this.batches.set(id, b);
    }
    return b;
  }

  channel(id: number): ChannelInfo | null {
    let c = this.channels.get(id);
    if (c === undefined) {
      // SELECT *: a schema 3 file (tracing off, never migrated) has no info column.
      const row = this.db.prepare('SELECT * FROM channels WHERE id = ?').get(id) as
        | { instance_id: string; client_id: string; channel_id: string; info?: string }
        | undefined;
      c = row === undefined ? null : { instanceId: row.instance_id, clientId: row.client_id, channelId: row.channel_id, info: row.info ?? '' };
      this.channels.set(id, c);
    }
    return c;
  }

  /** MsgId text of a stored msg number (epoch prefix + counter). */
  msgId(msg: number): string {
    if (msg === 0) return '';
    this.prefixes ??= new Map(
      (this.db.prepare('SELECT id, prefix FROM epochs').all() as Array<{ id: number; prefix: string }>).map((e) => [e.id, e.prefix]),
    );
    const epoch = Math.floor(msg / MSG_EPOCH_FACTOR);
    return formatTraceId(this.prefixes.get(epoch) ?? '0'.repeat(20), msg - epoch * MSG_EPOCH_FACTOR);
  }

  /**
   * The batches that may hold events of [begin, end]: ids from the first batch whose last event
   * is not before `begin` to the last whose first event is not after `end` (batch order is time
   * order), or null when none.
   */
  batchRange(begin: number, end: number): [number, number] | null {
    const lo = this.db.prepare('SELECT id FROM batches WHERE last_time >= ? ORDER BY last_time, id LIMIT 1').pluck().get(begin) as number | undefined;
    const hi = this.db.prepare('SELECT id FROM batches WHERE first_time <= ? ORDER BY first_time DESC, id DESC LIMIT 1').pluck().get(end) as
      | number
      | undefined;
    return lo === undefined || hi === undefined || lo > hi ? null : [lo, hi];
  }
}

/** The stored number of a MsgId, or null when no process run used its prefix. */
function msgNumber(db: Database.Database, msgId: string): number | null {
  const epoch = db.prepare('SELECT id FROM epochs WHERE prefix = ?').pluck().get(msgId.slice(0, 20)) as number | undefined;
  return epoch === undefined ? null : epoch * MSG_EPOCH_FACTOR + Number.parseInt(msgId.slice(20), 16);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `2021-05-21 15:51:54.867`, local time. */
export function formatTraceTime(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

/** Inverse of formatTraceTime (local time), for clients and tests. */
export function parseTraceTime(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{3})$/.exec(text);
  if (m === null) return Number.NaN;
  const [, y, mo, d, h, mi, s, ms] = m.map(Number) as [number, number, number, number, number, number, number, number];
  return new Date(y, mo - 1, d, h, mi, s, ms).getTime();
}

const MSG_ID = /^[0-9a-fA-F]{32}$/;

function checkRange(q: TimeRange): void {
  if (typeof q.instanceId !== 'string' || q.instanceId === '') throw new TraceQueryError('InstanceId', 'is required');
  if (!Number.isSafeInteger(q.beginTime) || q.beginTime < 0) throw new TraceQueryError('BeginTime', 'must be ms since the epoch');
  if (!Number.isSafeInteger(q.endTime) || q.endTime < 0) throw new TraceQueryError('EndTime', 'must be ms since the epoch');
  if (q.endTime < q.beginTime) throw new TraceQueryError('EndTime', 'must not be before BeginTime');
}

/** An event's place in the store: batch, then position in it (time order). */
interface Cursor {
  readonly batch: number;
  readonly pos: number;
}

function encodeCursor(hit: Hit): string {
  return Buffer.from(`${hit.batch}.${hit.pos}`).toString('base64url');
}

function decodeCursor(text: string): Cursor {
  const m = /^(\d+)\.(\d+)$/.exec(Buffer.from(text, 'base64url').toString());
  if (m === null) throw new TraceQueryError('Cursor', 'is not a cursor this server returned');
  return { batch: Number(m[1]), pos: Number(m[2]) };
}

/** Whether `hit` comes after the cursor in the page order. */
function afterCursor(hit: Cursor, cursor: Cursor, reverse: boolean): boolean {
  const d = hit.batch !== cursor.batch ? hit.batch - cursor.batch : hit.pos - cursor.pos;
  return reverse ? d < 0 : d > 0;
}

interface PageSpec {
  readonly page: number;
  readonly size: number;
  readonly reverse: boolean;
  readonly cursor: Cursor | null;
}

function pageSpec(p: Paging): PageSpec {
  const page = p.currentPage ?? 1;
  const size = p.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(page) || page < 1) throw new TraceQueryError('CurrentPage', 'must be an integer from 1');
  if (!Number.isSafeInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw new TraceQueryError('PageSize', `must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  return { page, size, reverse: p.reverse === true, cursor: p.cursor === undefined || p.cursor === '' ? null : decodeCursor(p.cursor) };
}

interface Page {
  readonly total: number;
  readonly hits: Hit[];
  readonly next?: string;
}

/** One page of hits already in store order (oldest first). */
function pageOf(all: Hit[], spec: PageSpec): Page {
  const ordered = spec.reverse ? [...all].reverse() : all;
  let from: number;
  if (spec.cursor !== null) {
    const cursor = spec.cursor;
    from = ordered.findIndex((h) => afterCursor(h, cursor, spec.reverse));
    if (from < 0) from = ordered.length;
  } else {
    from = (spec.page - 1) * spec.size;
  }
  const hits = ordered.slice(from, from + spec.size);
  const more = from + spec.size < ordered.length;
  return { total: all.length, hits, ...(more && hits.length > 0 ? { next: encodeCursor(hits[hits.length - 1]!) } : {}) };
}

/**
 * Events of one client's channels within [begin, end], device or message events, as one page.
 * Counts come from the per-channel summaries of the batches that lie inside the range; only
 * the batches that straddle it, and those that hold the page, are decoded.
 */
function clientPage(reader: Reader, q: ClientTraceQuery, messages: boolean, spec: PageSpec): Page {
  const db = reader.db;
  const ids = db.prepare('SELECT id FROM channels WHERE instance_id = ? AND client_id = ?').pluck().all(q.instanceId, q.clientId) as number[];
  const range = ids.length === 0 ? null : reader.batchRange(q.beginTime, q.endTime);
  if (range === null) return { total: 0, hits: [] };
  // Per batch: events counted from summaries, or -1 when it must be decoded to count: the
  // batches that straddle the range, the oldest (purge may have stored it again with fewer
  // events) and those not summarized yet.
  const counts = new Map<number, number>();
  const oldest = db.prepare('SELECT min(id) FROM batches').pluck().get() as number;
  const below = summarizedBelow(db);
  const [lo, hi] = range;
  const blocks = db.prepare('SELECT data FROM channel_blocks WHERE channel = ? AND block BETWEEN ? AND ?').pluck();
  for (const id of ids) {
    for (const data of blocks.all(id, Math.floor(lo / BLOCK_BATCHES), Math.floor(hi / BLOCK_BATCHES)) as Buffer[]) {
      const e = new Float64Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
      for (let k = 0; k < e.length; k += BLOCK_ENTRY) {
        const batch = e[k]!;
        if (batch < lo || batch > hi || batch < oldest || batch >= below) continue;
        const first = e[k + 1]!;
        const last = e[k + 2]!;
        const n = messages ? e[k + 4]! : e[k + 3]!;
        if (n === 0 || last < q.beginTime || first > q.endTime) continue;
        const inside = first >= q.beginTime && last <= q.endTime && batch !== oldest;
        const known = counts.get(batch) ?? 0;
        counts.set(batch, !inside || known < 0 ? -1 : known + n);
      }
    }
  }
  const tail = db.prepare('SELECT id FROM batches WHERE id BETWEEN ? AND ?').pluck().all(Math.max(lo, below), hi) as number[];
  for (const id of tail) counts.set(id, -1);
  const channels = new Set(ids);
  const hitsOf = (batchId: number): Hit[] => {
    const b = reader.batch(batchId);
    const hits: Hit[] = [];
    if (b === null) return hits;
    for (let i = 0; i < b.count; i++) {
      const code = b.code[i]!;
      if (code >= MESSAGE_EVENT_BASE !== messages || !channels.has(b.channel[i]!)) continue;
      const time = b.timeAt(i);
      if (time < q.beginTime || time > q.endTime) continue;
      hits.push({ batch: batchId, pos: i, time, channel: b.channel[i]!, code, msg: b.msg[i]! });
    }
    return hits;
  };
  const order = [...counts.keys()].sort((a, b) => (spec.reverse ? b - a : a - b));
  let total = 0;
  for (const id of order) {
    let n = counts.get(id)!;
    if (n < 0) counts.set(id, (n = hitsOf(id).length));
    total += n;
  }
  // Walk to the page: skip whole batches by their counts, decode the ones that hold it.
  let skip = spec.cursor === null ? (spec.page - 1) * spec.size : 0;
  const hits: Hit[] = [];
  let more = false;
  for (const id of order) {
    const n = counts.get(id)!;
    if (n === 0) continue;
    const cursor = spec.cursor;
    if (cursor !== null && (spec.reverse ? id > cursor.batch : id < cursor.batch)) continue;
    if (skip >= n) {
      skip -= n;
      continue;
    }
    let batchHits = hitsOf(id);
    if (spec.reverse) batchHits.reverse();
    if (cursor !== null && id === cursor.batch) batchHits = batchHits.filter((h) => afterCursor(h, cursor, spec.reverse));
    for (const h of batchHits) {
      if (skip > 0) {
        skip--;
        continue;
      }
      if (hits.length === spec.size) {
        more = true;
        break;
      }
      hits.push(h);
    }
    if (more) break;
  }
  return { total, hits, ...(more ? { next: encodeCursor(hits[hits.length - 1]!) } : {}) };
}

/** Events of one message with one of `codes`, of the instance (and client) asked, in store order. */
function messageHits(reader: Reader, msg: number, q: MessageTraceQuery, codes: readonly number[], clientId?: string): Hit[] {
  const batches = reader.db
    .prepare(
      `SELECT b.id FROM batch_msgs m JOIN batches b ON b.id = m.batch
       WHERE m.bucket = ? AND b.last_time >= ? AND b.first_time <= ? ORDER BY b.id`,
    )
    .pluck()
    .all(Math.floor(msg / MSG_BUCKET), q.beginTime, q.endTime) as number[];
  const hits: Hit[] = [];
  for (const id of batches) {
    const b = reader.batch(id);
    if (b === null) continue;
    for (let i = 0; i < b.count; i++) {
      if (b.msg[i] !== msg || !codes.includes(b.code[i]!)) continue;
      const time = b.timeAt(i);
      if (time < q.beginTime || time > q.endTime) continue;
      const channel = reader.channel(b.channel[i]!);
      if (channel === null || channel.instanceId !== q.instanceId) continue;
      if (clientId !== undefined && channel.clientId !== clientId) continue;
      hits.push({ batch: id, pos: i, time, channel: b.channel[i]!, code: b.code[i]!, msg });
    }
  }
  return hits;
}

function pageInfo(spec: PageSpec, total: number, next: string | undefined): PageInfo {
  return { CurrentPage: spec.page, PageSize: spec.size, Total: total, ...(next === undefined ? {} : { NextCursor: next }) };
}

function deviceRecord(hit: Hit, reader: Reader): DeviceTraceRecord {
  const kind = traceKind(hit.code);
  return {
    Time: formatTraceTime(hit.time),
    ChannelId: reader.channel(hit.channel)?.channelId ?? '',
    Action: kind.action,
    ActionCode: kind.actionCode,
    ActionInfo: kind.actionInfo,
  };
}

function messageRecord(hit: Hit, reader: Reader): MessageTraceRecord {
  const kind = traceKind(hit.code);
  const channel = reader.channel(hit.channel);
  const info = channel?.info ?? '';
  return {
    Time: formatTraceTime(hit.time),
    MsgId: reader.msgId(hit.msg),
    ClientId: channel?.clientId ?? '',
    Action: kind.action,
    ActionCode: kind.actionCode,
    ActionInfo: info === '' ? kind.actionInfo : `${kind.actionInfo} (${info})`,
  };
}

/** QueryMqttTraceDevice: connect, close and disconnect events of one client. */
export function queryDeviceTrace(db: Database.Database | null, q: ClientTraceQuery): DeviceTracePage {
  checkRange(q);
  if (typeof q.clientId !== 'string' || q.clientId === '') throw new TraceQueryError('ClientId', 'is required');
  const spec = pageSpec(q);
  if (db === null) return { ...pageInfo(spec, 0, undefined), DeviceInfoList: [] };
  const reader = new Reader(db);
  const page = clientPage(reader, q, false, spec);
  return { ...pageInfo(spec, page.total, page.next), DeviceInfoList: page.hits.map((h) => deviceRecord(h, reader)) };
}

/** QueryMqttTraceMessageOfClient: messages one client published or was sent. */
export function queryMessageOfClient(db: Database.Database | null, q: ClientTraceQuery): MessageOfClientPage {
  checkRange(q);
  if (typeof q.clientId !== 'string' || q.clientId === '') throw new TraceQueryError('ClientId', 'is required');
  const spec = pageSpec(q);
  if (db === null) return { ...pageInfo(spec, 0, undefined), MessageOfClientList: [] };
  const reader = new Reader(db);
  const page = clientPage(reader, q, true, spec);
  return { ...pageInfo(spec, page.total, page.next), MessageOfClientList: page.hits.map((h) => messageRecord(h, reader)) };
}

function checkMsgId(msgId: string): string {
  if (typeof msgId !== 'string' || !MSG_ID.test(msgId)) throw new TraceQueryError('MsgId', 'must be 32 hexadecimal characters');
  return msgId.toLowerCase();
}

/** QueryMqttTraceMessagePublish: how a message came in (pub_mqtt / pub_mq), oldest first. */
export function queryMessagePublish(db: Database.Database | null, q: MessageTraceQuery): MessagePublishResult {
  checkRange(q);
  const msgId = checkMsgId(q.msgId);
  const msg = db === null ? null : msgNumber(db, msgId);
  if (db === null || msg === null) return { MessageTraceLists: [] };
  const reader = new Reader(db);
  const hits = messageHits(reader, msg, q, [TraceCode.PubMqtt, TraceCode.PubMq]).slice(0, MAX_PAGE_SIZE);
  return { MessageTraceLists: hits.map((h) => messageRecord(h, reader)) };
}

/**
 * QueryMqttTraceMessageSubscribe: where a message went: pushed to clients (sub / push_offline),
 * and Ferry's own rule hops (rule_out, rule_retry, rule_dead) and offline drops (drop_offline).
 */
export function queryMessageSubscribe(db: Database.Database | null, q: MessageSubscribeQuery): MessageSubscribePage {
  checkRange(q);
  const msgId = checkMsgId(q.msgId);
  const spec = pageSpec(q);
  const msg = db === null ? null : msgNumber(db, msgId);
  if (db === null || msg === null) return { ...pageInfo(spec, 0, undefined), MessageTraceLists: [] };
  const reader = new Reader(db);
  const clientId = q.clientId !== undefined && q.clientId !== '' ? q.clientId : undefined;
  const page = pageOf(messageHits(reader, msg, q, DELIVERY_CODES, clientId), spec);
  return { ...pageInfo(spec, page.total, page.next), MessageTraceLists: page.hits.map((h) => messageRecord(h, reader)) };
}
