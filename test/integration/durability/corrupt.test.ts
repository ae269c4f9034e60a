/** A damaged database stops Ferry at start with a clear error; it never starts empty silently. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { failedStart, spawnFerry, tempDir } from '../../helpers/index.js';

const ARGS = ['--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port', '0'];

test('corrupt store - a truncated database is refused with the command to move it aside', async (t) => {
  const dataDir = tempDir(t);
  const ferry = await spawnFerry(t, ['--data-dir', dataDir, ...ARGS]);
  ferry.child.kill('SIGTERM');
  await ferry.exited;
  const file = join(dataDir, 'ferry.db');
  truncateSync(file, Math.floor(statSync(file).size / 2) + 1);
  const { code, output } = await failedStart(['--data-dir', dataDir, ...ARGS]);
  assert.notEqual(code, 0);
  assert.match(output, /StoreCorruptError/);
  assert.match(output, /mv .*ferry\.db/);
});

test('corrupt store - random bytes are refused, not replaced by an empty database', async (t) => {
  const dataDir = tempDir(t);
  const file = join(dataDir, 'ferry.db');
  writeFileSync(file, Buffer.alloc(64 * 1024, 0x5a));
  const { code, output } = await failedStart(['--data-dir', dataDir, ...ARGS]);
  assert.notEqual(code, 0);
  assert.match(output, /corrupt or unreadable/);
  assert.equal(statSync(file).size, 64 * 1024, 'the damaged file is left as it was');
});
