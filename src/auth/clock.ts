/** Time for auth: injectable so token expiry, notices and rate limits are testable without waiting. */

export interface Clock {
  now(): number;
  /** Calls `fn` after `delayMs` (any length, also beyond setTimeout's 24.8 days). Returns a cancel function. */
  setTimer(delayMs: number, fn: () => void): () => void;
}

/** setTimeout cannot wait longer than 2^31-1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(delayMs, fn) {
    let timer: NodeJS.Timeout;
    const due = Date.now() + Math.max(0, delayMs);
    const arm = (): void => {
      const left = due - Date.now();
      timer = setTimeout(left > MAX_TIMER_MS ? arm : fn, Math.min(Math.max(0, left), MAX_TIMER_MS));
      timer.unref();
    };
    arm();
    return () => clearTimeout(timer);
  },
};

/** A clock moved by hand (tests and benchmarks). */
export class ManualClock implements Clock {
  private timers: Array<{ due: number; fn: () => void; id: number }> = [];
  private nextId = 1;

  constructor(private time = 1_700_000_000_000) {}

  now(): number {
    return this.time;
  }

  setTimer(delayMs: number, fn: () => void): () => void {
    const id = this.nextId++;
    this.timers.push({ due: this.time + Math.max(0, delayMs), fn, id });
    return () => {
      this.timers = this.timers.filter((t) => t.id !== id);
    };
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = this.timers.filter((t) => t.due <= end).sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (next === undefined) break;
      this.timers = this.timers.filter((t) => t.id !== next.id);
      this.time = Math.max(this.time, next.due);
      next.fn();
    }
    this.time = end;
  }

  get pending(): number {
    return this.timers.length;
  }
}
