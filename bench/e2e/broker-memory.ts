/**
 * A steadier memory reading of a broker for the idle-connection scenarios (issue 15).
 *
 * Plain VmRSS of a Node broker read 1 s after a connect storm moved by 0.6–0.8 KB per connection
 * between rounds of one build at 19,900 connections: it counted garbage not yet collected, in the
 * main isolate and in the worker threads', and work still under way (Ferry's trace writer, a
 * low-priority thread with a CPU share, stores the storm's CONNECT events for a while after the
 * last CONNACK; the batches waiting for it are memory too). So a reading here
 *
 * 1. waits until the broker is idle: its CPU time (all threads) grows by under 1 % of a core
 *    over two 250 ms periods in a row (at most 30 s; the wait is reported);
 * 2. for Node brokers started with `--inspect=127.0.0.1:0` (these scenarios only — a harness
 *    flag, never a production endpoint), forces full collections over the inspector protocol in
 *    every isolate: the worker threads (`NodeWorker` domain), then the main thread
 *    (`HeapProfiler.collectGarbage`, twice: the first may leave what weak callbacks free), and
 *    reads the main isolate's used heap (`Runtime.getHeapUsage`);
 * 3. reads VmRSS five times 100 ms apart and takes the median.
 *
 * Mosquitto gets steps 1 and 3.
 */
import fs from 'node:fs';
import WebSocket from 'ws';
import { INSPECT_FLAG, procCpuUs, procRssBytes, type BrokerHandle } from './brokers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface MemorySample {
  /** Median VmRSS of the reads, bytes. */
  readonly rss: number;
  /** All RSS reads, bytes (their spread shows how settled the process was). */
  readonly reads: readonly number[];
  /** How long the broker took to go idle before the reading, ms. */
  readonly settleMs: number;
  /** V8's used heap of the main isolate after the forced collection, bytes; undefined without an inspector. */
  readonly heapUsed?: number;
  /** The same for the worker threads' isolates together. */
  readonly workersHeapUsed?: number;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

/** A connection to one broker's inspector: the main thread and, through it, its worker threads. */
export class BrokerInspector {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Worker sessions (NodeWorker.attachedToWorker) and their own request ids. */
  private readonly workers = new Set<string>();
  private readonly workerPending = new Map<number, Pending>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => this.onMessage(JSON.parse(String(data)) as InspectorMessage));
    socket.on('close', () => {
      for (const p of [...this.pending.values(), ...this.workerPending.values()]) p.reject(new Error('inspector connection closed'));
      this.pending.clear();
      this.workerPending.clear();
    });
  }

  /** Connect to the inspector whose URL the broker printed to `logFile` ("Debugger listening on ws://…"). */
  static async open(logFile: string, timeoutMs = 5000): Promise<BrokerInspector> {
    const deadline = Date.now() + timeoutMs;
    let url: string | undefined;
    for (;;) {
      url = /Debugger listening on (ws:\/\/\S+)/.exec(fs.readFileSync(logFile, 'utf8'))?.[1];
      if (url !== undefined) break;
      if (Date.now() > deadline) throw new Error(`no inspector URL in ${logFile} (started without ${INSPECT_FLAG}?)`);
      await sleep(50);
    }
    const socket = new WebSocket(url, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const inspector = new BrokerInspector(socket);
    // Attach to the worker threads (running ones are reported at once), without pausing new ones.
    await inspector.call('NodeWorker.enable', { waitForDebuggerOnStart: false });
    return inspector;
  }

  private onMessage(msg: InspectorMessage): void {
    if (msg.method === 'NodeWorker.attachedToWorker') {
      this.workers.add(msg.params!['sessionId'] as string);
      return;
    }
    if (msg.method === 'NodeWorker.detachedFromWorker') {
      this.workers.delete(msg.params!['sessionId'] as string);
      return;
    }
    if (msg.method === 'NodeWorker.receivedMessageFromWorker') {
      this.settle(this.workerPending, JSON.parse(msg.params!['message'] as string) as InspectorMessage);
      return;
    }
    this.settle(this.pending, msg);
  }

  private settle(pending: Map<number, Pending>, msg: InspectorMessage): void {
    if (msg.id === undefined) return; // an event nothing waits for
    const p = pending.get(msg.id);
    if (p === undefined) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`inspector: ${msg.error.message}`));
    else p.resolve(msg.result);
  }

  call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** A request to one worker thread's isolate, relayed by the main thread's inspector. */
  callWorker<T>(sessionId: string, method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.workerPending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const message = JSON.stringify({ id, method, params });
      this.call('NodeWorker.sendMessageToWorker', { sessionId, message }).catch(reject);
    });
  }

  /** Full collections in every isolate; the used heap of the main one and of the workers together, bytes. */
  async collect(): Promise<{ main: number; workers: number }> {
    let workers = 0;
    for (const sessionId of [...this.workers]) {
      await this.callWorker(sessionId, 'HeapProfiler.collectGarbage');
      await this.callWorker(sessionId, 'HeapProfiler.collectGarbage');
      workers += (await this.callWorker<{ usedSize: number }>(sessionId, 'Runtime.getHeapUsage')).usedSize;
    }
    await this.call('HeapProfiler.collectGarbage');
    await this.call('HeapProfiler.collectGarbage');
    const main = (await this.call<{ usedSize: number }>('Runtime.getHeapUsage')).usedSize;
    return { main, workers };
  }

  close(): void {
    this.socket.terminate(); // at once: a node with a debugger attached waits for it to leave before exiting
  }
}

interface InspectorMessage {
  readonly id?: number;
  readonly method?: string;
  readonly params?: Record<string, unknown>;
  readonly result?: unknown;
  readonly error?: { readonly message: string };
}

/**
 * Waits until the process uses under `pct` % of one core over two `periodMs` periods in a row,
 * at most `maxMs`; returns the time waited, ms.
 */
export async function waitIdle(pid: number, pct = 1, periodMs = 250, maxMs = 30_000): Promise<number> {
  const t0 = Date.now();
  let quiet = 0;
  let cpu = procCpuUs(pid);
  while (quiet < 2 && Date.now() - t0 < maxMs) {
    await sleep(periodMs);
    const now = procCpuUs(pid);
    quiet = (now - cpu) / (periodMs * 1000) < pct / 100 ? quiet + 1 : 0;
    cpu = now;
  }
  return Date.now() - t0;
}

/** One memory reading (see the module comment). */
export async function sampleMemory(pid: number, inspector: BrokerInspector | null, reads = 5, gapMs = 100): Promise<MemorySample> {
  const settleMs = await waitIdle(pid);
  const heap = inspector === null ? undefined : await inspector.collect();
  await sleep(200);
  const rs: number[] = [];
  for (let i = 0; i < reads; i++) {
    if (i > 0) await sleep(gapMs);
    rs.push(procRssBytes(pid));
  }
  const sorted = [...rs].sort((a, b) => a - b);
  const rss = sorted[Math.floor(sorted.length / 2)]!;
  return heap === undefined ? { rss, reads: rs, settleMs } : { rss, reads: rs, settleMs, heapUsed: heap.main, workersHeapUsed: heap.workers };
}

/** "RSS a → b MB (…), heap a → b MB" for a run's note. */
export function memoryNote(before: MemorySample, after: MemorySample): string {
  const mb = (v: number): string => (v / 2 ** 20).toFixed(1);
  const range = (s: MemorySample): number => (Math.max(...s.reads) - Math.min(...s.reads)) / 1024;
  let note = `RSS ${mb(before.rss)} → ${mb(after.rss)} MB (idle after ${(after.settleMs / 1000).toFixed(1)} s, median of ${after.reads.length} reads within ${Math.max(range(before), range(after)).toFixed(0)} KB)`;
  if (before.heapUsed !== undefined && after.heapUsed !== undefined) {
    note += `, heap after full GC ${mb(before.heapUsed)} → ${mb(after.heapUsed)} MB`;
    if (before.workersHeapUsed !== undefined && after.workersHeapUsed !== undefined) note += ` (worker threads ${mb(before.workersHeapUsed)} → ${mb(after.workersHeapUsed)} MB)`;
  }
  return note;
}

/** The broker's inspector when it was started with one, else null (Mosquitto; scenarios without `inspect`). */
export function brokerInspector(broker: BrokerHandle): Promise<BrokerInspector | null> {
  return broker.inspect ? BrokerInspector.open(broker.logFile) : Promise.resolve(null);
}

/** Per-connection metrics of two readings: RSS growth and, with an inspector, live-heap growth. */
export function perConnection(before: MemorySample, after: MemorySample, connected: number): Record<string, number> {
  const m: Record<string, number> = { perConn: (after.rss - before.rss) / connected, rssBefore: before.rss, rssAfter: after.rss, settleMs: after.settleMs };
  if (before.heapUsed !== undefined && after.heapUsed !== undefined) m['heapPerConn'] = (after.heapUsed - before.heapUsed) / connected;
  if (before.workersHeapUsed !== undefined && after.workersHeapUsed !== undefined) m['workersHeapPerConn'] = (after.workersHeapUsed - before.workersHeapUsed) / connected;
  return m;
}
