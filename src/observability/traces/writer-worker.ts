/**
 * The trace writer thread: stores each batch from the recorder as one row of traces.db, and purges
 * by retention and row cap when asked. Messages (main → worker):
 *
 *   { type: 'slot', slot, size, buffer } a slot of shared memory batches are recorded in
 *   { type: 'release', slot }           forget that slot (the main thread keeps only a few spare)
 *   { type: 'batch', slot, count, channels }
 *                                       store the batch in that slot; answer { type: 'stored', slot,
 *                                       rows, dropped } (the slot is the recorder's again)
 *   { type: 'sync', id }                answer { type: 'synced', id } once everything before is stored
 *   { type: 'purge', id, limits }       answer { type: 'purged', id, result }
 *   { type: 'close' }                   close the database; answer { type: 'closed' }
 *
 * On start it answers { type: 'ready' } or { type: 'failed', message }.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { MESSAGE_EVENT_BASE, TraceCode } from './codes.js';
import type { TraceColumns } from './batch-codec.js';
import { batchOver, formatTraceId, type TraceBatch } from './recorder.js';
import { MSG_EPOCH_FACTOR, openTraceDbForWriting, TraceWriter, type PurgeLimits, type TraceRow } from './trace-db.js';

export interface WriterWorkerData {
  readonly path: string;
  readonly idPrefix: string;
  /** Share of one core the writer may use (0-1]; see pump() in run(). */
  readonly cpuShare: number;
  /** Nice value of the writer thread (default 19, the lowest priority). */
  readonly priority?: number;
  /** Size cap of traces.db in bytes (0 = none), checked at most once a second while writing. */
  readonly maxBytes?: number;
}

export type WriterRequest =
  | { readonly type: 'slot'; readonly slot: number; readonly size: number; readonly buffer: SharedArrayBuffer }
  | { readonly type: 'release'; readonly slot: number }
  | { readonly type: 'batch'; readonly slot: number; readonly count: number; readonly channels: TraceBatch['channels'] }
  | { readonly type: 'sync'; readonly id: number }
  | { readonly type: 'purge'; readonly id: number; readonly limits: PurgeLimits }
  | { readonly type: 'close' };

export type WriterReply =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'stored'; readonly slot: number; readonly rows: number; readonly dropped: number }
  | { readonly type: 'synced'; readonly id: number }
  | { readonly type: 'purged'; readonly id: number; readonly result: { expired: number; overCap: number } }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'closed' };

/** Events after which a channel number is not used again. */
function endsChannel(code: number): boolean {
  return code !== TraceCode.ConnectAccepted && code < MESSAGE_EVENT_BASE;
}

/** How the writer names things: stores a channel, knows the MsgId epoch. */
export interface RowContext {
  /** Recorder channel number → channels.id, for the channels in use. */
  readonly channels: Map<number, number>;
  /** Stores a channel's identity (instance, client, ChannelId, ActionInfo detail) and returns its id. */
  register(instanceId: string, clientId: string, channelId: string, info?: string): number;
  readonly idPrefix: string;
  readonly epoch: number;
  /** The epoch of an earlier run's MsgId prefix, if traces.db still knows it. */
  epochOf?(prefix: string): number | undefined;
  /** Channels whose message numbers belong to an earlier run: channel number → that run's msg base, -1 when unknown. */
  readonly earlierBases?: Map<number, number>;
}

/**
 * Turns a recorder batch into stored columns, in place: channel numbers become channels.id
 * (registrations are applied first; ended channels are forgotten after), message counters become
 * stored msg numbers (epoch × 2^40 + counter). Events of a channel whose registration was lost
 * are left out.
 */
export function batchColumns(batch: TraceBatch, ctx: RowContext): TraceColumns {
  const channels = ctx.channels;
  const once: number[] = [];
  const earlier = ctx.earlierBases;
  for (const r of batch.channels) {
    channels.set(r.n, ctx.register(r.instanceId, r.clientId, formatTraceId(ctx.idPrefix, r.n), r.info));
    if (r.once) once.push(r.n);
    if (r.msgPrefix !== undefined && earlier !== undefined) {
      const epoch = ctx.epochOf?.(r.msgPrefix);
      earlier.set(r.n, epoch === undefined ? -1 : epoch * MSG_EPOCH_FACTOR);
    }
  }
  const base = ctx.epoch * MSG_EPOCH_FACTOR;
  const anyEarlier = earlier !== undefined && earlier.size > 0;
  const { time, code, channel: chan, msg } = batch;
  const ended: number[] = [];
  let k = 0;
  let lastN = -1;
  let lastId: number | undefined;
  let lastBase = base;
  for (let i = 0; i < batch.count; i++) {
    const n = chan[i]!;
    if (n !== lastN) {
      lastId = channels.get(n);
      lastBase = anyEarlier ? (earlier.get(n) ?? base) : base;
      lastN = n;
    }
    const id = lastId;
    if (id === undefined || lastBase < 0) continue; // registration lost with a dropped batch, or an unknown earlier run
    const c = code[i]!;
    const m = msg[i]!;
    time[k] = time[i]!;
    code[k] = c;
    chan[k] = id;
    msg[k] = m === 0 ? 0 : lastBase + m;
    k++;
    if (endsChannel(c)) ended.push(n);
  }
  for (const n of ended) {
    channels.delete(n);
    earlier?.delete(n);
  }
  for (const n of once) channels.delete(n);
  return { count: k, time, code, channel: chan, msg };
}

/**
 * Stores one recorder batch: its channel registrations and its events in one transaction, so a
 * batch costs one commit however many connections it registers. (Registered one by one outside
 * it, each channel row was a commit of its own: 26-35 µs of this thread's CPU per connect, about
 * a fifth of all the CPU a connect storm cost the broker; bench/RESULTS.md issue 15 §9.) If the
 * batch fails, its rows and registrations go together: the channels it registered are forgotten
 * (their later events are left out, as for a registration lost with a dropped batch) rather than
 * kept pointing at ids the rollback gave back. Returns the events stored.
 */
export function storeBatch(writer: TraceWriter, batch: TraceBatch, ctx: RowContext): number {
  try {
    return writer.inTransaction(() => {
      const columns = batchColumns(batch, ctx);
      writer.writeColumns(columns);
      return columns.count;
    });
  } catch (error) {
    for (const r of batch.channels) {
      ctx.channels.delete(r.n);
      ctx.earlierBases?.delete(r.n);
    }
    throw error;
  }
}

/** Rows of one batch (batchColumns as objects); for tests and tools. */
export function batchRows(batch: TraceBatch, ctx: RowContext): TraceRow[] {
  const c = batchColumns(batch, ctx);
  return Array.from({ length: c.count }, (_, i) => ({ time: c.time[i]!, channel: c.channel[i]!, code: c.code[i]!, msg: c.msg[i]! }));
}

/**
 * Backlog, in full batches' worth of events, the writer may have waiting before it keeps only the
 * device events of new batches. Counted in events, not batches: a quiet broker sends a batch per
 * flush interval with a few events in it, and while the machine is busy the writer's rests
 * (measured in wall time) grow; a dozen such batches waiting are no backlog worth dropping for.
 */
const MAX_QUEUED_FULL_BATCHES = 8;

/** Removes the message events of a batch in place; returns how many were removed. */
export function keepDeviceEvents(batch: TraceBatch): number {
  let kept = 0;
  for (let i = 0; i < batch.count; i++) {
    if (batch.code[i]! >= MESSAGE_EVENT_BASE) continue;
    batch.time[kept] = batch.time[i]!;
    batch.code[kept] = batch.code[i]!;
    batch.channel[kept] = batch.channel[i]!;
    batch.msg[kept] = batch.msg[i]!;
    kept++;
  }
  const dropped = batch.count - kept;
  batch.count = kept;
  return dropped;
}

function run(): void {
  const port = parentPort;
  if (port === null) return;
  const data = workerData as WriterWorkerData;
  // Background work: on Linux a thread has its own nice value, and setPriority(0, …) in this
  // thread sets only this thread's. At the lowest priority the writer runs on idle CPU instead of
  // preempting the broker thread each time a batch wakes it (on a busy 2-core machine those
  // wake-ups cost the broker more than the writer's work itself).
  try {
    setPriority(0, data.priority ?? 19);
  } catch {
    // not permitted or not supported: run at the normal priority
  }
  let writer: TraceWriter;
  try {
    writer = new TraceWriter(openTraceDbForWriting(data.path));
  } catch (error) {
    port.postMessage({ type: 'failed', message: (error as Error).message } satisfies WriterReply);
    return;
  }
  const ctx: RowContext = {
    channels: new Map<number, number>(),
    register: (instanceId, clientId, channelId, info) => writer.channel(instanceId, clientId, channelId, info),
    epochOf: (prefix) => writer.epochOf(prefix),
    earlierBases: new Map<number, number>(),
    idPrefix: data.idPrefix,
    epoch: writer.epoch(data.idPrefix),
  };
  // The byte cap is kept while writing, not only at the periodic purge: a flood must not grow
  // the file for a whole purge interval. Checking costs three pragmas, once a second at most.
  const maxBytes = data.maxBytes ?? 0;
  let bytesCheckedAt = 0;
  const keepUnderBytes = (): void => {
    const now = performance.now();
    if (maxBytes <= 0 || now - bytesCheckedAt < 1000) return;
    bytesCheckedAt = now;
    if (writer.fileBytes() <= maxBytes) return;
    // The whole purge (nothing is expired at time 0), so channel summaries of dropped batches go too.
    writer.purge({ before: 0, maxRows: Number.MAX_SAFE_INTEGER, maxBytes }, 64, new Set(ctx.channels.values()));
  };
  const handle = (request: WriterRequest, batch: TraceBatch | null, dropped: number): void => {
    try {
      switch (request.type) {
        case 'batch': {
          const rows = storeBatch(writer, batch!, ctx);
          keepUnderBytes();
          port.postMessage({ type: 'stored', slot: request.slot, rows, dropped } satisfies WriterReply);
          return;
        }
        case 'slot':
        case 'release':
          return;
        case 'sync':
          port.postMessage({ type: 'synced', id: request.id } satisfies WriterReply);
          return;
        case 'purge':
          port.postMessage({ type: 'purged', id: request.id, result: writer.purge(request.limits, 5000, new Set(ctx.channels.values())) } satisfies WriterReply);
          return;
        case 'close':
          writer.close();
          port.postMessage({ type: 'closed' } satisfies WriterReply);
          port.close();
          return;
      }
    } catch (error) {
      port.postMessage({ type: 'error', message: (error as Error).message } satisfies WriterReply);
      if (request.type === 'sync') port.postMessage({ type: 'synced', id: request.id } satisfies WriterReply);
      if (request.type === 'purge') port.postMessage({ type: 'purged', id: request.id, result: { expired: 0, overCap: 0 } } satisfies WriterReply);
      if (request.type === 'batch') port.postMessage({ type: 'stored', slot: request.slot, rows: 0, dropped: request.count } satisfies WriterReply);
    }
  };

  // CPU budget: after work that took t ms the thread rests t × (1/share − 1) ms, so it uses at
  // most `cpuShare` of a core. Batches that arrive while more than MAX_QUEUED_FULL_BATCHES full
  // batches' worth of events wait keep only their device events (connect/close: few, and they
  // keep the channel bookkeeping right); their message events are dropped and counted.
  const queue: Array<{ request: WriterRequest; batch: TraceBatch | null; dropped: number }> = [];
  const slots: Array<TraceBatch | undefined> = [];
  let queuedEvents = 0;
  let restUntil = 0;
  let waking = false;
  const pump = (): void => {
    if (waking) return;
    while (queue.length > 0) {
      const wait = restUntil - performance.now();
      if (wait > 0) {
        waking = true;
        setTimeout(() => {
          waking = false;
          pump();
        }, wait);
        return;
      }
      const { request, batch, dropped } = queue.shift()!;
      if (batch !== null) queuedEvents -= batch.count;
      const started = performance.now();
      handle(request, batch, dropped);
      if (request.type === 'close') return;
      const spent = performance.now() - started;
      if (data.cpuShare < 1) restUntil = performance.now() + spent * (1 / data.cpuShare - 1);
    }
  };
  port.on('message', (request: WriterRequest) => {
    if (request.type === 'slot') {
      slots[request.slot] = batchOver(request.buffer, request.size);
      return;
    }
    if (request.type === 'release') {
      // Batches queued from this slot hold their own views of its memory.
      slots[request.slot] = undefined;
      return;
    }
    let dropped = 0;
    let batch: TraceBatch | null = null;
    if (request.type === 'batch') {
      const slot = slots[request.slot]!;
      batch = { ...slot, count: request.count, channels: request.channels };
      if (queuedEvents + batch.count > MAX_QUEUED_FULL_BATCHES * slot.time.length) dropped = keepDeviceEvents(batch);
      queuedEvents += batch.count;
    }
    queue.push({ request, batch, dropped });
    pump();
  });
  port.postMessage({ type: 'ready' } satisfies WriterReply);
}

run();
