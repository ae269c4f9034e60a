/**
 * pino logger factory: JSON lines on stdout, one root logger per process, child loggers per
 * component (`logger.child({ component: 'transport' })`). Components call `isLevelEnabled` or rely on
 * pino's level check, so nothing is formatted on the hot path when a level is off.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/schema.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: LogLevel;
  /** Where JSON lines go; default stdout (synchronous, so nothing is lost at exit). */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** Child logger for one component of the process. */
export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component });
}
