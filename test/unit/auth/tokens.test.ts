import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessKeys } from '../../../src/auth/access-keys.js';
import { ManualClock } from '../../../src/auth/clock.js';
import { SecretBox } from '../../../src/auth/crypto.js';
import {
  checkGrant,
  expireNotice,
  invalidNotice,
  parseTokenActions,
  parseTokenPassword,
  parseUpload,
  TOKEN_CODE,
  TokenGrant,
  TokenService,
  type TokenClaims,
} from '../../../src/auth/tokens.js';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { ManagementError } from '../../../src/tenancy/errors.js';
import { Tenancy } from '../../../src/tenancy/registry.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

async function setup() {
  const store = new MemoryStore();
  const box = SecretBox.ephemeral();
  const clock = new ManualClock();
  const tenancy = await Tenancy.open(store, { now: () => clock.now() });
  await tenancy.createInstance({ id: 'mqtt-a', mode: 'relaxed' });
  await tenancy.createInstance({ id: 'mqtt-b', mode: 'relaxed' });
  const keys = await AccessKeys.open(store, box, () => clock.now());
  const full = (await keys.create({ id: 'AKfull000001', policies: ['AliyunMQFullAccess'] })).key.id;
  const pubOnly = (await keys.create({ id: 'AKpubonly001', policies: ['AliyunMQPubOnlyAccess'] })).key.id;
  const tokens = await TokenService.open(store, box, keys, tenancy, clock);
  return { store, box, clock, tenancy, keys, tokens, full, pubOnly };
}

test('tokens - apply checks resources, actions, validity and the key\'s rights', async () => {
  const { tokens, clock, full, pubOnly } = await setup();
  const now = clock.now();
  const base = { instanceId: 'mqtt-a', accessKeyId: full, actions: 'R,W', expireTime: now + 10 * MIN };
  const { token, expireTime } = tokens.apply({ ...base, resources: 'b/+,a/#' });
  assert.equal(expireTime, now + 10 * MIN);
  assert.doesNotMatch(token, /\|/, 'tokens never contain the password separator');
  const decoded = tokens.decode(token);
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.claims.r, ['a/#', 'b/+'], 'resources sorted');
  assert.equal(decoded.claims.a, 'RW');

  const capped = tokens.apply({ ...base, resources: ['x'], expireTime: now + 90 * DAY });
  assert.equal(capped.expireTime, now + 30 * DAY, 'longer validity is capped at 30 days');
  const invalid = (c: string) => (e: unknown) => e instanceof ManagementError && e.code === c;
  assert.throws(() => tokens.apply({ ...base, resources: ['x'], expireTime: now + 59_000 }), invalid('ParameterFieldCheckFailed'));
  assert.throws(() => tokens.apply({ ...base, resources: Array.from({ length: 101 }, (_, i) => `t/${i}`) }), /at most 100/);
  assert.doesNotThrow(() => tokens.apply({ ...base, resources: Array.from({ length: 100 }, (_, i) => `t/${i}`) }));
  assert.throws(() => tokens.apply({ ...base, resources: ['a/#/b'] }), /not a valid/);
  assert.throws(() => tokens.apply({ ...base, resources: ['$SYS/x'] }), /not a valid/);
  assert.throws(() => tokens.apply({ ...base, resources: ['x'], actions: 'X' }), /Actions/);
  assert.throws(() => tokens.apply({ ...base, instanceId: 'mqtt-zz', resources: ['x'] }), invalid('InstanceNotFound'));
  assert.throws(() => tokens.apply({ ...base, accessKeyId: pubOnly, resources: ['x'] }), invalid('PermissionCheckFailed'));
});

test('tokens - verification codes: forged 1, expired 2, revoked 3, other key or instance 8, key gone -1', async () => {
  const { tokens, clock, full, keys } = await setup();
  const { token } = tokens.apply({ instanceId: 'mqtt-a', accessKeyId: full, resources: ['a/#'], actions: 'R', expireTime: clock.now() + 10 * MIN });
  assert.equal(tokens.verify(token, full, 'mqtt-a').ok, true);
  const code = (t: string, k = full, i = 'mqtt-a') => {
    const r = tokens.verify(t, k, i);
    return r.ok ? 0 : r.code;
  };
  assert.equal(code('garbage'), TOKEN_CODE.forged);
  assert.equal(code(`${token}x`), TOKEN_CODE.forged, 'altered signature');
  const [body, sig] = token.split('.') as [string, string];
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as TokenClaims;
  const widened = Buffer.from(JSON.stringify({ ...claims, r: ['#'] })).toString('base64url');
  assert.equal(code(`${widened}.${sig}`), TOKEN_CODE.forged, 'altered claims');
  assert.equal(code(token, 'AKpubonly001'), TOKEN_CODE.badSignature);
  assert.equal(code(token, full, 'mqtt-b'), TOKEN_CODE.badSignature);
  assert.equal(tokens.query('mqtt-a', token), true);
  assert.equal(tokens.query('mqtt-b', token), false);

  clock.advance(10 * MIN);
  assert.equal(code(token), TOKEN_CODE.expired);

  const live = tokens.apply({ instanceId: 'mqtt-a', accessKeyId: full, resources: ['a/#'], actions: 'R', expireTime: clock.now() + 10 * MIN }).token;
  const revoked: string[] = [];
  tokens.onRevoke((id) => revoked.push(id));
  await tokens.revoke('mqtt-a', live);
  assert.equal(code(live), TOKEN_CODE.revoked);
  assert.equal(revoked.length, 1);
  await assert.rejects(tokens.revoke('mqtt-b', live), /not a token of this instance/);

  const another = tokens.apply({ instanceId: 'mqtt-a', accessKeyId: full, resources: ['a/#'], actions: 'R', expireTime: clock.now() + 10 * MIN }).token;
  await keys.update(full, { policies: ['AliyunMQPubOnlyAccess'] });
  assert.equal(code(another), TOKEN_CODE.accountInvalid, 'the key lost mq:ApplyToken');
  await keys.delete(full);
  assert.equal(code(another), TOKEN_CODE.accountInvalid, 'the key is gone');
});

test('tokens - revocations survive a restart and are forgotten after the token expires', async () => {
  const { tokens, clock, full, store, box, keys, tenancy } = await setup();
  const { token } = tokens.apply({ instanceId: 'mqtt-a', accessKeyId: full, resources: ['a'], actions: 'W', expireTime: clock.now() + 5 * MIN });
  await tokens.revoke('mqtt-a', token);
  const reopened = await TokenService.open(store, box, keys, tenancy, clock);
  assert.equal(reopened.verify(token, full, 'mqtt-a').ok, false);
  assert.equal(reopened.revokedCount, 1);
  clock.advance(5 * MIN);
  assert.equal(reopened.purgeRevoked(), 1);
  assert.deepEqual(await store.listRecords('auth.revokedTokens'), []);
});

test('tokens - password pairs, actions and upload payloads are parsed strictly', () => {
  assert.deepEqual([...(parseTokenPassword('R|abc') ?? [])], [['R', 'abc']]);
  assert.deepEqual([...(parseTokenPassword('R|abc|W|def') ?? [])], [['R', 'abc'], ['W', 'def']]);
  assert.deepEqual([...(parseTokenPassword('RW|x') ?? [])], [['RW', 'x']]);
  assert.equal(parseTokenPassword('R|a|R|b'), null, 'one token per type');
  assert.equal(parseTokenPassword('X|a'), null);
  assert.equal(parseTokenPassword('R|'), null);
  assert.equal(parseTokenPassword('abc'), null);
  assert.equal(parseTokenActions('R'), 'R');
  assert.equal(parseTokenActions('W'), 'W');
  assert.equal(parseTokenActions('R,W'), 'RW');
  assert.equal(parseTokenActions('W, R'), 'RW');
  assert.equal(parseTokenActions('RW'), 'RW');
  assert.equal(parseTokenActions('R,X'), null);
  assert.deepEqual(parseUpload(Buffer.from('{"token":"t.s","type":"W"}')), { token: 't.s', type: 'W' });
  assert.equal(parseUpload(Buffer.from('{"token":"t.s","type":"Q"}')), null);
  assert.equal(parseUpload(Buffer.from('not json')), null);
  assert.deepEqual(JSON.parse(invalidNotice(4, 'W').toString()), { code: 4, type: 'W' });
  assert.deepEqual(JSON.parse(expireNotice({ e: 123, a: 'R' } as TokenClaims).toString()), { expireTime: 123, type: 'R' });
});

test('tokens - a grant answers 4 for an uncovered topic, 5 for the wrong type, 2 once expired', () => {
  const claims = (a: 'R' | 'W' | 'RW', r: string[], e = 2000): TokenClaims => ({ v: 1, id: a, i: 'i', k: 'k', r, a, e, t: 0 });
  const grant = [claims('R', ['a/#']), claims('W', ['b/+'])];
  assert.equal(checkGrant(grant, 'subscribe', 'a/x/#', 1000), null);
  assert.equal(checkGrant(grant, 'publish', 'b/1', 1000), null);
  assert.equal(checkGrant(grant, 'publish', 'a/1', 1000), TOKEN_CODE.typeMismatch);
  assert.equal(checkGrant(grant, 'subscribe', 'b/+', 1000), TOKEN_CODE.typeMismatch);
  assert.equal(checkGrant(grant, 'publish', 'c/1', 1000), TOKEN_CODE.resourceMismatch);
  assert.equal(checkGrant(grant, 'subscribe', 'b/#', 1000), TOKEN_CODE.resourceMismatch);
  assert.equal(checkGrant(grant, 'publish', 'b/1', 2000), TOKEN_CODE.expired);
  assert.equal(checkGrant([claims('RW', ['x'])], 'publish', 'x', 1000), null);
  assert.equal(checkGrant([claims('RW', ['x'])], 'subscribe', 'x', 1000), null);
});

test('tokens - the grant sends the expiry notice 5 minutes ahead, then expires; a new token resets both', () => {
  const clock = new ManualClock(0);
  const events: string[] = [];
  const grant = new TokenGrant(clock, {
    expireSoon: (c) => events.push(`soon ${c.id}`),
    expired: (c) => events.push(`expired ${c.id}`),
  });
  const claims = (id: string, e: number): TokenClaims => ({ v: 1, id, i: 'i', k: 'k', r: ['x'], a: 'R', e, t: 0 });
  grant.set(claims('one', 10 * MIN));
  clock.advance(5 * MIN - 1);
  assert.deepEqual(events, []);
  clock.advance(1);
  assert.deepEqual(events, ['soon one']);
  grant.set(claims('two', 20 * MIN)); // uploaded before expiry: replaces the R token
  clock.advance(5 * MIN);
  assert.deepEqual(events, ['soon one'], 'the old token no longer expires anything');
  clock.advance(10 * MIN);
  assert.deepEqual(events, ['soon one', 'soon two', 'expired two']);
  grant.set(claims('short', 21 * MIN)); // under 5 minutes left: no expiry notice
  grant.close();
  clock.advance(60 * MIN);
  assert.deepEqual(events, ['soon one', 'soon two', 'expired two'], 'a closed grant fires nothing');
  assert.equal(clock.pending, 0);
});
