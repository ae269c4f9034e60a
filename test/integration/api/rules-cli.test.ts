/** `ferry rule` and `ferry queue` end to end: in-process commands and the real binary, against a running Ferry. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { runClientCommand } from '../../../src/cli/commands/index.js';
import { CLI_PATH, cleanEnv, startFerry, tempDir } from '../../helpers/index.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

async function setup(t: TestContext): Promise<{ run: (...argv: string[]) => Promise<Run>; common: string[] }> {
  const ferry = await startFerry(t, {}, { announce: null });
  const common = ['--endpoint', `http://127.0.0.1:${ferry.ports.http}`, '--data-dir', ferry.config.dataDir];
  const run = async (...argv: string[]): Promise<Run> => {
    let out = '';
    let err = '';
    const [command, ...rest] = argv;
    const code = await runClientCommand(command!, [...rest, ...common], { out: (s) => void (out += s), err: (s) => void (err += s), env: {} });
    return { code, out, err };
  };
  return { run, common };
}

test('cli - rule create|list|get|update|enable|disable|stats|dead-letters|replay|purge|delete', async (t) => {
  const { run } = await setup(t);
  const created = await run('rule', 'create', 'to-redis', '--type', 'outbound', '--topic', 'sensors/#', '--target', 'redis://127.0.0.1:6379/0?stream=sensors', '--json');
  assert.equal(created.code, 0, created.err);
  const rule = JSON.parse(created.out) as { id: string; topics: string[]; enabled: boolean };
  assert.match(rule.id, /^rule-[0-9a-f]{12}$/);
  assert.deepEqual(rule.topics, ['sensors/#']);

  const status = await run('rule', 'create', 'online', '--type', 'status', '--group', 'GID_car,GID_bus', '--target', 'amqp://guest:guest@127.0.0.1:5672/?exchange=status', '--disabled');
  assert.equal(status.code, 0, status.err);
  assert.match(status.out, /^target:\s+amqp:\/\/guest:\*\*\*@127\.0\.0\.1:5672\/\?exchange=status$/m);
  assert.match(status.out, /^enabled:\s+false$/m);
  const specFile = join(tempDir(t, 'ferry-rule-spec-'), 'cmds.json');
  writeFileSync(specFile, JSON.stringify({ name: 'cmds', type: 'inbound', source: 'redis://127.0.0.1:6379/0?stream=cmds&group=ferry', parentTopic: 'cmd' }));
  assert.equal((await run('rule', 'create', '--spec', `@${specFile}`)).code, 0);
  const hook = await run('rule', 'create', 'hook', '--type', 'outbound', '--topic', 'a/#', '--target', 'https://hooks.example.com/x', '--max-attempts', '3', '--overflow', 'refuse');
  assert.equal(hook.code, 0, hook.err);
  assert.match(hook.out, /^secret:\s+[A-Za-z0-9]{32}$/m);
  assert.match(hook.out, /shown only this once/);

  const list = await run('rule', 'list');
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, /^ID\s+NAME\s+TYPE\s+ENABLED/m);
  assert.match(list.out, new RegExp(`^${rule.id}\\s+to-redis\\s+outbound\\s+true\\s+sensors/#`, 'm'));
  assert.match(list.out, /online\s+status\s+false\s+GID_car,GID_bus\s+amqp:\/\/guest:\*\*\*@/);
  assert.match(list.out, /cmds\s+inbound\s+true\s+redis:\/\/127\.0\.0\.1:6379\/0\?stream=cmds&group=ferry\s+cmd/);

  assert.match((await run('rule', 'get', rule.id)).out, /^name:\s+to-redis$/m);
  const updated = await run('rule', 'update', rule.id, '--topic', 'sensors/+/temp', '--description', 'temps', '--json');
  assert.equal(updated.code, 0, updated.err);
  assert.deepEqual((JSON.parse(updated.out) as { topics: string[] }).topics, ['sensors/+/temp']);
  assert.match((await run('rule', 'disable', rule.id)).out, /^enabled:\s+false$/m);
  assert.match((await run('rule', 'enable', rule.id)).out, /^enabled:\s+true$/m);
  const stats = await run('rule', 'stats', rule.id);
  assert.equal(stats.code, 0, stats.err);
  assert.match(stats.out, /^delivered:\s+0$/m);
  assert.match(stats.out, /^outboxDepth:\s+0$/m);
  assert.equal((await run('rule', 'dead-letters', rule.id)).out, '(none)\n');
  assert.match((await run('rule', 'replay', rule.id)).out, /^replayed:\s+0$/m);
  assert.match((await run('rule', 'purge', rule.id, '--all')).out, /^purged:\s+0$/m);
  assert.match((await run('rule', 'purge', rule.id, '--id', 'x,y')).out, /^purged:\s+0$/m);
  assert.equal((await run('rule', 'delete', rule.id)).code, 0);

  // Failures: one line, non-zero exit.
  const missing = await run('rule', 'get', rule.id);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /^ferry rule: RuleNotFound: rule rule-[0-9a-f]{12} does not exist in instance mqtt-default\n$/);
  const scheme = await run('rule', 'create', 'bad', '--type', 'outbound', '--topic', 'a/#', '--target', 'ftp://x/y');
  assert.equal(scheme.code, 1);
  assert.match(scheme.err, /^ferry rule: InvalidParameter: .*unknown scheme "ftp:".*\[body\.target\]\n$/);
  const filter = await run('rule', 'create', 'bad', '--type', 'outbound', '--topic', 'a/#/b', '--target', 'redis://127.0.0.1/0?stream=s');
  assert.equal(filter.code, 1);
  assert.match(filter.err, /\[body\.topics\.0\]/);
  const duplicate = await run('rule', 'create', 'online', '--type', 'status', '--group', 'GID_car', '--target', 'redis://127.0.0.1/0?stream=s');
  assert.equal(duplicate.code, 1);
  assert.match(duplicate.err, /RuleAlreadyExists/);
  assert.equal((await run('rule', 'create', 'x')).code, 2, 'no --type: usage error');
  assert.equal((await run('rule', 'purge', 'rule-000000000000')).code, 2, 'purge needs --id or --all');
  assert.equal((await run('rule', 'update', 'rule-000000000000')).code, 2, 'nothing to change');
  assert.equal((await run('rule', 'explode')).code, 2);
  assert.equal((await run('rule', 'create', 'x', '--type', 'outbound', '--max-attempts', 'many')).code, 2);
});

test('cli - queue commands: send, list, receive, ack through the queue routes', async (t) => {
  const { run } = await setup(t);
  const sent = await run('queue', 'send', 'jobs', 'hello', '--property', 'k=v');
  assert.equal(sent.code, 0, sent.err);
  const list = await run('queue', 'list');
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, /jobs/);
  const received = await run('queue', 'receive', 'jobs', '--max', '5', '--visibility', '1m', '--wait', '2s');
  assert.equal(received.code, 0, received.err);
  assert.match(received.out, /aGVsbG8=/, 'the payload, base64');
  const tooLong = await run('queue', 'receive', 'jobs', '--wait', '1m');
  assert.match(tooLong.err, /\[body\.wait\]/);
  assert.equal((await run('queue', 'ack', 'jobs')).code, 2, 'no receipt: usage error');
  assert.equal((await run('queue', 'send', 'jobs', 'x', '--property', 'novalue')).code, 2);
});

test('cli - the ferry binary: rule create and list, errors on stderr with exit 1', async (t) => {
  const { common } = await setup(t);
  const exec = promisify(execFile);
  const ok = await exec(process.execPath, [CLI_PATH, 'rule', 'create', 'to-redis', '--type', 'outbound', '--topic', 'sensors/#', '--target', 'redis://127.0.0.1:6379/0?stream=sensors', ...common], { env: cleanEnv() });
  assert.match(ok.stdout, /^type:\s+outbound$/m);
  const listed = await exec(process.execPath, [CLI_PATH, 'rule', 'list', '--json', ...common], { env: cleanEnv() });
  assert.equal((JSON.parse(listed.stdout) as { total: number }).total, 1);
  await assert.rejects(
    exec(process.execPath, [CLI_PATH, 'rule', 'create', 'bad', '--type', 'status', '--group', 'nogid', '--target', 'redis://127.0.0.1/0?stream=s', ...common], { env: cleanEnv() }),
    (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /^ferry rule: InvalidParameter: .*\[body\.groups\.0\]\n$/);
      return true;
    },
  );
});
