/** The packed npm package installs a working `ferry` command (package.json `bin`, shebang, mode). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cleanEnv, tempDir } from '../helpers/index.js';

const exec = promisify(execFile);
/** The package root, from dist/test/integration/. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('cli package - npm pack and install give node_modules/.bin/ferry that runs', async (t) => {
  const dir = tempDir(t);
  const env = cleanEnv({ npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' });
  // The tarball as published (the build already ran: no scripts).
  const packed = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, env });
  const { filename } = (JSON.parse(packed.stdout) as [{ filename: string }])[0];
  const pkg = join(dir, 'pkg');
  mkdirSync(pkg);
  await exec('tar', ['xzf', join(dir, filename), '-C', pkg, '--strip-components=1']);
  // Offline: the package's dependencies come from this checkout instead of the registry.
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  await exec('npm', ['install', '--offline', '--ignore-scripts', '--install-links=false', pkg], { cwd: app, env });

  // Run the bin link itself, as a shell would: this needs the shebang and the executable bit.
  const bin = join(app, 'node_modules', '.bin', 'ferry');
  const help = await exec(bin, ['--help'], { cwd: app, env });
  assert.match(help.stdout, /^Usage: ferry <command>/);
  assert.match(help.stdout, /bench/);
  const version = await exec(bin, ['--version'], { cwd: app, env });
  assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
});

test('cli package - npm ci installs nothing that wants a newer Node than package.json promises (no EBADENGINE)', async () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  const floor = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(pkg.engines.node);
  assert.ok(floor !== null, `engines.node is a plain minimum: ${pkg.engines.node}`);
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  assert.ok(major > Number(floor[1]) || (major === Number(floor[1]) && minor >= Number(floor[2])), `this Node (${process.version}) meets ${pkg.engines.node}`);
  // A dry run checks every locked package's engines against this Node without touching node_modules.
  const env = cleanEnv({ npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' });
  const run = await exec('npm', ['ci', '--dry-run', '--ignore-scripts'], { cwd: ROOT, env });
  assert.doesNotMatch(`${run.stdout}${run.stderr}`, /EBADENGINE/);
});
