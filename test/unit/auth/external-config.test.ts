import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkExternalAuth } from '../../../src/external-auth/config.js';
import { aclAllows, parseAcl } from '../../../src/external-auth/acl.js';
import { ConfigError, loadConfig } from '../../../src/internal.js';

const SECRET = 'a-very-long-hmac-secret-0123456789abcdef';

function error(value: unknown): string {
  const checked = checkExternalAuth(value);
  assert.ok('error' in checked, `expected an error for ${JSON.stringify(value)}`);
  return checked.error;
}

test('external auth config - refusals name the field', () => {
  assert.match(error([]), /JSON object/);
  assert.match(error({ 'Bad Id': {} }), /not an instance id/);
  assert.match(error({ 'mqtt-a': { ldap: {} } }), /unknown field "ldap"/);
  assert.match(error({ 'mqtt-a': { jwt: { algorithms: ['HS256'] } } }), /needs a key/);
  assert.match(error({ 'mqtt-a': { jwt: { algorithms: ['none'], secret: SECRET } } }), /algorithms must be/);
  assert.match(error({ 'mqtt-a': { jwt: { algorithms: ['HS256', 'RS256'], secret: SECRET } } }), /mixes HMAC/);
  assert.match(error({ 'mqtt-a': { jwt: { algorithms: ['RS256'], secret: SECRET } } }), /needs publicKeyFile or jwksUrl/);
  assert.match(error({ 'mqtt-a': { jwt: { algorithms: ['HS256'], secret: 'short' } } }), /at least 32/);
  assert.match(error({ 'mqtt-a': { jwt: { algorithms: ['RS256'], jwksUrl: 'ftp://x/jwks' } } }), /http\(s\) URL/);
  assert.match(error({ 'mqtt-a': { http: {} } }), /authUrl, authorizeUrl or both/);
  assert.match(error({ 'mqtt-a': { http: { authUrl: 'http://127.0.0.1:1/a', timeoutMs: 0 } } }), /timeoutMs/);
  assert.match(error({ 'mqtt-a': { http: { authUrl: 'http://127.0.0.1:1/a', failurePolicy: 'allow' } } }), /failurePolicy/);
  assert.ok('value' in checkExternalAuth({ 'mqtt-a': { jwt: { algorithms: ['HS256'], secret: SECRET }, http: { authUrl: 'http://127.0.0.1:1/a' } } }));
});

test('external auth config - a refused value is not repeated in the error (it may hold secrets)', () => {
  const env = { FERRY_EXTERNAL_AUTH: JSON.stringify({ 'mqtt-a': { jwt: { algorithms: ['HS256'], secret: 'tiny-secret-value' } } }) };
  assert.throws(
    () => loadConfig({ env }),
    (err: unknown) => err instanceof ConfigError && err.message.includes('FERRY_EXTERNAL_AUTH') && err.message.includes('at least 32') && !err.message.includes('tiny-secret-value'),
  );
});

test('external auth acl - filters per action, placeholders, whole subscription filters', () => {
  const acl = parseAcl({ pub: ['up/${clientid}/#'], sub: ['down/${username}/+'], all: ['shared/#'] });
  assert.ok(acl !== null && typeof acl === 'object');
  const vars = { clientId: 'dev1', username: 'alice' };
  assert.ok(aclAllows(acl, 'publish', 'up/dev1/t', vars));
  assert.ok(!aclAllows(acl, 'publish', 'up/dev2/t', vars));
  assert.ok(!aclAllows(acl, 'subscribe', 'up/dev1/t', vars));
  assert.ok(aclAllows(acl, 'subscribe', 'down/alice/x', vars));
  assert.ok(!aclAllows(acl, 'subscribe', 'down/alice/#', vars), 'a wider filter than granted');
  assert.ok(aclAllows(acl, 'subscribe', 'shared/a/#', vars));
  assert.equal(parseAcl(undefined), null);
  assert.match(String(parseAcl({ pub: 'x' })), /array/);
});
