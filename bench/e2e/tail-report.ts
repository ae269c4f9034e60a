/**
 * Lays single messages against a broker's GC pauses and main-thread callbacks:
 *
 *   node dist/bench/e2e/tail-report.js MSGS.txt [PROBE.json]
 *
 * MSGS.txt is `ferry-cgen latency … --dump MSGS.txt` (seq, send ns, latency ns, lag ns per line);
 * PROBE.json is what tail-probe.ts wrote for the same run (optional: without it only the latency
 * distribution is printed). Prints the distribution, the GC pauses (count, rate, durations), the
 * share of slow messages whose flight overlaps a pause, the percentiles of the messages that
 * overlap none (what the tail would be without GC pauses, other things equal), and every
 * recorded callback kind with its durations.
 */
import fs from 'node:fs';
import type { TailProbe } from './tail-probe.js';

const [msgsFile, probeFile] = process.argv.slice(2);
if (!msgsFile) {
  process.stderr.write('usage: tail-report MSGS.txt [PROBE.json]\n');
  process.exit(2);
}

interface Msg {
  sent: number;
  lat: number;
}
const msgs: Msg[] = [];
let lost = 0;
for (const line of fs.readFileSync(msgsFile, 'utf8').split('\n')) {
  const f = line.split(' ');
  if (f.length < 4) continue;
  const lat = Number(f[2]);
  if (lat === 0) lost++;
  else msgs.push({ sent: Number(f[1]), lat });
}
if (msgs.length === 0) throw new Error(`${msgsFile}: no messages`);
const probe: TailProbe = probeFile ? (JSON.parse(fs.readFileSync(probeFile, 'utf8')) as TailProbe) : { gcs: [], calls: [] };

const us = (ns: number): string => (ns / 1e3).toFixed(0);
/** Nearest-rank percentile of sorted values. */
function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
}
const PS = [0.5, 0.9, 0.98, 0.99, 0.995, 0.999];
const dist = (values: number[]): string => {
  const s = values.slice().sort((a, b) => a - b);
  return PS.map((p) => `p${p * 100} ${us(pct(s, p))}`).join(', ') + ` µs (n ${s.length})`;
};

const t0 = msgs[0]!.sent;
const last = msgs[msgs.length - 1]!;
const t1 = last.sent + last.lat;
const seconds = (t1 - t0) / 1e9;
console.log(`latency: ${dist(msgs.map((m) => m.lat))}, lost ${lost}, window ${seconds.toFixed(2)} s`);

const gcs = probe.gcs.filter(([s, d]) => s + d >= t0 && s <= t1);
const byKind = new Map<number, number[]>();
for (const [, d, kind] of gcs) byKind.set(kind, [...(byKind.get(kind) ?? []), d]);
for (const [kind, ds] of byKind) {
  const s = ds.sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  console.log(`GC kind ${kind}${kind === 1 ? ' (scavenge)' : ''}: ${s.length} (${(s.length / seconds).toFixed(1)}/s), mean ${us(mean)} µs, median ${us(pct(s, 0.5))}, max ${us(s[s.length - 1]!)} µs`);
}

if (gcs.length > 0) {
  const starts = gcs.map((g) => g[0]);
  // Does [a, b) overlap a pause? Pauses are sorted by start and far apart: check the ones that start before b.
  const overlapsGc = (a: number, b: number): boolean => {
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]! < b) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0 && i >= lo - 3; i--) if (starts[i]! + gcs[i]![1] > a) return true;
    return false;
  };
  const sorted = msgs.map((m) => m.lat).sort((a, b) => a - b);
  for (const p of [0.99, 0.999]) {
    const thr = pct(sorted, p);
    const slow = msgs.filter((m) => m.lat >= thr);
    const withGc = slow.filter((m) => overlapsGc(m.sent, m.sent + m.lat)).length;
    console.log(`≥ p${p * 100} (${us(thr)} µs): ${slow.length} messages, ${withGc} (${((100 * withGc) / slow.length).toFixed(0)} %) in flight during a GC pause`);
  }
  const clear = msgs.filter((m) => !overlapsGc(m.sent, m.sent + m.lat));
  console.log(`messages in flight during no GC pause: ${dist(clear.map((m) => m.lat))}`);
}

const calls = new Map<string, number[]>();
for (const [s, d, what] of probe.calls) if (s >= t0 && s <= t1) calls.set(what, [...(calls.get(what) ?? []), d]);
const rows = [...calls].map(([what, ds]) => ({ what, ds: ds.sort((a, b) => a - b), total: ds.reduce((a, b) => a + b, 0) }));
for (const { what, ds } of rows.sort((a, b) => b.total - a.total)) {
  console.log(`${String(ds.length).padStart(6)} × median ${us(pct(ds, 0.5)).padStart(5)} µs, p90 ${us(pct(ds, 0.9)).padStart(5)}, max ${us(ds[ds.length - 1]!).padStart(5)}  ${what}`);
}
