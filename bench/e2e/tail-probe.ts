/**
 * A probe for latency tails, loaded into a broker with `node --import`: records every GC pause and
 * the duration of every timer callback and worker 'message' handler on the main thread, with
 * CLOCK_MONOTONIC timestamps (process.hrtime, the clock of the C generator's `--dump` and of
 * perf), and writes them as JSON to $FERRY_TAIL_PROBE when the process exits. tail-report.ts lays
 * single messages against them (bench/README.md, "Latency tails").
 *
 *   FERRY_TAIL_PROBE=/tmp/probe.json node --import ./dist/bench/e2e/tail-probe.js dist/src/cli/main.js start …
 *
 * It changes what it measures a little: one wrapper closure per timer created, one small array per
 * recorded call (timers fire a few times a second; per-message paths are not touched).
 */
import fs from 'node:fs';
import { PerformanceObserver, performance, type PerformanceEntry } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

/** [start ns, duration ns, kind]: GC kind as PerformanceEntry's detail.kind (1 = scavenge). */
export type ProbeGc = [number, number, number];
/** [start ns, duration ns, what]. */
export type ProbeCall = [number, number, string];
export interface TailProbe {
  gcs: ProbeGc[];
  calls: ProbeCall[];
}

const out = process.env['FERRY_TAIL_PROBE'];
const hr = process.hrtime.bigint;
// performance.now() counts from timeOrigin; the same instant in both clocks gives the offset.
const zeroNs = Number(hr()) - performance.now() * 1e6;
const probe: TailProbe = { gcs: [], calls: [] };

new PerformanceObserver((list) => {
  for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
    probe.gcs.push([Math.round(zeroNs + e.startTime * 1e6), Math.round(e.duration * 1e6), e.detail?.kind ?? 0]);
  }
}).observe({ entryTypes: ['gc'] });

/** The callback's source, shortened: enough to tell `() => this.flush()` from `() => this.sweep()`. */
function label(kind: string, ms: unknown, fn: (...a: unknown[]) => unknown): string {
  return `${kind}:${String(ms)}:${String(fn).replace(/\s+/g, ' ').slice(0, 60)}`;
}

function timed<T>(what: string, fn: () => T): T {
  const t0 = hr();
  try {
    return fn();
  } finally {
    probe.calls.push([Number(t0), Number(hr() - t0), what]);
  }
}

type TimerFn = (callback: (...a: unknown[]) => unknown, ms?: number, ...args: unknown[]) => unknown;
function wrapTimer(kind: string, original: TimerFn): TimerFn {
  return function (this: unknown, callback, ms, ...args) {
    if (typeof callback !== 'function') return original.call(this, callback, ms, ...args);
    const what = label(kind, ms, callback);
    return original.call(
      this,
      function (this: unknown, ...a: unknown[]) {
        return timed(what, () => callback.apply(this, a));
      },
      ms,
      ...args,
    );
  };
}
const g = globalThis as unknown as Record<'setInterval' | 'setTimeout', TimerFn>;
g.setInterval = wrapTimer('interval', g.setInterval);
g.setTimeout = wrapTimer('timeout', g.setTimeout);

const emit = Worker.prototype.emit;
Worker.prototype.emit = function (this: Worker, event: string | symbol, ...args: unknown[]): boolean {
  if (event !== 'message') return emit.call(this, event, ...args);
  const type = (args[0] as { type?: unknown } | null)?.type;
  return timed(`worker-message:${String(type)}`, () => emit.call(this, event, ...args));
};

process.on('exit', () => {
  if (out) fs.writeFileSync(out, JSON.stringify(probe));
});
