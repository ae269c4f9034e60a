/**
 * Summarise a V8 .cpuprofile (from `--ferry-cpu-prof DIR`): self time per function and per file.
 *
 *   node dist/bench/e2e/cpuprofile-top.js PROFILE.cpuprofile [N] [--from S] [--to S] [--timeline]
 *
 * `--from`/`--to` keep only samples taken that many seconds after the profile started (e.g. a
 * backlog drain inside a longer run); `--timeline` prints the busy share (not idle, not GC'd
 * program) per second first, to find such a phase.
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

const args = process.argv.slice(2);
const flagValue = (name: string): number | undefined => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  if (!Number.isFinite(v)) throw new Error(`${name} needs seconds`);
  return v;
};
const fromS = flagValue('--from') ?? 0;
const toS = flagValue('--to') ?? Infinity;
const timeline = args.includes('--timeline');
const positional = args.filter((a) => a !== '--timeline');
const file = positional[0];
if (!file) {
  console.error('usage: cpuprofile-top.js PROFILE [N] [--from S] [--to S] [--timeline]');
  process.exit(2);
}
const topN = Number(positional[1] ?? 25);
const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
// Self time per node from samples/timeDeltas (more exact than hitCount).
const self = new Map<number, number>();
const samples = p.samples ?? [];
const deltas = p.timeDeltas ?? [];
const perSecond: { busy: number; all: number }[] = [];
let at = 0; // µs since the profile started
for (let i = 0; i < samples.length; i++) {
  at += deltas[i] ?? 0;
  const us = deltas[i + 1] ?? deltas[i] ?? 0;
  const sec = Math.floor(at / 1e6);
  const slot = (perSecond[sec] ??= { busy: 0, all: 0 });
  slot.all += us;
  if (byId.get(samples[i]!)?.callFrame.functionName !== '(idle)') slot.busy += us;
  if (at < fromS * 1e6 || at >= toS * 1e6) continue;
  self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + us);
}
if (timeline) {
  console.log('busy share per second (not "(idle)"):');
  perSecond.forEach((v, sec) => console.log(`${String(sec).padStart(4)} s  ${(((v?.busy ?? 0) / Math.max(1, v?.all ?? 0)) * 100).toFixed(0).padStart(3)}%`));
}
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
