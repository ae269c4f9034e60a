/**
 * NATS JetStream (@nats-io/transport-node + @nats-io/jetstream).
 *
 * Target `nats://[user:pass@|token@]host:4222?subject=P`: each item is a JetStream publish to
 * `P.<topic levels>` (MQTT `/` becomes `.`; for status: `P.<eventType>`), delivered when the
 * stream acknowledges it. A level that is not a valid NATS token (empty, or containing `.`, `*`,
 * `>` or white space) has those characters replaced by `_` (an empty level becomes `_`); the exact
 * topic is always in the `topic` header. The stream capturing P.> is the operator's.
 *
 * Source `nats://...?stream=S&consumer=C`: the durable pull consumer C on stream S (created with
 * explicit acks when it does not exist); a message is acked when its handler resolved and nak'ed
 * with a delay of retryDelayMs when it rejected. The client reconnects by itself.
 */
import { connect, createInbox, headers, type Msg, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { setTimeout as sleep } from 'node:timers/promises';
import { inboundItem, messageProperties, statusBody } from './properties.js';
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

/** A subject prefix: dot-separated tokens, no wildcards, no white space. */
const SUBJECT_PREFIX = /^[^.*>\s]+(\.[^.*>\s]+)*$/;
/** Stream and consumer names: no white space, `.`, `*`, `>`, path separators. */
const JS_NAME = /^[^.*>\s/\\]+$/;

export function parseNatsTarget(url: URL): { subject: string } {
  const params = new UrlParams(url, 'NATS target');
  const subject = params.required('subject');
  if (!SUBJECT_PREFIX.test(subject)) {
    throw params.error('subject', `"subject" must be a subject prefix such as ferry.out (no wildcards, empty tokens or spaces), got ${JSON.stringify(subject)}`);
  }
  params.rejectUnknown();
  checkHost(url, params);
  return { subject };
}

export function parseNatsSource(url: URL): { stream: string; consumer: string } {
  const params = new UrlParams(url, 'NATS source');
  const stream = params.required('stream');
  const consumer = params.required('consumer');
  for (const [name, value] of [['stream', stream], ['consumer', consumer]] as const) {
    if (!JS_NAME.test(value)) throw params.error(name, `"${name}" must be a JetStream name (no spaces, ".", "*", ">", "/"), got ${JSON.stringify(value)}`);
  }
  params.rejectUnknown();
  checkHost(url, params);
  return { stream, consumer };
}

function checkHost(url: URL, params: UrlParams): void {
  if (url.hostname === '') throw params.error('host', 'needs a host (nats://host:4222)');
  if (url.pathname !== '' && url.pathname !== '/') throw params.error('path', 'takes no path (put options in the query)');
}

/** `sensors/a/b` under prefix `ferry.out` → `ferry.out.sensors.a.b`. */
export function natsSubject(prefix: string, topic: string): string {
  return `${prefix}.${topic
    .split('/')
    .map((level) => (level === '' ? '_' : level.replace(/[.*>\s]/g, '_')))
    .join('.')}`;
}

function connectOptions(url: URL, timeoutMs: number): NodeConnectionOptions {
  const options: NodeConnectionOptions = {
    servers: `${url.hostname.replace(/^\[|\]$/g, '')}:${url.port || '4222'}`,
    name: 'ferry-rules',
    timeout: timeoutMs,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  };
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  if (user !== '' && pass !== '') {
    options.user = user;
    options.pass = pass;
  } else if (user !== '') {
    options.token = user;
  }
  return options;
}

export class NatsTarget implements TargetConnector {
  readonly url: string;
  /** One connection: batches reach the server in the order they are handed over. */
  readonly ordered = true;
  private readonly subject: string;
  private readonly health_: HealthTracker;
  private readonly timeoutMs: number;
  private connection: NatsConnection | undefined;
  private opening: Promise<NatsConnection> | undefined;
  private stopped = false;
  /** Publish acknowledgements arrive on `<prefix>.<id>`; ids come from `sequence`. */
  private replies: { prefix: string; pending: Map<string, (reply: Msg) => void> } | undefined;
  private sequence = 0;

  constructor(
    private readonly parsed: URL,
    options: TargetOptions,
  ) {
    this.url = redactUrl(parsed);
    this.subject = parseNatsTarget(parsed).subject;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.health_ = new HealthTracker(this.url, 'nats', options.logger);
  }

  async start(): Promise<void> {
    try {
      await this.open();
    } catch {
      // Reported by health(); the next deliver() tries again.
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.health_.stopped();
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await connection.close().catch(() => undefined);
  }

  async health(): Promise<ConnectorHealth> {
    return this.health_.snapshot();
  }

  async deliver(batch: readonly TargetItem[]): Promise<DeliveryOutcome[]> {
    if (batch.length === 0) return [];
    if (this.stopped) return failAll(batch.length, 'connector stopped');
    let connection: NatsConnection;
    try {
      connection = await this.open();
    } catch (err) {
      return failAll(batch.length, `cannot connect: ${errorText(err, this.parsed)}`);
    }
    const replies = this.replies;
    if (!replies) return failAll(batch.length, 'not connected');
    const results: (DeliveryOutcome | undefined)[] = Array.from({ length: batch.length }, () => undefined);
    const ids: string[] = [];
    let remaining = batch.length;
    let done: () => void = () => undefined;
    const allAcked = new Promise<void>((resolve) => {
      done = resolve;
    });
    for (const [i, item] of batch.entries()) {
      const h = headers();
      let subject: string;
      let data: Uint8Array;
      if (item.type === 'status') {
        subject = `${this.subject}.${item.event.eventType}`;
        data = statusBody(item.event);
        h.set('eventType', item.event.eventType);
        h.set('clientId', item.event.clientId);
      } else {
        subject = natsSubject(this.subject, item.message.topic);
        data = item.message.payload;
        for (const [key, value] of Object.entries(messageProperties(item.message))) h.set(key, value);
      }
      const id = String(this.sequence++);
      ids.push(id);
      replies.pending.set(id, (reply) => {
        results[i] = pubAckOutcome(reply, subject);
        if (--remaining === 0) done();
      });
      try {
        connection.publish(subject, data, { headers: h, reply: `${replies.prefix}.${id}` });
      } catch (err) {
        replies.pending.delete(id);
        results[i] = failed(errorText(err, this.parsed));
        if (--remaining === 0) done();
      }
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([allAcked, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.timeoutMs)))]);
    clearTimeout(timer);
    for (const id of ids) replies.pending.delete(id);
    const outcomes = results.map((r) => r ?? failed(`no JetStream acknowledgement within ${this.timeoutMs} ms`));
    const firstFailure = outcomes.find((r) => !r.ok);
    if (firstFailure && !firstFailure.ok) this.health_.noteError(firstFailure.reason);
    return outcomes;
  }

  private async open(): Promise<NatsConnection> {
    if (this.connection && !this.connection.isClosed()) return this.connection;
    if (this.stopped) throw new Error('connector stopped');
    this.opening ??= this.connect().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async connect(): Promise<NatsConnection> {
    this.health_.connecting();
    try {
      const connection = await connect(connectOptions(this.parsed, this.timeoutMs));
      if (this.stopped) {
        await connection.close();
        throw new Error('connector stopped');
      }
      // One reply subscription per connection for every publish acknowledgement (nats.js re-subscribes
      // it after a reconnect). js.publish() would cost a timer, a request and a stack trace per
      // message: 3-8x slower measured here (bench/RESULTS.md, connectors).
      const prefix = createInbox();
      const pending = new Map<string, (reply: Msg) => void>();
      connection.subscribe(`${prefix}.*`, {
        callback: (_err, reply) => {
          const id = reply.subject.slice(prefix.length + 1);
          const resolve = pending.get(id);
          if (resolve) {
            pending.delete(id);
            resolve(reply);
          }
        },
      });
      this.replies = { prefix, pending };
      this.connection = connection;
      this.health_.connected();
      watchStatus(connection, this.health_, this.parsed).catch((err: unknown) => this.health_.noteError(errorText(err, this.parsed)));
      return connection;
    } catch (err) {
      this.health_.error(errorText(err, this.parsed));
      throw err;
    }
  }
}

/** A JetStream PubAck (`{"stream","seq"}`), an API error (`{"error":{...}}`) or a 503 status (no stream). */
function pubAckOutcome(reply: Msg, subject: string): DeliveryOutcome {
  if (reply.headers?.hasError) {
    if (reply.headers.code === 503) return failed(`no JetStream stream captures subject ${subject} (or JetStream is off on the server)`);
    return failed(`JetStream answered ${reply.headers.code} ${reply.headers.description}`);
  }
  try {
    const ack = JSON.parse(Buffer.from(reply.data).toString('utf8')) as { stream?: string; error?: { code?: number; err_code?: number; description?: string } };
    if (ack.error) return failed(`JetStream refused the message: ${ack.error.description ?? 'error'} (${ack.error.err_code ?? ack.error.code ?? '?'})`);
    if (typeof ack.stream === 'string') return OK;
  } catch {
    // fall through
  }
  return failed('JetStream answered something that is not a publish acknowledgement');
}

/** Mirror the client's disconnect / reconnect events into the health tracker. */
async function watchStatus(connection: NatsConnection, health: HealthTracker, url: URL): Promise<void> {
  for await (const status of connection.status()) {
    if (status.type === 'disconnect') health.error('disconnected', 'connecting');
    else if (status.type === 'reconnect') health.connected();
    else if (status.type === 'error') health.noteError(errorText(status.error, url));
  }
}

export class NatsSource implements SourceConnector {
  readonly url: string;
  private readonly config: { stream: string; consumer: string };
  private readonly health_: HealthTracker;
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  private readonly retryDelayMs: number;
  private connection: NatsConnection | undefined;
  private messages: ConsumerMessages | undefined;
  private handler: InboundHandler | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly gate: InFlightGate;

  constructor(
    private readonly parsed: URL,
    private readonly options: SourceOptions,
  ) {
    this.url = redactUrl(parsed);
    this.config = parseNatsSource(parsed);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.health_ = new HealthTracker(this.url, 'nats', options.logger);
    this.gate = new InFlightGate(this.maxInFlight);
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
    this.wake?.();
    await this.messages?.close().catch(() => undefined);
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await connection.close().catch(() => undefined);
    await this.loop;
  }

  async health(): Promise<ConnectorHealth> {
    return this.health_.snapshot();
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      try {
        this.health_.connecting();
        await this.session(() => {
          attempt = 0;
        });
      } catch (err) {
        this.health_.error(errorText(err, this.parsed));
      }
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, backoffMs(attempt++)).unref();
      });
    }
  }

  private async session(onConnected: () => void): Promise<void> {
    let connection = this.connection;
    if (!connection || connection.isClosed()) {
      connection = await connect(connectOptions(this.parsed, this.timeoutMs));
      this.connection = connection;
      watchStatus(connection, this.health_, this.parsed).catch((err: unknown) => this.health_.noteError(errorText(err, this.parsed)));
    }
    if (this.stopped) {
      await connection.close().catch(() => undefined);
      return;
    }
    const { stream, consumer } = this.config;
    const jsm = await jetstreamManager(connection, { timeout: this.timeoutMs });
    try {
      await jsm.consumers.info(stream, consumer);
    } catch (err) {
      if (!/consumer not found/i.test(String((err as Error).message))) throw err;
      await jsm.consumers.add(stream, { durable_name: consumer, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
    }
    const js = jetstream(connection, { timeout: this.timeoutMs });
    const pull = await js.consumers.get(stream, consumer);
    const messages = await pull.consume({ max_messages: this.maxInFlight });
    this.messages = messages;
    this.health_.connected();
    onConnected();
    for await (const m of messages) {
      await this.gate.acquire();
      this.handle(m)
        .finally(() => this.gate.release())
        .catch((err: unknown) => this.health_.noteError(`handler failed: ${err instanceof Error ? err.message : String(err)}`));
      if (this.stopped) break;
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    const properties: Record<string, string> = {};
    if (m.headers) for (const [key, values] of m.headers) if (values[0] !== undefined) properties[key] = values[0];
    const payload = Buffer.from(m.data); // a copy: the client may reuse its read buffer
    const record: SourceRecord = { id: String(m.seq), properties, payload, redelivered: m.redelivered };
    const item = inboundItem(record, this.options.parentTopic);
    const handler = this.handler;
    if (!handler) return;
    try {
      await handler(item);
      m.ack();
    } catch (err) {
      this.health_.noteError(`handler failed: ${err instanceof Error ? err.message : String(err)}`);
      m.nak(this.retryDelayMs);
      await sleep(0);
    }
  }
}

export const natsConnector: ConnectorFactory = {
  target: {
    check: (url) => void parseNatsTarget(url),
    create: (url, options) => new NatsTarget(url, options),
  },
  source: {
    check: (url) => void parseNatsSource(url),
    create: (url, options) => new NatsSource(url, options),
  },
};

