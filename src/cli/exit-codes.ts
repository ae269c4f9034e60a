/**
 * Exit codes of `ferry start`, one per failure class an orchestrator (or its operator) handles
 * differently. Documented in docs/operations.md; each is checked by test/integration/exit-codes.test.ts.
 *
 *   0  stopped by SIGTERM/SIGINT after a graceful stop, or a start given up on such a signal while
 *      it waited for NATS (nothing was serving yet)
 *   1  anything else: a runtime failure, an unexpected error, a graceful stop that failed or timed
 *      out, a second signal during the stop, a start not finished 15 s after a signal
 *   2  usage or configuration error (nothing was started; fix the configuration)
 *   3  a listener could not bind (address in use, not available on this host, permission denied)
 *   4  the store is corrupt or newer than this build (operator action on the data directory needed)
 *   5  the data directory is in use by another process (another Ferry on the same directory)
 */
import { ConfigError } from '../config/errors.js';

export const EXIT_CODES = {
  ok: 0,
  failure: 1,
  config: 2,
  listen: 3,
  storeDamaged: 4,
  storeLocked: 5,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

const LISTEN_ERRNOS = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES']);

/** The error and its `cause` chain (bounded, in case of a cycle). */
function chain(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = err; e !== undefined && e !== null && out.length < 10; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

/**
 * Exit code for an error that stopped startup. Store errors are matched by name as well as by
 * class, so an error that crossed a worker-thread boundary (which keeps only the name) still maps.
 */
export function startFailureExitCode(err: unknown): ExitCode {
  for (const e of chain(err)) {
    if (e instanceof ConfigError) return EXIT_CODES.config;
    if (!(e instanceof Error)) continue;
    if (e.name === 'StoreCorruptError' || e.name === 'StoreVersionError') return EXIT_CODES.storeDamaged;
    if (e.name === 'StoreLockedError') return EXIT_CODES.storeLocked;
    const errno = e as NodeJS.ErrnoException;
    if (errno.syscall === 'listen' && errno.code !== undefined && LISTEN_ERRNOS.has(errno.code)) return EXIT_CODES.listen;
  }
  return EXIT_CODES.failure;
}
