/**
 * Store micro-benchmark (runs in well under 2 minutes):
 *  1. Durable ingest: addMessage + enqueue to an offline persistent session, then await the
 *     group commit, for each fsync policy and batch size (1 = one publish per event-loop turn,
 *     100 = a busy broker where one commit carries many PUBACKs).
 *  2. Backlog: 1,000,000 small queued messages written to one session, then streamed out in
 *     pages (readQueue + removeQueued, as a reconnecting client would drain them); peak RSS.
 *
 * Usage: node dist/bench/store.bench.js [--seconds 2] [--backlog 1000000] [--dir /tmp/x]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { FsyncPolicy, QueueLimits, Store } from '../src/store/types.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const seconds = arg('seconds', 2);
const backlog = arg('backlog', 1_000_000);
const dirArg = process.argv.indexOf('--dir');
const root = dirArg >= 0 ? process.argv[dirArg + 1]! : mkdtempSync(join(tmpdir(), 'ferry-store-bench-'));

const unlimited: QueueLimits = { maxQueuedPerSession: 1e12, maxQueuedPerInstance: 1e12, retentionMs: 1e15 };
const payload = Buffer.alloc(64, 'x');
const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MB`;

function write(store: Store, clientId: string, n: number, now: number): void {
  for (let i = 0; i < n; i++) {
    const id = store.addMessage({
      topic: 'bench/devices/telemetry',
      payload,
      qos: 1,
      retain: false,
      properties: null,
      expiresAt: 0,
      createdAt: now,
    });
    store.enqueue(clientId, { messageId: id, qos: 1, retain: false, subscriptionIds: null, shareGroup: null, shareFilter: null });
  }
}

async function ingest(fsync: FsyncPolicy, batch: number): Promise<{ msgs: number; commits: number; p50: number; p99: number }> {
  const path = join(root, `ingest-${fsync}-${batch}.db`);
  const store = await openSqliteStore({ path, fsync, limits: unlimited, fsyncIntervalMs: 1000 });
  store.putSession({ clientId: 'sub', instanceId: 'bench', protocolVersion: 5, expiryInterval: 0xffffffff, disconnectedAt: 1 });
  await store.commit();
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  let messages = 0;
  while (performance.now() < end) {
    const t = performance.now();
    write(store, 'sub', batch, Date.now());
    await store.whenDurable();
    latencies.push(performance.now() - t);
    messages += batch;
  }
  const elapsed = (performance.now() - start) / 1000;
  await store.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return { msgs: messages / elapsed, commits: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99) };
}

async function backlogRun(): Promise<void> {
  const path = join(root, 'backlog.db');
  const store = await openSqliteStore({ path, fsync: 'interval', limits: unlimited });
  store.putSession({ clientId: 'offline', instanceId: 'bench', protocolVersion: 5, expiryInterval: 0xffffffff, disconnectedAt: 1 });
  let peak = process.memoryUsage().rss;
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const rssBefore = process.memoryUsage().rss;
  let t = performance.now();
  const chunk = 5000;
  for (let written = 0; written < backlog; written += chunk) {
    write(store, 'offline', Math.min(chunk, backlog - written), Date.now());
    await store.whenDurable();
    sample();
  }
  const fillSeconds = (performance.now() - t) / 1000;
  const rssFilled = process.memoryUsage().rss;
  console.log(
    `backlog: ${backlog} messages queued in ${fillSeconds.toFixed(1)} s (${Math.round(backlog / fillSeconds)} msg/s), ` +
      `depth ${store.queueDepth('offline')}, db ${mb(statSync(path).size)}, RSS ${mb(rssBefore)} -> ${mb(rssFilled)}`,
  );

  // Drain as a reconnecting client would: a page at a time, each entry removed once delivered.
  t = performance.now();
  let after = 0;
  let read = 0;
  for (;;) {
    const page = await store.readQueuePage('offline', after, 1000);
    if (page.length === 0) break;
    for (let i = 0; i < page.length; i++) store.removeQueued('offline', page.entry(i).seq);
    read += page.length;
    after = page.seq(page.length - 1);
    await store.whenDurable();
    sample();
  }
  const drainSeconds = (performance.now() - t) / 1000;
  console.log(
    `backlog: ${read} messages paged out and removed in ${drainSeconds.toFixed(1)} s (${Math.round(read / drainSeconds)} msg/s); ` +
      `peak RSS ${mb(peak)} (target < 300 MB)`,
  );
  const purge = await store.purgeExpired(Date.now(), 1000);
  await store.close();
  console.log(`backlog: after drain db ${mb(statSync(path).size)} (purge done=${purge.done}; vacuum is incremental)`);
}

async function main(): Promise<void> {
  console.log(`store bench: node ${process.version}, ${seconds}s per ingest case, dir ${root}`);
  console.log('fsync     batch   msg/s      commits/s  commit p50  p99 (ms)');
  for (const fsync of ['always', 'interval', 'off'] as const) {
    for (const batch of [1, 100]) {
      const r = await ingest(fsync, batch);
      console.log(
        `${fsync.padEnd(9)} ${String(batch).padStart(5)}   ${Math.round(r.msgs).toString().padEnd(10)} ${Math.round(r.commits)
          .toString()
          .padEnd(10)} ${r.p50.toFixed(2).padStart(10)}  ${r.p99.toFixed(2)}`,
      );
    }
  }
  await backlogRun();
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => {
    if (dirArg < 0) rmSync(root, { recursive: true, force: true });
  });
