/**
 * The process-level last resort: `uncaughtException` and `unhandledRejection`. Errors are meant to
 * be handled where they happen (a connection's errors close that connection, see
 * Channel.internalError); whatever reaches these handlers escaped that design and is a bug. Each
 * is logged with what is known about it and counted (ferry_process_errors_total{kind}).
 *
 * What happens next is the caller's policy (the CLI's is in docs/operations.md, "Unexpected
 * errors"): an uncaught exception may have left shared state half-updated, so the CLI stops and
 * exits 1 for the orchestrator to restart it; an unhandled rejection ends only the async operation
 * that rejected, so the process stays up.
 */
import type { Logger } from 'pino';

/** Process-wide counts (one process, one count), read by the metrics at scrape time. */
export const processFaults = { uncaughtException: 0, unhandledRejection: 0 };

export interface ProcessFaultPolicy {
  /** After an uncaught exception was logged and counted. Called at most once; later ones only log. */
  onUncaughtException(error: unknown): void;
}

/** Installs the handlers; returns a function that removes them. */
export function installProcessFaultHandlers(logger: Logger, policy: ProcessFaultPolicy): () => void {
  let fatal = false;
  const onException = (error: unknown, origin: NodeJS.UncaughtExceptionOrigin): void => {
    processFaults.uncaughtException++;
    logger.fatal({ err: error, origin, first: !fatal }, 'uncaught exception (a bug): process state is unknown');
    if (fatal) return;
    fatal = true;
    policy.onUncaughtException(error);
  };
  // The promise itself says nothing useful; its rejection reason carries the stack.
  const onRejection = (reason: unknown): void => {
    processFaults.unhandledRejection++;
    logger.error({ err: reason }, 'unhandled promise rejection (a bug): the operation that rejected was abandoned, Ferry keeps running');
  };
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
