/**
 * The trace writer thread: turns batches from the recorder into rows of traces.db, and purges
 * by retention and row cap when asked. Messages (main → worker):
 *
 *   { type: 'batch', batch }            store it; answer { type: 'stored', rows, dropped }
 *   { type: 'sync', id }                answer { type: 'synced', id } once everything before is stored
 *   { type: 'purge', id, limits }       answer { type: 'purged', id, result }
 *   { type: 'close' }                   close the database; answer { type: 'closed' }
 *
 * On start it answers { type: 'ready' } or { type: 'failed', message }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MESSAGE_EVENT_BASE, TraceCode } from './codes.js';
import { formatTraceId, type TraceBatch } from './recorder.js';
import { MSG_EPOCH_FACTOR, openTraceDbForWriting, TraceWriter, type PurgeLimits, type TraceRow } from './trace-db.js';

export interface WriterWorkerData {
  readonly path: string;
  readonly idPrefix: string;
  /** Share of one core the writer may use (0-1]; see pump() in run(). */
  readonly cpuShare: number;
}

export type WriterRequest =
  | { readonly type: 'batch'; readonly batch: TraceBatch }
  | { readonly type: 'sync'; readonly id: number }
  | { readonly type: 'purge'; readonly id: number; readonly limits: PurgeLimits }
  | { readonly type: 'close' };

export type WriterReply =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'stored'; readonly rows: number; readonly dropped: number }
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
  /** Stores a channel's identity (instance, client, ChannelId) and returns its id. */
  register(instanceId: string, clientId: string, channelId: string): number;
  readonly idPrefix: string;
  readonly epoch: number;
}

/** Rows of one batch; exported for tests. Registrations are applied, ended channels forgotten. */
export function batchRows(batch: TraceBatch, ctx: RowContext): TraceRow[] {
  const channels = ctx.channels;
  const once: number[] = [];
  for (const r of batch.channels) {
    channels.set(r.n, ctx.register(r.instanceId, r.clientId, formatTraceId(ctx.idPrefix, r.n)));
    if (r.once) once.push(r.n);
  }
  const base = ctx.epoch * MSG_EPOCH_FACTOR;
  const rows: TraceRow[] = [];
  const ended: number[] = [];
  for (let i = 0; i < batch.count; i++) {
    const n = batch.channel[i]!;
    const channel = channels.get(n);
    if (channel === undefined) continue; // registration lost with a dropped batch
    const code = batch.code[i]!;
    const msg = batch.msg[i]!;
    rows.push({ time: batch.time[i]!, channel, code, msg: msg === 0 ? 0 : base + msg });
    if (endsChannel(code)) ended.push(n);
  }
  for (const n of ended) channels.delete(n);
  for (const n of once) channels.delete(n);
  return rows;
}

/** Batches the writer may have waiting before it keeps only the device events of new ones. */
const MAX_QUEUED_BATCHES = 8;

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
  let writer: TraceWriter;
  try {
    writer = new TraceWriter(openTraceDbForWriting(data.path));
  } catch (error) {
    port.postMessage({ type: 'failed', message: (error as Error).message } satisfies WriterReply);
    return;
  }
  const ctx: RowContext = {
    channels: new Map<number, number>(),
    register: (instanceId, clientId, channelId) => writer.channel(instanceId, clientId, channelId),
    idPrefix: data.idPrefix,
    epoch: writer.epoch(data.idPrefix),
  };
  const handle = (request: WriterRequest, dropped: number): void => {
    try {
      switch (request.type) {
        case 'batch': {
          const rows = batchRows(request.batch, ctx);
          writer.write(rows);
          port.postMessage({ type: 'stored', rows: rows.length, dropped } satisfies WriterReply);
          return;
        }
        case 'sync':
          port.postMessage({ type: 'synced', id: request.id } satisfies WriterReply);
          return;
        case 'purge':
          port.postMessage({ type: 'purged', id: request.id, result: writer.purge(request.limits, 5000, new Set(ctx.channels.values())) } satisfies WriterReply);
          return;
        case 'close':
          writer.db.close();
          port.postMessage({ type: 'closed' } satisfies WriterReply);
          port.close();
          return;
      }
    } catch (error) {
      port.postMessage({ type: 'error', message: (error as Error).message } satisfies WriterReply);
      if (request.type === 'sync') port.postMessage({ type: 'synced', id: request.id } satisfies WriterReply);
      if (request.type === 'purge') port.postMessage({ type: 'purged', id: request.id, result: { expired: 0, overCap: 0 } } satisfies WriterReply);
      if (request.type === 'batch') port.postMessage({ type: 'stored', rows: 0, dropped: request.batch.count } satisfies WriterReply);
    }
  };

  // CPU budget: after work that took t ms the thread rests t × (1/share − 1) ms, so it uses at
  // most `cpuShare` of a core. Batches that arrive while more than MAX_QUEUED_BATCHES wait keep
  // only their device events (connect/close: few, and they keep the channel bookkeeping right);
  // their message events are dropped and counted.
  const queue: Array<{ request: WriterRequest; dropped: number }> = [];
  let queuedBatches = 0;
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
      const { request, dropped } = queue.shift()!;
      if (request.type === 'batch') queuedBatches--;
      const started = performance.now();
      handle(request, dropped);
      if (request.type === 'close') return;
      const spent = performance.now() - started;
      if (data.cpuShare < 1) restUntil = performance.now() + spent * (1 / data.cpuShare - 1);
    }
  };
  port.on('message', (request: WriterRequest) => {
    let dropped = 0;
    if (request.type === 'batch') {
      if (queuedBatches >= MAX_QUEUED_BATCHES) dropped = keepDeviceEvents(request.batch);
      queuedBatches++;
    }
    queue.push({ request, dropped });
    pump();
  });
  port.postMessage({ type: 'ready' } satisfies WriterReply);
}

run();
