/**
 * Work that must run at the end of the current event-loop turn, before the loop goes back to I/O:
 * the connections' output flush (connection.ts) and the expiry of the trace recorder's cached
 * clock (recorder.ts). One process.nextTick carries all of it.
 *
 * Why: every process.nextTick allocates a tick object (~100 bytes). At 10k msg/s each message is
 * a turn of its own, and the flush and the trace clock queued one tick each: ~6 % of all a QoS 0
 * message allocates, and what a message allocates sets how often the young generation is
 * collected (bench/RESULTS.md issue 15 §15b, §23).
 *
 * A read callback Ferry owns (the plain TCP handle's onread, handle-stream.ts) needs no tick at
 * all: it opens the turn with ownTurn() and runs the jobs itself with endOwnTurn() before it
 * returns to libuv. Besides the tick object, that spares Node's drain of the tick queue, which in
 * Node 20 builds a Map and its iterator each time (processPromiseRejections): ~365 bytes of every
 * message at 10k msg/s, a fifth of a QoS 1 message's (§41). The jobs still run before the
 * callback returns, in the order queued, and before any promise reaction the callback scheduled,
 * as from the tick; a job queued after endOwnTurn() (by a microtask, a nextTick) gets a tick.
 */

/** Jobs queued for this turn, in order; slots are reused (no array growth per turn). */
const jobs: ((() => void) | undefined)[] = [];
let count = 0;
/** A tick is queued, or the jobs are running: a new job needs no tick of its own. */
let queued = false;
/** A callback that runs the jobs itself (ownTurn … endOwnTurn) is on the stack. */
let owned = false;

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
 * the turn, or at the end of the I/O callback that owns the turn). The caller queues a job once
 * per turn: it keeps its own "queued" flag.
 */
export function atTurnEnd(job: () => void): void {
  jobs[count++] = job;
  if (!queued && !owned) {
    queued = true;
    process.nextTick(runJobs);
  }
}

/**
 * Called first by an I/O callback that ends its turn itself: until endOwnTurn(), atTurnEnd queues
 * no tick. Returns false when a callback already owns the turn (then only that one ends it).
 */
export function ownTurn(): boolean {
  if (owned) return false;
  owned = true;
  return true;
}

/** Runs the jobs queued since ownTurn() (call it in a finally, before returning to libuv). */
export function endOwnTurn(): void {
  owned = false;
  if (count === 0) return;
  queued = true;
  runJobs();
}
