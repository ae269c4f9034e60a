/**
 * The Tracer the broker calls when tracing is on. Recording an event is four writes into typed
 * arrays: no object, no string, no I/O, and the clock is read once per event-loop turn. Batches go to the writer (a worker thread) every
 * `flushIntervalMs`, or at once when a batch is full.
 *
 *   hot path ──► batch {time, code, channel, msg}[N] ──(postMessage: slot number)──► writer thread
 *                in a slot of shared memory the writer hands back once stored
 *                + channel registrations (n → instance, client), made once per connection
 *
 * MsgIds and ChannelIds come from one counter: a message gets the next number the first time it
 * is seen (Message.traceId), a connection when it connects (Channel.traceChannel). So "this
 * message was published before this client connected", i.e. it waited offline, is just
 * `message.traceId < channel.traceChannel`. The writer turns numbers into 32-hex ids
 * (a random per-process prefix + the number); `msgIdOf` gives the same text on the broker
 * thread, so an API that publishes a message can answer the MsgId its traces carry.
 *
 * If the writer falls behind by more than `maxPendingBatches`, new events are dropped and
 * counted (`dropped`) rather than queued without bound.
 */
import { randomBytes } from 'node:crypto';
import type { Channel } from '../../channel/channel.js';
import type { DropCause, Tracer } from '../../broker/tracer.js';
import type { RuleHop, RuleTracer } from '../../rules/tracer.js';
import type { Message } from '../../session/message.js';
import type { Delivery } from '../../session/session.js';
import { atTurnEnd } from '../../transport/turn-end.js';
import { TraceCode, closeCode, dropCode, refusedCode } from './codes.js';

/** A channel number's identity, sent once with the batch that first uses it. */
export interface ChannelRegistration {
  readonly n: number;
  readonly instanceId: string;
  readonly clientId: string;
  /** The number is only used by this batch's events (refused connects); forget it after. */
  readonly once: boolean;
  /** What its message events' ActionInfo adds (a rule's `rule <id>, <scheme>`); absent for clients. */
  readonly info?: string;
  /**
   * Its events' message numbers are counters of an earlier run with this MsgId prefix (a rule
   * delivering outbox items from before a restart), not of this one.
   */
  readonly msgPrefix?: string;
}

/** Columnar events; the typed arrays are views of one buffer (a shared slot of the writer's). */
export interface TraceBatch {
  count: number;
  readonly time: Float64Array;
  readonly code: Uint8Array;
  readonly channel: Float64Array;
  readonly msg: Float64Array;
  readonly channels: ChannelRegistration[];
}

export interface TraceBatchSink {
  /** Takes ownership of the batch. */
  write(batch: TraceBatch): void;
  /** Batches written and not yet stored. */
  readonly pending: number;
  /**
   * An empty batch of `size` events to fill, when the sink provides the memory (the writer
   * thread: reused slots of shared memory, so recording allocates nothing); else the recorder
   * allocates its own.
   */
  allocate?(size: number): TraceBatch;
}

/** An empty batch over `buffer` (size × 25 bytes: time f64, channel f64, msg f64, code u8). */
export function batchOver(buffer: ArrayBufferLike, size: number): TraceBatch {
  return {
    count: 0,
    time: new Float64Array(buffer, 0, size),
    channel: new Float64Array(buffer, 8 * size, size),
    msg: new Float64Array(buffer, 16 * size, size),
    code: new Uint8Array(buffer, 24 * size, size),
    channels: [],
  };
}

/** Bytes of one batch of `size` events (batchOver). */
export function batchBytes(size: number): number {
  return 25 * size;
}

export interface TraceRecorderOptions {
  readonly sink: TraceBatchSink;
  /** How often a partly filled batch is sent, ms. */
  readonly flushIntervalMs: number;
  /** Events per batch (a full batch is sent at once). */
  readonly batchSize?: number;
  /** Sent batches the writer may be behind before events are dropped. */
  readonly maxPendingBatches?: number;
  /** Instance of refused CONNECTs nobody attributed to one. */
  readonly defaultInstanceId: string;
  /** The 20-hex MsgId/ChannelId prefix of this process run, the one the writer stores (default: a new one). */
  readonly idPrefix?: string;
}

/** 20 random hex digits + 12 hex digits of a counter = a 32-hex MsgId / ChannelId. */
export function newIdPrefix(): string {
  return randomBytes(10).toString('hex');
}

export function formatTraceId(prefix: string, n: number): string {
  return prefix + n.toString(16).padStart(12, '0');
}

/** The instance in a managed-service style username `Mode|AccessKeyId|InstanceId`, if any. */
export function usernameInstance(username: string | undefined): string | undefined {
  if (username === undefined) return undefined;
  const parts = username.split('|');
  return parts.length === 3 && parts[2] !== '' ? parts[2] : undefined;
}

/** Events that may share one clock reading within an event-loop turn. */
const CLOCK_EVENTS = 256;

/** Earlier runs' MsgId prefixes one rule keeps a channel for (then it starts over). */
const MAX_EARLIER_PREFIXES = 64;

/** Highest counter a stored msg number can hold (trace-db.ts MSG_EPOCH_FACTOR). */
const MAX_COUNTER = 2 ** 40;

/**
 * The counter of a 32-hex MsgId (its last 12 hex digits), parsed in place (a rule records one
 * event per delivered item); 0 when it is not a MsgId of this shape or the counter is too large.
 */
export function msgCounter(msgId: string, prefixLength: number): number {
  if (msgId.length !== prefixLength + 12) return 0;
  for (let i = 0; i < prefixLength; i++) {
    const c = msgId.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return 0;
  }
  let n = 0;
  for (let i = prefixLength; i < msgId.length; i++) {
    const c = msgId.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) return 0;
    n = n * 16 + d;
  }
  return n < MAX_COUNTER ? n : 0;
}

/** Clients remembered with the channel number their drop events use (then the map starts over). */
const MAX_DROP_CHANNELS = 65_536;

export class TraceRecorder implements Tracer, RuleTracer {
  /** Events recorded / dropped because the writer was behind. */
  recorded = 0;
  dropped = 0;
  /** Rule events whose MsgId is not one Ferry gives out (not recorded). */
  foreign = 0;
  /** Channel numbers of queue drops, per instance and client (they have no connection). */
  private readonly dropChannels = new Map<string, number>();
  private seq = 0;
  private batch: TraceBatch;
  private readonly batchSize: number;
  private readonly maxPending: number;
  private readonly backendChannels = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  /** See TraceRecorderOptions.idPrefix. */
  readonly idPrefix: string;
  /** now(): the cached time, how many more events may use it, whether its expiry is queued. */
  private time = 0;
  private clockEvents = 0;
  private clockQueued = false;

  constructor(private readonly options: TraceRecorderOptions) {
    this.idPrefix = options.idPrefix ?? newIdPrefix();
    this.batchSize = options.batchSize ?? 8192;
    this.maxPending = options.maxPendingBatches ?? 64;
    this.batch = this.newBatch();
    this.timer = setInterval(() => this.flush(), options.flushIntervalMs);
    this.timer.unref();
  }

  // Tracer

  connected(channel: Channel): void {
    this.push(TraceCode.ConnectAccepted, this.channelOf(channel), 0);
  }

  refused(_channel: Channel, clientId: string, username: string | undefined, reasonCode: number, instanceId: string | undefined): void {
    const n = ++this.seq;
    const instance = instanceId ?? usernameInstance(username) ?? this.options.defaultInstanceId;
    this.batch.channels.push({ n, instanceId: instance, clientId, once: true });
    this.push(refusedCode(reasonCode), n, 0);
  }

  closed(channel: Channel, cause: number): void {
    this.push(closeCode(cause), this.channelOf(channel), 0);
  }

  published(channel: Channel, message: Message): void {
    this.push(TraceCode.PubMqtt, this.channelOf(channel), this.messageId(message));
  }

  injected(instanceId: string, message: Message): void {
    let n = this.backendChannels.get(instanceId);
    if (n === undefined) {
      n = ++this.seq;
      this.backendChannels.set(instanceId, n);
      this.batch.channels.push({ n, instanceId, clientId: '', once: false });
    }
    this.push(TraceCode.PubMq, n, this.messageId(message));
  }

  delivered(channel: Channel, delivery: Delivery): void {
    const n = this.channelOf(channel);
    const message = delivery.message;
    let id = message.traceId;
    let offline: boolean;
    if (id === 0) {
      // Not seen since it was made: restored from the store or published while tracing was off.
      id = message.traceId = ++this.seq;
      offline = !delivery.retain;
    } else {
      // Retained messages sent on SUBSCRIBE are subscription pushes, however old.
      offline = id < n && !delivery.retain;
    }
    this.push(offline ? TraceCode.PushOffline : TraceCode.Sub, n, id);
  }

  queueDropped(instanceId: string, clientId: string, traceId: number, cause: DropCause): void {
    const key = `${instanceId}\u001f${clientId}`;
    let n = this.dropChannels.get(key);
    if (n === undefined) {
      if (this.dropChannels.size >= MAX_DROP_CHANNELS) this.dropChannels.clear();
      n = ++this.seq;
      this.dropChannels.set(key, n);
      this.batch.channels.push({ n, instanceId, clientId, once: false });
    }
    this.push(dropCode(cause), n, traceId === 0 ? ++this.seq : traceId);
  }

  // RuleTracer

  ruleHop(instanceId: string, ruleId: string, scheme: string): RuleHop {
    const info = `rule ${ruleId}, ${scheme}`;
    let n = 0;
    /** Channels for items of earlier runs, by their MsgId prefix (an outbox survives restarts). */
    let earlier: Map<string, number> | null = null;
    const event = (code: number, msgId: string): void => {
      const counter = msgCounter(msgId, this.idPrefix.length);
      if (counter === 0) {
        this.foreign++;
        return;
      }
      let channel: number;
      if (msgId.startsWith(this.idPrefix)) {
        if (counter > this.seq) {
          this.foreign++;
          return;
        }
        if (n === 0) {
          // Registered with its first event: a rule that never delivers costs no channel row.
          n = ++this.seq;
          this.batch.channels.push({ n, instanceId, clientId: '', once: false, info });
        }
        channel = n;
      } else {
        // A MsgId of an earlier run: its events go on a channel whose numbers the writer reads
        // under that run's prefix (traces.db knows every run's prefix until it purges it).
        const prefix = msgId.slice(0, this.idPrefix.length);
        earlier ??= new Map();
        let m = earlier.get(prefix);
        if (m === undefined) {
          if (earlier.size >= MAX_EARLIER_PREFIXES) earlier.clear();
          m = ++this.seq;
          earlier.set(prefix, m);
          this.batch.channels.push({ n: m, instanceId, clientId: '', once: false, info, msgPrefix: prefix });
        }
        channel = m;
      }
      this.push(code, channel, counter);
    };
    return {
      delivered: (msgId) => event(TraceCode.RuleOut, msgId),
      retried: (msgId) => event(TraceCode.RuleRetry, msgId),
      deadLettered: (msgId) => event(TraceCode.RuleDead, msgId),
    };
  }

  /**
   * The 32-hex MsgId of a message, as its trace records show it. Numbers the message now if no
   * trace has seen it yet (synchronously, on the broker thread), so later records carry the id.
   */
  msgIdOf(message: Message): string {
    return formatTraceId(this.idPrefix, this.messageId(message));
  }

  // Batching

  /** Sends what was recorded so far to the writer. */
  flush(): void {
    if (this.batch.count === 0 && this.batch.channels.length === 0) return;
    const batch = this.batch;
    this.batch = this.newBatch();
    this.options.sink.write(batch);
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }

  private channelOf(channel: Channel): number {
    let n = channel.traceChannel;
    if (n === 0) {
      n = channel.traceChannel = ++this.seq;
      this.batch.channels.push({ n, instanceId: channel.instanceId, clientId: channel.clientId, once: false });
    }
    return n;
  }

  private messageId(message: Message): number {
    const id = message.traceId;
    return id === 0 ? (message.traceId = ++this.seq) : id;
  }

  private push(code: number, channel: number, msg: number): void {
    let batch = this.batch;
    let i = batch.count;
    if (i === this.batchSize) {
      if (this.options.sink.pending >= this.maxPending) {
        this.dropped++;
        return;
      }
      this.flush();
      batch = this.batch;
      i = 0;
    }
    batch.time[i] = this.now();
    batch.code[i] = code;
    batch.channel[i] = channel;
    batch.msg[i] = msg;
    batch.count = i + 1;
    this.recorded++;
  }

  /**
   * The time of an event: read once per event-loop turn (a socket's data callback records many
   * events) and again every CLOCK_EVENTS events within one; Date.now() itself costs ~40 ns,
   * most of what recording an event would cost. The reading expires at the turn's end, where
   * the connections' flush runs (transport/turn-end.ts: no tick of its own, §23, §41), not in a
   * queueMicrotask: Node's queueMicrotask allocates an AsyncResource and a bound
   * function per call, ~10 % of all the broker allocated per message at 10k msg/s (young-generation
   * GC pauses are part of the latency tail, bench/RESULTS.md issue 15 §13).
   */
  private now(): number {
    if (this.clockEvents-- > 0) return this.time;
    if (!this.clockQueued) {
      this.clockQueued = true;
      atTurnEnd(this.clockExpired);
    }
    this.clockEvents = CLOCK_EVENTS - 1;
    return (this.time = Date.now());
  }

  private readonly clockExpired = (): void => {
    this.clockQueued = false;
    this.clockEvents = 0;
  };

  private newBatch(): TraceBatch {
    const size = this.batchSize;
    const sink = this.options.sink;
    return sink.allocate !== undefined ? sink.allocate(size) : batchOver(new ArrayBuffer(batchBytes(size)), size);
  }
}
