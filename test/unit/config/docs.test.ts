import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { OPTIONS, envName, flagName, renderConfigDocs } from '../../../src/internal.js';

const DOC = new URL('../../../../docs/configuration.md', import.meta.url);

test('config docs - docs/configuration.md is generated from the option table', () => {
  const current = readFileSync(DOC, 'utf8');
  assert.equal(
    current,
    renderConfigDocs(),
    'docs/configuration.md is stale: run `npx tsc -p . && node scripts/gen-config-docs.mjs`',
  );
});

test('config docs - every setting appears with its env name and flag', () => {
  const doc = renderConfigDocs();
  for (const spec of OPTIONS) {
    assert.ok(doc.includes(`\`${envName(spec)}\``), envName(spec));
    assert.ok(doc.includes(`--${flagName(spec)}`), flagName(spec));
  }
});
