/** Messages exchanged between the benchmark driver (run.ts) and load workers (worker.ts). */

export interface ClientSpec {
  readonly clientId: string;
  readonly topic: string;
}

interface Common {
  readonly host: string;
  readonly port: number;
}

export interface SubConfig extends Common {
  readonly role: 'sub';
  readonly clients: readonly ClientSpec[];
  readonly qos: 0 | 1;
  /** Payload carries an 8-byte send timestamp; collect latency samples. */
  readonly latency: boolean;
  /** Persistent sessions (CONNECT clean session = 0). Default: clean. */
  readonly persistent?: boolean;
  /**
   * Subscribe, then DISCONNECT and close: the sessions stay on the broker, offline, collecting
   * QoS 1 messages until a `reconnect` command brings (some of) them back.
   */
  readonly offline?: boolean;
}

export interface PubConfig extends Common {
  readonly role: 'pub';
  readonly clients: readonly ClientSpec[];
  readonly qos: 0 | 1;
  readonly payloadSize: number;
  /** QoS 1 only: unacknowledged PUBLISHes kept outstanding per connection. */
  readonly inflight: number;
  /** Total msg/s for this process (split over its connections); 0 = as fast as the socket drains. */
  readonly rate: number;
  /** Write a send timestamp (hrtime ns as float64 LE) into the first 8 payload bytes. */
  readonly timestamp: boolean;
  /** Cycle over these topics (one PUBLISH each in turn) instead of the client's own topic. */
  readonly topics?: readonly string[];
  /** Stop after this many PUBLISHes (QoS 1: the report's `acked` says when all are acknowledged). */
  readonly limit?: number;
  /**
   * QoS 0 flow control for fan-out: one of the subscribers lives in the
   * publisher process and the publisher stays at most `window` messages ahead
   * of it, so the broker's queues stay bounded instead of measuring bufferbloat.
   */
  readonly probe?: { readonly clientId: string; readonly topic: string; readonly window: number };
}

export interface ConnectConfig extends Common {
  readonly role: 'connect';
  readonly concurrency: number;
  readonly clientPrefix: string;
  /** Over TLS (certificate not verified: the harness's self-signed one), a full handshake each time. */
  readonly tls?: boolean;
}

export interface IdleConfig extends Common {
  readonly role: 'idle';
  readonly count: number;
  readonly concurrency: number;
  readonly clientPrefix: string;
  /** Connect over WebSocket (`ws://host:port/mqtt`, subprotocol mqtt) instead of plain TCP. */
  readonly ws?: boolean;
  /** Persistent sessions (clean session 0), for the reconnect storm. */
  readonly persistent?: boolean;
}

export type WorkerConfig = SubConfig | PubConfig | ConnectConfig | IdleConfig;

export interface LatencyStats {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/** driver -> worker */
export type ToWorker =
  | { readonly type: 'config'; readonly config: WorkerConfig }
  /** hrtime ns (as decimal strings): begin load at `t0`, measure over [start, end). */
  | { readonly type: 'go'; readonly t0: string; readonly start: string; readonly end: string }
  | { readonly type: 'stop' }
  /** Offline subscribers: reconnect the first `count` sessions (clean session = 0) and count what they get. */
  | { readonly type: 'reconnect'; readonly count: number }
  | { readonly type: 'report' }
  /** Idle clients: drop every connection at once (no DISCONNECT), then reconnect them all. */
  | { readonly type: 'storm' }
  | { readonly type: 'exit' };

/** worker -> driver */
export type FromWorker =
  | { readonly type: 'ready'; readonly connected: number; readonly failed: number; readonly reasons?: string; readonly setupMs: number }
  | { readonly type: 'reconnected'; readonly connected: number; readonly failed: number; readonly sessionPresent: number }
  /** Reconnect storm: hrtime ns (decimal) when the drop began / the last CONNACK arrived. */
  | { readonly type: 'stormed'; readonly connected: number; readonly failed: number; readonly reasons: string; readonly sessionPresent: number; readonly dropNs: string; readonly doneNs: string }
  | {
      readonly type: 'window';
      /** Role-specific event count inside the window (received / sent / acked / connects). */
      readonly count: number;
      readonly elapsedNs: number;
      /** process.cpuUsage() user+system inside the window, µs. */
      readonly cpuUs: number;
      readonly errors: number;
      /** Messages received by the in-process probe subscriber inside the window. */
      readonly probeCount?: number;
      /** Publisher, QoS 1: PUBACKs received since the start, at the window end. */
      readonly ackedTotal?: number;
      /** Role total (received / sent) since the start, at the window end. */
      readonly totalAtEnd?: number;
    }
  | {
      readonly type: 'report';
      readonly total: number;
      readonly errors: number;
      readonly latency?: LatencyStats;
      readonly probeTotal?: number;
      /** Publisher: PUBACKs received. */
      readonly acked?: number;
      /** Subscriber: PUBLISHes received with DUP=1. */
      readonly dups?: number;
      /** Subscriber: hrtime (ns) of the read that brought the last PUBLISH so far (0 = none yet). */
      readonly lastAtNs?: number;
      /** Subscriber: hrtime (ns) of the read that brought the MARK_EVERY-th, 2×MARK_EVERY-th, … PUBLISH. */
      readonly marksNs?: readonly number[];
    }
  | { readonly type: 'error'; readonly message: string };

/** A subscriber notes when every this-many-th PUBLISH arrived (the backlog drain's timeline). */
export const MARK_EVERY = 10_000;
