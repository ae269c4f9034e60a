/**
 * docs/errors.md lists exactly the error catalogue (src/errors.ts) with the same statuses, the
 * MQTT reason codes Ferry can refuse with, and the CLI exit codes; the modules' own tables are
 * views of the catalogue.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { RPC_ERRORS, RpcError } from '../../src/api/rpc/errors.js';
import { EXIT_CODES } from '../../src/cli/exit-codes.js';
import { AMQP_REPLY_CODES, ERRORS, rpcStatus, type ErrorCode } from '../../src/errors.js';
import { FACADE_ERRORS, FacadeError } from '../../src/management/errors.js';
import { ReasonCode } from '../../src/protocol/reason-codes.js';
import { MANAGEMENT_ERRORS, ManagementError } from '../../src/tenancy/errors.js';

const DOC = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

/** The rows of the table under `## heading`, as arrays of trimmed cells (header and rule skipped). */
function table(heading: string): string[][] {
  const start = DOC.indexOf(`## ${heading}`);
  assert.ok(start >= 0, `docs/errors.md has a "${heading}" section`);
  const rows: string[][] = [];
  let inTable = false;
  for (const line of DOC.slice(start).split('\n').slice(1)) {
    if (line.startsWith('## ')) break;
    if (!line.startsWith('|')) {
      if (inTable) break;
      continue;
    }
    inTable = true;
    rows.push(line.split('|').slice(1, -1).map((c) => c.trim()));
  }
  return rows.slice(2);
}

test('errors - docs/errors.md lists exactly the catalogue codes with their statuses, RPC statuses, origin and MQTT reason codes', () => {
  const rows = table('API error codes');
  const documented = new Map(rows.map((r) => [r[0]!.replace(/`/g, ''), r]));
  assert.equal(documented.size, rows.length, 'no code listed twice');
  assert.deepEqual([...documented.keys()].sort(), Object.keys(ERRORS).sort());
  for (const [code, entry] of Object.entries(ERRORS) as Array<[ErrorCode, (typeof ERRORS)[ErrorCode]]>) {
    const [, status, rpc, managed, mqtt] = documented.get(code)!;
    assert.equal(Number(status), entry.status, `${code} HTTP`);
    assert.equal(Number(rpc), rpcStatus(code), `${code} RPC HTTP`);
    assert.equal(managed, entry.managed ? 'yes' : 'no', `${code} managed`);
    const reason = 'mqtt' in entry ? `0x${entry.mqtt.toString(16).toUpperCase().padStart(2, '0')}` : '';
    assert.equal(mqtt, reason, `${code} MQTT reason code`);
  }
});

test('errors - docs/errors.md lists exactly the MQTT failure reason codes and the CLI exit codes', () => {
  const failures = Object.entries(ReasonCode).filter(([, v]) => v >= 0x80);
  assert.deepEqual(
    table('MQTT reason codes').map(([hex, name]) => `${hex} ${name}`),
    failures.map(([name, v]) => `0x${v.toString(16).toUpperCase().padStart(2, '0')} ${name}`),
  );
  assert.deepEqual(
    table('CLI exit codes').map(([code, name]) => `${code} ${name}`),
    Object.entries(EXIT_CODES).map(([name, v]) => `${v} ${name}`),
  );
});

test('errors - docs/errors.md lists exactly the AMQP reply codes with their names and scope', () => {
  assert.deepEqual(
    table('AMQP reply codes').map(([code, name, scope]) => `${code} ${name} ${scope}`),
    Object.entries(AMQP_REPLY_CODES).map(([code, entry]) => `${code} ${entry.name} ${entry.scope}`),
  );
});

test('errors - every module table takes its statuses from the one catalogue', () => {
  for (const [code, status] of Object.entries(FACADE_ERRORS)) assert.equal(status, ERRORS[code as ErrorCode].status, code);
  for (const [code, status] of Object.entries(MANAGEMENT_ERRORS)) assert.equal(status, ERRORS[code as ErrorCode].status, code);
  for (const code of Object.keys(RPC_ERRORS) as Array<keyof typeof RPC_ERRORS>) assert.equal(RpcError.of(code).status, rpcStatus(code), code);
  assert.equal(new FacadeError('ClientConnected', 'x').status, 409);
  assert.equal(new ManagementError('GroupIdAlreadyExsited', 'x').status, 409);
  assert.equal(rpcStatus('GroupIdAlreadyExsited'), 400, 'conflicts are 400 on the RPC endpoint');
  assert.equal(RpcError.of('SignatureDoesNotMatch').status, 400);
  assert.equal(ERRORS.SignatureDoesNotMatch.status, 401, 'the REST API answers a bad signature with 401');
});
