/**
 * The SDK's request types (src/sdk/backend/openapi-types.ts) are generated from the OpenAPI
 * document Ferry serves; this test regenerates them from a running Ferry and fails when the
 * committed file differs (a route, parameter or body changed without the SDK following).
 * `npm run sdk:types` rewrites the file (FERRY_WRITE_SDK_TYPES=1).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import { startFerry } from '../../helpers/index.js';

const FILE = fileURLToPath(new URL('../../../../src/sdk/backend/openapi-types.ts', import.meta.url));
const HEADER = `/**
 * GENERATED from the OpenAPI document Ferry serves at /api/v1/openapi.json by openapi-typescript;
 * do not edit. Regenerate with \`npm run sdk:types\` (test/integration/sdk/openapi-types.test.ts
 * fails while this file and the served document disagree).
 */
`;

test('sdk - the REST client\'s types are the OpenAPI document Ferry serves', async (t) => {
  const ferry = await startFerry(t, { storeEngine: 'memory' }, { announce: null });
  const res = await fetch(`http://127.0.0.1:${ferry.ports.http}/api/v1/openapi.json`);
  assert.equal(res.status, 200);
  const generated = HEADER + astToString(await openapiTS((await res.json()) as Parameters<typeof openapiTS>[0]));
  if (process.env['FERRY_WRITE_SDK_TYPES'] === '1') writeFileSync(FILE, generated);
  assert.equal(readFileSync(FILE, 'utf8'), generated, 'src/sdk/backend/openapi-types.ts is stale: run `npm run sdk:types` and adapt the SDK to the change');
});
