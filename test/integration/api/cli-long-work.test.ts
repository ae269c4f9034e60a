/**
 * Long CLI work (issue 14 item 7): queue draining, bulk imports and trace exports show a progress line on stderr when asked
 * (--progress) or on a terminal, stay quiet in pipes, and fail with one line and a count.
 * Real `ferry` processes against a real Ferry.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runClientCommand } from '../../../src/cli/commands/index.js';
import { mqttClient, runCli, startFerry, tempDir } from '../../helpers/index.js';

test('cli - credential import registers every client id of the file, prints CSV, progress only with --progress', async (t) => {
  const ferry = await startFerry(t, {}, { announce: null });
  const dir = tempDir(t);
  const dataDir = ['--data-dir', ferry.config.dataDir];
  const ids = Array.from({ length: 5 }, (_, i) => `GID_imp@@@d${i}`);
  const file = join(dir, 'ids.txt');
  // Plain lines and JSON lines mixed, with a comment and a blank line.
  writeFileSync(file, `# devices\n${ids.slice(0, 3).join('\n')}\n\n${ids.slice(3).map((clientId) => JSON.stringify({ clientId })).join('\n')}\n`);

  const quiet = await runCli(['credential', 'import', file, ...dataDir]);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stderr, '', 'a pipe gets no progress line');
  const lines = quiet.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'clientId,deviceAccessKeyId,deviceAccessKeySecret');
  assert.deepEqual(lines.slice(1).map((l) => l.split(',')[0]), ids);
  for (const [i, line] of lines.slice(1).entries()) {
    const [, keyId, secret] = line.split(',');
    const got = await runCli(['credential', 'get', ids[i]!, '--json', ...dataDir]);
    const stored = JSON.parse(got.stdout) as { DeviceAccessKeyId: string; DeviceAccessKeySecret: string };
    assert.equal(stored.DeviceAccessKeyId, keyId);
    assert.equal(stored.DeviceAccessKeySecret, secret);
  }

  const out = join(dir, 'creds.csv');
  const shown = await runCli(['credential', 'import', file, '--out', out, '--progress', ...dataDir]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.stdout, '');
  assert.ok(shown.stderr.includes('\r\u001b[2Kregistered 0/5'), JSON.stringify(shown.stderr));
  assert.ok(shown.stderr.endsWith('\r\u001b[2K'), 'the progress line is cleared at the end');
  // Registering again returns the same credentials (register is idempotent).
  assert.equal(readFileSync(out, 'utf8'), quiet.stdout);
  assert.equal(statSync(out).mode & 0o777, 0o600, 'secrets are written for the owner only');
});

test('cli - credential import carries on past a refused client id and fails with the count; a bad file is a usage error', async (t) => {
  const ferry = await startFerry(t, {}, { announce: null });
  const dir = tempDir(t);
  const dataDir = ['--data-dir', ferry.config.dataDir];
  const file = join(dir, 'ids.txt');
  const refused = 'GID_bad!group@@@d'; // a Group ID of letters, digits and "_" only
  writeFileSync(file, `GID_imp@@@a\n${refused}\nGID_imp@@@b\n`);
  const got = await runCli(['credential', 'import', file, ...dataDir]);
  assert.equal(got.code, 1);
  assert.deepEqual(got.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(',')[0]), ['GID_imp@@@a', 'GID_imp@@@b']);
  const errors = got.stderr.trimEnd().split('\n');
  assert.equal(errors.length, 2, got.stderr);
  assert.match(errors[0]!, new RegExp(`^ferry credential: ${refused}: \\w+: `));
  assert.equal(errors[1], 'ferry credential: 1 of 3 credentials not registered');

  const broken = join(dir, 'broken.txt');
  writeFileSync(broken, 'GID_imp@@@c\n{"clientId": 7}\n');
  const bad = await runCli(['credential', 'import', broken, ...dataDir]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, `ferry credential: ${broken}:2: no "clientId" string\n`);
  assert.equal(bad.stdout, '', 'nothing is registered from a file that does not parse');
  const missing = await runCli(['credential', 'import', join(dir, 'nope.txt'), ...dataDir]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^ferry credential: cannot read .*nope\.txt: ENOENT\n$/);
});

test('cli - trace export walks every page into JSON lines, progress only with --progress', async (t) => {
  const ferry = await startFerry(t, { tracing: true, traceFlushIntervalMs: 20 }, { announce: null });
  const dir = tempDir(t);
  const dataDir = ['--data-dir', ferry.config.dataDir];
  const sender = await mqttClient(t, ferry.ports.mqtt, 'GID_exp@@@sender');
  const receiver = await mqttClient(t, ferry.ports.mqtt, 'GID_exp@@@receiver');
  await receiver.subscribeAsync('exp/#', { qos: 1 });
  const count = 130; // more than one page of 100
  let received = 0;
  const all = new Promise<void>((resolve) => receiver.on('message', () => ++received === count && resolve()));
  for (let i = 0; i < count; i++) await sender.publishAsync(`exp/${i}`, `m${i}`, { qos: 1 });
  await all;
  await ferry.traces.flush();

  const quiet = await runCli(['trace', 'export', 'messages', 'GID_exp@@@sender', '--out', '-', ...dataDir]);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stderr, '', 'a pipe gets no progress line');
  const records = quiet.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { MsgId: string; Action: string; Topic?: string });
  assert.equal(records.length, count);
  assert.equal(new Set(records.map((r) => r.MsgId)).size, count, 'every record once, across the pages');
  assert.ok(records.every((r) => r.Action === 'pub_mqtt'));

  const file = join(dir, 'trace.jsonl');
  const shown = await runCli(['trace', 'export', 'messages', 'GID_exp@@@receiver', '--out', file, '--progress', ...dataDir]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.stdout, '');
  assert.ok(shown.stderr.includes('\r\u001b[2Kexported 100/130 records (page 1)'), JSON.stringify(shown.stderr));
  assert.equal(readFileSync(file, 'utf8').trimEnd().split('\n').length, count);

  const msgId = records[0]!.MsgId;
  const one = await runCli(['trace', 'export', 'message', msgId, '--out', '-', ...dataDir]);
  assert.equal(one.code, 0, one.stderr);
  const lines = one.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { Action: string; ClientId: string });
  assert.deepEqual(lines.map((l) => [l.Action, l.ClientId]), [['pub_mqtt', 'GID_exp@@@sender'], ['sub', 'GID_exp@@@receiver']]);
  const device = await runCli(['trace', 'export', 'device', 'GID_exp@@@sender', '--out', '-', ...dataDir]);
  assert.equal(device.code, 0, device.stderr);
  assert.match(device.stdout, /"Action":"connect"/);

  const noOut = await runCli(['trace', 'export', 'device', 'GID_exp@@@sender', ...dataDir]);
  assert.equal(noOut.code, 2);
  assert.equal(noOut.stderr, 'ferry trace: --out FILE (or - for stdout) is required\n');
  const bad = await runCli(['trace', 'export', 'message', 'nope', '--out', '-', ...dataDir]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^ferry trace: InvalidParameter: .*\n$/);
});

test('cli - queue drain writes every message as a JSON line and acks it, --max stops early, progress only with --progress', async (t) => {
  const ferry = await startFerry(t, {}, { announce: null });
  const dir = tempDir(t);
  const dataDir = ['--data-dir', ferry.config.dataDir];
  const count = 150; // more than one batch of 100
  const messages = Array.from({ length: count }, (_, i) => ({ payload: `m${i}`, properties: { n: String(i) } }));
  const sent = await runCli(['queue', 'send', 'drainq', 'first', '--property', 'k=v', ...dataDir]);
  assert.equal(sent.code, 0, sent.stderr);
  // The rest in process (a process each would be slow).
  const io = { out: () => undefined, err: (s: string) => assert.fail(s), env: {} };
  for (const m of messages.slice(1)) assert.equal(await runClientCommand('queue', ['send', 'drainq', m.payload, '--property', `n=${m.properties.n}`, ...dataDir], io), 0);
  const depth = async (): Promise<number> =>
    (JSON.parse((await runCli(['queue', 'list', '--json', ...dataDir])).stdout) as { items: Array<{ name: string; depth: number }> }).items.find((q) => q.name === 'drainq')?.depth ?? 0;
  assert.equal(await depth(), count);

  const some = await runCli(['queue', 'drain', 'drainq', '--max', '30', '--wait', '0', ...dataDir]);
  assert.equal(some.code, 0, some.stderr);
  assert.equal(some.stderr, '', 'a pipe gets no progress line');
  const first = some.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { id: string; payload: string; payloadEncoding: string; properties: Record<string, string> });
  assert.equal(first.length, 30);
  assert.equal(Buffer.from(first[0]!.payload, 'base64').toString(), 'first');
  assert.equal(first[0]!.payloadEncoding, 'base64');
  assert.deepEqual(first[0]!.properties, { k: 'v' });
  assert.equal(await depth(), count - 30, 'what was written is acked');

  const file = join(dir, 'drained.jsonl');
  const rest = await runCli(['queue', 'drain', 'drainq', '--out', file, '--wait', '1s', '--progress', ...dataDir]);
  assert.equal(rest.code, 0, rest.stderr);
  assert.equal(rest.stdout, '');
  assert.ok(rest.stderr.includes('\r\u001b[2Kdrained 100 messages'), JSON.stringify(rest.stderr));
  const second = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { id: string; payload: string });
  assert.equal(second.length, count - 30);
  const payloads = [...first, ...second].map((m) => Buffer.from(m.payload, 'base64').toString());
  assert.deepEqual(payloads.sort(), ['first', ...messages.slice(1).map((m) => m.payload)].sort());
  assert.equal(await depth(), 0);

  const badMax = await runCli(['queue', 'drain', 'drainq', '--max', '0', ...dataDir]);
  assert.equal(badMax.code, 2);
  assert.equal(badMax.stderr, 'ferry queue: --max must be a positive whole number, got "0"\n');
  const unwritable = await runCli(['queue', 'drain', 'drainq', '--out', join(dir, 'no', 'such', 'dir.jsonl'), ...dataDir]);
  assert.equal(unwritable.code, 2);
  assert.match(unwritable.stderr, /^ferry queue: cannot write .*dir\.jsonl: ENOENT\n$/);
});
