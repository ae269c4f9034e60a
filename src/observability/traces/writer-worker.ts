/**
 * The trace writer thread: turns batches from the recorder into rows of traces.db, and purges
 * by retention and row cap when asked. Messages (main → worker):
 *
 *   { type: 'batch', batch }            store it; answer { type: 'stored', rows }
 *   { type: 'sync', id }                answer { type: 'synced', id } once everything before is stored
 *   { type: 'purge', id, limits }       answer { type: 'purged', id, result }
 *   { type: 'close' }                   close the database; answer { type: 'closed' }
 *
 * On start it answers { type: 'ready' } or { type: 'failed', message }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MESSAGE_EVENT_BASE, TraceCode } from './codes.js';
import { formatTraceId, type TraceBatch } from './recorder.js';
import { openTraceDbForWriting, TraceWriter, type PurgeLimits, type TraceRow } from './trace-db.js';

export interface WriterWorkerData {
  readonly path: string;
  readonly idPrefix: string;
}

export type WriterRequest =
  | { readonly type: 'batch'; readonly batch: TraceBatch }
  | { readonly type: 'sync'; readonly id: number }
  | { readonly type: 'purge'; readonly id: number; readonly limits: PurgeLimits }
  | { readonly type: 'close' };

export type WriterReply =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'stored'; readonly rows: number }
  | { readonly type: 'synced'; readonly id: number }
  | { readonly type: 'purged'; readonly id: number; readonly result: { expired: number; overCap: number } }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'closed' };

interface ChannelInfo {
  readonly instanceId: string;
  readonly clientId: string;
  readonly channelId: string;
}

/** Events after which a channel number is not used again. */
function endsChannel(code: number): boolean {
  return code !== TraceCode.ConnectAccepted && code < MESSAGE_EVENT_BASE;
}

/** Rows of one batch; exported for tests. Registrations are applied, ended channels forgotten. */
export function batchRows(batch: TraceBatch, channels: Map<number, ChannelInfo>, idPrefix: string): TraceRow[] {
  const once: number[] = [];
  for (const r of batch.channels) {
    channels.set(r.n, { instanceId: r.instanceId, clientId: r.clientId, channelId: formatTraceId(idPrefix, r.n) });
    if (r.once) once.push(r.n);
  }
  const rows: TraceRow[] = [];
  const ended: number[] = [];
  let lastMsg = 0;
  let lastMsgId = '';
  for (let i = 0; i < batch.count; i++) {
    const n = batch.channel[i]!;
    const info = channels.get(n);
    if (info === undefined) continue; // registration lost with a dropped batch
    const code = batch.code[i]!;
    const msg = batch.msg[i]!;
    let msgId: string | null = null;
    if (msg !== 0) {
      if (msg !== lastMsg) {
        lastMsg = msg;
        lastMsgId = formatTraceId(idPrefix, msg);
      }
      msgId = lastMsgId;
    }
    rows.push({ time: batch.time[i]!, instanceId: info.instanceId, clientId: info.clientId, channelId: info.channelId, code, msgId });
    if (endsChannel(code)) ended.push(n);
  }
  for (const n of ended) channels.delete(n);
  for (const n of once) channels.delete(n);
  return rows;
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
  const channels = new Map<number, ChannelInfo>();
  port.on('message', (request: WriterRequest) => {
    try {
      switch (request.type) {
        case 'batch': {
          const rows = batchRows(request.batch, channels, data.idPrefix);
          writer.write(rows);
          port.postMessage({ type: 'stored', rows: rows.length } satisfies WriterReply);
          return;
        }
        case 'sync':
          port.postMessage({ type: 'synced', id: request.id } satisfies WriterReply);
          return;
        case 'purge':
          port.postMessage({ type: 'purged', id: request.id, result: writer.purge(request.limits) } satisfies WriterReply);
          return;
        case 'close':
          writer.db.close();
          port.postMessage({ type: 'closed' } satisfies WriterReply);
          port.close();
          return;
      }
    } catch (error) {
      port.postMessage({ type: 'error', message: (error as Error).message } satisfies WriterReply);
      if (request.type === 'sync' || request.type === 'purge') {
        port.postMessage(
          request.type === 'sync'
            ? ({ type: 'synced', id: request.id } satisfies WriterReply)
            : ({ type: 'purged', id: request.id, result: { expired: 0, overCap: 0 } } satisfies WriterReply),
        );
      }
      if (request.type === 'batch') port.postMessage({ type: 'stored', rows: 0 } satisfies WriterReply);
    }
  });
  port.postMessage({ type: 'ready' } satisfies WriterReply);
}

run();
