/**
 * Work that must run at the end of the current event-loop turn, before the loop goes back to I/O:
 * the connections' output flush (connection.ts) and the expiry of the trace recorder's cached
 * clock (recorder.ts). One process.nextTick carries all of it.
 *
 * Why: every process.nextTick allocates a tick object (~100 bytes). At 10k msg/s each message is
 * a turn of its own, and the flush and the trace clock queued one tick each: ~6 % of all a QoS 0
 * message allocates, and what a message allocates sets how often the young generation is
 * collected (bench/RESULTS.md issue 15 §15b, §23).
 */

/** Jobs queued for this turn, in order; slots are reused (no array growth per turn). */
const jobs: ((() => void) | undefined)[] = [];
let count = 0;
let queued = false;

function runJobs(): void {
  let i = 0;
  try {
    // A job may queue another one for this turn: the loop reads `count` again.
    for (; i < count; i++) {
      const job = jobs[i] as () => void;
      jobs[i] = undefined;
      job();
    }
    count = 0;
    queued = false;
  } catch (err) {
    // The jobs after the one that threw still run, in a tick of their own; the error goes on
    // to Node as it did when each job had its own tick.
    const left = count - i - 1;
    for (let k = 0; k < left; k++) {
      jobs[k] = jobs[i + 1 + k];
      jobs[i + 1 + k] = undefined;
    }
    count = left;
    queued = left > 0;
    if (queued) process.nextTick(runJobs);
    throw err;
  }
}

/**
 * Run `job` once at the end of this turn (in a process.nextTick shared with every other job of
 * the turn). The caller queues a job once per turn: it keeps its own "queued" flag.
 */
export function atTurnEnd(job: () => void): void {
  jobs[count++] = job;
  if (!queued) {
    queued = true;
    process.nextTick(runJobs);
  }
}
