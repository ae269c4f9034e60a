/**
 * RabbitMQ (AMQP 0-9-1, amqplib).
 *
 * Target `amqp://user:pass@host:5672/vhost?exchange=X[&routingKey=K]`: a confirm channel publishes
 * each item persistent and `mandatory` to exchange X (empty = the default exchange) with routing
 * key K, or else the MQTT topic (messages) / the event type (status). An item is delivered when
 * the broker confirms it; a nack, an unroutable return or a closed channel is a failure.
 *
 * Source `amqp://...?queue=Q`: consumes Q with manual acks and a prefetch of maxInFlight; a
 * message is acked when its handler resolved, nacked back to the queue (after retryDelayMs) when
 * it rejected. Reconnects with backoff until stop().
 *
 * amqplib's own URL parameters (heartbeat, frameMax, channelMax, locale) pass through.
 */
import amqp from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { inboundItem, messageProperties, propertyString, statusBody } from './properties.js';
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

const PASS_THROUGH = ['heartbeat', 'frameMax', 'channelMax', 'locale'];

interface AmqpTargetConfig {
  exchange: string;
  routingKey: string | undefined;
  connectUrl: string;
}

interface AmqpSourceConfig {
  queue: string;
  connectUrl: string;
}

function readParams(url: URL, role: string): UrlParams {
  const params = new UrlParams(url, `AMQP ${role}`);
  for (const name of PASS_THROUGH) params.optional(name);
  return params;
}

/** The URL amqplib connects to: ours minus Ferry's parameters. */
function connectUrlOf(url: URL, own: readonly string[]): string {
  const copy = new URL(url.href);
  for (const name of own) copy.searchParams.delete(name);
  return copy.href;
}

export function parseAmqpTarget(url: URL): AmqpTargetConfig {
  const params = readParams(url, 'target');
  const exchange = params.optional('exchange');
  if (exchange === undefined) throw params.error('exchange', 'needs the parameter "exchange" (empty for the default exchange: ?exchange=)');
  const routingKey = params.optional('routingKey');
  params.rejectUnknown();
  return { exchange, routingKey: routingKey === '' ? undefined : routingKey, connectUrl: connectUrlOf(url, ['exchange', 'routingKey']) };
}

export function parseAmqpSource(url: URL): AmqpSourceConfig {
  const params = readParams(url, 'source');
  const queue = params.required('queue');
  params.rejectUnknown();
  return { queue, connectUrl: connectUrlOf(url, ['queue']) };
}

export class AmqpTarget implements TargetConnector {
  readonly url: string;
  private readonly config: AmqpTargetConfig;
  private readonly health_: HealthTracker;
  private readonly timeoutMs: number;
  private connection: amqp.ChannelModel | undefined;
  private channel: amqp.ConfirmChannel | undefined;
  private opening: Promise<amqp.ConfirmChannel> | undefined;
  /** One per deliver() in progress: records the messageIds the broker returns as unroutable. */
  private readonly returnWatchers = new Set<(messageId: string) => void>();
  private stopped = false;

  constructor(
    private readonly parsed: URL,
    options: TargetOptions,
  ) {
    this.url = redactUrl(parsed);
    this.config = parseAmqpTarget(parsed);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.health_ = new HealthTracker(this.url, 'amqp', options.logger);
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
    this.channel = undefined;
    if (connection) await closeWithin(connection, this.timeoutMs);
  }

  async health(): Promise<ConnectorHealth> {
    return this.health_.snapshot();
  }

  async deliver(batch: readonly TargetItem[]): Promise<DeliveryOutcome[]> {
    if (batch.length === 0) return [];
    if (this.stopped) return failAll(batch.length, 'connector stopped');
    let channel: amqp.ConfirmChannel;
    try {
      channel = await this.open();
    } catch (err) {
      return failAll(batch.length, `cannot connect: ${errorText(err, this.parsed)}`);
    }
    const returned = new Set<string>();
    const watcher = (id: string): void => void returned.add(id);
    this.returnWatchers.add(watcher);
    const settled: (DeliveryOutcome | undefined)[] = Array.from({ length: batch.length }, () => undefined);
    const outcomes: Promise<void>[] = [];
    const messageIds: string[] = [];
    for (const [i, item] of batch.entries()) {
      const { routingKey, content, options } = this.encode(item);
      messageIds.push(options.messageId ?? '');
      outcomes.push(
        new Promise<void>((resolve) => {
          try {
            channel.publish(this.config.exchange, routingKey, content, options, (err) => {
              settled[i] = err ? failed(`not confirmed: ${errorText(err, this.parsed)}`) : OK;
              resolve();
            });
          } catch (err) {
            settled[i] = failed(`publish failed: ${errorText(err, this.parsed)}`);
            resolve();
          }
        }),
      );
    }
    try {
      await withTimeout(Promise.all(outcomes), this.timeoutMs, 'waiting for publisher confirms');
    } catch (err) {
      // Unconfirmed after the timeout: the channel is in doubt, start over on a fresh one.
      this.drop(errorText(err, this.parsed));
    }
    let results = settled.map((r) => r ?? failed(`no publisher confirm within ${this.timeoutMs} ms`));
    this.returnWatchers.delete(watcher);
    // A return comes before the confirm of the same publish: unroutable items failed.
    if (returned.size > 0) {
      results = results.map((r, i) =>
        r.ok && returned.has(messageIds[i] ?? '')
          ? failed(`unroutable: exchange "${this.config.exchange}" has no queue bound for this routing key`)
          : r,
      );
    }
    const firstFailure = results.find((r) => !r.ok);
    if (firstFailure && !firstFailure.ok) this.health_.noteError(firstFailure.reason);
    return results;
  }

  private encode(item: TargetItem): { routingKey: string; content: Buffer; options: amqp.Options.Publish } {
    if (item.type === 'status') {
      const { event } = item;
      return {
        routingKey: this.config.routingKey ?? event.eventType,
        content: statusBody(event),
        options: {
          persistent: true,
          mandatory: true,
          contentType: 'application/json',
          timestamp: Math.floor(event.time / 1000),
          messageId: `${event.channelId}:${event.eventType}:${event.time}`,
          type: event.eventType,
          headers: { eventType: event.eventType, clientId: event.clientId },
        },
      };
    }
    const { message } = item;
    const options: amqp.Options.Publish = {
      persistent: true,
      mandatory: true,
      messageId: message.msgId,
      timestamp: Math.floor(message.bornTime / 1000),
      headers: messageProperties(message),
    };
    if (message.contentType !== undefined) options.contentType = message.contentType;
    return { routingKey: this.config.routingKey ?? message.topic, content: message.payload, options };
  }

  private async open(): Promise<amqp.ConfirmChannel> {
    if (this.channel) return this.channel;
    if (this.stopped) throw new Error('connector stopped');
    this.opening ??= this.connect().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async connect(): Promise<amqp.ConfirmChannel> {
    this.health_.connecting();
    let connection: amqp.ChannelModel | undefined;
    try {
      connection = await withTimeout(amqp.connect(this.config.connectUrl, { timeout: this.timeoutMs }), this.timeoutMs, 'connect');
      const channel = await withTimeout(connection.createConfirmChannel(), this.timeoutMs, 'channel open');
      connection.on('error', (err: unknown) => this.health_.error(errorText(err, this.parsed)));
      connection.on('close', () => {
        if (this.connection === connection) this.drop('connection closed');
      });
      channel.on('error', (err: unknown) => this.health_.error(errorText(err, this.parsed)));
      channel.on('close', () => {
        if (this.channel === channel) this.drop('channel closed');
      });
      channel.on('return', (msg: amqp.Message) => {
        const id = msg.properties.messageId as unknown;
        if (typeof id === 'string') for (const watch of this.returnWatchers) watch(id);
      });
      if (this.stopped) {
        await closeWithin(connection, this.timeoutMs);
        throw new Error('connector stopped');
      }
      this.connection = connection;
      this.channel = channel;
      this.health_.connected();
      return channel;
    } catch (err) {
      if (connection) await closeWithin(connection, this.timeoutMs);
      this.health_.error(errorText(err, this.parsed));
      throw err;
    }
  }

  /** Forget the channel and connection (closing it) so the next deliver() opens a new one. */
  private drop(reason: string): void {
    const connection = this.connection;
    this.connection = undefined;
    this.channel = undefined;
    this.health_.error(reason);
    // eslint-disable-next-line @typescript-eslint/no-floating-promises -- closeWithin never rejects and is bounded; the next deliver() reconnects
    if (connection) void closeWithin(connection, this.timeoutMs);
  }
}

/**
 * Closes a connection, waiting at most `ms` for the peer's close-ok; then the socket is destroyed.
 * A peer that stops answering must not hold a rule's stop (or restart) forever.
 */
async function closeWithin(connection: amqp.ChannelModel, ms: number): Promise<void> {
  try {
    await withTimeout(connection.close(), ms, 'close');
  } catch {
    // no close-ok in time (or the connection was already gone): drop the socket
    (connection as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }
}

export class AmqpSource implements SourceConnector {
  readonly url: string;
  private readonly config: AmqpSourceConfig;
  private readonly health_: HealthTracker;
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  private readonly retryDelayMs: number;
  private connection: amqp.ChannelModel | undefined;
  private handler: InboundHandler | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly parsed: URL,
    private readonly options: SourceOptions,
  ) {
    this.url = redactUrl(parsed);
    this.config = parseAmqpSource(parsed);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.health_ = new HealthTracker(this.url, 'amqp', options.logger);
  }

  async start(): Promise<void> {
    // Connection happens in consume(): a source has nothing to do before it has a handler.
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
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await closeWithin(connection, this.timeoutMs);
    await this.loop;
  }

  async health(): Promise<ConnectorHealth> {
    return this.health_.snapshot();
  }

  /** Connect, consume until the connection drops, back off, again — until stop(). */
  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      try {
        this.health_.connecting();
        const closed = await this.session();
        attempt = 0;
        const reason = await closed;
        if (!this.stopped) this.health_.error(reason);
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

  /** One connection's life: resolves with a promise of why it ended. */
  private async session(): Promise<Promise<string>> {
    const connection = await withTimeout(amqp.connect(this.config.connectUrl, { timeout: this.timeoutMs }), this.timeoutMs, 'connect');
    if (this.stopped) {
      await closeWithin(connection, this.timeoutMs);
      return Promise.resolve('stopped');
    }
    this.connection = connection;
    const ended = new Promise<string>((resolve) => {
      connection.on('error', (err: unknown) => resolve(errorText(err, this.parsed)));
      connection.on('close', () => resolve('connection closed'));
    });
    try {
      const channel = await withTimeout(connection.createChannel(), this.timeoutMs, 'channel open');
      channel.on('error', (err: unknown) => this.health_.error(errorText(err, this.parsed)));
      channel.on('close', () => {
        // A channel error (e.g. the queue was deleted) closes only the channel: start over.
        connection.close().catch(() => undefined);
      });
      await withTimeout(channel.prefetch(this.maxInFlight), this.timeoutMs, 'basic.qos');
      const gate = new InFlightGate(this.maxInFlight);
      await channel.consume(
        this.config.queue,
        (msg) => {
          if (msg === null) {
            connection.close().catch(() => undefined); // consumer cancelled by the server
            return;
          }
          gate
            .acquire()
            .then(() => this.handle(channel, msg).finally(() => gate.release()))
            .catch((err: unknown) => this.health_.noteError(`handler failed: ${err instanceof Error ? err.message : String(err)}`));
        },
        { noAck: false },
      );
      this.health_.connected();
    } catch (err) {
      await closeWithin(connection, this.timeoutMs);
      throw err;
    }
    return ended;
  }

  private async handle(channel: amqp.Channel, msg: amqp.ConsumeMessage): Promise<void> {
    const headers = (msg.properties.headers ?? {}) as Record<string, unknown>;
    const properties: Record<string, string> = {};
    for (const [key, value] of Object.entries(headers)) {
      const text = propertyString(value);
      if (text !== undefined) properties[key] = text;
    }
    // AMQP's own contentType stands in for the header when a backend sets only that.
    const contentType = msg.properties.contentType as unknown;
    if (properties.mqtt5ContentType === undefined && typeof contentType === 'string') properties.mqtt5ContentType = contentType;
    const record: SourceRecord = {
      id: String(msg.fields.deliveryTag),
      properties,
      payload: msg.content,
      redelivered: msg.fields.redelivered,
    };
    const handler = this.handler;
    if (!handler) return;
    try {
      await handler(inboundItem(record, this.options.parentTopic));
      channel.ack(msg);
    } catch (err) {
      this.health_.noteError(`handler failed: ${err instanceof Error ? err.message : String(err)}`);
      await sleep(this.retryDelayMs);
      try {
        channel.nack(msg, false, true);
      } catch {
        // Channel gone: the broker requeues every unacked message by itself.
      }
    }
  }
}

export const amqpConnector: ConnectorFactory = {
  target: {
    check: (url) => void parseAmqpTarget(url),
    create: (url, options) => new AmqpTarget(url, options),
  },
  source: {
    check: (url) => void parseAmqpSource(url),
    create: (url, options) => new AmqpSource(url, options),
  },
};
