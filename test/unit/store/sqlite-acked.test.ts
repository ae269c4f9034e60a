/**
 * The SQLite store's acknowledged queue rows (at or below a session's acknowledged-through seq,
 * reclaimed later) on the store thread's side, against a real database: stats count without
 * reclaiming, a reclaim step that does not commit leaves nothing counted wrong, and purges that
 * meet such rows reclaim them instead of reporting them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEngine } from '../../../src/store/sqlite/engine.js';
import type { QueueCaps } from '../../../src/store/sqlite/queues.js';

const CAPS: QueueCaps = { maxPerSession: 1e6, maxPerInstance: 1e6, maxBytesPerSession: 0, maxBytesPerInstance: 0 };

/** A committed session 'c1' with ten queued entries (seqs and message ids 1–10), 1–6 acknowledged. */
function engineWithAckedHead(t: { after: (fn: () => void) => void }): SqliteEngine {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-acked-'));
  const engine = new SqliteEngine({ path: join(dir, 'ferry.db'), fsync: 'off', integrityCheck: 'none', cacheSizeKiB: 2048 });
  t.after(() => {
    engine.close(false);
    rmSync(dir, { recursive: true, force: true });
  });
  engine.begin();
  engine.sessions.put({ clientId: 'c1', instanceId: 'i1', protocolVersion: 5, expiryInterval: 3600, disconnectedAt: null });
  for (let i = 1; i <= 10; i++) {
    engine.messages.add(i, { topic: 't', payload: Buffer.from(`m${i}`), qos: 1, retain: false, properties: null, expiresAt: 0, createdAt: 1000 + i, traceId: 0 });
    engine.queues.enqueue('c1', { messageId: i, qos: 1, retain: false, subscriptionIds: [], shareGroup: null, shareFilter: null }, i, CAPS);
  }
  engine.commit();
  engine.begin();
  engine.queues.delivered('c1', [1, 2, 3, 4, 5, 6]);
  engine.commit();
  return engine;
}

const rows = (engine: SqliteEngine): number => engine.db.prepare('SELECT count(*) FROM queue').pluck().get() as number;

test('stats count acknowledged rows as gone without reclaiming them (a read does no unbounded delete)', (t) => {
  const engine = engineWithAckedHead(t);
  assert.equal(engine.index.ackedRows, 6);
  const stats = engine.stats();
  assert.equal(stats.queued, 4);
  assert.equal(stats.messages, 4, 'the acknowledged rows\' messages are not counted');
  assert.equal(engine.index.ackedRows, 6, 'left to the reclaim steps');
  assert.equal(rows(engine), 10);
  assert.equal(engine.inTransaction, false, 'stats open no transaction');

  // A message also referenced by a live entry still counts: m1 queued again for c1 (seq 11).
  engine.begin();
  engine.queues.enqueue('c1', { messageId: 1, qos: 1, retain: false, subscriptionIds: [], shareGroup: null, shareFilter: null }, 11, CAPS);
  engine.commit();
  assert.equal(engine.stats().messages, 5);
  // Reclaimed, the counts are the same.
  engine.begin();
  engine.queues.reclaimAcked(100);
  engine.commit();
  assert.equal(engine.index.ackedRows, 0);
  assert.equal(engine.stats().messages, 5);
  assert.equal(rows(engine), 5);
});

test('a reclaim step that does not commit leaves the counts as committed (rollback reloads them)', (t) => {
  const engine = engineWithAckedHead(t);
  engine.begin();
  assert.equal(engine.queues.reclaimAcked(4), 4);
  assert.equal(engine.index.ackedRows, 2);
  engine.rollback();
  assert.equal(engine.index.ackedRows, 6);
  assert.equal(engine.index.byClientId.get('c1')!.depth, 4);
  assert.equal(rows(engine), 10);
  engine.begin();
  assert.equal(engine.queues.reclaimAcked(100), 6);
  engine.commit();
  assert.equal(engine.index.ackedRows, 0);
  assert.equal(engine.db.prepare('SELECT count(*) FROM messages').pluck().get(), 4, 'the acknowledged entries\' messages deleted once');
});

test('retention meeting acknowledged rows reclaims them, and reports only live entries', (t) => {
  const engine = engineWithAckedHead(t);
  engine.begin();
  // Retention cuts at createdAt 1008: m1–m6 are acknowledged, m7 and m8 are live and dropped.
  const purged = engine.housekeeping.purgeExpired(2000, 1000, { i1: 2000 - 1008 });
  engine.commit();
  assert.equal(purged.retentionDropped, 2);
  assert.equal(purged.reclaimed, 6);
  assert.deepEqual(
    engine.corrections.take().drops.map((d) => [d.seq, d.reason]),
    [
      [7, 'retention'],
      [8, 'retention'],
    ],
  );
  assert.equal(engine.index.ackedRows, 0);
  assert.equal(engine.index.byClientId.get('c1')!.depth, 2);
  assert.equal(engine.stats().messages, 2);
});
