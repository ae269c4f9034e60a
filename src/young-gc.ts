/**
 * Young-generation collections (V8's scavenges) on the main thread alone, without V8's helper
 * threads (`--no-parallel-scavenge`, set when Ferry starts).
 *
 * Why: at a steady rate a scavenge keeps almost nothing (~5 KB of 3.3 MB at 10k msg/s), so the
 * helpers have no work to share; what they cost is the parallel job itself — posting it, waking
 * the helpers (a wake-up of an idle vCPU costs ~25 µs on a VM) and joining them — and on a
 * machine with few cores they take a core from the clients' threads meanwhile. Measured at 10k
 * msg/s: each pause ~0.2–0.3 ms shorter, and a pause delays every message in flight
 * (bench/RESULTS.md issue 15 §32). Old-generation collections (marking, sweeping, compaction)
 * keep their helper threads.
 *
 * A V8 flag set at run time: V8 reads it at each scavenge. Process-wide, so an application that
 * embeds Ferry gets it too; it changes how long a pause is, never what is collected.
 */
import { setFlagsFromString } from 'node:v8';
import { lastNodeFlag } from './node-flags.js';

let applied = false;

/**
 * Scavenge on the main thread only, from the next scavenge on (idempotent). Node started with
 * `--parallel-scavenge` as the flag's last setting (command line or NODE_OPTIONS) keeps V8's helper
 * threads: the way back for a machine where they pay off.
 */
export function scavengeOnMainThread(): void {
  if (applied) return;
  applied = true;
  if (lastNodeFlag('parallel-scavenge') === true) return;
  setFlagsFromString('--no-parallel-scavenge');
}

