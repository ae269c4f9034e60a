/**
 * Trace micro-benchmark: what recording costs on the broker thread, and how many rows per second
 * the writer stores.
 *  1. Hot path: TraceRecorder.published + delivered (a 1 → 1 message = 2 events) into a sink
 *     that discards batches: ns per event on the event-loop thread.
 *  2. Writer: batchColumns (recorder numbers → stored ids, in place) and TraceWriter.writeColumns
 *     (the batch encoded as one BLOB row + per-channel and MsgId-bucket summaries, one transaction
 *     per batch of 8192) in this thread: µs per event, events/s of one core.
 *  3. Queries on what was stored: a client's messages (first page, a deep page) and a MsgId's
 *     subscribers, ms per query.
 *
 * The end-to-end cost on QoS 1 throughput is measured with the e2e harness, tracing off vs on:
 * bench/traces/ab.sh (see bench/RESULTS.md, "Issue 5 — traces").
 *
 * Usage: node dist/bench/traces/trace.bench.js [--events 4000000] [--rows 1000000] [--clients 1000]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Channel } from '../../src/channel/channel.js';
import { Message } from '../../src/session/message.js';
import { TraceRecorder, newIdPrefix, type TraceBatch } from '../../src/observability/traces/recorder.js';
import { openTraceDbForReading, openTraceDbForWriting, TraceWriter } from '../../src/observability/traces/trace-db.js';
import { batchColumns } from '../../src/observability/traces/writer-worker.js';
import { queryMessageOfClient, queryMessageSubscribe } from '../../src/observability/traces/query.js';
import { formatTraceId } from '../../src/observability/traces/recorder.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const events = arg('events', 4_000_000);
const rowsWanted = arg('rows', 1_000_000);

const clients = arg('clients', 1000);
const channels = Array.from({ length: clients }, (_, i) => ({ clientId: `device-${i}`, instanceId: 'mqtt-default', traceChannel: 0 }) as unknown as Channel);
const payload = Buffer.alloc(64);

// 1. Hot path.
const kept: TraceBatch[] = [];
let keep = true;
const recorder = new TraceRecorder({
  sink: { pending: 0, write: (b) => void (keep && kept.length < 200 ? kept.push(b) : undefined) },
  flushIntervalMs: 1_000_000,
  defaultInstanceId: 'mqtt-default',
});
const messages = Array.from({ length: 1024 }, () => new Message('bench/x', payload, 1, false, undefined, 0, null));
function record(n: number): void {
  for (let i = 0; i < n; i += 2) {
    const m = messages[(i >> 1) & 1023]!;
    m.traceId = 0;
    recorder.published(channels[(i >> 1) % clients]!, m);
    recorder.delivered(channels[((i >> 1) + 1) % clients]!, { message: m, qos: 1, retain: false, subscriptionIds: undefined, shared: null });
  }
}
record(200_000); // warm up
const warmup = kept.splice(0); // their channel registrations are needed by the writer below
let t0 = process.hrtime.bigint();
record(events);
let ns = Number(process.hrtime.bigint() - t0);
recorder.close();
keep = false;
console.log(`recorder: ${events.toLocaleString()} events, ${(ns / events).toFixed(1)} ns/event on the broker thread`);

// 2. Writer.
const dir = mkdtempSync(join(tmpdir(), 'ferry-trace-bench-'));
try {
  const writer = new TraceWriter(openTraceDbForWriting(join(dir, 'traces.db')));
  const prefix = newIdPrefix();
  const ctx = {
    channels: new Map<number, number>(),
    register: (instanceId: string, clientId: string, channelId: string) => writer.channel(instanceId, clientId, channelId),
    idPrefix: prefix,
    epoch: writer.epoch(prefix),
  };
  for (const batch of warmup) writer.writeColumns(batchColumns(batch, ctx));
  let rows = 0;
  let convertNs = 0;
  let insertNs = 0;
  const started = process.hrtime.bigint();
  for (const batch of kept) {
    if (rows >= rowsWanted) break;
    t0 = process.hrtime.bigint();
    const out = batchColumns(batch, ctx);
    const t1 = process.hrtime.bigint();
    writer.writeColumns(out);
    insertNs += Number(process.hrtime.bigint() - t1);
    convertNs += Number(t1 - t0);
    rows += out.count;
  }
  ns = Number(process.hrtime.bigint() - started);
  const size = statSync(join(dir, 'traces.db')).size + statSync(join(dir, 'traces.db-wal')).size;
  console.log(
    `writer: ${rows.toLocaleString()} rows, ${((rows / ns) * 1e9).toFixed(0)} rows/s ` +
      `(ids ${(convertNs / rows / 1000).toFixed(3)} µs + encode and insert ${(insertNs / rows / 1000).toFixed(3)} µs per event), ` +
      `${(size / rows).toFixed(0)} bytes/event on disk`,
  );

  // 3. Queries.
  const reader = openTraceDbForReading(join(dir, 'traces.db'));
  const range = { instanceId: 'mqtt-default', beginTime: 0, endTime: Date.now() + 60_000 };
  const time = (label: string, f: () => unknown): void => {
    f();
    const runs = 20;
    const q0 = process.hrtime.bigint();
    for (let i = 0; i < runs; i++) f();
    console.log(`query ${label}: ${(Number(process.hrtime.bigint() - q0) / runs / 1e6).toFixed(2)} ms`);
  };
  const probe = `device-${Math.min(7, clients - 1)}`;
  const first = queryMessageOfClient(reader, { ...range, clientId: probe, pageSize: 100 });
  time(`client messages, page 1 of ${first.Total.toLocaleString()}`, () => queryMessageOfClient(reader, { ...range, clientId: probe, pageSize: 100 }));
  time('client messages, last page', () =>
    queryMessageOfClient(reader, { ...range, clientId: probe, pageSize: 100, currentPage: Math.max(1, Math.ceil(first.Total / 100)) }),
  );
  const msgId = formatTraceId(prefix, messages[5]!.traceId);
  time('MsgId subscribers', () => queryMessageSubscribe(reader, { ...range, msgId }));
  reader.close();
  writer.db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
