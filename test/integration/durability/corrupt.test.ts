/** A damaged database stops Ferry at start with a clear error; it never starts empty silently. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_PATH, cleanEnv, spawnFerry, tempDir } from '../../helpers/index.js';

const ARGS = ['--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port', '0'];

async function failedStart(dataDir: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [CLI_PATH, 'start', '--data-dir', dataDir, ...ARGS], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, output };
}

test('corrupt store - a truncated database is refused with the command to move it aside', async (t) => {
  const dataDir = tempDir(t);
  const ferry = await spawnFerry(t, ['--data-dir', dataDir, ...ARGS]);
  ferry.child.kill('SIGTERM');
  await ferry.exited;
  const file = join(dataDir, 'ferry.db');
  truncateSync(file, Math.floor(statSync(file).size / 2) + 1);
  const { code, output } = await failedStart(dataDir);
  assert.notEqual(code, 0);
  assert.match(output, /StoreCorruptError/);
  assert.match(output, /mv .*ferry\.db/);
});

test('corrupt store - random bytes are refused, not replaced by an empty database', async (t) => {
  const dataDir = tempDir(t);
  const file = join(dataDir, 'ferry.db');
  writeFileSync(file, Buffer.alloc(64 * 1024, 0x5a));
  const { code, output } = await failedStart(dataDir);
  assert.notEqual(code, 0);
  assert.match(output, /corrupt or unreadable/);
  assert.equal(statSync(file).size, 64 * 1024, 'the damaged file is left as it was');
});
