import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, statSync, openSync, writeSync, closeSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite/sqlite-store.js';
import { StoreCorruptError, StoreLockedError, StoreVersionError } from '../../src/store/errors.js';
import type { FsyncPolicy, StoreOptions } from '../../src/store/types.js';
import { runStoreContract, session, message, delivery, readQueue } from './store-contract.js';
import { BATCH } from './sqlite-crash-child.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-store-'));
  dirs.push(dir);
  return dir;
}
process.on('exit', () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

runStoreContract({
  name: 'sqlite',
  create: async (options?: StoreOptions) => {
    const dir = tempDir();
    const open = (): Promise<SqliteStore> => openSqliteStore({ ...options, path: join(dir, 'ferry.db') });
    let store = await open();
    return {
      store,
      reopen: async () => {
        await store.close();
        store = await open();
        return store;
      },
      dispose: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});

async function expectCorrupt(path: string, detail: RegExp): Promise<StoreCorruptError> {
  const error = await openSqliteStore({ path }).then(
    async (store) => {
      await store.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  assert.ok(error instanceof StoreCorruptError, `expected StoreCorruptError, got ${String(error)}`);
  assert.match(error.message, detail);
  assert.match(error.message, /will not start/);
  assert.match(error.message, /mkdir -p .*\.corrupt-\d{8}T\d{6} && mv /);
  assert.ok(error.moveAsideCommand.includes(path));
  return error;
}

/** A database with some content, closed. */
/** A store capped by `limits`, with sessions c1 and c2; the seqs it drops are pushed to `drops`. */
async function twoSessions(limits: NonNullable<StoreOptions['limits']>, drops: number[]): Promise<SqliteStore> {
  const store = await openSqliteStore({ path: join(tempDir(), 'ferry.db'), limits });
  store.onDrop((dropped) => drops.push(...dropped.map((d) => d.seq)));
  store.putSession(session('c1'));
  store.putSession(session('c2'));
  return store;
}

async function populated(dir: string): Promise<string> {
  const path = join(dir, 'ferry.db');
  const store = await openSqliteStore({ path });
  for (let s = 0; s < 20; s++) {
    store.putSession(session(`c${s}`));
    for (let i = 0; i < 50; i++) {
      store.enqueue(`c${s}`, delivery(store.addMessage(message(`payload ${s}/${i} `.repeat(20)))));
    }
  }
  await store.close();
  return path;
}

describe('SQLite store: files, corruption, fsync policies', () => {
  test('garbage bytes are reported with a clear error and a move-aside command', async () => {
    const dir = tempDir();
    const path = join(dir, 'ferry.db');
    writeFileSync(path, Buffer.from(Array.from({ length: 64 * 1024 }, () => Math.floor(Math.random() * 256))));
    const error = await expectCorrupt(path, /not a database|malformed|corrupt/i);
    assert.equal(statSync(path).size, 64 * 1024, 'the damaged file is left untouched');
    // The printed command really moves the files aside, after which a fresh start works.
    const { execSync } = await import('node:child_process');
    execSync(error.moveAsideCommand, { shell: '/bin/sh' });
    assert.equal(existsSync(path), false);
    const store = await openSqliteStore({ path });
    await store.close();
  });

  test('an empty (truncated to zero) file is refused, not replaced', async () => {
    const dir = tempDir();
    const path = join(dir, 'ferry.db');
    writeFileSync(path, Buffer.alloc(0));
    await expectCorrupt(path, /empty/);
    assert.equal(statSync(path).size, 0);
  });

  test('truncated files are detected', async () => {
    const dir = tempDir();
    const path = await populated(dir);
    const whole = readFileSync(path);
    assert.ok(whole.length > 100 * 1024, `database is ${whole.length} bytes`);
    for (const fraction of [0.9, 0.5, 0.1]) {
      const cut = join(dir, `cut-${fraction}.db`);
      writeFileSync(cut, whole.subarray(0, Math.floor((whole.length * fraction) / 4096) * 4096 + 100));
      await expectCorrupt(cut, /malformed|corrupt|integrity|quick_check|not a database/i);
    }
    for (const bytes of [50, 4096 - 1]) {
      const cut = join(dir, `head-${bytes}.db`);
      writeFileSync(cut, whole.subarray(0, bytes));
      await expectCorrupt(cut, /malformed|corrupt|integrity|not a database/i);
    }
  });

  test('overwritten pages inside a valid file are detected', async () => {
    const dir = tempDir();
    const path = await populated(dir);
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(4096 * 3, 0xa5), 0, 4096 * 3, 4096 * 4);
    closeSync(fd);
    await expectCorrupt(path, /integrity_check|malformed|corrupt/i);
  });

  test('a SQLite file that is not Ferry\'s is refused', async () => {
    const dir = tempDir();
    const path = join(dir, 'other.db');
    const Database = (await import('better-sqlite3')).default;
    const other = new Database(path);
    other.exec('CREATE TABLE t (x)');
    other.close();
    await expectCorrupt(path, /not a Ferry database/);
  });

  test('a missing database beside a leftover WAL is refused', async () => {
    const dir = tempDir();
    const path = join(dir, 'ferry.db');
    writeFileSync(`${path}-wal`, Buffer.alloc(8192, 1));
    await expectCorrupt(path, /missing/);
  });

  test('a second process (or store) on the same file is refused', async () => {
    const dir = tempDir();
    const path = join(dir, 'ferry.db');
    const first = await openSqliteStore({ path });
    await assert.rejects(openSqliteStore({ path }), StoreLockedError);
    await first.close();
    const again = await openSqliteStore({ path });
    await again.close();
  });

  test('a newer schema version is refused', async () => {
    const dir = tempDir();
    const path = join(dir, 'ferry.db');
    await (await openSqliteStore({ path })).close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path);
    db.pragma('user_version = 999');
    db.close();
    await assert.rejects(openSqliteStore({ path }), StoreVersionError);
  });

  test('a schema 4 file gets messages.trace_id by migration; drops report the trace number a message was stored with', async () => {
    const dir = tempDir();
    const path = join(dir, 'ferry.db');
    const limits = { maxQueuedPerSession: 1, maxQueuedPerInstance: 1000, retentionMs: 1e12 };
    let store = await openSqliteStore({ path, limits });
    store.putSession(session('c1'));
    store.enqueue('c1', delivery(store.addMessage(message('old'))));
    await store.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path);
    db.exec(`DROP TABLE queue_acked; ALTER TABLE messages DROP COLUMN trace_id; DELETE FROM schema_migrations WHERE version >= 5`);
    db.pragma('user_version = 4');
    db.close();

    store = await openSqliteStore({ path, limits });
    const drops: Array<[string, number | undefined]> = [];
    store.onDrop((dropped) => drops.push(...dropped.map((d): [string, number | undefined] => [d.reason, d.traceId])));
    store.enqueue('c1', delivery(store.addMessage({ ...message('traced'), traceId: 41 })));
    await store.commit();
    store.enqueue('c1', delivery(store.addMessage({ ...message('next'), traceId: 42 })));
    await store.commit();
    assert.deepEqual(drops, [['session-cap', 0], ['session-cap', 41]], 'a message from before the migration has none');
    const [queued] = await readQueue(store, 'c1', 0, 10);
    assert.equal(queued?.message.traceId, 42, 'paging returns it too');
    await store.close();
  });

  test('every commit reports its timing: the wait around it, the COMMIT itself, the batches it held; a failed one is not reported', async () => {
    const store = await openSqliteStore({ path: join(tempDir(), 'ferry.db') });
    const timings: Array<{ waitSeconds: number; commitSeconds: number; batches: number }> = [];
    store.onCommitTiming((timing) => timings.push(timing));
    store.putSession(session('c1'));
    await store.commit();
    assert.equal(timings.length, 1);
    const [first] = timings;
    assert.equal(first!.batches, 1);
    assert.ok(first!.commitSeconds > 0 && first!.commitSeconds < 10, `commit ${first!.commitSeconds} s`);
    assert.ok(first!.waitSeconds >= first!.commitSeconds, 'the wait includes the commit');
    store.injectFaults({ failCommits: true });
    store.putSession(session('c2'));
    await assert.rejects(store.commit());
    assert.equal(timings.length, 1, 'a failed commit is not timed');
    store.injectFaults({ failCommits: false });
    await store.close();
  });

  test('a turn that waits on a large batch sends it early: a client window spans several commits, each waiter covered, order kept', async () => {
    const store = await openSqliteStore({ path: join(tempDir(), 'ferry.db') });
    try {
      let batches = 0;
      store.onCommitTiming((timing) => (batches += timing.batches));
      // One turn: 64 appends, each followed by its waiter (as 64 PUBLISHes of one read, each
      // PUBACK waiting for its outbox entry).
      const settled: number[] = [];
      const waits: Array<Promise<void>> = [];
      for (let i = 0; i < 64; i++) {
        store.appendLog('outbox/r1', `{"i":${i}}`, Buffer.from([i]), 1);
        waits.push(store.whenDurable().then(() => void settled.push(i)));
      }
      await Promise.all(waits);
      assert.ok(batches >= 2, `the turn's batch was sent in parts (${batches} batch(es))`);
      assert.deepEqual(settled, [...Array(64).keys()], 'waiters settle in the order they waited');
      const entries = await store.readLog('outbox/r1', 0, 100);
      assert.deepEqual(entries.map((e) => e.payload[0]), [...Array(64).keys()], 'every entry durable, in order');
      // A turn whose read already sent a part keeps its transaction open to the turn's end.
      batches = 0;
      store.appendLog('outbox/r1', '{}', Buffer.alloc(1), 1);
      const read = store.readLog('outbox/r1', 0, 1);
      const more: Array<Promise<void>> = [];
      for (let i = 0; i < 64; i++) {
        store.appendLog('outbox/r1', '{}', Buffer.alloc(1), 1);
        more.push(store.whenDurable());
      }
      await Promise.all([read, ...more]);
      assert.equal(batches, 2, 'the read\'s part and the turn\'s final part, nothing cut in between');
      assert.equal(await store.logSummaries('outbox/').then((s) => s[0]?.count), 129);
    } finally {
      await store.close();
    }
  });

  test('a draining session: completed deliveries leave right behind its page read, moves still in flight stay open until completed or the lazy timer', async () => {
    const dir = tempDir();
    const store = await openSqliteStore({ path: join(dir, 'ferry.db') });
    const Database = (await import('better-sqlite3')).default;
    // What a crash now would leave: a copy of the files (the store holds its lock), opened
    // elsewhere — what the store thread committed, nothing of the main thread's open batch.
    let copies = 0;
    const rows = (): { queue: number; inflight: number } => {
      const copy = join(dir, `copy-${++copies}.db`);
      copyFileSync(join(dir, 'ferry.db'), copy);
      if (existsSync(join(dir, 'ferry.db-wal'))) copyFileSync(join(dir, 'ferry.db-wal'), `${copy}-wal`);
      const db = new Database(copy);
      try {
        // Queue entries a restart would deliver: those after their session's acknowledged-through seq.
        const live = `SELECT count(*) FROM queue q WHERE q.seq > coalesce((SELECT through FROM queue_acked a WHERE a.sid = q.sid), 0)`;
        return { ...(db.prepare(`SELECT (${live}) AS queue, (SELECT count(*) FROM inflight) AS inflight`).get() as { queue: number; inflight: number }) };
      } finally {
        db.close();
      }
    };
    try {
      let batches = 0;
      store.onCommitTiming((timing) => (batches += timing.batches));
      const committed = async (atLeast: number): Promise<void> => {
        for (let waited = 0; batches < atLeast; waited += 5) {
          assert.ok(waited < 5000, `batch ${atLeast} committed within 5 s`);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      };
      store.putSession(session('c1'));
      for (let i = 0; i < 1200; i++) store.enqueue('c1', delivery(store.addMessage(message(`m${i}`))));
      await store.commit();
      const first = await readQueue(store, 'c1', 0, 1000);
      // The window moves 1,000 entries; 936 are acknowledged (over 4,096 op slots), 64 still in flight.
      first.forEach((entry, i) => store.moveToInflight('c1', entry.seq, i + 1));
      for (let i = 0; i < 936; i++) store.removeInflight('c1', i + 1);
      batches = 0;
      const second = await readQueue(store, 'c1', first.at(-1)!.seq, 100);
      assert.deepEqual(second.map((e) => e.message.payload.toString()), Array.from({ length: 100 }, (_, i) => `m${1000 + i}`));
      await committed(1);
      assert.deepEqual(rows(), { queue: 264, inflight: 0 }, 'the 936 completed are gone; the 64 moves in flight not written yet');
      // Their completions come: each move becomes its entry's removal, no in-flight row at all.
      // Too few completed ops to follow this read: they wait.
      for (let i = 936; i < 1000; i++) store.removeInflight('c1', i + 1);
      second.slice(0, 5).forEach((entry, i) => store.moveToInflight('c1', entry.seq, 1001 + i));
      batches = 0;
      await readQueue(store, 'c1', second.at(-1)!.seq, 100);
      assert.equal(batches, 0);
      assert.deepEqual(rows(), { queue: 264, inflight: 0 });
      // On the lazy timer (50 ms) all of them leave, the moves nobody completed as in-flight
      // rows (redelivered after a crash: at least once).
      await committed(1);
      assert.deepEqual(rows(), { queue: 195, inflight: 5 });
      assert.equal(store.queueDepth('c1'), 195);
    } finally {
      await store.close();
    }
  });

  test('an acknowledged queue head: one acknowledged-through seq; a crash copy and a restart never see it, expiry and caps never count it; rows reclaimed once idle', async () => {
    const dir = tempDir();
    const path = join(dir, 'ferry.db');
    const limits = { maxQueuedPerSession: 1000, maxQueuedPerInstance: 20, retentionMs: 1e12 };
    const Database = (await import('better-sqlite3')).default;
    // Read through a copy of the files: the store holds its lock on the file.
    let copies = 0;
    const rawCount = (file: string, sql: string): number => {
      const copy = join(dir, `raw-${++copies}.db`);
      copyFileSync(file, copy);
      if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${copy}-wal`);
      const db = new Database(copy);
      try {
        return db.prepare(sql).pluck().get() as number;
      } finally {
        db.close();
      }
    };
    let store = await openSqliteStore({ path, limits: { ...limits, maxQueuedPerInstance: 1000 } });
    try {
      const drops: Array<[string, string, string]> = [];
      const watch = (s: SqliteStore): void =>
        s.onDrop((dropped) => drops.push(...dropped.map((d): [string, string, string] => [d.clientId, d.reason, texts.get(d.seq) ?? '?'])));
      const texts = new Map<number, string>();
      watch(store);
      store.putSession(session('c1'));
      store.putSession(session('c2'));
      // m0–m9 and m95–m99 expire at T0 + 1 s.
      const expiring = (i: number): boolean => i < 10 || i >= 95;
      const seqs: number[] = [];
      for (let i = 0; i < 100; i++) {
        const seq = store.enqueue('c1', delivery(store.addMessage(message(`m${i}`, { expiresAt: expiring(i) ? 1_700_000_001_000 : 0 }))));
        texts.set(seq, `m${i}`);
        seqs.push(seq);
      }
      await store.commit();
      // m0–m89 delivered and acknowledged in one batch, and in the same turn a purge past the expiry.
      for (let i = 0; i < 90; i++) {
        store.moveToInflight('c1', seqs[i]!, i + 1);
        store.removeInflight('c1', i + 1);
      }
      const purged = await store.purgeExpired(1_700_000_002_000, 10_000);
      assert.equal(purged.expiredMessages, 5, 'only the live expired entries count');
      assert.deepEqual(drops, ['m95', 'm96', 'm97', 'm98', 'm99'].map((m) => ['c1', 'expired', m]));
      assert.equal(store.queueDepth('c1'), 5);
      assert.deepEqual((await readQueue(store, 'c1', 0, 100)).map((e) => e.message.payload.toString()), ['m90', 'm91', 'm92', 'm93', 'm94']);

      // What a crash now would leave (a copy of the files, opened as a store): the same five.
      copyFileSync(path, join(dir, 'copy.db'));
      if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, join(dir, 'copy.db-wal'));
      const copy = await openSqliteStore({ path: join(dir, 'copy.db'), limits });
      try {
        assert.equal(copy.queueDepth('c1'), 5);
        assert.deepEqual((await readQueue(copy, 'c1', 0, 100)).map((e) => e.message.payload.toString()), ['m90', 'm91', 'm92', 'm93', 'm94']);
        assert.equal((await copy.stats()).messages, 5, 'the acknowledged entries\' messages are gone');
      } finally {
        await copy.close();
      }

      // Reopened with an instance cap of 20. In one turn m90–m92 are acknowledged and 20 entries
      // queued for c2: the instance is 2 over, and its oldest live entries, m93 and m94, are dropped,
      // not the acknowledged rows before them.
      await store.close();
      store = await openSqliteStore({ path, limits });
      watch(store);
      drops.length = 0;
      for (let i = 90; i < 93; i++) {
        store.moveToInflight('c1', seqs[i]!, i + 1);
        store.removeInflight('c1', i + 1);
      }
      for (let i = 0; i < 20; i++) texts.set(store.enqueue('c2', delivery(store.addMessage(message(`n${i}`)))), `n${i}`);
      await store.commit();
      assert.deepEqual(drops, [['c1', 'instance-cap', 'm93'], ['c1', 'instance-cap', 'm94']]);
      assert.equal(store.queueDepth('c1'), 0);
      assert.equal(store.queueDepth('c2'), 20);

      // n0–n4 acknowledged right before a close: their rows are left, and reclaimed after the
      // next open once the store idles.
      const page = await readQueue(store, 'c2', 0, 5);
      page.forEach((entry, i) => {
        store.moveToInflight('c2', entry.seq, i + 1);
        store.removeInflight('c2', i + 1);
      });
      await store.close();
      assert.equal(rawCount(path, 'SELECT count(*) FROM queue'), 20, 'rows acknowledged and not reclaimed yet');
      store = await openSqliteStore({ path, limits });
      assert.equal(store.queueDepth('c2'), 15);
      for (let waited = 0; rawCount(path, 'SELECT count(*) FROM queue') > 15; waited += 10) {
        assert.ok(waited < 3000, 'reclaimed within 3 s of idling');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(rawCount(path, 'SELECT count(*) FROM messages'), 15, 'their messages deleted with them');
      assert.deepEqual(await readQueue(store, 'c1', 0, 100), []);
      assert.deepEqual((await readQueue(store, 'c2', 0, 100)).map((e) => e.message.payload.toString()), Array.from({ length: 15 }, (_, i) => `n${i + 5}`));
    } finally {
      await store.close();
    }
  });

  test('a drained queue: pages come back byte for byte; delivered runs remove exactly their entries, dropped ones and shared messages included', async () => {
    const capped = { maxQueuedPerSession: 40, maxQueuedPerInstance: 1000, retentionMs: 1e12 };
    const drops: number[] = [];
    const store = await twoSessions(capped, drops);
    try {
      // Binary payloads of every size (empty, below and above the page's shared-view bound),
      // properties on some: a page concatenates all of them into one buffer.
      const bytes = (i: number): Buffer => Buffer.from(Array.from({ length: [0, 1, 7, 1023, 1024, 3000][i % 6]! }, (_, k) => (i * 31 + k * 7) % 256));
      const props = (i: number): Buffer | null => (i % 3 === 0 ? Buffer.from([0x26, 0, 1, 0x6b, 0, 1, i % 256]) : null);
      const ids: number[] = [];
      for (let i = 0; i < 40; i++) {
        const id = store.addMessage(message('', { payload: bytes(i), properties: props(i) }));
        ids.push(id);
        store.enqueue('c1', delivery(id));
        if (i < 20) store.enqueue('c2', delivery(id)); // shared: must outlive c1's delivery
      }
      await store.commit();
      const page = await readQueue(store, 'c1', 0, 512);
      assert.equal(page.length, 40);
      page.forEach((entry, i) => {
        assert.deepEqual(entry.message.payload, bytes(i), `payload ${i}`);
        assert.deepEqual(entry.message.properties, props(i), `properties ${i}`);
        assert.equal(entry.messageId, ids[i]);
      });
      // Five more over the cap of 40: the five oldest of c1 are dropped by the store thread
      // while the main thread still holds them in its page.
      for (let i = 0; i < 5; i++) store.enqueue('c1', delivery(store.addMessage(message(`late${i}`))));
      await store.commit();
      assert.deepEqual(drops, page.slice(0, 5).map((e) => e.seq));
      // One batch of a draining session: 30 moved and completed (one run), the 31st left in flight.
      for (let i = 0; i < 31; i++) store.moveToInflight('c1', page[i]!.seq, i + 1);
      for (let i = 0; i < 30; i++) store.removeInflight('c1', i + 1);
      await store.commit();
      const rest = await readQueue(store, 'c1', 0, 512);
      assert.deepEqual(rest.slice(0, 9).map((e) => e.seq), page.slice(31).map((e) => e.seq));
      assert.deepEqual(rest.slice(9).map((e) => e.message.payload.toString()), ['late0', 'late1', 'late2', 'late3', 'late4']);
      assert.equal(store.queueDepth('c1'), 14, 'depth corrected for the five already dropped');
      let inflight: number[] = [];
      for await (const entry of store.loadSessions()) if (entry.session.clientId === 'c1') inflight = entry.inflight.map((e) => e.packetId);
      assert.deepEqual(inflight, [31]);
      // c2 still has its 20 (messages shared with c1's delivered ones), intact.
      const c2 = await readQueue(store, 'c2', 0, 512);
      assert.deepEqual(c2.map((e) => e.message.payload), ids.slice(0, 20).map((_, i) => bytes(i)));
      // 40 + 5 messages: c1's delivered 25 not shared with c2 (indexes 20..29) are gone, the
      // dropped 5 (indexes 0..4) are still c2's.
      assert.equal((await store.stats()).messages, 45 - 10);
      for (const entry of c2) store.moveToInflight('c2', entry.seq, entry.seq % 60000 + 1);
      for (const entry of c2) store.removeInflight('c2', entry.seq % 60000 + 1);
      await store.commit();
      assert.equal((await store.stats()).messages, 45 - 30);
    } finally {
      await store.close();
    }
  });

  test('delivered runs of consecutive seqs are removed as ranges: exactly their entries, around another session\'s, a move still in flight and an entry dropped meanwhile', async () => {
    const capped = { maxQueuedPerSession: 200, maxQueuedPerInstance: 10_000, retentionMs: 1e12 };
    const drops: number[] = [];
    const store = await twoSessions(capped, drops);
    try {
      // c1: 200 entries, with 3 of c2 between its 60th and 61st (a gap in c1's seqs and message ids).
      for (let i = 0; i < 200; i++) {
        if (i === 60) for (let k = 0; k < 3; k++) store.enqueue('c2', delivery(store.addMessage(message(`c2-${k}`))));
        store.enqueue('c1', delivery(store.addMessage(message(`m${i}`))));
      }
      await store.commit();
      const page = await readQueue(store, 'c1', 0, 512);
      assert.equal(page.length, 200);
      assert.equal(page[59]!.seq - page[0]!.seq, 59, 'seqs of one session enqueued alone are consecutive (the ranges are taken)');
      assert.equal(page[60]!.seq - page[59]!.seq, 4, 'c2 is between');
      // One more for c1: over its cap, the store drops its oldest (m0) while the main thread holds it.
      store.enqueue('c1', delivery(store.addMessage(message('m200'))));
      await store.commit();
      assert.deepEqual(drops, [page[0]!.seq]);
      // All 200 moved, all but m100 completed in one batch: m0..m59 (m0 gone), m60..m99, m101..m199.
      page.forEach((entry, i) => store.moveToInflight('c1', entry.seq, i + 1));
      page.forEach((_, i) => i !== 100 && store.removeInflight('c1', i + 1));
      await store.commit();
      const rest = await readQueue(store, 'c1', 0, 512);
      assert.deepEqual(rest.map((e) => e.message.payload.toString()), ['m200']);
      assert.equal(store.queueDepth('c1'), 1, 'depth corrected for m0, dropped before its run was removed');
      let inflight: string[] = [];
      for await (const entry of store.loadSessions()) {
        if (entry.session.clientId === 'c1') inflight = entry.inflight.map((e) => `${e.packetId}:${e.message?.payload.toString()}`);
      }
      assert.deepEqual(inflight, ['101:m100'], 'the move still in flight inside the range is kept');
      const c2 = await readQueue(store, 'c2', 0, 512);
      assert.deepEqual(c2.map((e) => e.message.payload.toString()), ['c2-0', 'c2-1', 'c2-2']);
      // Messages left: c2's 3, m100 (in flight), m200; the delivered ones' ranges took no other.
      assert.equal((await store.stats()).messages, 5);
      assert.equal((await store.stats()).queued, 4);
    } finally {
      await store.close();
    }
  });

  test('log appends and removals of one batch: multi-row runs, a removal after its append, a drop in between', async () => {
    const store = await openSqliteStore({ path: join(tempDir(), 'ferry.db') });
    try {
      const entry = (i: number): [string, Buffer, number] => [`{"i":${i}}`, Buffer.from([i, 255 - i, 0]), 1000 + i];
      // One turn, one batch: 37 appends (two full multi-row statements and a rest), another log
      // in between, ten of the first entries delivered before the batch left, a log dropped and
      // appended to again, then more appends after the removals.
      const seqs: number[] = [];
      for (let i = 0; i < 37; i++) {
        seqs.push(store.appendLog('outbox/a', ...entry(i)));
        if (i === 20) store.appendLog('outbox/b', '{}', Buffer.alloc(0), 5);
      }
      for (const seq of seqs.slice(0, 10)) store.removeLog('outbox/a', seq);
      store.appendLog('outbox/c', '{"gone":1}', Buffer.from('x'), 1);
      store.dropLog('outbox/c');
      const kept = store.appendLog('outbox/c', '{"kept":1}', Buffer.from('y'), 2);
      for (let i = 37; i < 40; i++) seqs.push(store.appendLog('outbox/a', ...entry(i)));
      store.removeLog('outbox/a', seqs[39]!);
      await store.commit();
      const a = await store.readLog('outbox/a', 0, 100);
      assert.deepEqual(a.map((e) => e.seq), seqs.slice(10, 39));
      a.forEach((e, k) => {
        const [meta, payload, createdAt] = entry(k + 10);
        assert.equal(e.meta, meta);
        assert.deepEqual(e.payload, payload);
        assert.equal(e.createdAt, createdAt);
      });
      assert.equal((await store.readLog('outbox/b', 0, 10)).length, 1);
      assert.deepEqual((await store.readLog('outbox/c', 0, 10)).map((e) => [e.seq, e.meta]), [[kept, '{"kept":1}']]);
      // Removals of a later batch, many at once; one already gone changes nothing.
      for (const seq of seqs.slice(10, 30)) store.removeLog('outbox/a', seq);
      store.removeLog('outbox/a', seqs[0]!);
      await store.commit();
      assert.deepEqual((await store.readLog('outbox/a', 0, 100)).map((e) => e.seq), seqs.slice(30, 39));
    } finally {
      await store.close();
    }
  });

  test('a lazy log append (a rule\'s copy of a QoS 0 message) opens no commit of its own: appends of many turns share one; whenDurable makes them durable at once', async () => {
    const store = await openSqliteStore({ path: join(tempDir(), 'ferry.db') });
    try {
      let commits = 0;
      store.onCommitTiming(() => commits++);
      const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
      for (let i = 0; i < 5; i++) {
        store.appendLog('outbox/eager', '{}', Buffer.from([i]), i);
        await turn();
        await store.whenDurable();
      }
      assert.equal(commits, 5, 'an eager append: one commit per turn');
      commits = 0;
      const lazy: number[] = [];
      for (let i = 0; i < 5; i++) {
        lazy.push(store.appendLog('outbox/lazy', '{}', Buffer.from([i]), i, true));
        await turn();
      }
      assert.equal(commits, 0, 'lazy appends wait for company (or LAZY_FLUSH_MS)');
      await store.whenDurable();
      assert.equal(commits, 1, 'someone waits: all of them in one commit');
      assert.deepEqual((await store.readLog('outbox/lazy', 0, 10)).map((e) => e.seq), lazy);
      // Alone, they still get there within the lazy flush interval.
      const last = store.appendLog('outbox/lazy', '{}', Buffer.from('z'), 9, true);
      const deadline = Date.now() + 2000;
      while (commits < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(commits, 2);
      assert.equal((await store.readLog('outbox/lazy', 0, 10)).at(-1)?.seq, last);
    } finally {
      await store.close();
    }
  });

  test('session records are lazy (a reconnect storm): no batch of their own per turn, they ride with the next one in order, or leave within the lazy interval', async () => {
    const dir = tempDir();
    let store = await openSqliteStore({ path: join(dir, 'ferry.db') });
    try {
      let batches = 0;
      store.onCommitTiming((timing) => (batches += timing.batches));
      const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
      // Clients dropping and coming back over four turns: with eager records, four batches.
      store.putSession(session('c1'));
      store.putSession(session('c2'));
      await turn();
      store.setDisconnectedAt('c1', 1_000);
      await turn();
      store.setDisconnectedAt('c2', 2_000);
      await turn();
      store.putSession(session('c2', { expiryInterval: 60 }));
      await turn();
      // A subscription's commit (its SUBACK waits for it) carries them, in the order written.
      store.putSubscription({ clientId: 'c1', key: 'a/+', filter: 'a/+', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, shareGroup: null, subscriptionId: 0 });
      await store.whenDurable();
      assert.equal(batches, 1, 'the four turns of session records and the subscription: one batch');
      // Alone, a record still gets there within the lazy flush interval.
      store.setDisconnectedAt('c2', 3_000);
      const deadline = Date.now() + 2000;
      while (batches < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(batches, 2);
      await store.close();
      store = await openSqliteStore({ path: join(dir, 'ferry.db') });
      const loaded = new Map<string, { disconnectedAt: number | null; expiryInterval: number; subscriptions: number }>();
      for await (const s of store.loadSessions()) {
        loaded.set(s.session.clientId, { disconnectedAt: s.session.disconnectedAt, expiryInterval: s.session.expiryInterval, subscriptions: s.subscriptions.length });
      }
      assert.deepEqual(loaded.get('c1'), { disconnectedAt: 1_000, expiryInterval: 3600, subscriptions: 1 });
      assert.deepEqual(loaded.get('c2'), { disconnectedAt: 3_000, expiryInterval: 60, subscriptions: 0 });
    } finally {
      await store.close();
    }
  });

  test('queued byte totals are rebuilt at open, and a schema 3 file gets them by migration', async () => {
    const dir = tempDir();
    const path = join(dir, 'ferry.db');
    // 'a/b' + 7 bytes = 10 bytes per entry; the instance cap is 50 bytes.
    const limits = { maxQueuedPerSession: 1000, maxQueuedPerInstance: 1000, retentionMs: 1e12, maxQueuedBytesPerInstance: 50 };
    let store = await openSqliteStore({ path, limits });
    store.putSession(session('c1'));
    for (let i = 0; i < 4; i++) store.enqueue('c1', delivery(store.addMessage(message(`bytes-${i}`))));
    await store.close();
    // As a schema 3 file: no bytes column, user_version 3.
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path);
    db.exec(`DROP TABLE queue_acked; ALTER TABLE queue DROP COLUMN bytes; ALTER TABLE messages DROP COLUMN trace_id; DELETE FROM schema_migrations WHERE version >= 4`);
    db.pragma('user_version = 3');
    db.close();

    store = await openSqliteStore({ path, limits });
    assert.equal((await store.stats()).queuedBytes, 40);
    const drops: string[] = [];
    store.onDrop((dropped) => drops.push(...dropped.map((d) => d.reason)));
    store.enqueue('c1', delivery(store.addMessage(message('bytes-4'))));
    store.enqueue('c1', delivery(store.addMessage(message('bytes-5'))));
    await store.commit();
    assert.deepEqual(drops, ['instance-bytes'], 'the restored total counts against the cap');
    await store.close();
    store = await openSqliteStore({ path, limits });
    assert.equal((await store.stats()).queuedBytes, 50);
    assert.equal(store.queueDepth('c1'), 5);
    await store.close();
  });

  for (const fsync of ['always', 'interval', 'off'] as const) {
    test(`fsync ${fsync}: data committed before close survives reopen`, async () => {
      const dir = tempDir();
      const path = join(dir, 'ferry.db');
      const options: SqliteStoreOptions = { path, fsync, fsyncIntervalMs: 20 };
      let store = await openSqliteStore(options);
      store.putSession(session('c'));
      for (let i = 0; i < 100; i++) store.enqueue('c', delivery(store.addMessage(message(`m${i}`))));
      await store.whenDurable();
      await new Promise((resolve) => setTimeout(resolve, 50)); // let an interval checkpoint run
      store.enqueue('c', delivery(store.addMessage(message('last'))));
      await store.close();
      store = await openSqliteStore(options);
      assert.equal(store.queueDepth('c'), 101);
      await store.close();
    });
  }
});

describe('SQLite store: kill -9', () => {
  const child = fileURLToPath(new URL('./sqlite-crash-child.js', import.meta.url));

  async function runAndKill(path: string, clientId: string, fsync: FsyncPolicy, killAfterMs: number): Promise<number> {
    const proc = spawn(process.execPath, [child, path, clientId, fsync], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lastAck = -1;
    let buffered = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    proc.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const match = /^ack (\S+) (\d+)$/.exec(line);
        if (match !== null) lastAck = Number(match[2]);
      }
    });
    const exited = new Promise<void>((resolve) => proc.on('close', () => resolve()));
    // Wait for the first acknowledgement, then a random extra time, then SIGKILL.
    const started = Date.now();
    while (lastAck < 0 && Date.now() - started < 10_000 && proc.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.ok(lastAck >= 0, `child acknowledged nothing: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, killAfterMs));
    proc.kill('SIGKILL');
    await exited;
    // Lines already written by the child before it died are acknowledged too.
    return lastAck;
  }

  for (const fsync of ['always', 'interval'] as const) {
    test(`every acknowledged batch survives kill -9 (fsync ${fsync})`, async () => {
      const dir = tempDir();
      const path = join(dir, 'ferry.db');
      const acked = new Map<string, number>();
      const iterations = 4;
      for (let i = 0; i < iterations; i++) {
        const clientId = `writer${i}`;
        acked.set(clientId, await runAndKill(path, clientId, fsync, 30 + Math.floor(Math.random() * 250)));
        // Reopen and check every client written so far, including earlier iterations.
        const store = await openSqliteStore({ path, limits: { maxQueuedPerSession: 1e9, maxQueuedPerInstance: 1e9, retentionMs: 1e12 } });
        try {
          for (const [id, last] of acked) {
            const entries: string[] = [];
            let after = 0;
            for (;;) {
              const page = await readQueue(store, id, after, 1000);
              if (page.length === 0) break;
              for (const entry of page) entries.push(entry.message.payload.toString());
              after = page[page.length - 1]!.seq;
            }
            assert.ok(entries.length >= (last + 1) * BATCH, `${id}: ${entries.length} entries < ${(last + 1) * BATCH} acknowledged`);
            assert.equal(entries.length % BATCH, 0, `${id}: a batch was torn (${entries.length} entries)`);
            entries.forEach((text, n) => assert.equal(text, `${Math.floor(n / BATCH)}:${n % BATCH}`, `${id}: order`));
            const progress = (await store.getMeta(`progress/${id}`)) as number;
            assert.ok(progress >= last);
            let state;
            for await (const s of store.loadSessions()) if (s.session.clientId === id) state = s;
            assert.ok(state !== undefined);
            assert.ok(state.inboundQos2.length >= Math.min(last + 1, 65535));
          }
          const retained = [];
          for await (const r of store.loadRetained()) retained.push(r.topic);
          assert.ok(retained.length >= acked.size);
        } finally {
          await store.close();
        }
      }
    });
  }
});
