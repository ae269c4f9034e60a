/**
 * Splits a list of integer keys (seqs, message ids) into runs of consecutive integers, for set
 * deletes: `key BETWEEN lo AND hi` touches exactly the keys of such a run and no other (there is
 * no integer between two consecutive ones), and walks the table's b-tree in order instead of
 * looking up each key from a JSON array (a draining session's delivered entries and their
 * messages are mostly consecutive). Keys that are not part of a long enough run stay in `rest`.
 */

/** Runs shorter than this go to `rest`: a statement per run would cost more than they save. */
export const MIN_RUN = 16;

export interface KeyRuns {
  /** [first, last] of each run of consecutive keys, in the order found. */
  readonly runs: Array<[first: number, last: number]>;
  readonly rest: number[];
}

/** Runs of keys increasing by exactly 1 in the order given (no sort: callers pass them in order). */
export function consecutiveRuns(keys: readonly number[], minRun = MIN_RUN): KeyRuns {
  const runs: Array<[number, number]> = [];
  const rest: number[] = [];
  let start = 0;
  for (let i = 1; i <= keys.length; i++) {
    if (i < keys.length && keys[i] === keys[i - 1]! + 1) continue;
    if (i - start >= minRun) runs.push([keys[start]!, keys[i - 1]!]);
    else for (let k = start; k < i; k++) rest.push(keys[k]!);
    start = i;
  }
  return { runs, rest };
}
