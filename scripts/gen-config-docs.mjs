#!/usr/bin/env node
// Regenerates docs/configuration.md from the option table (src/config/schema.ts).
// Usage: npx tsc -p . && node scripts/gen-config-docs.mjs
import { writeFileSync } from 'node:fs';
import { renderConfigDocs } from '../dist/src/config/docs.js';

const target = new URL('../docs/configuration.md', import.meta.url);
writeFileSync(target, renderConfigDocs());
console.log(`wrote ${target.pathname}`);
