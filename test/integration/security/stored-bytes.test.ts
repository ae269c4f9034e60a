/**
 * Issue 12, stored data: byte caps on what clients can make Ferry keep on disk, done for real
 * (bounded floods over loopback) with the file sizes measured on disk.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startFerry } from '../../helpers/index.js';
import { startBystander } from '../../helpers/bystander.js';
import { rawConnect } from '../../helpers/raw-client.js';

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

test('traces - a QoS 0 flood cannot grow traces.db past traceMaxBytes; the space is returned', async (t) => {
  const cap = 1024 * 1024;
  const ferry = await startFerry(t, { traceMaxBytes: cap, traceWriterCpuPercent: 100, traceFlushIntervalMs: 50 });
  const db = join(ferry.config.dataDir, 'traces.db');
  const bystander = await startBystander(t, ferry.ports.mqtt);
  const { client: sub } = await rawConnect(t, ferry.ports.mqtt, { protocolVersion: 5, clientId: 'flood-sink' });
  assert.deepEqual(await sub.subscribe('flood/#', 0), [0]);
  const { client: pub } = await rawConnect(t, ferry.ports.mqtt, { protocolVersion: 5, clientId: 'flooder' });
  let peak = 0;
  // 20 rounds of 3,000 QoS 0 messages (120,000 trace events, several MB), sampling the file.
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 3000; i++) pub.publish(`flood/${round}/${i % 50}`, 'x'.repeat(32), { qos: 0 });
    await new Promise((r) => setTimeout(r, 150));
    sub.inbox.length = 0;
    peak = Math.max(peak, sizeOf(db));
  }
  await ferry.traces.flush();
  const stored = ferry.traces.stats.stored;
  await ferry.traces.purge();
  const after = sizeOf(db);
  assert.ok(stored > 30_000, `the flood was traced (${stored} events stored)`);
  assert.ok(after <= cap, `traces.db is ${after} bytes after the purge, cap ${cap}`);
  // Checked once a second while writing: the file never runs far past the cap.
  assert.ok(peak <= cap * 3, `traces.db peaked at ${peak} bytes, cap ${cap}`);
  const report = await bystander.stop();
  assert.equal(report.lost, 0, JSON.stringify(report));
});
