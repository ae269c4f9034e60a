/**
 * The store thread. It owns the SQLite connection; the main thread never waits on it.
 *
 * Loop: on each wake-up it drains every request already queued (receiveMessageOnPort), applies
 * the batches in order inside one transaction, answers reads in order (they see the batches
 * before them), then COMMITs once and answers `durable` up to the last batch: group commit
 * across as many event-loop turns of the main thread as arrived during the previous fsync.
 *
 * When a COMMIT fails (disk full, I/O error, database locked), the transaction is rolled back,
 * the batches are kept in memory and the thread is degraded: every batch that arrives is kept
 * and answered `failed` at once (so nothing is acknowledged), and the kept batches are retried
 * with backoff until a COMMIT holds them all (`recovered`). Reads keep working on what is
 * committed.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { applyBatch } from './apply.js';
import { SqliteEngine } from './engine.js';
import { FAULT_FAIL_COMMITS } from './faults.js';
import type { ErrorInfo, Read, ReadResult, Reply, Request, WorkerData } from './protocol.js';
import { isQueuePage, queuePageTransfer } from './queue-page.js';

const RETRY_FIRST_MS = 100;
const NOTHING_PURGED = { expiredSessions: [], expiredMessages: 0, retentionDropped: 0, expiredRetained: 0, reclaimed: 0, done: true };
const RETRY_MAX_MS = 5000;
/**
 * Acknowledged queue rows (a drained session's head, Queues.delivered) are deleted with their
 * messages later, RECLAIM_STEP at a time: once no batch came for RECLAIM_IDLE_MS, step after
 * step while that lasts; and, when more than RECLAIM_BACKLOG wait (a store never idle that long),
 * one step with each commit.
 */
const RECLAIM_STEP = 4096;
const RECLAIM_IDLE_MS = 50;
const RECLAIM_BACKLOG = 262_144;

type Batch = Extract<Request, { type: 'batch' }>;

const port = parentPort!;
const data = workerData as WorkerData;
const faults = data.faults === null ? null : new Int32Array(data.faults);

let engine: SqliteEngine;
try {
  engine = new SqliteEngine(data);
  post({ type: 'ready', v: 1, state: engine.openState() });
} catch (error) {
  post({ type: 'open-failed', error: errorInfo(error) });
  process.exit(0);
}

/** Batches applied in the open transaction, or kept for retry while degraded. */
let held: Batch[] = [];
let degraded: string | null = null;
let retryMs = RETRY_FIRST_MS;
let retryTimer: NodeJS.Timeout | null = null;
let closing = false;
let checkpointDue = false;
/** The last batch applied in the open transaction (or committed). */
let lastApplied = 0;
/** The last batch applied was a non-final part of a turn: do not commit yet. */
let turnOpen = false;
/** When the last batch arrived (performance.now()), and the timer of the idle reclaim. */
let lastBatchAt = 0;
let reclaimTimer: NodeJS.Timeout | null = null;
/** The last reclaim step failed (its warning was sent; the next one is sent after a success). */
let reclaimFailing = false;

// Acknowledged rows left from before the last close or crash.
if (engine.index.ackedRows > 0) scheduleReclaim(RECLAIM_IDLE_MS);

if (data.fsync === 'interval') {
  setInterval(() => {
    checkpointDue = true;
  }, data.fsyncIntervalMs).unref();
}

port.on('message', (first: Request) => {
  const requests: Request[] = [first];
  for (;;) {
    const next = receiveMessageOnPort(port);
    if (next === undefined) break;
    requests.push(next.message as Request);
  }
  const invalid: string[] = [];
  let applyFailure: unknown = null;
  for (const request of requests) {
    if (request.type === 'batch') {
      lastBatchAt = performance.now();
      if (degraded !== null || applyFailure !== null) {
        held.push(request);
        if (degraded !== null) post({ type: 'failed', upTo: request.n, reason: degraded, code: null });
        continue;
      }
      held.push(request);
      lastApplied = request.n;
      turnOpen = !request.final;
      try {
        engine.begin();
        applyBatch(engine, request.ops, request.blob, invalid);
      } catch (error) {
        applyFailure = error;
      }
    } else if (request.type === 'read') {
      if (request.read.kind === 'purge') {
        // A purge commits at once, with what came before it: its answer then finds the main
        // thread's depths already corrected.
        if (degraded === null && applyFailure === null) {
          try {
            engine.begin();
            const result = engine.housekeeping.purgeExpired(request.read.now, request.read.budget, request.read.retention);
            commitHeld(invalid, null);
            // Pages given back reach the file system (and the WAL is emptied) at a checkpoint.
            if (engine.housekeeping.takeVacuumed() && !engine.inTransaction) truncateWal();
            post({ type: 'read', id: request.id, result });
          } catch (error) {
            commitHeld(invalid, error);
            post({ type: 'read-failed', id: request.id, error: errorInfo(error) });
          }
          invalid.length = 0;
        } else {
          post({ type: 'read', id: request.id, result: NOTHING_PURGED });
        }
        continue;
      }
      answer(request.id, request.read);
    } else {
      commitHeld(invalid, applyFailure);
      closeAndExit(request.id);
      return;
    }
  }
  commitHeld(invalid, applyFailure);
  if (engine.index.ackedRows > 0) scheduleReclaim(RECLAIM_IDLE_MS);
});

function scheduleReclaim(delayMs: number): void {
  if (reclaimTimer !== null || closing) return;
  reclaimTimer = setTimeout(reclaimIdle, delayMs);
}

/** One step of reclaiming acknowledged rows in a transaction of its own, if the thread is idle. */
function reclaimIdle(): void {
  reclaimTimer = null;
  if (closing || engine.index.ackedRows === 0) return;
  const quietMs = performance.now() - lastBatchAt;
  if (degraded !== null || engine.inTransaction || quietMs < RECLAIM_IDLE_MS) {
    scheduleReclaim(Math.max(1, RECLAIM_IDLE_MS - quietMs));
    return;
  }
  try {
    engine.begin();
    engine.queues.reclaimAcked(RECLAIM_STEP);
    engine.commit();
  } catch (error) {
    // Nothing is lost: the rows stay acknowledged and are reclaimed later. A failing disk shows
    // in the next batch's commit, which degrades the store visibly; anything else is told once.
    if (!reclaimFailing) post({ type: 'warning', message: `cannot reclaim acknowledged queue rows, trying again every ${RETRY_MAX_MS} ms: ${(error as Error).message}` });
    reclaimFailing = true;
    try {
      engine.rollback();
    } catch {
      // the next step tries again
    }
    scheduleReclaim(RETRY_MAX_MS);
    return;
  }
  reclaimFailing = false;
  if (engine.index.ackedRows > 0) scheduleReclaim(1);
}

/** Commits the open transaction; on failure rolls back, keeps the batches and degrades. */
function commitHeld(invalid: string[], applyFailure: unknown): void {
  if (degraded !== null || (!engine.inTransaction && applyFailure === null)) return;
  if (turnOpen && applyFailure === null) return; // the rest of the main thread's turn comes next
  const upTo = lastApplied;
  const began = performance.now();
  try {
    if (applyFailure !== null) throw applyFailure;
    if (faults !== null && Atomics.load(faults, FAULT_FAIL_COMMITS) > 0) {
      throw Object.assign(new Error('injected fault: disk I/O error'), { code: 'SQLITE_IOERR' });
    }
    if (engine.index.ackedRows > RECLAIM_BACKLOG) engine.queues.reclaimAcked(RECLAIM_STEP);
    engine.commit();
  } catch (error) {
    fail(error, upTo);
    return;
  }
  const commitMs = performance.now() - began;
  held = [];
  const { drops, corrections } = engine.corrections.take();
  post({ type: 'durable', upTo, drops, corrections, invalid: invalid.splice(0), commitMs });
  if (checkpointDue) checkpoint();
}

function fail(error: unknown, upTo: number): void {
  const info = errorInfo(error);
  degraded = `${info.code ?? info.name}: ${info.message}`;
  try {
    engine.rollback();
  } catch (rollbackError) {
    degraded += `; rollback failed: ${(rollbackError as Error).message}`;
  }
  post({ type: 'failed', upTo, reason: degraded, code: info.code ?? null });
  scheduleRetry();
}

function scheduleRetry(): void {
  if (retryTimer !== null || closing) return;
  retryTimer = setTimeout(retry, retryMs);
  retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
}

/** Applies every kept batch again in one transaction; success ends the degraded state. */
function retry(): void {
  retryTimer = null;
  if (held.length === 0) {
    degraded = null;
    retryMs = RETRY_FIRST_MS;
    post({ type: 'recovered', upTo: lastApplied });
    return;
  }
  const upTo = held[held.length - 1]!.n;
  const invalid: string[] = [];
  let commitMs: number;
  try {
    if (faults !== null && Atomics.load(faults, FAULT_FAIL_COMMITS) > 0) {
      throw Object.assign(new Error('injected fault: disk I/O error'), { code: 'SQLITE_IOERR' });
    }
    engine.begin();
    for (const batch of held) applyBatch(engine, batch.ops, batch.blob, invalid);
    const began = performance.now();
    engine.commit();
    commitMs = performance.now() - began;
  } catch (error) {
    try {
      engine.rollback();
    } catch {
      // still failing: the next retry tries again
    }
    degraded = `${errorInfo(error).code ?? 'error'}: ${(error as Error).message}`;
    scheduleRetry();
    return;
  }
  held = [];
  degraded = null;
  retryMs = RETRY_FIRST_MS;
  const { drops, corrections } = engine.corrections.take();
  post({ type: 'durable', upTo, drops, corrections, invalid, commitMs });
  post({ type: 'recovered', upTo });
}

function answer(id: number, read: Read): void {
  try {
    const result = runRead(read);
    if (isQueuePage(result)) port.postMessage({ type: 'read', id, result } satisfies Reply, queuePageTransfer(result));
    else post({ type: 'read', id, result });
  } catch (error) {
    post({ type: 'read-failed', id, error: errorInfo(error) });
  }
}

function runRead(read: Read): ReadResult {
  switch (read.kind) {
    case 'message':
      return engine.messages.get(read.messageId);
    case 'queue':
      return engine.queues.read(read.clientId, read.afterSeq, read.limit);
    case 'meta':
      return engine.documents.getMeta(read.key);
    case 'record':
      return engine.documents.getRecord(read.collection, read.key);
    case 'records':
      return engine.documents.listRecords(read.collection, read.query);
    case 'sessions':
      return engine.loader.sessions(read.after);
    case 'retained':
      return engine.loader.retained(read.after);
    case 'wills':
      return engine.loader.wills(read.after);
    case 'purge':
      return NOTHING_PURGED; // handled in the loop
    case 'stats':
      return engine.stats();
    case 'log':
      return engine.logs.read(read.log, read.afterSeq, read.limit);
    case 'log-entries':
      return engine.logs.get(read.log, read.seqs);
    case 'log-summaries':
      return engine.logs.summaries(read.prefix);
  }
}

function checkpoint(): void {
  checkpointDue = false;
  try {
    engine.checkpoint();
  } catch {
    // a failed checkpoint is retried at the next interval; the WAL still holds the data
  }
}

function truncateWal(): void {
  try {
    engine.checkpoint('TRUNCATE');
  } catch {
    // the next vacuum or the close checkpoints again; nothing is lost meanwhile
  }
}

function closeAndExit(id: number): void {
  closing = true;
  if (retryTimer !== null) clearTimeout(retryTimer);
  if (reclaimTimer !== null) clearTimeout(reclaimTimer);
  try {
    engine.close(degraded === null);
  } finally {
    post({ type: 'closed', id });
    port.close();
  }
}

function post(reply: Reply): void {
  port.postMessage(reply);
}

function errorInfo(error: unknown): ErrorInfo {
  const e = error as Partial<ErrorInfo> & Error;
  const info: { -readonly [K in keyof ErrorInfo]: ErrorInfo[K] } = {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(error),
  };
  if (typeof e.code === 'string') info.code = e.code;
  for (const key of ['path', 'detail', 'moveAsideCommand'] as const) {
    if (typeof e[key] === 'string') info[key] = e[key];
  }
  for (const key of ['found', 'supported'] as const) {
    if (typeof e[key] === 'number') info[key] = e[key];
  }
  return info;
}

