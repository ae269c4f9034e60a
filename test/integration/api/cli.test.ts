/** The ferry subcommands against a running Ferry: tables, --json, errors, and pub/sub in every auth mode. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { runClientCommand } from '../../../src/cli/commands/index.js';
import { CLI_PATH, cleanEnv, startFerry } from '../../helpers/index.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

async function setup(t: TestContext): Promise<{ run: (...argv: string[]) => Promise<Run>; common: string[]; dataDir: string; mqttUrl: string }> {
  const ferry = await startFerry(t, {}, { announce: null });
  const common = ['--endpoint', `http://127.0.0.1:${ferry.ports.http}`, '--data-dir', ferry.config.dataDir];
  const mqttUrl = `mqtt://127.0.0.1:${ferry.ports.mqtt}`;
  const run = async (...argv: string[]): Promise<Run> => {
    let out = '';
    let err = '';
    const [command, ...rest] = argv;
    const code = await runClientCommand(command!, [...rest, ...common], { out: (s) => void (out += s), err: (s) => void (err += s), env: {} });
    return { code, out, err };
  };
  return { run, common, dataDir: ferry.config.dataDir, mqttUrl };
}

test('cli - resources over the REST API with the data directory\'s bootstrap key', async (t) => {
  const { run } = await setup(t);
  const list = await run('instance', 'list');
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, /^INSTANCE_ID\s+NAME\s+MODE/m);
  assert.match(list.out, /mqtt-default\s+mqtt-default\s+relaxed/);
  assert.equal((await run('group', 'create', 'GID_cli01', '--tag', 'env=test')).code, 0);
  const groups = JSON.parse((await run('group', 'list', '--json')).out) as { items: Array<{ groupId: string }> };
  assert.ok(groups.items.some((g) => g.groupId === 'GID_cli01'));
  const key = JSON.parse((await run('key', 'create', '--description', 'ci', '--policy', 'AliyunMQReadOnlyAccess', '--json')).out) as { id: string; secret: string };
  assert.equal(typeof key.secret, 'string');
  const denied = await run('group', 'create', 'GID_cli02', '--access-key-id', key.id, '--access-key-secret', key.secret);
  assert.equal(denied.code, 1);
  assert.match(denied.err, /PermissionCheckFailed: .*policies do not allow this/);
  assert.equal((await run('group', 'list', '--access-key-id', key.id, '--access-key-secret', key.secret)).code, 0);
  const bad = await run('send', 'a/+', 'x');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /InvalidParameter: .*\[body.topic\]/);
  assert.equal((await run('topic', 'explode')).code, 2);
  assert.equal((await run('blacklist', 'add', 'GID_cli01@@@bad')).code, 0);
  assert.match((await run('blacklist', 'list')).out, /GID_cli01@@@bad\s+DENY\s+CONNECT/);
  const login = await run('token', 'login', '--ttl', '10m');
  assert.match(login.out, /^export FERRY_TOKEN=fbt_/);
  const token = /FERRY_TOKEN=(\S+)/.exec(login.out)![1]!;
  assert.equal((await run('client', 'list', '--token', token)).code, 0);
  const applied = JSON.parse((await run('token', 'apply', '--resource', 'cmd/a', '--actions', 'R', '--json')).out) as { token: string };
  assert.match((await run('token', 'query', applied.token)).out, /valid:\s+true/);
  const cred = JSON.parse((await run('credential', 'register', 'GID_cli01@@@d1', '--json')).out) as { DeviceAccessKeyId: string };
  assert.match(cred.DeviceAccessKeyId, /^DC\./);
  assert.equal((await run('identity', 'add', 'dave', '--secret', 'pw', '--sign-mode', 'ORIGIN')).code, 0);
  assert.equal((await run('identity', 'permit', 'dave', 'cmd/#')).code, 0);
  assert.match((await run('identity', 'permissions')).out, /dave\s+USER\s+cmd\/#\s+PUB_SUB\s+ALLOW/);
  assert.match((await run('trace', 'device', 'GID_cli01@@@d1', '--json')).out, /"items"/);
});

test('cli - pub and sub in every authentication mode, send, client list and kick', async (t) => {
  const { run, mqttUrl } = await setup(t);
  assert.equal((await run('identity', 'add', 'erin', '--secret', 'erin-secret', '--sign-mode', 'SIGNED')).code, 0);
  assert.equal((await run('identity', 'permit', 'erin', 'modes/#')).code, 0);
  const modes: string[][] = [
    ['--mode', 'anonymous'],
    ['--mode', 'signature'],
    ['--mode', 'token'],
    ['--mode', 'device', '--register'],
    ['--mode', 'custom', '--username', 'erin', '--secret', 'erin-secret'],
  ];
  for (const [i, mode] of modes.entries()) {
    const subscriber = run('sub', `modes/${i}`, '--qos', '1', '--count', '1', '--timeout', '10s', '--url', mqttUrl, '--client-id', `GID_clisub@@@s${i}`, ...mode);
    // Wait until the subscriber is connected and subscribed.
    for (let tries = 0; tries < 100; tries++) {
      const clients = JSON.parse((await run('client', 'list', '--prefix', `GID_clisub@@@s${i}`, '--json')).out) as { items: Array<{ subscriptions: number }> };
      if (clients.items[0]?.subscriptions === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const published = await run('pub', `modes/${i}`, `hello ${i}`, '--qos', '1', '--url', mqttUrl, '--client-id', `GID_clipub@@@p${i}`, ...mode);
    assert.equal(published.code, 0, `${mode.join(' ')}: ${published.err}`);
    const got = await subscriber;
    assert.equal(got.code, 0, got.err);
    assert.equal(got.out, `modes/${i} hello ${i}\n`, `${mode.join(' ')}`);
  }
  const listener = run('sub', 'backend/#', '--count', '1', '--timeout', '10s', '--url', mqttUrl, '--client-id', 'GID_clisub@@@b', '--json');
  for (let tries = 0; tries < 100; tries++) {
    if ((await run('client', 'list', '--connected', '--json')).out.includes('GID_clisub@@@b')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 100));
  const sent = await run('send', 'backend/x', 'from-api', '--json');
  assert.match(sent.out, /"msgId": "[0-9a-f]{32}"/);
  const line = JSON.parse((await listener).out.trim()) as { topic: string; payload: string };
  assert.deepEqual([line.topic, line.payload], ['backend/x', 'from-api']);

  const waiting = run('sub', 'k/#', '--timeout', '10s', '--url', mqttUrl, '--client-id', 'GID_clisub@@@kick');
  for (let tries = 0; tries < 100; tries++) {
    if ((await run('client', 'list', '--connected')).out.includes('GID_clisub@@@kick')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal((await run('client', 'kick', 'GID_clisub@@@kick')).code, 0);
  const kicked = await waiting;
  assert.equal(kicked.code, 1, 'a sub whose connection the broker closes has not done what was asked');
  assert.match(kicked.err, /^ferry sub: the broker closed the connection/);
});

test('cli - the ferry binary dispatches client commands and explains missing credentials', async () => {
  const exec = promisify(execFile);
  const result = await exec(process.execPath, [CLI_PATH, 'client', '--help'], { env: cleanEnv() });
  assert.match(result.stdout, /ferry client list/);
  try {
    await exec(process.execPath, [CLI_PATH, 'instance', 'list', '--data-dir', '/nonexistent'], { env: cleanEnv() });
    assert.fail('expected a failure');
  } catch (err) {
    const e = err as { code: number; stderr: string };
    assert.equal(e.code, 2);
    assert.match(e.stderr, /no credentials/);
  }
});
