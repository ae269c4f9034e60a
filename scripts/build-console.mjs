#!/usr/bin/env node
// Builds the web console (console/ → dist/console/) with esbuild: one hashed script and one
// hashed stylesheet referenced from index.html, so the server can cache assets forever and the
// page never. Runs at `npm ci` (prepare) and `npm run build`; prints the gzipped first-load size.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = new URL('../', import.meta.url);
const out = new URL('dist/console/', root);
rmSync(out, { recursive: true, force: true });
mkdirSync(new URL('assets/', out), { recursive: true });

const result = await build({
  entryPoints: [new URL('console/src/main.tsx', root).pathname],
  bundle: true,
  minify: true,
  sourcemap: false,
  format: 'esm',
  target: ['chrome120', 'firefox120', 'safari17'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: new URL('assets/', out).pathname,
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const script = outputs.find((f) => f.endsWith('.js'));
const style = outputs.find((f) => f.endsWith('.css'));
if (script === undefined || style === undefined) throw new Error(`console build produced ${outputs.join(', ')}`);
const html = readFileSync(new URL('console/index.html', root), 'utf8').replace('%SCRIPT%', `assets/${script}`).replace('%STYLE%', `assets/${style}`);
writeFileSync(new URL('index.html', out), html);

let gz = gzipSync(html).length;
for (const f of [script, style]) gz += gzipSync(readFileSync(new URL(`assets/${f}`, out))).length;
console.log(`console: dist/console (first load ${(gz / 1024).toFixed(1)} KB gzipped)`);
