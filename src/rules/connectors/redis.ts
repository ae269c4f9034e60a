/**
 * Redis Streams (ioredis).
 *
 * Target `redis://[user:pass@]host:6379[/db]?stream=S[&maxlen=N]`: one XADD per item, a batch in
 * one server-side script call (XADD_BATCH); fields are the property keys (strings) and `payload` (the bytes unchanged). Status
 * events: `eventType`, `clientId` and `payload` (the reference JSON). With `maxlen` the stream is
 * trimmed approximately (`MAXLEN ~ N`, Redis' cheap trimming: it keeps at least N entries).
 * Commands fail at once while disconnected (no offline queue), so a dead Redis is a failed
 * outcome, not a hang; ioredis reconnects in the background.
 *
 * Source `redis://...?stream=S&group=G[&consumer=C]`: consumer group G (created at the end of the
 * stream, with MKSTREAM, when missing), consumer name C (default `ferry`). Entries are XACKed after
 * their handler resolved. Entries whose handler failed stay pending and are read again (from the
 * group's pending list, after retryDelayMs) — as are this consumer's pending entries after a restart.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROPERTY, inboundItem, messageProperties, statusBody } from './properties.js';
import {
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_TIMEOUT_MS,
  HealthTracker,
  InFlightGate,
  OK,
  backoffMs,
  errorText,
  failAll,
  failed,
  withTimeout,
} from './shared.js';
import { UrlParams, redactUrl } from './url.js';
import type { ConnectorFactory } from './registry.js';
import type {
  ConnectorHealth,
  DeliveryOutcome,
  InboundHandler,
  SourceConnector,
  SourceOptions,
  SourceRecord,
  TargetConnector,
  TargetItem,
  TargetOptions,
} from './types.js';

const PAYLOAD_FIELD = 'payload';
/** How long one XREADGROUP blocks; bounds how fast stop() returns. */
const BLOCK_MS = 1_000;

interface RedisTargetConfig {
  stream: string;
  maxlen: number | undefined;
}

interface RedisSourceConfig {
  stream: string;
  group: string;
  consumer: string;
}

function checkDb(url: URL, params: UrlParams): void {
  if (url.hostname === '') throw params.error('host', 'needs a host (redis://host:6379/0)');
  if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d{1,2}$/.test(url.pathname)) {
    throw params.error('path', `the path must be a database number (/0../15), got ${JSON.stringify(url.pathname)}`);
  }
}

export function parseRedisTarget(url: URL): RedisTargetConfig {
  const params = new UrlParams(url, 'Redis target');
  const stream = params.required('stream');
  const maxlen = params.integer('maxlen', 1, Number.MAX_SAFE_INTEGER);
  params.rejectUnknown();
  checkDb(url, params);
  return { stream, maxlen };
}

export function parseRedisSource(url: URL): RedisSourceConfig {
  const params = new UrlParams(url, 'Redis source');
  const stream = params.required('stream');
  const group = params.required('group');
  const consumer = params.optional('consumer') || 'ferry';
  params.rejectUnknown();
  checkDb(url, params);
  return { stream, group, consumer };
}

function clientOptions(url: URL, timeoutMs: number): RedisOptions {
  const options: RedisOptions = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || '6379'),
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    connectionName: 'ferry-rules',
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
  };
  if (url.username !== '') options.username = decodeURIComponent(url.username);
  if (url.password !== '') options.password = decodeURIComponent(url.password);
  return options;
}

/**
 * XADD every entry of a batch in one call. ARGV[1]: maxlen ('' = none); ARGV[2]: the whole batch
 * packed (see packBatch): per entry a u32 count of field/value strings, then each as a u32
 * length and its bytes. One packed argument instead of ~20 per message: building a command of
 * a thousand arguments was most of the connector's CPU, on the broker's thread; unpacking in
 * Lua (struct) costs Redis' own thread instead. Returns the number of entries added when all
 * were; else one reply per entry, in order: 1, or an error for that entry alone (pcall), so one
 * bad entry does not hide the others' fate. (Not the entry ids: parsing 500 of them per batch
 * was a sizeable part of the client's CPU, and nothing reads them.)
 */
const XADD_BATCH = `
local key, maxlen, data = KEYS[1], ARGV[1], ARGV[2]
local out, pos, n, total, failed = {}, 1, 0, #data, false
while pos <= total do
  local count
  count, pos = struct.unpack('>I4', data, pos)
  local args = {}
  if maxlen ~= '' then args = {'MAXLEN', '~', maxlen} end
  args[#args + 1] = '*'
  for j = 1, count do
    local len
    len, pos = struct.unpack('>I4', data, pos)
    args[#args + 1] = string.sub(data, pos, pos + len - 1)
    pos = pos + len
  end
  n = n + 1
  local ok, res = pcall(redis.call, 'XADD', key, unpack(args))
  if ok then out[n] = 1 else out[n] = { err = type(res) == 'table' and res.err or tostring(res) }; failed = true end
end
if failed then return out end
return n
`;

/** Packs a batch's field/value lists for XADD_BATCH: u32 count, then u32 length + bytes each. */
export function packBatch(entries: ReadonlyArray<ReadonlyArray<string | Buffer>>): Buffer {
  let bound = 0;
  for (const fields of entries) {
    bound += 4;
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    for (const f of fields) bound += 4 + (typeof f === 'string' ? f.length * 3 : f.length);
  }
  const out = Buffer.allocUnsafe(bound);
  let at = 0;
  for (const fields of entries) {
    at = out.writeUInt32BE(fields.length, at);
    for (const f of fields) {
      const lengthAt = at;
      at += 4;
      const length = typeof f === 'string' ? out.write(f, at, 'utf8') : f.copy(out, at);
      out.writeUInt32BE(length, lengthAt);
      at += length;
    }
  }
  return out.subarray(0, at);
}

/** A field name as packBatch writes it: u32 length + bytes, ready to copy. */
function packedKey(key: string): Buffer {
  const bytes = Buffer.from(key, 'utf8');
  const out = Buffer.allocUnsafe(4 + bytes.length);
  out.writeUInt32BE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

const KEY = {
  clientId: packedKey(PROPERTY.clientId),
  topic: packedKey(PROPERTY.topic),
  parentTopic: packedKey(PROPERTY.parentTopic),
  secondTopic: packedKey(PROPERTY.secondTopic),
  qos: packedKey(PROPERTY.qos),
  cleanSession: packedKey(PROPERTY.cleanSession),
  bornTime: packedKey(PROPERTY.bornTime),
  msgId: packedKey(PROPERTY.msgId),
  userProperty: packedKey(PROPERTY.userProperty),
  contentType: packedKey(PROPERTY.contentType),
  expiryInterval: packedKey(PROPERTY.expiryInterval),
  eventType: packedKey(PROPERTY.eventType),
  payload: packedKey(PAYLOAD_FIELD),
};
const FIXED_KEY_BYTES = [KEY.clientId, KEY.topic, KEY.parentTopic, KEY.secondTopic, KEY.qos, KEY.cleanSession, KEY.bornTime, KEY.msgId, KEY.payload].reduce(
  (sum, k) => sum + k.length,
  0,
);
const OPTIONAL_KEY_BYTES = KEY.userProperty.length + KEY.contentType.length + KEY.expiryInterval.length;

/**
 * The batch packed for XADD_BATCH straight from the items: the same bytes as packBatch over
 * [messageProperties(m) as key/value pairs, 'payload', m.payload] (status events: eventType,
 * clientId, payload), without the per-message property object, field array and key strings —
 * most of what the connector allocated per message.
 */
export function packItems(batch: readonly TargetItem[]): Buffer {
  let bound = 0;
  for (const item of batch) {
    if (item.type === 'status') {
      bound += 4 + KEY.eventType.length + KEY.clientId.length + KEY.payload.length + 12 + 3 * item.event.eventType.length + 3 * item.event.clientId.length + 512;
      continue;
    }
    const m = item.message;
    // Values: clientId, topic twice (topic, parent + second), qos, flag, bornTime, msgId, payload.
    bound += 4 + FIXED_KEY_BYTES + 9 * 4 + 3 * (m.clientId.length + 2 * m.topic.length + m.msgId.length) + 1 + 5 + 20 + m.payload.length;
    if (m.userProperties !== undefined || m.contentType !== undefined || m.messageExpiryInterval !== undefined) {
      bound += OPTIONAL_KEY_BYTES + 12 + 3 * ((m.contentType?.length ?? 0) + 16) + 6 * JSON.stringify(m.userProperties ?? []).length;
    }
  }
  const out = Buffer.allocUnsafe(bound);
  let at = 0;
  const key = (k: Buffer): void => {
    at += k.copy(out, at);
  };
  const str = (v: string): void => {
    const length = out.write(v, at + 4, 'utf8');
    out.writeUInt32BE(length, at);
    at += 4 + length;
  };
  const bytes = (v: Uint8Array): void => {
    out.writeUInt32BE(v.length, at);
    out.set(v, at + 4);
    at += 4 + v.length;
  };
  for (const item of batch) {
    if (item.type === 'status') {
      const body = statusBody(item.event);
      if (at + 12 + KEY.eventType.length + KEY.clientId.length + KEY.payload.length + 3 * (item.event.eventType.length + item.event.clientId.length) + body.length > out.length) {
        // The bound above assumed a short status body; a long one takes the general path.
        return packBatch(batch.map(fieldsOf));
      }
      at = out.writeUInt32BE(6, at);
      key(KEY.eventType);
      str(item.event.eventType);
      key(KEY.clientId);
      str(item.event.clientId);
      key(KEY.payload);
      bytes(body);
      continue;
    }
    const m = item.message;
    const hasUp = m.userProperties !== undefined && m.userProperties.length > 0;
    const count = 18 + (hasUp ? 2 : 0) + (m.contentType !== undefined ? 2 : 0) + (m.messageExpiryInterval !== undefined ? 2 : 0);
    at = out.writeUInt32BE(count, at);
    const slash = m.topic.indexOf('/');
    key(KEY.clientId);
    str(m.clientId);
    key(KEY.topic);
    str(m.topic);
    key(KEY.parentTopic);
    str(slash < 0 ? m.topic : m.topic.slice(0, slash));
    key(KEY.secondTopic);
    str(slash < 0 ? '' : m.topic.slice(slash));
    key(KEY.qos);
    str(m.qos === 0 ? '0' : m.qos === 1 ? '1' : '2');
    key(KEY.cleanSession);
    str(m.cleanSession ? 'true' : 'false');
    key(KEY.bornTime);
    str(String(m.bornTime));
    key(KEY.msgId);
    str(m.msgId);
    if (hasUp) {
      key(KEY.userProperty);
      str(JSON.stringify(m.userProperties!.map((p) => ({ key: p.key, value: p.value }))));
    }
    if (m.contentType !== undefined) {
      key(KEY.contentType);
      str(m.contentType);
    }
    if (m.messageExpiryInterval !== undefined) {
      key(KEY.expiryInterval);
      str(String(m.messageExpiryInterval));
    }
    key(KEY.payload);
    bytes(m.payload);
  }
  return out.subarray(0, at);
}

/** An item's XADD fields as strings and bytes (packBatch's input). */
export function fieldsOf(item: TargetItem): (string | Buffer)[] {
  if (item.type === 'status') {
    return [PROPERTY.eventType, item.event.eventType, PROPERTY.clientId, item.event.clientId, PAYLOAD_FIELD, statusBody(item.event)];
  }
  const props = messageProperties(item.message);
  const fields: (string | Buffer)[] = [];
  for (const key in props) fields.push(key, props[key]!);
  fields.push(PAYLOAD_FIELD, item.message.payload);
  return fields;
}

type BatchRedis = Redis & { ferryXaddBatch(stream: string, maxlen: string | number, packed: Buffer): Promise<unknown> };

export class RedisTarget implements TargetConnector {
  readonly url: string;
  /** One connection: batches reach the server in the order they are handed over. */
  readonly ordered = true;
  private readonly config: RedisTargetConfig;
  private readonly health_: HealthTracker;
  private readonly timeoutMs: number;
  private readonly client: BatchRedis;
  private connecting: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly parsed: URL,
    options: TargetOptions,
  ) {
    this.url = redactUrl(parsed);
    this.config = parseRedisTarget(parsed);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.health_ = new HealthTracker(this.url, 'redis', options.logger);
    this.client = new Redis({ ...clientOptions(parsed, this.timeoutMs), enableOfflineQueue: false }) as BatchRedis;
    // EVALSHA, falling back to EVAL when Redis has not seen the script (ioredis does that).
    this.client.defineCommand('ferryXaddBatch', { numberOfKeys: 1, lua: XADD_BATCH });
    this.client.on('ready', () => this.health_.connected());
    this.client.on('error', (err: unknown) => this.health_.error(errorText(err, this.parsed), 'connecting'));
    this.client.on('end', () => this.health_.error('connection closed'));
  }

  async start(): Promise<void> {
    await this.ensure().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.health_.stopped();
    this.client.disconnect();
  }

  async health(): Promise<ConnectorHealth> {
    return this.health_.snapshot();
  }

  async deliver(batch: readonly TargetItem[]): Promise<DeliveryOutcome[]> {
    if (batch.length === 0) return [];
    if (this.stopped) return failAll(batch.length, 'connector stopped');
    try {
      await this.ensure();
    } catch (err) {
      return failAll(batch.length, `cannot connect: ${errorText(err, this.parsed)}`);
    }
    // One EVALSHA per batch (XADD_BATCH): a pipeline of XADDs costs the client 2-3x the CPU.
    let replies: unknown;
    try {
      replies = await withTimeout(this.client.ferryXaddBatch(this.config.stream, this.config.maxlen ?? '', packItems(batch)), this.timeoutMs, 'XADD');
    } catch (err) {
      const reason = errorText(err, this.parsed);
      this.health_.noteError(reason);
      // No answer, or the call as a whole failed (per-entry errors come back in the reply): retry.
      return failAll(batch.length, reason);
    }
    // Everything added: the count alone.
    if (replies === batch.length) return Array.from({ length: batch.length }, () => OK);
    const list = Array.isArray(replies) ? (replies as unknown[]) : [];
    const results = batch.map((_, i): DeliveryOutcome => {
      const reply = list[i];
      if (reply === 1 || typeof reply === 'string' || Buffer.isBuffer(reply)) return OK;
      if (reply instanceof Error) {
        // WRONGTYPE and friends are the stream's fault, not the connection's: retrying cannot help.
        const text = errorText(reply, this.parsed);
        return failed(text, !/^(WRONGTYPE|ERR )/.test(text));
      }
      return failed('no reply for this entry');
    });
    const firstFailure = results.find((r) => !r.ok);
    if (firstFailure && !firstFailure.ok) this.health_.noteError(firstFailure.reason);
    return results;
  }

  /** Connect once (lazyConnect); afterwards ioredis reconnects by itself. */
  private async ensure(): Promise<void> {
    const status = this.client.status;
    if (status === 'ready') return;
    // While ioredis is between retries, fail fast: the caller backs off and tries again.
    if (status === 'reconnecting' || status === 'close') throw new Error(`not connected (${status})`);
    this.connecting ??= this.waitReady().finally(() => {
      this.connecting = undefined;
    });
    await this.connecting;
  }

  private async waitReady(): Promise<void> {
    const client = this.client;
    this.health_.connecting();
    const ready = new Promise<void>((resolve, reject) => {
      const onReady = (): void => {
        client.off('error', onError);
        resolve();
      };
      const onError = (err: unknown): void => {
        client.off('ready', onReady);
        reject(err instanceof Error ? err : new Error(String(err)));
      };
      client.once('ready', onReady);
      client.once('error', onError);
    });
    ready.catch(() => undefined);
    if (client.status === 'wait' || client.status === 'end') client.connect().catch(() => undefined);
    await withTimeout(ready, this.timeoutMs, 'connect');
  }
}

type StreamEntry = [id: Buffer, fields: Buffer[]];
type StreamReply = [stream: Buffer, entries: StreamEntry[]][] | null;

export class RedisSource implements SourceConnector {
  readonly url: string;
  private readonly config: RedisSourceConfig;
  private readonly health_: HealthTracker;
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  private readonly retryDelayMs: number;
  /** Blocking reads need a connection of their own; acks go on the second one. */
  private readonly reader: Redis;
  private readonly acker: Redis;
  private handler: InboundHandler | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly gate: InFlightGate;
  /** Ids handed to a handler and not settled yet: not offered again while re-reading pending. */
  private readonly busy = new Set<string>();
  /** When to look at the pending list again (a handler failed, or at start). */
  private recheckPendingAt = 0;

  constructor(
    private readonly parsed: URL,
    private readonly options: SourceOptions,
  ) {
    this.url = redactUrl(parsed);
    this.config = parseRedisSource(parsed);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.health_ = new HealthTracker(this.url, 'redis', options.logger);
    this.gate = new InFlightGate(this.maxInFlight);
    const base = clientOptions(parsed, this.timeoutMs);
    this.reader = new Redis({ ...base, maxRetriesPerRequest: null });
    this.acker = new Redis(base);
    for (const client of [this.reader, this.acker]) {
      client.on('error', (err: unknown) => this.health_.error(errorText(err, this.parsed), 'connecting'));
    }
  }

  async start(): Promise<void> {
    // Connection happens in consume().
  }

  consume(handler: InboundHandler): void {
    if (this.handler) throw new Error('consume() was already called on this source');
    this.handler = handler;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.health_.stopped();
    this.reader.disconnect();
    // Bounded: a command queued while ioredis is reconnecting (server unreachable) never settles
    // after disconnect(), so the loop may never see `stopped`; it holds nothing worth waiting for.
    await withTimeout(this.loop ?? Promise.resolve(), 2 * BLOCK_MS, 'read loop').catch(() => undefined);
    // Let running handlers finish and ack (bounded: a stuck handler must not block stop()).
    await withTimeout(this.gate.idle(), this.timeoutMs, 'handlers').catch(() => undefined);
    this.acker.disconnect();
  }

  async health(): Promise<ConnectorHealth> {
    return this.health_.snapshot();
  }

  private async run(): Promise<void> {
    let attempt = 0;
    let groupReady = false;
    while (!this.stopped) {
      try {
        if (this.reader.status === 'wait') await this.reader.connect();
        if (this.acker.status === 'wait') await this.acker.connect();
        if (!groupReady) {
          await this.createGroup();
          groupReady = true;
        }
        await this.readOnce();
        this.health_.connected();
        attempt = 0;
      } catch (err) {
        if (this.stopped) break;
        const text = errorText(err, this.parsed);
        if (/NOGROUP/.test(text)) groupReady = false; // the stream or group was deleted: create again
        this.health_.error(text, 'connecting');
        await sleep(backoffMs(attempt++));
      }
    }
  }

  private async createGroup(): Promise<void> {
    const { stream, group } = this.config;
    try {
      await this.reader.xgroup('CREATE', stream, group, '$', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test(String((err as Error).message))) throw err;
    }
  }

  /** One read: this consumer's pending entries when due, else new ones (blocking up to BLOCK_MS). */
  private async readOnce(): Promise<void> {
    const { stream, group, consumer } = this.config;
    await this.gate.acquire();
    this.gate.release(); // only wait for room; each entry takes its own slot below
    const count = this.maxInFlight;
    const pendingDue = Date.now() >= this.recheckPendingAt;
    let reply: StreamReply;
    if (pendingDue) {
      // '0' = this consumer's delivered-but-unacked entries (failed handlers, or before a restart).
      reply = (await this.reader.callBuffer('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, '0')) as StreamReply;
      const entries = (reply?.[0]?.[1] ?? []).filter(([id]) => !this.busy.has(id.toString()));
      if (entries.length === 0) {
        this.recheckPendingAt = Number.POSITIVE_INFINITY; // nothing left: new entries only, until a failure
        return;
      }
      this.recheckPendingAt = Date.now() + this.retryDelayMs;
      await this.dispatch(entries, true);
      return;
    }
    reply = (await this.reader.callBuffer(
      'XREADGROUP',
      'GROUP',
      group,
      consumer,
      'COUNT',
      count,
      'BLOCK',
      BLOCK_MS,
      'STREAMS',
      stream,
      '>',
    )) as StreamReply;
    await this.dispatch(reply?.[0]?.[1] ?? [], false);
  }

  private async dispatch(entries: StreamEntry[], redelivered: boolean): Promise<void> {
    for (const [idBuf, fields] of entries) {
      if (this.stopped) return;
      const id = idBuf.toString();
      await this.gate.acquire();
      this.busy.add(id);
      this.handle(id, fields, redelivered)
        .finally(() => {
          this.busy.delete(id);
          this.gate.release();
        })
        .catch((err: unknown) => this.health_.noteError(`handler failed: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  private async handle(id: string, fields: Buffer[], redelivered: boolean): Promise<void> {
    const properties: Record<string, string> = {};
    let payload: Buffer = Buffer.alloc(0);
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const key = fields[i]!.toString();
      if (key === PAYLOAD_FIELD) payload = fields[i + 1]!;
      else properties[key] = fields[i + 1]!.toString();
    }
    const record: SourceRecord = { id, properties, payload, redelivered };
    const item = inboundItem(record, this.options.parentTopic);
    const handler = this.handler;
    if (!handler) return;
    try {
      await handler(item);
    } catch (err) {
      this.health_.noteError(`handler failed: ${err instanceof Error ? err.message : String(err)}`);
      // Left pending; offered again from the pending list once retryDelayMs has passed.
      this.recheckPendingAt = Math.min(this.recheckPendingAt, Date.now() + this.retryDelayMs);
      return;
    }
    try {
      await withTimeout(this.acker.xack(this.config.stream, this.config.group, id), this.timeoutMs, 'XACK');
    } catch (err) {
      // Not acked: it stays pending and comes again (at least once).
      this.health_.noteError(`XACK failed: ${errorText(err, this.parsed)}`);
      this.recheckPendingAt = Math.min(this.recheckPendingAt, Date.now() + this.retryDelayMs);
    }
  }
}

export const redisConnector: ConnectorFactory = {
  target: {
    check: (url) => void parseRedisTarget(url),
    create: (url, options) => new RedisTarget(url, options),
  },
  source: {
    check: (url) => void parseRedisSource(url),
    create: (url, options) => new RedisSource(url, options),
  },
};
