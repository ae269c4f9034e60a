/**
 * Issue 12, failed-login limiting: the AccessKeyId is in every device's username, so it is not a
 * secret. An attacker failing on a fleet's username from one address must block only itself;
 * devices on other addresses keep connecting. Real sockets from two loopback addresses.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { hmacSha1Base64 } from '../../../src/auth/crypto.js';
import { connectPacket, RawClient } from '../../helpers/raw-client.js';
import { ADMIN, startAuthFerry } from '../auth/fixture.js';

const RC_BANNED_V5 = 0x8a;
const RC_BAD_CREDENTIALS_V5 = 0x86;

/** CONNECT from `localAddress`; the CONNACK reason code (MQTT 5). */
async function connectFrom(t: TestContext, port: number, localAddress: string, clientId: string, password: string): Promise<number> {
  const socket = netConnect({ host: '127.0.0.1', port, localAddress });
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  const client = new RawClient(socket, 5);
  client.send(connectPacket({ protocolVersion: 5, clientId, username: `Signature|${ADMIN.id}|mqtt-default`, password: Buffer.from(password) }));
  const connack = await client.expectPacket('connack');
  socket.destroy();
  return connack.reasonCode;
}

test('failed logins - failing on a fleet username from one address does not lock devices on other addresses', async (t) => {
  const env = await startAuthFerry(t, { loginMaxFailuresPerUsername: 10, loginMaxFailuresPerIp: 50, loginBlockSeconds: 60 });
  const port = env.ferry.ports.mqtt;
  const device = 'GID_fleet@@@device-1';
  const good = hmacSha1Base64(ADMIN.secret, device);

  // The attack of the issue: 10 wrong passwords for the fleet's username from 127.0.0.1.
  for (let i = 0; i < 10; i++) assert.equal(await connectFrom(t, port, '127.0.0.1', `GID_fleet@@@x${i}`, 'wrong'), RC_BAD_CREDENTIALS_V5);
  assert.equal(await connectFrom(t, port, '127.0.0.1', device, good), RC_BANNED_V5, 'the attacker\'s address is blocked for that username');
  // The real device, elsewhere, is not.
  assert.equal(await connectFrom(t, port, '127.0.0.2', device, good), 0);
  // Its success does not clear the attacker's failures either.
  assert.equal(await connectFrom(t, port, '127.0.0.1', device, good), RC_BANNED_V5);

  // Back-off per source: after the block, the next burst of failures blocks twice as long.
  env.clock.advance(60_000);
  for (let i = 0; i < 10; i++) assert.equal(await connectFrom(t, port, '127.0.0.1', `GID_fleet@@@y${i}`, 'wrong'), RC_BAD_CREDENTIALS_V5, 'the first block lasts loginBlockSeconds');
  env.clock.advance(60_000);
  assert.equal(await connectFrom(t, port, '127.0.0.1', device, good), RC_BANNED_V5, 'the second lasts twice as long');
  env.clock.advance(60_000);
  assert.equal(await connectFrom(t, port, '127.0.0.1', device, good), 0);
  assert.equal(await connectFrom(t, port, '127.0.0.2', device, good), 0);
});

test('failed logins - an address failing on many usernames is blocked as a source, others are not', async (t) => {
  const env = await startAuthFerry(t, { loginMaxFailuresPerUsername: 1000, loginMaxFailuresPerIp: 20 });
  const port = env.ferry.ports.mqtt;
  for (let i = 0; i < 20; i++) await connectFrom(t, port, '127.0.0.3', `GID_scan@@@${i}`, 'wrong');
  const device = 'GID_fleet@@@device-2';
  assert.equal(await connectFrom(t, port, '127.0.0.3', device, hmacSha1Base64(ADMIN.secret, device)), RC_BANNED_V5);
  assert.equal(await connectFrom(t, port, '127.0.0.4', device, hmacSha1Base64(ADMIN.secret, device)), 0);
});
