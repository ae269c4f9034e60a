/**
 * The store thread's own work per message, without the thread (issue 15 §4, issue 8): runs the
 * SQLite engine and `applyBatch` in this process and measures CPU time per message, which is
 * far less sensitive to a loaded machine than wall throughput.
 *
 *  - drain: a persistent session's backlog (`--backlog`, 64 B) drained as the broker does it —
 *    a page of 512 read when 256 are left, one batch + COMMIT per 256 delivered messages, of
 *    which the last `--window` are still in flight at the batch's end (MoveToInflight, completed
 *    by RemoveInflight in the next batch) and the rest moved and completed within it (Delivered).
 *    The acknowledged rows the drain leaves for the store to reclaim while idle are reclaimed
 *    after it and reported apart ("reclaimed after").
 *  - outbox: rule outbox appends (AppendLog, 64 B + the rule's meta JSON), `--per-commit` per
 *    batch + COMMIT, and their removals riding with the next batch (as a dispatcher delivers).
 *
 * Usage: node dist/bench/store-thread.bench.js [--backlog 100000] [--appends 100000] [--per-batch 256]
 *        [--fsync off|interval|always] [--rounds 3] [--only drain|outbox] [--src DIR]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as ApplyModule from '../src/store/sqlite/apply.js';
import type * as EngineModule from '../src/store/sqlite/engine.js';
import type * as QueuePageModule from '../src/store/sqlite/queue-page.js';
import { Op, type OpValue } from '../src/store/sqlite/protocol.js';
import type { FsyncPolicy } from '../src/store/types.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}
const backlog = Number(arg('backlog', '100000'));
const appends = Number(arg('appends', '100000'));
const perCommit = Number(arg('per-commit', '64'));
const window = Number(arg('window', '64'));
const rounds = Number(arg('rounds', '3'));
const fsync = arg('fsync', 'off') as FsyncPolicy;
const only = arg('only', '');
// --src DIR: the compiled store of another build (e.g. a bench/e2e/snapshot.sh snapshot's
// dist/src/store/sqlite), to compare two builds in one run.
const src = arg('src', '');
const base = src === '' ? new URL('../src/store/sqlite/', import.meta.url) : pathToFileURL(`${src.replace(/\/$/, '')}/`);
const { applyBatch } = (await import(new URL('apply.js', base).href)) as typeof ApplyModule;
const { SqliteEngine } = (await import(new URL('engine.js', base).href)) as typeof EngineModule;
// The page's layout is the build's own: its seqs are read through that build's ColumnPage.
const { ColumnPage } = (await import(new URL('queue-page.js', base).href)) as typeof QueuePageModule;
type SqliteEngine = InstanceType<typeof SqliteEngine>;
const label = src === '' ? 'this build' : src;
const root = mkdtempSync(join(tmpdir(), 'ferry-store-thread-bench-'));

const PAGE = 512;
const PER_BATCH = Number(arg('per-batch', '256'));
const CLIENT = 'bench-sub';
const payload = Buffer.alloc(64, 'x');
const META = JSON.stringify({ c: 'publisher-0001', t: 'sensors/device-0001/telemetry', q: 1, b: 1733490000000, i: 123456, r: 'to-redis' });

function open(name: string): SqliteEngine {
  return new SqliteEngine({ path: join(root, `${name}.db`), fsync, integrityCheck: 'none', cacheSizeKiB: 32768 });
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function fill(engine: SqliteEngine): void {
  const invalid: string[] = [];
  engine.begin();
  applyBatch(engine, [Op.PutSession, CLIENT, 'bench', 5, 0xffffffff, 1], null, invalid);
  engine.commit();
  const chunk = 1000;
  let id = 1;
  let seq = 1;
  for (let done = 0; done < backlog; done += chunk) {
    const ops: OpValue[] = [];
    const blob = Buffer.alloc(chunk * payload.length);
    for (let i = 0; i < chunk; i++) {
      payload.copy(blob, i * payload.length);
      ops.push(Op.AddMessage, id, 'bench/devices/telemetry', i * payload.length, payload.length, 1, false, 0, -1, 0, Date.now(), 0);
      ops.push(Op.Enqueue, CLIENT, seq++, id++, 1, false, null, null, null, 1e12, 1e12, 0, 0);
    }
    engine.begin();
    applyBatch(engine, ops, blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.length) as ArrayBuffer, invalid);
    engine.commit();
  }
  if (invalid.length > 0) throw new Error(`fill: ${invalid[0]}`);
}

/** Drains the whole backlog; returns CPU ms and the time split. */
function drain(engine: SqliteEngine): { cpu: number; read: number; apply: number; commit: number; reclaim: number } {
  const invalid: string[] = [];
  let cursor = 0;
  let nextInflightSeq = 10_000_000;
  const pending: number[] = []; // queue seqs read, not yet delivered
  let inFlight: number[] = []; // packet ids moved in the previous batch, completed in this one
  let packet = 1;
  let read = 0;
  let apply = 0;
  let commit = 0;
  const began = cpuMs();
  let exhausted = false;
  for (;;) {
    if (!exhausted && pending.length <= PER_BATCH) {
      const t = cpuMs();
      const page = engine.queues.read(CLIENT, cursor, PAGE);
      read += cpuMs() - t;
      const columns = new ColumnPage(CLIENT, page);
      for (let i = 0; i < columns.length; i++) pending.push(columns.seq(i));
      if (page.n > 0) cursor = pending[pending.length - 1]!;
      if (page.n < PAGE) exhausted = true;
    }
    if (pending.length === 0 && inFlight.length === 0) break;
    const ops: OpValue[] = [];
    for (const id of inFlight) ops.push(Op.RemoveInflight, CLIENT, id);
    const batch = pending.splice(0, PER_BATCH);
    const nextInFlight: number[] = [];
    batch.forEach((seq, i) => {
      const id = packet;
      packet = packet === 65535 ? 1 : packet + 1;
      const code = i >= batch.length - window && pending.length > 0 ? Op.MoveToInflight : Op.Delivered;
      ops.push(code, CLIENT, seq, id, nextInflightSeq++);
      if (code === Op.MoveToInflight) nextInFlight.push(id);
    });
    inFlight = nextInFlight;
    let t = cpuMs();
    engine.begin();
    applyBatch(engine, ops, null, invalid);
    apply += cpuMs() - t;
    t = cpuMs();
    engine.commit();
    commit += cpuMs() - t;
  }
  if (invalid.length > 0) throw new Error(`drain: ${invalid.length} invalid, e.g. ${invalid[0]}`);
  const left = engine.index.byClientId.get(CLIENT)!.depth;
  if (left !== 0) throw new Error(`drain: ${left} entries left`);
  const cpu = cpuMs() - began;
  // Acknowledged rows stay until the store thread reclaims them off the drain's path, in steps
  // while it is idle (worker.ts); reclaimed here at once and timed apart from the drain.
  const t = cpuMs();
  engine.begin();
  engine.queues.reclaimAcked(Number.MAX_SAFE_INTEGER);
  engine.commit();
  const reclaim = cpuMs() - t;
  const rows = engine.db.prepare('SELECT (SELECT count(*) FROM queue) + (SELECT count(*) FROM inflight) + (SELECT count(*) FROM messages) AS n').get() as { n: number };
  if (rows.n !== 0) throw new Error(`drain: ${rows.n} rows left`);
  return { cpu, read, apply, commit, reclaim };
}

function outbox(engine: SqliteEngine): { cpu: number; apply: number; commit: number } {
  const invalid: string[] = [];
  let seq = 1;
  let previous: number[] = [];
  let apply = 0;
  let commit = 0;
  const blob = Buffer.alloc(perCommit * payload.length);
  for (let i = 0; i < perCommit; i++) payload.copy(blob, i * payload.length);
  const began = cpuMs();
  for (let done = 0; done < appends; done += perCommit) {
    const ops: OpValue[] = [];
    const seqs: number[] = [];
    for (let i = 0; i < perCommit; i++) {
      seqs.push(seq);
      ops.push(Op.AppendLog, 'rule:bench', seq++, Date.now(), META, i * payload.length, payload.length);
    }
    // The removals as SqliteStore.removeLog sends a run of them: one op with the seqs.
    if (previous.length > 0) ops.push(Op.RemoveLogs, 'rule:bench', previous);
    previous = seqs;
    const copy = blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.length) as ArrayBuffer;
    let t = cpuMs();
    engine.begin();
    applyBatch(engine, ops, copy, invalid);
    apply += cpuMs() - t;
    t = cpuMs();
    engine.commit();
    commit += cpuMs() - t;
  }
  if (invalid.length > 0) throw new Error(`outbox: ${invalid[0]}`);
  return { cpu: cpuMs() - began, apply, commit };
}

const us = (ms: number, n: number): string => ((ms * 1000) / n).toFixed(2);
try {
  for (let round = 1; round <= rounds; round++) {
    if (only !== 'outbox') {
      const engine = open(`drain-${round}`);
      fill(engine);
      const r = drain(engine);
      engine.close(false);
      console.log(
        `[${label}] drain  round ${round}: ${us(r.cpu, backlog)} µs CPU/msg (page read ${us(r.read, backlog)}, apply ${us(r.apply, backlog)}, commit ${us(r.commit, backlog)} µs/msg; reclaimed after: ${us(r.reclaim, backlog)} µs/msg) fsync ${fsync}`,
      );
    }
    if (only !== 'drain') {
      const engine = open(`outbox-${round}`);
      const r = outbox(engine);
      engine.close(false);
      console.log(`[${label}] outbox round ${round}: ${us(r.cpu, appends)} µs CPU/entry (apply ${us(r.apply, appends)}, commit ${us(r.commit, appends)} µs/entry), ${perCommit}/commit, fsync ${fsync}`);
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
