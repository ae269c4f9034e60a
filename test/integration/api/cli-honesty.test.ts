/**
 * The CLI as a new user meets it (issue 14): it finds a running Ferry from its data directory,
 * every failure is one line and a non-zero exit, output shows no storage fields, help lists the
 * values, progress lines only when asked for or on a terminal. Real `ferry` processes throughout.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, spawnFerry, startFerry, tempDir, waitFor } from '../../helpers/index.js';

/** One line on stderr, no stack trace. */
function oneLine(stderr: string): void {
  assert.equal(stderr.trimEnd().split('\n').length, 1, `expected one line, got: ${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at /);
}

test('cli - a running Ferry records where it listens; the CLI finds it from --data-dir, FERRY_DATA_DIR or ./data; --endpoint wins; a stale record is ignored', async (t) => {
  const home = tempDir(t);
  const dataDir = join(home, 'data');
  const file = join(dataDir, 'ferry.endpoint.json');
  const ferry = await spawnFerry(t, ['--data-dir', dataDir, '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port=-1']);
  const record = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; defaultInstance: string; urls: Record<string, string> };
  assert.equal(record.pid, ferry.child.pid);
  assert.equal(record.defaultInstance, 'mqtt-default');
  assert.equal(record.urls['http'], `http://127.0.0.1:${ferry.ports['http']}`);
  assert.equal(record.urls['mqtt'], `mqtt://127.0.0.1:${ferry.ports['mqtt']}`);
  assert.equal(record.urls['ws'], `ws://127.0.0.1:${ferry.ports['ws']}/mqtt`);

  const ways: Array<{ args?: string[]; env?: Record<string, string>; cwd?: string }> = [{ args: ['--data-dir', dataDir] }, { env: { FERRY_DATA_DIR: dataDir } }, { cwd: home }];
  for (const way of ways) {
    const listed = await runCli(['instance', 'list', ...(way.args ?? [])], way);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /mqtt-default/);
  }
  const published = await runCli(['pub', 'found/it', 'x', '--qos', '1'], { cwd: home });
  assert.equal(published.code, 0, published.stderr);

  const elsewhere = await runCli(['instance', 'list', '--endpoint', 'http://127.0.0.1:9'], { cwd: home });
  assert.equal(elsewhere.code, 1);
  assert.match(elsewhere.stderr, /cannot reach Ferry at http:\/\/127\.0\.0\.1:9/);
  oneLine(elsewhere.stderr);

  ferry.child.kill('SIGTERM');
  assert.equal((await ferry.exited).code, 0);
  assert.equal(existsSync(file), false, 'a graceful stop removes the endpoint file');

  // A killed Ferry leaves its record behind: the CLI says so instead of trusting it.
  writeFileSync(file, JSON.stringify(record));
  const stale = await runCli(['instance', 'list'], { cwd: home });
  assert.equal(stale.code, 1);
  assert.match(stale.stderr, new RegExp(`ignoring .*ferry\\.endpoint\\.json: the Ferry that wrote it \\(pid ${record.pid}\\) is not running`));
});

test('cli - every failure of pub and sub is one line and exit 1; --verbose adds the details', async (t) => {
  const ferry = await startFerry(t, {}, { announce: null });
  const cli = (...args: string[]): ReturnType<typeof runCli> => runCli([...args, '--data-dir', ferry.config.dataDir]);
  assert.equal((await cli('identity', 'add', 'erin', '--secret', 's', '--sign-mode', 'ORIGIN')).code, 0);
  assert.equal((await cli('identity', 'permit', 'erin', 'ok/#')).code, 0);
  const erin = ['--mode', 'custom', '--username', 'erin', '--secret', 's', '--sign-mode', 'ORIGIN'];

  const allowed = await cli('pub', 'ok/1', 'm', '--qos', '1', ...erin);
  assert.equal(allowed.code, 0, allowed.stderr);
  const failures: Array<[string[], RegExp]> = [
    [['pub', 'no/x', 'm', '--qos', '1', ...erin], /^ferry pub: publish to no\/x refused: Not authorized \(0x87\)$/m],
    [['pub', 'no/x', 'm', '--qos', '1', '--mqtt3', ...erin], /^ferry pub: the broker closed the connection/m],
    [['pub', 'no/x', 'm', '--qos', '0', '--mqtt3', ...erin], /^ferry pub: the broker closed the connection.*QoS 0/m],
    [['sub', 'no/#', ...erin], /^ferry sub: subscription refused: Not authorized \(0x87\)$/m],
    [['sub', 'no/#', '--mqtt3', ...erin], /^ferry sub: the broker closed the connection/m],
    [['pub', 'x', 'm', '-i', 'other'], /^ferry pub: anonymous clients belong to the default instance \(mqtt-default\), not other: add --mode/m],
    [['sub', 'quiet/#', '--count', '2', '--timeout', '1s'], /^ferry sub: received 0 of 2 messages before the 1s timeout$/m],
    [['pub', 'x', 'm', '--mode', 'signature', '--url', 'mqtt://127.0.0.1:9'], /^ferry pub: cannot connect: .*ECONNREFUSED/m],
    [['instance', 'get', 'nope-nope'], /^ferry instance: InstanceNotFound/m],
  ];
  for (const [args, expected] of failures) {
    const run = await cli(...args);
    assert.equal(run.code, 1, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, expected, args.join(' '));
    oneLine(run.stderr);
  }
  const verbose = await cli('pub', 'no/x', 'm', '--qos', '1', '--verbose', ...erin);
  assert.equal(verbose.code, 1);
  assert.match(verbose.stderr, /ErrorWithReasonCode: Publish error: Not authorized\n\s+at /);
  assert.match(verbose.stderr, /^ferry pub: publish to no\/x refused: Not authorized \(0x87\)$/m);
  const usage = await cli('pub', 'x', 'm', '--mode', 'bogus');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--mode must be one of anonymous, signature, token, device, custom/);
});

test('cli - output carries no storage fields and help lists the values of every choice', async (t) => {
  const ferry = await startFerry(t, {}, { announce: null });
  const created = await runCli(['topic', 'create', 'plain', '--json', '--data-dir', ferry.config.dataDir]);
  assert.equal(created.code, 0, created.stderr);
  assert.deepEqual(Object.keys(JSON.parse(created.stdout) as object).sort(), ['auto', 'createdAt', 'name']);
  const listed = JSON.parse((await runCli(['topic', 'list', '--json', '--data-dir', ferry.config.dataDir])).stdout) as { items: object[] };
  for (const item of listed.items) assert.equal('v' in item, false);

  for (const command of ['pub', 'sub', 'bench']) {
    const help = await runCli([command, '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--mode MODE\s+authentication: anonymous \| signature \| token \| device \| custom/, command);
    assert.match(help.stdout, /--qos 0\|1\|2/, command);
    assert.match(help.stdout, /--sign-mode SIGNED\|ORIGIN/, command);
  }
});

test('cli - sub --count shows a progress line only when asked (--progress) or on a terminal', async (t) => {
  const ferry = await startFerry(t, {}, { announce: null });
  const dir = ['--data-dir', ferry.config.dataDir];
  for (const forced of [true, false]) {
    const before = ferry.broker.subscriptionCount;
    const listening = runCli(['sub', 'prog/1', '--count', '2', '--timeout', '30s', '--qos', '1', ...(forced ? ['--progress'] : []), ...dir]);
    await waitFor(() => ferry.broker.subscriptionCount > before, { timeoutMs: 20_000 });
    assert.equal((await runCli(['pub', 'prog/1', 'hello', '--qos', '1', '--count', '2', ...dir])).code, 0);
    const got = await listening;
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, 'prog/1 hello\nprog/1 hello\n');
    if (forced) assert.ok(got.stderr.includes('\r\u001b[2Kreceived 1/2'), JSON.stringify(got.stderr));
    else assert.equal(got.stderr, '');
  }
});
