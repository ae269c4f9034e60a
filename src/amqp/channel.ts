/**
 * One AMQP channel: its consumers and their unacknowledged deliveries, prefetch, channel.flow,
 * publisher confirms and the content (header + body frames) of the publish being received.
 *
 *   queue.declare / basic.consume(queue=<parent topic> | "STATUS" {GROUP_ID})
 *        ─▶ QueueFeeds ─▶ basic.deliver ─▶ basic.ack (removed) | nack/reject (requeued or dead-lettered)
 *   basic.publish(exchange|routingKey=<topic>) + content ─▶ MQTT publish ─▶ basic.ack once durable
 *
 * Refusals are AMQP's: a channel error (channel.close with 403/404/406) for what one channel did
 * wrong, ChannelError; a connection error (AmqpProtocolError) for protocol violations.
 * On close every unacknowledged delivery becomes visible again, flagged `redelivered` next time.
 */
import { randomBytes } from 'node:crypto';
import { checkQueueName } from '../rules/queues.js';
import type { ReceivedQueueMessage } from '../rules/runtime.js';
import { mayPublish, maySubscribe, mayWatchGroup, type AmqpPrincipal } from './auth.js';
import { AmqpProtocolError, decodeArgs, encodeContent, encodeMethod, M, methodName, type BasicProperties, type Frame } from './codec.js';
import type { AmqpContext } from './context.js';
import { statusQueueName } from './ingest.js';
import { deliveryProperties, PublishPropertyError, publishProperties } from './mapping.js';
import type { FeedConsumer } from './queue-feeds.js';

/** An error that closes this channel only. */
export class ChannelError extends Error {
  constructor(
    readonly replyCode: number,
    message: string,
    readonly methodId = 0,
  ) {
    super(message);
    this.name = 'ChannelError';
  }
}

/** What a channel needs from its connection. */
export interface ChannelHost {
  readonly ctx: AmqpContext;
  readonly principal: AmqpPrincipal;
  readonly frameMax: number;
  /** The socket cannot take more now (deliveries wait for 'drain'). */
  readonly congested: boolean;
  write(frames: Buffer | Buffer[]): void;
  /** Publishes awaiting their confirm went up (+1) or down (-1): the connection pauses reading above a bound. */
  pendingConfirms(delta: number): void;
}

/** Unlimited prefetch still hands out at most this many per round (the socket bounds the rest). */
const UNBOUNDED_ROUND = 100;
export const DEAD_LETTER_SUFFIX = '.dlq';

interface Unacked {
  readonly consumer: Consumer;
  readonly message: ReceivedQueueMessage;
}

interface PendingContent {
  readonly exchange: string;
  readonly routingKey: string;
  readonly mandatory: boolean;
  properties: BasicProperties | null;
  size: number;
  readonly parts: Buffer[];
  received: number;
}

class Consumer implements FeedConsumer {
  unacked = 0;

  constructor(
    readonly channel: AmqpChannel,
    readonly tag: string,
    /** The built-in queue (`STATUS.<gid>` for the STATUS queue). */
    readonly queue: string,
    /** The queue as the client named it (the routing key of its deliveries). */
    readonly wireQueue: string,
    readonly noAck: boolean,
    readonly prefetch: number,
  ) {}

  room(): number {
    return this.channel.roomFor(this);
  }

  deliver(message: ReceivedQueueMessage): void {
    this.channel.deliver(this, message);
  }
}

export class AmqpChannel {
  state: 'open' | 'closing' = 'open';
  private consumerPrefetch = 0;
  private channelPrefetch = 0;
  private flowActive = true;
  private readonly consumers = new Map<string, Consumer>();
  /** Insertion order is delivery-tag order. */
  private readonly unacked = new Map<number, Unacked>();
  private nextTag = 1;
  private confirm = false;
  private publishSeq = 0;
  /** Publish outcomes not yet confirmed to the client, by seq; confirms go out in seq order. */
  private readonly outcomes = new Map<number, boolean>();
  private readonly pendingAcks = new Map<string, string[]>();
  private acksScheduled = false;
  private confirmedUpTo = 0;
  private flushScheduled = false;
  private content: PendingContent | null = null;
  private lastQueue: string | null = null;

  constructor(
    readonly id: number,
    private readonly host: ChannelHost,
  ) {}

  private get ctx(): AmqpContext {
    return this.host.ctx;
  }

  private get instanceId(): string {
    return this.host.principal.instanceId;
  }

  // Frames.

  handle(frame: Frame): void {
    if (frame.type === 'method') {
      if (this.content !== null) throw new AmqpProtocolError(505, `UNEXPECTED_FRAME - ${methodName(frame.id)} while content of basic.publish was expected`);
      this.method(frame.id, frame.args);
      return;
    }
    const content = this.content;
    if (frame.type === 'header') {
      if (content === null || content.properties !== null) throw new AmqpProtocolError(505, 'UNEXPECTED_FRAME - content header without basic.publish');
      if (frame.size > this.ctx.settings.maxMessageBytes) {
        this.content = null;
        throw new ChannelError(406, `PRECONDITION_FAILED - message of ${frame.size} bytes is larger than the ${this.ctx.settings.maxMessageBytes} bytes Ferry accepts`);
      }
      content.properties = frame.properties;
      content.size = frame.size;
      if (frame.size === 0) this.completeContent();
      return;
    }
    if (frame.type === 'body') {
      if (content === null || content.properties === null) throw new AmqpProtocolError(505, 'UNEXPECTED_FRAME - content body without a content header');
      content.received += frame.payload.length;
      if (content.received > content.size) throw new AmqpProtocolError(501, 'FRAME_ERROR - content body longer than its header said');
      content.parts.push(Buffer.from(frame.payload));
      if (content.received === content.size) this.completeContent();
    }
  }

  private method(id: number, args: Buffer): void {
    switch (id) {
      case M.ChannelFlow: {
        const { active } = decodeArgs<{ active: boolean }>(id, args);
        this.flowActive = active;
        this.host.write(encodeMethod(M.ChannelFlowOk, this.id, { active }));
        if (active) this.kickAll();
        return;
      }
      case M.QueueDeclare:
        return this.declare(decodeArgs(id, args));
      case M.BasicQos: {
        const { prefetchSize, prefetchCount, global } = decodeArgs<{ prefetchSize: number; prefetchCount: number; global: boolean }>(id, args);
        if (prefetchSize !== 0) throw new AmqpProtocolError(540, 'NOT_IMPLEMENTED - prefetch_size is not supported, use prefetch_count', 60, 10);
        if (global) this.channelPrefetch = prefetchCount;
        else this.consumerPrefetch = prefetchCount;
        this.host.write(encodeMethod(M.BasicQosOk, this.id, {}));
        this.kickAll();
        return;
      }
      case M.BasicConsume:
        return this.consume(decodeArgs(id, args));
      case M.BasicCancel: {
        const { consumerTag, nowait } = decodeArgs<{ consumerTag: string; nowait: boolean }>(id, args);
        const consumer = this.consumers.get(consumerTag);
        if (consumer !== undefined) {
          this.consumers.delete(consumerTag);
          this.ctx.feeds.remove(this.instanceId, consumer.queue, consumer);
        }
        if (!nowait) this.host.write(encodeMethod(M.BasicCancelOk, this.id, { consumerTag }));
        return;
      }
      case M.BasicPublish: {
        const { exchange, routingKey, mandatory, immediate } = decodeArgs<{ exchange: string; routingKey: string; mandatory: boolean; immediate: boolean }>(id, args);
        if (immediate) throw new AmqpProtocolError(540, 'NOT_IMPLEMENTED - immediate=true', 60, 40);
        this.content = { exchange, routingKey, mandatory, properties: null, size: 0, parts: [], received: 0 };
        return;
      }
      case M.BasicAck: {
        const { deliveryTag, multiple } = decodeArgs<{ deliveryTag: number; multiple: boolean }>(id, args);
        return this.settle(this.take(deliveryTag, multiple, id), 'ack');
      }
      case M.BasicNack: {
        const { deliveryTag, multiple, requeue } = decodeArgs<{ deliveryTag: number; multiple: boolean; requeue: boolean }>(id, args);
        return this.settle(this.take(deliveryTag, multiple, id), requeue ? 'requeue' : 'dead-letter');
      }
      case M.BasicReject: {
        const { deliveryTag, requeue } = decodeArgs<{ deliveryTag: number; requeue: boolean }>(id, args);
        return this.settle(this.take(deliveryTag, false, id), requeue ? 'requeue' : 'dead-letter');
      }
      case M.BasicRecover:
      case M.BasicRecoverAsync: {
        decodeArgs(id, args);
        this.settle(this.take(0, true, id), 'requeue');
        if (id === M.BasicRecover) this.host.write(encodeMethod(M.BasicRecoverOk, this.id, {}));
        return;
      }
      case M.ConfirmSelect: {
        const { nowait } = decodeArgs<{ nowait: boolean }>(id, args);
        this.confirm = true;
        if (!nowait) this.host.write(encodeMethod(M.ConfirmSelectOk, this.id, {}));
        return;
      }
      default:
        throw new AmqpProtocolError(540, `NOT_IMPLEMENTED - ${methodName(id)} is not supported by Ferry's AMQP endpoint`, id >>> 16, id & 0xffff);
    }
  }

  // Queues and consumers.

  /** The built-in queue behind a queue name, with the permission and naming checks. */
  private resolveQueue(queue: string, args: Record<string, unknown> | undefined, methodId: number): { queue: string; wire: string } {
    const name = queue === '' ? this.lastQueue : queue;
    if (name === null) throw new ChannelError(404, 'NOT_FOUND - no queue named and none declared on this channel', methodId);
    const principal = this.host.principal;
    if (name === 'STATUS') {
      const raw = args?.['GROUP_ID'];
      const groupId = typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString('utf8') : '';
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(groupId)) throw new ChannelError(406, 'PRECONDITION_FAILED - the STATUS queue needs the argument GROUP_ID (a Group ID)', methodId);
      if (!mayWatchGroup(principal, groupId)) throw new ChannelError(403, `ACCESS_REFUSED - no access to the status of group ${groupId}`, methodId);
      return { queue: statusQueueName(groupId), wire: name };
    }
    const base = name.endsWith(DEAD_LETTER_SUFFIX) ? name.slice(0, -DEAD_LETTER_SUFFIX.length) : name;
    try {
      checkQueueName(name);
    } catch (error) {
      throw new ChannelError(406, `PRECONDITION_FAILED - ${(error as Error).message}`, methodId);
    }
    if (base.startsWith('STATUS')) throw new ChannelError(403, `ACCESS_REFUSED - queue names starting with STATUS are reserved`, methodId);
    const refused = this.ctx.tenancy.admitTopic(this.instanceId, base, false);
    if (refused !== null) throw new ChannelError(404, `NOT_FOUND - ${refused.message}`, methodId);
    if (!maySubscribe(principal, this.ctx.custom, base)) throw new ChannelError(403, `ACCESS_REFUSED - no permission to consume ${base}`, methodId);
    return { queue: name, wire: name };
  }

  private declare(args: { queue: string; passive: boolean; nowait: boolean; arguments?: Record<string, unknown> }): void {
    const { queue, wire } = this.resolveQueue(args.queue, args.arguments, 10);
    const { queues } = this.ctx;
    if (args.passive && !queues.has(this.instanceId, queue)) throw new ChannelError(404, `NOT_FOUND - no queue '${wire}'`, 10);
    this.ctx.ingest.declare(this.instanceId, queue);
    this.lastQueue = wire === 'STATUS' ? this.lastQueue : wire;
    if (args.nowait) return;
    const depth = queues.listNow(this.instanceId).find((q) => q.name === queue)?.depth ?? 0;
    this.host.write(encodeMethod(M.QueueDeclareOk, this.id, { queue: wire, messageCount: depth, consumerCount: this.ctx.feeds.consumerCount(this.instanceId, queue) }));
  }

  private consume(args: { queue: string; consumerTag: string; noAck: boolean; exclusive: boolean; nowait: boolean; arguments?: Record<string, unknown> }): void {
    const { queue, wire } = this.resolveQueue(args.queue, args.arguments, 20);
    const tag = args.consumerTag !== '' ? args.consumerTag : `amq.ctag-${randomBytes(12).toString('base64url')}`;
    if (this.consumers.has(tag)) throw new AmqpProtocolError(530, `NOT_ALLOWED - consumer tag ${tag} is in use on channel ${this.id}`, 60, 20);
    if (args.exclusive && this.ctx.feeds.consumerCount(this.instanceId, queue) > 0) {
      throw new ChannelError(403, `ACCESS_REFUSED - queue '${wire}' has consumers, an exclusive consumer is refused`, 20);
    }
    this.ctx.ingest.declare(this.instanceId, queue);
    const consumer = new Consumer(this, tag, queue, wire, args.noAck, this.consumerPrefetch);
    this.consumers.set(tag, consumer);
    // consume-ok goes out before the first delivery (the feed leases asynchronously).
    if (!args.nowait) this.host.write(encodeMethod(M.BasicConsumeOk, this.id, { consumerTag: tag }));
    this.ctx.feeds.add(this.instanceId, queue, consumer);
  }

  roomFor(consumer: Consumer): number {
    if (this.state !== 'open' || !this.flowActive || this.host.congested || !this.consumers.has(consumer.tag)) return 0;
    if (consumer.noAck) return UNBOUNDED_ROUND;
    let room = consumer.prefetch > 0 ? consumer.prefetch - consumer.unacked : UNBOUNDED_ROUND;
    if (this.channelPrefetch > 0) room = Math.min(room, this.channelPrefetch - this.unacked.size);
    return Math.max(0, room);
  }

  deliver(consumer: Consumer, message: ReceivedQueueMessage): void {
    const deliveryTag = this.nextTag++;
    if (!consumer.noAck) {
      this.unacked.set(deliveryTag, { consumer, message });
      consumer.unacked++;
    }
    const redelivered = message.deliveries > 1 || message.recovered === true;
    this.host.write([
      encodeMethod(M.BasicDeliver, this.id, { consumerTag: consumer.tag, deliveryTag, redelivered, exchange: '', routingKey: consumer.wireQueue }),
      ...encodeContent(this.id, deliveryProperties(message), message.payload, this.host.frameMax),
    ]);
    this.ctx.stats.delivered++;
    if (consumer.noAck) this.background(this.ack(consumer.queue, [message.receipt]));
  }

  /** The unacked deliveries a tag (and `multiple`) names; 406 for a tag never delivered or settled. */
  private take(tag: number, multiple: boolean, methodId: number): Unacked[] {
    const out: Unacked[] = [];
    if (multiple) {
      for (const [t, u] of this.unacked) {
        if (tag !== 0 && t > tag) break;
        out.push(u);
        this.unacked.delete(t);
      }
      if (out.length === 0 && tag !== 0) throw new ChannelError(406, `PRECONDITION_FAILED - unknown delivery tag ${tag}`, methodId & 0xffff);
      return out;
    }
    const u = this.unacked.get(tag);
    if (u === undefined) throw new ChannelError(406, `PRECONDITION_FAILED - unknown delivery tag ${tag}`, methodId & 0xffff);
    this.unacked.delete(tag);
    return [u];
  }

  private settle(items: readonly Unacked[], how: 'ack' | 'requeue' | 'dead-letter'): void {
    const byQueue = new Map<string, Unacked[]>();
    for (const u of items) {
      u.consumer.unacked--;
      const list = byQueue.get(u.consumer.queue);
      if (list === undefined) byQueue.set(u.consumer.queue, [u]);
      else list.push(u);
    }
    for (const [queue, list] of byQueue) {
      const receipts = list.map((u) => u.message.receipt);
      if (how === 'ack') this.queueAcks(queue, receipts);
      else if (how === 'requeue') this.background(this.requeue(queue, receipts));
      else this.background(this.deadLetter(queue, list));
      this.ctx.feeds.kick(this.instanceId, queue);
    }
  }

  /** Acks of one socket read (amqplib acks each message in its own frame) go to the store together. */
  private queueAcks(queue: string, receipts: string[]): void {
    const list = this.pendingAcks.get(queue);
    if (list === undefined) this.pendingAcks.set(queue, receipts);
    else list.push(...receipts);
    if (this.acksScheduled) return;
    this.acksScheduled = true;
    setImmediate(() => {
      this.acksScheduled = false;
      for (const [q, r] of this.pendingAcks) this.background(this.ack(q, r));
      this.pendingAcks.clear();
    });
  }

  /** Settlement runs behind the frame that asked for it; its failures are logged, never thrown. */
  private background(work: Promise<void>): void {
    work.catch((error: unknown) => this.ctx.logger.error({ err: error, instance: this.instanceId }, 'amqp: settling deliveries failed'));
  }

  private async ack(queue: string, receipts: string[]): Promise<void> {
    try {
      await this.ctx.queues.ack(this.instanceId, queue, receipts);
      this.ctx.stats.acked += receipts.length;
    } catch (error) {
      // Not durable: the lease runs out and the message is delivered again (at least once).
      this.ctx.logger.error({ err: error, queue, instance: this.instanceId }, 'amqp: an ack could not be made durable; the messages will be redelivered');
    }
  }

  private async requeue(queue: string, receipts: string[]): Promise<void> {
    this.ctx.stats.requeued += receipts.length;
    await this.ctx.queues.nack(this.instanceId, queue, receipts, 0);
  }

  /** nack/reject without requeue: into `<queue>.dlq` (a built-in queue), never silently dropped. */
  private async deadLetter(queue: string, list: Unacked[]): Promise<void> {
    const dlq = queue + DEAD_LETTER_SUFFIX;
    try {
      await this.ctx.queues.append(
        this.instanceId,
        dlq,
        list.map((u) => ({ payload: u.message.payload, properties: u.message.properties })),
      );
      this.ctx.stats.deadLettered += list.length;
      await this.ctx.queues.ack(this.instanceId, queue, list.map((u) => u.message.receipt));
    } catch (error) {
      this.ctx.logger.error({ err: error, queue, instance: this.instanceId }, 'amqp: dead-lettering failed; the messages stay in their queue');
      await this.ctx.queues.nack(this.instanceId, queue, list.map((u) => u.message.receipt), 1000).catch(() => 0);
    }
  }

  private kickAll(): void {
    for (const consumer of this.consumers.values()) this.ctx.feeds.kick(this.instanceId, consumer.queue);
  }

  /** The socket drained: consumers may take more. */
  drained(): void {
    this.kickAll();
  }

  // Publishing.

  private completeContent(): void {
    const content = this.content!;
    this.content = null;
    const body = content.parts.length === 1 ? content.parts[0]! : Buffer.concat(content.parts);
    this.publish(content, content.properties ?? {}, body);
  }

  private publish(content: PendingContent, properties: BasicProperties, body: Buffer): void {
    const seq = this.confirm ? ++this.publishSeq : 0;
    const topic = content.exchange !== '' ? content.exchange : content.routingKey;
    if (!mayPublish(this.host.principal, this.ctx.custom, topic)) {
      throw new ChannelError(403, `ACCESS_REFUSED - no permission to send to ${topic}`, 40);
    }
    let extra: ReturnType<typeof publishProperties>;
    try {
      extra = publishProperties(properties);
    } catch (error) {
      if (error instanceof PublishPropertyError) throw new ChannelError(406, `PRECONDITION_FAILED - ${error.message}`, 40);
      throw error;
    }
    try {
      this.ctx.publish(this.instanceId, { topic, payload: body, qos: 1, ...extra });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'string') throw error;
      this.unroutable(content, properties, body, seq, code === 'PayloadTooLarge' ? 311 : 312, (error as Error).message);
      return;
    }
    this.ctx.stats.published++;
    if (seq === 0) return;
    this.host.pendingConfirms(1);
    this.ctx.durable().then(
      () => this.confirmed(seq, true),
      (error: unknown) => {
        this.ctx.logger.warn({ err: error, topic }, 'amqp: a publish could not be made durable; nacked');
        this.confirmed(seq, false);
      },
    );
  }

  /**
   * Records a publish's outcome; confirms go out in seq order, a run of acks as one
   * `basic.ack(multiple)` (one frame per group commit rather than per message).
   */
  private confirmed(seq: number, ok: boolean): void {
    this.host.pendingConfirms(-1);
    this.outcomes.set(seq, ok);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushConfirms());
  }

  private flushConfirms(): void {
    this.flushScheduled = false;
    let run = 0;
    const frames: Buffer[] = [];
    for (;;) {
      const seq = this.confirmedUpTo + 1;
      const ok = this.outcomes.get(seq);
      if (ok === undefined) break;
      this.outcomes.delete(seq);
      this.confirmedUpTo = seq;
      if (ok) {
        run = seq;
        continue;
      }
      if (run > 0) frames.push(encodeMethod(M.BasicAck, this.id, { deliveryTag: run, multiple: true }));
      run = 0;
      frames.push(encodeMethod(M.BasicNack, this.id, { deliveryTag: seq, multiple: false, requeue: false }));
    }
    if (run > 0) frames.push(encodeMethod(M.BasicAck, this.id, { deliveryTag: run, multiple: true }));
    if (frames.length > 0 && this.state === 'open') this.host.write(frames);
  }

  /**
   * Not routable to MQTT (invalid topic, parent topic unknown to a strict instance, too large):
   * mandatory → basic.return then the confirm (RabbitMQ's order); otherwise nacked in confirm mode,
   * else counted and logged.
   */
  private unroutable(content: PendingContent, properties: BasicProperties, body: Buffer, seq: number, replyCode: number, reason: string): void {
    this.ctx.stats.returned++;
    const replyText = `${replyCode === 311 ? 'CONTENT_TOO_LARGE' : 'NO_ROUTE'} - ${reason}`;
    if (content.mandatory) {
      this.host.write([
        encodeMethod(M.BasicReturn, this.id, { replyCode, replyText, exchange: content.exchange, routingKey: content.routingKey }),
        ...encodeContent(this.id, properties, body, this.host.frameMax),
      ]);
    } else {
      this.ctx.logger.debug({ exchange: content.exchange, routingKey: content.routingKey, reason }, 'amqp: unroutable publish dropped');
    }
    if (seq === 0) return;
    this.host.pendingConfirms(1);
    this.confirmed(seq, content.mandatory);
  }

  // Closing.

  /** Cancels the consumers and makes every unacked delivery visible again (channel or connection gone). */
  release(): void {
    this.state = 'closing';
    this.content = null;
    for (const consumer of this.consumers.values()) this.ctx.feeds.remove(this.instanceId, consumer.queue, consumer);
    this.consumers.clear();
    this.settle(this.take(0, true, 0), 'requeue');
  }
}
