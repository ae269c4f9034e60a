/** Small pieces every connector uses: timeouts, health bookkeeping, failure outcomes, in-flight limits. */
import { setTimeout as sleep } from 'node:timers/promises';
import { redactText } from './url.js';
import type { ConnectorHealth, ConnectorLogger, ConnectorState, DeliveryOutcome } from './types.js';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_IN_FLIGHT = 64;
export const DEFAULT_RETRY_DELAY_MS = 1_000;

export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** Reject with TimeoutError after `ms`; the timer never keeps the process alive. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function failed(reason: string, retryable = true): DeliveryOutcome {
  return { ok: false, reason, retryable };
}

export const OK: DeliveryOutcome = Object.freeze({ ok: true });

export function failAll(count: number, reason: string, retryable = true): DeliveryOutcome[] {
  const outcome = failed(reason, retryable);
  return Array.from({ length: count }, () => outcome);
}

/** An error's message with the URL's secrets masked (libraries like to quote the URL they used). */
export function errorText(err: unknown, url: URL): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return redactText(text, url);
}

/** Connection state and last error, logging each change once (with the redacted URL only). */
export class HealthTracker {
  private current: ConnectorState = 'disconnected';
  private lastError: string | undefined;

  constructor(
    private readonly url: string,
    private readonly kind: string,
    private readonly logger: ConnectorLogger | undefined,
  ) {}

  get state(): ConnectorState {
    return this.current;
  }

  connected(): void {
    if (this.current !== 'connected') this.logger?.info({ connector: this.kind, url: this.url }, 'connector connected');
    this.current = 'connected';
  }

  connecting(): void {
    if (this.current !== 'stopped') this.current = 'connecting';
  }

  /** A failure: remembered for health(), logged when it changes the state or the message. */
  error(reason: string, state: ConnectorState = 'disconnected'): void {
    if (this.current === 'stopped') return;
    if (this.current !== state || this.lastError !== reason) {
      this.logger?.warn({ connector: this.kind, url: this.url, err: reason }, 'connector error');
    }
    this.lastError = reason;
    this.current = state;
  }

  /** A per-message failure that does not say anything about the connection. */
  noteError(reason: string): void {
    this.lastError = reason;
  }

  stopped(): void {
    this.current = 'stopped';
  }

  snapshot(): ConnectorHealth {
    return this.lastError === undefined ? { state: this.current } : { state: this.current, lastError: this.lastError };
  }
}

/** At most `limit` holders at once; acquire() waits in FIFO order. */
export class InFlightGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  /** Resolves once nothing is in flight (used by stop()). */
  async idle(pollMs = 10): Promise<void> {
    while (this.active > 0) await sleep(pollMs);
  }
}

/** Exponential backoff for reconnect loops: 100 ms doubling up to `maxMs`. */
export function backoffMs(attempt: number, maxMs = 5_000): number {
  return Math.min(maxMs, 100 * 2 ** Math.min(attempt, 10));
}
