/**
 * A progress line for long work (`ferry sub --count N`, `ferry bench`): rewritten in place on
 * stderr when stderr is a terminal, silent in pipes and files so scripts read clean output.
 * `--progress` forces it on (tests, or a terminal multiplexer that hides the TTY).
 */
export interface Progress {
  /** Replaces the line (throttled to ~10 per second). */
  update(text: string): void;
  /** Clears the line, so what follows starts on a clean line. */
  done(): void;
}

const QUIET: Progress = { update: () => undefined, done: () => undefined };

export function progress(enabled: boolean, write: (s: string) => void, intervalMs = 100): Progress {
  if (!enabled) return QUIET;
  let last = 0;
  let shown = false;
  return {
    update(text) {
      const now = Date.now();
      if (now - last < intervalMs) return;
      last = now;
      shown = true;
      write(`\r\x1b[2K${text}`);
    },
    done() {
      if (shown) write('\r\x1b[2K');
      shown = false;
    },
  };
}
