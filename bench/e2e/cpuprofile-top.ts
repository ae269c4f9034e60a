/**
 * Summarise a V8 .cpuprofile (from `--ferry-cpu-prof DIR`): self time per function and per file.
 *
 *   node dist/bench/e2e/cpuprofile-top.js PROFILE.cpuprofile [N]
 */
import fs from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const file = process.argv[2];
if (!file) {
  console.error('usage: cpuprofile-top.js PROFILE [N]');
  process.exit(2);
}
const topN = Number(process.argv[3] ?? 25);
const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
// Self time per node from samples/timeDeltas (more exact than hitCount).
const self = new Map<number, number>();
const samples = p.samples ?? [];
const deltas = p.timeDeltas ?? [];
for (let i = 0; i < samples.length; i++) self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0));
let total = 0;
for (const v of self.values()) total += v;
const short = (url: string): string => url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/').replace(/^node:/, 'node:');
const fn = new Map<string, number>();
const files = new Map<string, number>();
for (const [id, us] of self) {
  const n = byId.get(id)!;
  const f = n.callFrame;
  const name = f.functionName || '(anonymous)';
  const where = f.url ? `${short(f.url)}:${f.lineNumber + 1}` : '';
  const key = where ? `${name}  ${where}` : name;
  fn.set(key, (fn.get(key) ?? 0) + us);
  const fk = f.url ? short(f.url) : name.startsWith('(') ? name : '(native)';
  files.set(fk, (files.get(fk) ?? 0) + us);
}
const pct = (v: number): string => `${((v / total) * 100).toFixed(1).padStart(5)}%`;
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled over ${((p.endTime - p.startTime) / 1e6).toFixed(2)} s`);
console.log('\nself time by function:');
for (const [k, v] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, topN)) console.log(`${pct(v)}  ${k}`);
console.log('\nself time by file:');
for (const [k, v] of [...files].sort((a, b) => b[1] - a[1]).slice(0, topN)) console.log(`${pct(v)}  ${k}`);
