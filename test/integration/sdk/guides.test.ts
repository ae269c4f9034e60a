/**
 * The guides' code is the code CI runs: every program in docs/device-guide.md,
 * docs/backend-guide.md and docs/migration.md is a file under examples/, quoted verbatim after an
 * `<!-- example: examples/… -->` marker; every file under examples/ is quoted in a guide and run
 * by examples.test.ts.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const GUIDES = ['docs/device-guide.md', 'docs/backend-guide.md', 'docs/migration.md'];
/** Languages of programs; `text` (output) and `json` blocks are not programs. */
const PROGRAM = new Set(['js', 'javascript', 'mjs', 'ts', 'typescript', 'python', 'py', 'sh', 'bash', 'shell']);

interface Block {
  guide: string;
  line: number;
  lang: string;
  code: string;
  example: string | null;
}

function blocks(guide: string): Block[] {
  const lines = readFileSync(join(ROOT, guide), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i]!);
    if (open === null) continue;
    const indent = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && lines[j]!.trimEnd() !== `${indent}\`\`\``) body.push(lines[j++]!.slice(indent.length));
    const marker = /^\s*<!-- example: (\S+) -->\s*$/.exec(lines[i - 1] ?? '');
    out.push({ guide, line: i + 1, lang: open[2]!, code: body.length === 0 ? '' : `${body.join('\n')}\n`, example: marker?.[1] ?? null });
    i = j;
  }
  return out;
}

function exampleFiles(dir = join(ROOT, 'examples')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? exampleFiles(join(dir, e.name)) : [relative(ROOT, join(dir, e.name))]));
}

test('guides - every program in a guide is an example file, quoted verbatim', () => {
  const all = GUIDES.flatMap(blocks);
  assert.ok(all.filter((b) => b.example !== null).length >= 7, 'the guides quote their examples');
  for (const b of all) {
    if (b.example === null) {
      assert.ok(!PROGRAM.has(b.lang), `${b.guide}:${b.line}: a \`${b.lang}\` block without an <!-- example: … --> marker; put the program under examples/ and quote it`);
      continue;
    }
    assert.equal(b.code, readFileSync(join(ROOT, b.example), 'utf8'), `${b.guide}:${b.line} differs from ${b.example}`);
  }
});

test('guides - every file under examples/ is quoted in a guide and run by the examples test', () => {
  const quoted = new Set(GUIDES.flatMap(blocks).map((b) => b.example));
  const runner = readFileSync(join(ROOT, 'test/integration/sdk/examples.test.ts'), 'utf8');
  const files = exampleFiles();
  assert.ok(files.length >= 7);
  for (const file of files) {
    assert.ok(quoted.has(file), `${file} is in no guide`);
    assert.ok(runner.includes(`'${file}'`), `${file} is not run by test/integration/sdk/examples.test.ts`);
  }
});
