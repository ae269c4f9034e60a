/**
 * What the connection layer needs from a transport: a duplex byte stream plus peer metadata.
 * TCP and TLS sockets and WebSocket connections are adapted to this one shape (tcp.ts, tls.ts,
 * ws.ts), so everything above `transport/` is transport-agnostic.
 */

export type TransportKind = 'tcp' | 'tls' | 'ws' | 'wss';

export interface PeerInfo {
  readonly transport: TransportKind;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Name of the listener that accepted the connection (e.g. 'mqtt', 'ws', 'mqtts', 'wss'). */
  readonly listener: string;
  /** TLS SNI server name or WebSocket Host header (without port), when known. */
  readonly serverName?: string | undefined;
  /** Verified TLS client certificate subject CN, when the client presented one. */
  readonly clientCertCN?: string | undefined;
  /**
   * The certificate chain the client presented (DER, its own first), on listeners that accept
   * device certificates (TlsMaterial.deviceCertificates). Not verified here: auth checks it
   * against the CAs registered on the instance (src/x509).
   */
  readonly clientCertificates?: readonly Buffer[] | undefined;
}

export interface ByteStream {
  readonly peer: PeerInfo;
  /** Queue bytes for sending. Returns false once the buffered amount is above the high-water mark. */
  write(data: Buffer): boolean;
  /** Bytes accepted by write() but not yet handed to the kernel. */
  readonly bufferedBytes: number;
  /**
   * Read right after write(): false when the stream no longer refers to the buffer it was given
   * (the kernel took every byte at once), so the caller may overwrite it.
   * Absent or true: the buffer must be left as it is.
   */
  readonly holdsLastWrite?: boolean | undefined;
  /** Stop / restart delivering 'data' (used for inbound flow control); resume() of a stream that is not paused does nothing. */
  pause(): void;
  resume(): void;
  /** Flush what is buffered, then close. */
  end(): void;
  /** Close at once, discarding buffered output. */
  destroy(): void;
  /**
   * Start delivering events to `handler` (once per stream). One handler object instead of three
   * listener closures: the transports register shared module-level functions that find the
   * handler through the socket, so an idle connection carries no per-connection closures.
   */
  attach(handler: StreamHandler): void;
}

/** Receives a ByteStream's events (implemented by the connection). */
export interface StreamHandler {
  onData(chunk: Buffer): void;
  /** The buffered output has drained below the high-water mark. */
  onDrain(): void;
  /** Called exactly once when the stream is closed for any reason. */
  onClose(error?: Error): void;
}

/** Receives every accepted connection (implemented by the broker). */
export interface ConnectionSink {
  accept(stream: ByteStream): void;
}
