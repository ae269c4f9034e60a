/**
 * Logging that an attacker cannot turn into a weapon (docs/security.md, "Logging"):
 *
 * - The sink: JSON lines go to stdout through pino's asynchronous SonicBoom destination with a
 *   bounded buffer. When stdout is slow or its reader paused, writes never block the event loop:
 *   lines beyond `maxBufferBytes` are dropped and counted (ferry_limit_hits_total{limit=
 *   "log_lines_dropped"}). A graceful exit waits for what is in flight (`settled`), then the exit
 *   handler writes what is left synchronously (`flush`), so the last lines arrive whole and in order.
 * - The throttle: events a client can cause at will (a denied publish, a refused subscription,
 *   a protocol error) log one line per cause per client per interval; the repeats are counted and
 *   reported in one summary line (`repeated: N`) when the interval ends. The table of causes is
 *   bounded; causes beyond it are summed into one line per interval.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

/** Default buffer of the stdout sink: a few seconds of a busy broker's logging. */
export const DEFAULT_LOG_BUFFER_BYTES = 4 * 1024 * 1024;
/** Default interval of the throttle: one line per cause per client per this many ms. */
export const DEFAULT_LOG_INTERVAL_MS = 10_000;
/** (cause, client) pairs remembered per interval; the rest are summed. */
const MAX_KEYS = 10_000;

export interface LogSink {
  readonly stream: DestinationStream;
  /** Lines dropped because the buffer was full. */
  readonly dropped: () => number;
  /** Called with the number of lines each time some are dropped (for metrics). */
  onDrop: ((lines: number) => void) | null;
  /**
   * Resolves once every line written so far has reached the file descriptor, or after
   * `timeoutMs` (a reader that stopped reading must not hold the exit). Wait for this before
   * `process.exit`: `flush` cannot wait for an asynchronous write already in flight, so after
   * it alone the last lines can overtake the one in flight, or that one can be cut off.
   */
  settled(timeoutMs: number): Promise<void>;
  /** Writes out what is buffered, synchronously (at stop and exit). */
  flush(): void;
}

/** stdout (fd 1) without blocking: asynchronous writes, a bounded buffer, drops counted. */
export function createLogSink(maxBufferBytes = DEFAULT_LOG_BUFFER_BYTES, fd = 1): LogSink {
  // minLength 1 writes each line as soon as no write is in flight, as 0 would; with 0,
  // SonicBoom's flush(cb) calls back at once instead of when the write in flight is done.
  const boom = pino.destination({ dest: fd, sync: false, minLength: 1, maxLength: maxBufferBytes });
  let dropped = 0;
  const sink: LogSink = {
    stream: boom,
    dropped: () => dropped,
    onDrop: null,
    settled(timeoutMs) {
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        try {
          // The callback's error (fsync of a pipe or a terminal fails) does not matter here.
          boom.flush(() => {
            clearTimeout(timer);
            resolve();
          });
        } catch {
          clearTimeout(timer);
          resolve(); // destroyed: nothing is in flight
        }
      });
    },
    flush() {
      try {
        boom.flushSync();
      } catch {
        // Nothing more can be done for a stdout that is gone or full.
      }
    },
  };
  boom.on('drop', (data: string | Buffer) => {
    let lines = 0;
    const text = typeof data === 'string' ? data : data.toString('utf8');
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
    lines = Math.max(lines, 1);
    dropped += lines;
    sink.onDrop?.(lines);
  });
  return sink;
}

interface Pending {
  /** Repeats since the line was written. */
  repeated: number;
  readonly logger: Logger;
  readonly fields: Record<string, unknown>;
  readonly msg: string;
}

export interface LogThrottleOptions {
  readonly intervalMs?: number;
  /** Told how many lines were held back (for metrics). */
  readonly onSuppressed?: (lines: number) => void;
}

/** One log line per cause per client per interval, with counts. */
export class LogThrottle {
  readonly intervalMs: number;
  private current = new Map<string, Pending>();
  private overflow = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly root: Logger,
    private readonly options: LogThrottleOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? DEFAULT_LOG_INTERVAL_MS;
    this.timer = setInterval(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /**
   * Logs `msg` at info level on `logger` unless this client already logged this cause in the
   * current interval, in which case the repeat is only counted.
   */
  note(cause: string, client: string, logger: Logger, fields: Record<string, unknown>, msg: string): void {
    if (!logger.isLevelEnabled('info')) return;
    const key = `${cause}\u001f${client}`;
    const pending = this.current.get(key);
    if (pending !== undefined) {
      pending.repeated++;
      this.options.onSuppressed?.(1);
      return;
    }
    if (this.current.size >= MAX_KEYS) {
      this.overflow++;
      this.options.onSuppressed?.(1);
      return;
    }
    this.current.set(key, { repeated: 0, logger, fields, msg });
    logger.info({ cause, ...fields }, msg);
  }

  /** Ends the interval: a summary line for every cause that repeated. */
  flush(): void {
    const ended = this.current;
    this.current = new Map();
    for (const [key, p] of ended) {
      if (p.repeated === 0) continue;
      const cause = key.slice(0, key.indexOf('\u001f'));
      p.logger.info({ cause, ...p.fields, repeated: p.repeated, intervalMs: this.intervalMs }, `${p.msg} (repeated)`);
    }
    if (this.overflow > 0) {
      this.root.info({ cause: 'many', repeated: this.overflow, intervalMs: this.intervalMs }, 'log lines held back: too many distinct clients and causes in this interval');
      this.overflow = 0;
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
