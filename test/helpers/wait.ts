import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Shown in the timeout error. */
  message?: string;
}

/**
 * Poll `predicate` until it returns a truthy value (which is returned) or the timeout passes.
 * The predicate may be async; an exception from it counts as "not yet" and is reported on timeout.
 */
export async function waitFor<T>(
  predicate: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 5000, intervalMs = 20, message = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`waitFor: ${message} not met within ${timeoutMs} ms${why}`, { cause: lastError });
    }
    await sleep(intervalMs);
  }
}

/**
 * Resolves with what `event` gives, or rejects after `timeoutMs` naming `what` (a function is
 * asked only then, so it can report what was seen meanwhile, e.g. a child's output).
 */
export function within<T>(timeoutMs: number, what: string | (() => string), event: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${typeof what === 'string' ? what : what()}: not within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([event, timeout]).finally(() => clearTimeout(timer));
}
