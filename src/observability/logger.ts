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

const JWT_SHAPE = /^[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*$/;

/**
 * A CONNECT username as it may be logged or shown: a JWT sent as the username (externalAuth
 * `from: "username"`) is a bearer credential, so only its shape is shown.
 */
export function shownUsername(username: string | undefined): string | undefined {
  return username !== undefined && JWT_SHAPE.test(username) ? '(JWT)' : username;
}
