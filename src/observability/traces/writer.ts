/**
 * Main-thread side of the trace writer thread (writer-worker.ts). Batches live in slots of
 * shared memory that both threads see: the recorder fills one, `write` posts its number, the
 * writer answers `stored` with it and the slot is reused. So a batch is neither copied nor
 * transferred, and recording allocates nothing once the slots exist (allocating and
 * transferring fresh buffers per batch cost the broker thread far more, mostly in GC).
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { batchBytes, batchOver, type TraceBatch, type TraceBatchSink } from './recorder.js';
import type { PurgeLimits, PurgeResult } from './trace-db.js';
import type { WriterReply, WriterRequest, WriterWorkerData } from './writer-worker.js';

/**
 * Stored slots kept for reuse beyond this many are released (both threads drop them). A burst
 * the writer falls behind on (a connect storm: one device event per CONNECT) grows the pool to
 * dozens of ~190 KB slots; keeping them all would hold that memory for the process's life.
 */
const SPARE_SLOTS = 4;

export class TraceWriterThread implements TraceBatchSink {
  pending = 0;
  /** Rows stored since start. */
  stored = 0;
  /** Message events the writer dropped to stay within its CPU share. */
  dropped = 0;
  private readonly worker: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, (result: PurgeResult) => void>();
  private closing: Promise<void> | null = null;
  private closed: (() => void) | null = null;
  /** Slots by number; free ones (stored or never used) by number. */
  private readonly slots: Array<TraceBatch | undefined> = [];
  private readonly slotOf = new Map<TraceBatch, number>();
  private readonly free: number[] = [];
  /** Slot numbers released (SPARE_SLOTS), reused before new numbers. */
  private readonly vacant: number[] = [];

  private constructor(worker: Worker, private readonly logger: Logger) {
    this.worker = worker;
    worker.on('message', (reply: WriterReply) => this.onReply(reply));
    worker.on('error', (error) => logger.error({ err: error }, 'trace writer failed'));
    worker.on('exit', () => {
      for (const resolve of this.waiting.values()) resolve({ expired: 0, overCap: 0 });
      this.waiting.clear();
      this.closed?.();
    });
  }

  /** Starts the thread and waits until the database is open. */
  static start(data: WriterWorkerData, logger: Logger): Promise<TraceWriterThread> {
    const worker = new Worker(new URL('./writer-worker.js', import.meta.url), { workerData: data });
    return new Promise((resolve, reject) => {
      const onMessage = (reply: WriterReply): void => {
        worker.off('message', onMessage);
        worker.off('error', reject);
        if (reply.type === 'ready') resolve(new TraceWriterThread(worker, logger));
        else {
          // eslint-disable-next-line @typescript-eslint/no-floating-promises -- cannot reject: Worker.terminate() only resolves, with the exit code
          void worker.terminate();
          reject(new Error(reply.type === 'failed' ? reply.message : `trace writer: unexpected ${reply.type}`));
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  }

  /** Slots of shared memory both threads hold now (in use, pending or spare). */
  get slotCount(): number {
    return this.slotOf.size;
  }

  allocate(size: number): TraceBatch {
    for (;;) {
      const slot = this.free.pop();
      if (slot === undefined) break;
      const batch = this.slots[slot]!;
      if (batch.time.length !== size) continue; // another size: let it go
      batch.count = 0;
      batch.channels.length = 0;
      return batch;
    }
    const buffer = new SharedArrayBuffer(batchBytes(size));
    const batch = batchOver(buffer, size);
    const slot = this.vacant.pop() ?? this.slots.length;
    this.slots[slot] = batch;
    this.slotOf.set(batch, slot);
    this.worker.postMessage({ type: 'slot', slot, size, buffer } satisfies WriterRequest);
    return batch;
  }

  write(batch: TraceBatch): void {
    if (this.closing !== null) return;
    const slot = this.slotOf.get(batch);
    if (slot === undefined) throw new Error('trace batch not allocated by this writer');
    this.pending++;
    this.worker.postMessage({ type: 'batch', slot, count: batch.count, channels: batch.channels } satisfies WriterRequest);
  }

  /** Resolves when every batch written so far is stored. */
  sync(): Promise<void> {
    if (this.closing !== null) return Promise.resolve();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, () => resolve());
      this.worker.postMessage({ type: 'sync', id } satisfies WriterRequest);
    });
  }

  purge(limits: PurgeLimits): Promise<PurgeResult> {
    if (this.closing !== null) return Promise.resolve({ expired: 0, overCap: 0 });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ type: 'purge', id, limits } satisfies WriterRequest);
    });
  }

  /** Stores what was written, closes the database and ends the thread. */
  close(): Promise<void> {
    return (this.closing ??= new Promise<void>((resolve) => {
      this.closed = resolve;
      this.worker.postMessage({ type: 'close' } satisfies WriterRequest);
    }));
  }

  private onReply(reply: WriterReply): void {
    switch (reply.type) {
      case 'stored':
        this.pending--;
        this.stored += reply.rows;
        this.dropped += reply.dropped;
        if (this.free.length < SPARE_SLOTS) {
          this.free.push(reply.slot);
        } else {
          this.slotOf.delete(this.slots[reply.slot]!);
          this.slots[reply.slot] = undefined;
          this.vacant.push(reply.slot);
          this.worker.postMessage({ type: 'release', slot: reply.slot } satisfies WriterRequest);
        }
        return;
      case 'synced':
      case 'purged': {
        const resolve = this.waiting.get(reply.id);
        this.waiting.delete(reply.id);
        resolve?.(reply.type === 'purged' ? reply.result : { expired: 0, overCap: 0 });
        return;
      }
      case 'error':
        this.logger.error({ err: reply.message }, 'trace writer error');
        return;
      case 'closed':
        // eslint-disable-next-line @typescript-eslint/no-floating-promises -- cannot reject: Worker.terminate() only resolves, with the exit code
        void this.worker.terminate();
        return;
      default:
        return;
    }
  }
}
