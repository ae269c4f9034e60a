/**
 * Trace queries, shaped like the managed service's QueryMqttTrace* actions (reference §4.2):
 * the same field names (DeviceInfoList, MessageOfClientList, MessageTraceLists; Time, ChannelId,
 * MsgId, ClientId, Action, ActionCode, ActionInfo), paging from CurrentPage 1 with PageSize 1-100.
 * Besides page numbers, every paged query takes a `cursor` (keyset paging: the `NextCursor` of
 * the previous page), which stays fast however deep one pages.
 *
 * Time: BeginTime/EndTime are ms since the epoch, both inclusive; `Time` in records is
 * `YYYY-MM-DD hh:mm:ss.SSS` in the server's local time zone (as the managed service shows it).
 */
import type Database from 'better-sqlite3';
import { FacadeError } from '../../management/errors.js';
import { MESSAGE_EVENT_BASE, TraceCode, traceKind } from './codes.js';
import { formatTraceId } from './recorder.js';
import { MSG_EPOCH_FACTOR } from './trace-db.js';

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

interface Row {
  id: number;
  time: number;
  client_id: string;
  channel_id: string;
  code: number;
  msg: number;
}

const SELECT = 'SELECT t.rowid AS id, t.time, t.code, t.msg, c.client_id, c.channel_id FROM traces t JOIN channels c ON c.id = t.channel';

/** MsgId text of stored msg numbers (epoch prefix + counter), per query. */
class MsgIds {
  private prefixes: Map<number, string> | null = null;
  constructor(private readonly db: Database.Database) {}

  text(msg: number): string {
    if (msg === 0) return '';
    this.prefixes ??= new Map(
      (this.db.prepare('SELECT id, prefix FROM epochs').all() as Array<{ id: number; prefix: string }>).map((e) => [e.id, e.prefix]),
    );
    const epoch = Math.floor(msg / MSG_EPOCH_FACTOR);
    return formatTraceId(this.prefixes.get(epoch) ?? '0'.repeat(20), msg - epoch * MSG_EPOCH_FACTOR);
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

interface Cursor {
  readonly time: number;
  readonly id: number;
}

function encodeCursor(row: Row): string {
  return Buffer.from(`${row.time}.${row.id}`).toString('base64url');
}

function decodeCursor(text: string): Cursor {
  const m = /^(\d+)\.(\d+)$/.exec(Buffer.from(text, 'base64url').toString());
  if (m === null) throw new TraceQueryError('Cursor', 'is not a cursor this server returned');
  return { time: Number(m[1]), id: Number(m[2]) };
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

/** Runs `where` (with its params) as a count and as one page. */
function paged(db: Database.Database, where: string, params: unknown[], spec: PageSpec): { total: number; rows: Row[]; next?: string } {
  const total = (db.prepare(`SELECT count(*) AS n FROM traces t JOIN channels c ON c.id = t.channel WHERE ${where}`).get(...params) as { n: number }).n;
  const order = spec.reverse ? 'DESC' : 'ASC';
  let sql = `${SELECT} WHERE ${where}`;
  const args = [...params];
  if (spec.cursor !== null) {
    const cmp = spec.reverse ? '<' : '>';
    sql += ` AND (t.time ${cmp} ? OR (t.time = ? AND t.rowid ${cmp} ?))`;
    args.push(spec.cursor.time, spec.cursor.time, spec.cursor.id);
  }
  sql += ` ORDER BY t.time ${order}, t.rowid ${order} LIMIT ?`;
  args.push(spec.size + 1);
  if (spec.cursor === null) {
    sql += ' OFFSET ?';
    args.push((spec.page - 1) * spec.size);
  }
  const rows = db.prepare(sql).all(...args) as Row[];
  if (rows.length > spec.size) {
    rows.length = spec.size;
    return { total, rows, next: encodeCursor(rows[rows.length - 1]!) };
  }
  return { total, rows };
}

function pageInfo(spec: PageSpec, total: number, next: string | undefined): PageInfo {
  return { CurrentPage: spec.page, PageSize: spec.size, Total: total, ...(next === undefined ? {} : { NextCursor: next }) };
}

function deviceRecord(row: Row): DeviceTraceRecord {
  const kind = traceKind(row.code);
  return { Time: formatTraceTime(row.time), ChannelId: row.channel_id, Action: kind.action, ActionCode: kind.actionCode, ActionInfo: kind.actionInfo };
}

function messageRecord(row: Row, ids: MsgIds): MessageTraceRecord {
  const kind = traceKind(row.code);
  return {
    Time: formatTraceTime(row.time),
    MsgId: ids.text(row.msg),
    ClientId: row.client_id,
    Action: kind.action,
    ActionCode: kind.actionCode,
    ActionInfo: kind.actionInfo,
  };
}

const CLIENT_WHERE = 'c.instance_id = ? AND c.client_id = ? AND t.time >= ? AND t.time <= ?';

/** QueryMqttTraceDevice: connect, close and disconnect events of one client. */
export function queryDeviceTrace(db: Database.Database | null, q: ClientTraceQuery): DeviceTracePage {
  checkRange(q);
  if (typeof q.clientId !== 'string' || q.clientId === '') throw new TraceQueryError('ClientId', 'is required');
  const spec = pageSpec(q);
  if (db === null) return { ...pageInfo(spec, 0, undefined), DeviceInfoList: [] };
  const page = paged(db, `${CLIENT_WHERE} AND t.code < ${MESSAGE_EVENT_BASE}`, [q.instanceId, q.clientId, q.beginTime, q.endTime], spec);
  return { ...pageInfo(spec, page.total, page.next), DeviceInfoList: page.rows.map(deviceRecord) };
}

/** QueryMqttTraceMessageOfClient: messages one client published or was sent. */
export function queryMessageOfClient(db: Database.Database | null, q: ClientTraceQuery): MessageOfClientPage {
  checkRange(q);
  if (typeof q.clientId !== 'string' || q.clientId === '') throw new TraceQueryError('ClientId', 'is required');
  const spec = pageSpec(q);
  if (db === null) return { ...pageInfo(spec, 0, undefined), MessageOfClientList: [] };
  const page = paged(db, `${CLIENT_WHERE} AND t.code >= ${MESSAGE_EVENT_BASE}`, [q.instanceId, q.clientId, q.beginTime, q.endTime], spec);
  const ids = new MsgIds(db);
  return { ...pageInfo(spec, page.total, page.next), MessageOfClientList: page.rows.map((row) => messageRecord(row, ids)) };
}

function checkMsgId(msgId: string): string {
  if (typeof msgId !== 'string' || !MSG_ID.test(msgId)) throw new TraceQueryError('MsgId', 'must be 32 hexadecimal characters');
  return msgId.toLowerCase();
}

const MSG_WHERE = 't.msg = ? AND c.instance_id = ? AND t.time >= ? AND t.time <= ?';

/** QueryMqttTraceMessagePublish: how a message came in (pub_mqtt / pub_mq), oldest first. */
export function queryMessagePublish(db: Database.Database | null, q: MessageTraceQuery): MessagePublishResult {
  checkRange(q);
  const msgId = checkMsgId(q.msgId);
  const msg = db === null ? null : msgNumber(db, msgId);
  if (db === null || msg === null) return { MessageTraceLists: [] };
  const rows = db
    .prepare(
      `${SELECT} WHERE ${MSG_WHERE} AND t.code IN (${TraceCode.PubMqtt}, ${TraceCode.PubMq}) ORDER BY t.time, t.rowid LIMIT ${MAX_PAGE_SIZE}`,
    )
    .all(msg, q.instanceId, q.beginTime, q.endTime) as Row[];
  const ids = new MsgIds(db);
  return { MessageTraceLists: rows.map((row) => messageRecord(row, ids)) };
}

/** QueryMqttTraceMessageSubscribe: who a message was pushed to (sub / push_offline). */
export function queryMessageSubscribe(db: Database.Database | null, q: MessageSubscribeQuery): MessageSubscribePage {
  checkRange(q);
  const msgId = checkMsgId(q.msgId);
  const spec = pageSpec(q);
  const msg = db === null ? null : msgNumber(db, msgId);
  if (db === null || msg === null) return { ...pageInfo(spec, 0, undefined), MessageTraceLists: [] };
  let where = `${MSG_WHERE} AND t.code IN (${TraceCode.Sub}, ${TraceCode.PushOffline})`;
  const params: unknown[] = [msg, q.instanceId, q.beginTime, q.endTime];
  if (q.clientId !== undefined && q.clientId !== '') {
    where += ' AND c.client_id = ?';
    params.push(q.clientId);
  }
  const page = paged(db, where, params, spec);
  const ids = new MsgIds(db);
  return { ...pageInfo(spec, page.total, page.next), MessageTraceLists: page.rows.map((row) => messageRecord(row, ids)) };
}
