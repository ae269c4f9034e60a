/**
 * `ferry-mqtt/sdk` as a user's project sees it: the package's "exports" map, the JavaScript and
 * the declarations `npm run build` ships (tsconfig.sdk.json). A consumer file importing the
 * package by name type-checks, and a wrong route or body is a type error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

const CONSUMER = `import { connectDevice, QueueConsumer, RestClient, StatusTracker, type DeviceAuth } from 'ferry-mqtt/sdk';
const rest = new RestClient({ endpoint: 'http://127.0.0.1:8080', auth: { bearer: 't' } });
const auth: DeviceAuth = { mode: 'token', accessKeyId: 'AK', instanceId: 'mqtt-default', tokens: [{ type: 'R', token: 't' }] };
export async function main(): Promise<void> {
  const device = await connectDevice({ url: 'mqtt://127.0.0.1:1883', clientId: 'GID_a@@@1', auth, tokenRefresh: { fetchToken: async () => ({ token: 'n' }) } });
  device.tokens?.on('refreshed', (grant, reason) => console.log(grant.type, reason));
  await rest.request('post', '/instances/{instanceId}/queues/{name}/receive', { params: { instanceId: 'a', name: 'q' }, body: { max: 2, wait: 1 } });
  // @ts-expect-error an unknown route
  await rest.request('get', '/instances/{instanceId}/nothing', { params: { instanceId: 'a' } });
  // @ts-expect-error a body field the route does not have
  await rest.request('post', '/instances/{instanceId}/queues/{name}/receive', { params: { instanceId: 'a', name: 'q' }, body: { maxx: 2 } });
  // @ts-expect-error a path parameter missing
  await rest.request('post', '/instances/{instanceId}/queues/{name}/ack', { params: { instanceId: 'a' }, body: { receipts: ['r'] } });
  for await (const message of new QueueConsumer({ rest, instanceId: 'a', queue: 'q' })) await message.ack();
  new StatusTracker().apply({ clientId: 'c', channelId: 'x', time: 1, eventType: 'connect' });
}
`;

test('sdk package - the exports map, the built JavaScript and the declarations serve a consumer that imports ferry-mqtt/sdk', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; exports: Record<string, { types: string; default: string }> };
  const sdk = pkg.exports['./sdk']!;
  assert.ok(existsSync(join(ROOT, sdk.default)), `${sdk.default} is built`);
  const mod = (await import(`${pkg.name}/sdk`)) as Record<string, unknown>;
  assert.equal(typeof mod['connectDevice'], 'function', 'the package resolves itself by name');

  const declarations = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.sdk.json'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  assert.equal(declarations.status, 0, `tsc -p tsconfig.sdk.json: ${declarations.stdout}${declarations.stderr}`);
  assert.ok(existsSync(join(ROOT, sdk.types)), `${sdk.types} is built`);

  // Inside the package directory, so TypeScript resolves the package's own name as a user's project resolves node_modules.
  const dir = join(ROOT, 'dist', 'sdk-consumer-check');
  mkdirSync(dir, { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'consumer.mts'), CONSUMER);
  const check = spawnSync(process.execPath, [TSC, '--noEmit', '--strict', '--exactOptionalPropertyTypes', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', join(dir, 'consumer.mts')], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  assert.equal(check.status, 0, `the consumer does not type-check:\n${check.stdout}${check.stderr}`);
});
