/**
 * Starts and stops the configured listeners. Each listener is a net.Server (TCP or TLS
 * underneath) that adapts accepted connections to ByteStream and hands them to the sink.
 *
 * Shutdown has two steps so the server can drain in between:
 *   stopAccepting()  no new connections (existing ones keep running; the broker closes them)
 *   close()          end handshakes still in progress and release the port (the connections
 *                    handed to the sink are the sink's to end: the broker's close does)
 */
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import { socketClosed } from './socket-slots.js';
import { createTcpServer, type AcceptGate } from './tcp.js';
import { acceptHandles } from './handle-stream.js';
import { tcpHandles } from './tcp-handle.js';
import { createTlsServer, type TlsMaterial } from './tls.js';
import type { ConnectionSink, TransportKind } from './types.js';
import { createWsServer } from './ws.js';

export interface ListenerSpec {
  /** 'mqtt', 'ws', 'mqtts', 'wss' by convention; shows up in PeerInfo.listener and logs. */
  name: string;
  kind: TransportKind;
  host: string;
  /** 0 = any free port; the bound port is in Listener.port. */
  port: number;
  /** listen(2) backlog (node's default 511 when absent); the kernel caps it at net.core.somaxconn. */
  backlog?: number;
  /** Required for 'tls' and 'wss'. */
  tls?: TlsMaterial;
  /** WebSocket path for 'ws' and 'wss' (default '/mqtt'). */
  wsPath?: string;
  /** Largest WebSocket message for 'ws' and 'wss', bytes (default 1 MiB + 1 KiB). */
  maxMessageBytes?: number;
  /** Time a WebSocket client has to send its request head, ms (default 10 s). */
  wsHeadersTimeoutMs?: number;
  /**
   * 'tcp' only: accepted connections as net.Sockets even where Node's TCP handle can be used
   * directly (handle-stream.ts) — what happens anyway on a Node that lacks the handle's pieces.
   */
  netSocket?: boolean;
}

export interface Listener {
  readonly name: string;
  readonly kind: TransportKind;
  readonly host: string;
  /** Actually bound port. */
  readonly port: number;
  /** Connections accepted and not yet closed. */
  readonly connections: number;
  stopAccepting(): void;
  /**
   * Release the port and end the connections not handed to the sink yet (WebSocket handshakes);
   * those handed over are the sink's to end (the broker's close does), waited for at most 2 s.
   */
  close(): Promise<void>;
}

/** After close() has ended every tracked connection, wait at most this long for the server. */
const CLOSE_WAIT_MS = 2_000;

/** The fallback to net.Socket for plain TCP is logged once per process. */
let fallbackLogged = false;

class NetListener implements Listener, AcceptGate {
  accepting = true;
  port = 0;
  /** Accepted and not closed yet. */
  private open = 0;
  /**
   * Accepted sockets not handed to the sink yet (WebSocket handshakes in progress): close() ends
   * them. A socket handed over is the sink's to end (the broker ends its connections when it
   * closes, before the listeners close): a set of every socket would cost each idle connection
   * ~33 bytes of hash table, for a list the broker keeps already.
   */
  private readonly held = new Set<Socket>();
  /**
   * The one close callback of every connection of this listener (`this` is the socket, or the TCP
   * handle of a HandleStream), shared, not a closure per connection: counts it out and tells its
   * stream (socket-slots.ts).
   */
  readonly untrack: (this: object) => void;
  private closed: Promise<void> | undefined;
  /** Resolves close()'s wait once every connection is closed. */
  private whenEmpty: (() => void) | undefined;
  readonly server: Server;

  constructor(
    readonly spec: ListenerSpec,
    private readonly sink: ConnectionSink,
    private readonly logger: Logger,
  ) {
    const held = this.held;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the listener, seen from the socket's 'close'
    const listener = this;
    this.untrack = function (this: object) {
      if (--listener.open === 0) listener.whenEmpty?.();
      held.delete(this as Socket);
      socketClosed(this);
    };
    this.server = createServer(spec, sink, this, logger);
  }

  get name(): string {
    return this.spec.name;
  }
  get kind(): TransportKind {
    return this.spec.kind;
  }
  get host(): string {
    return this.spec.host;
  }
  get connections(): number {
    return this.open;
  }

  track(socket: Socket): void {
    this.open++;
    socket.on('close', this.untrack);
  }

  trackHandle(): void {
    this.open++;
  }

  hold(socket: Socket): void {
    this.held.add(socket);
  }

  release(socket: Socket): void {
    this.held.delete(socket);
  }

  async listen(): Promise<void> {
    const { server, spec } = this;
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void => reject(err);
      server.once('error', fail);
      server.listen({ port: spec.port, host: spec.host, ...(spec.backlog === undefined ? {} : { backlog: spec.backlog }) }, () => {
        server.off('error', fail);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    server.on('error', (err) => this.logger.error({ err, listener: spec.name }, 'listener error'));
    if (spec.kind === 'tcp' && spec.netSocket !== true) this.useTcpHandles();
  }

  /** Plain TCP connections as Node's TCP handles (handle-stream.ts), or net.Sockets if this Node cannot. */
  private useTcpHandles(): void {
    const handles = tcpHandles();
    const missing = 'missing' in handles ? handles.missing : acceptHandles(this.server, handles, this.spec.name, this.sink, this) ? undefined : 'net.Server._handle.onconnection';
    if (missing === undefined || fallbackLogged) return;
    fallbackLogged = true;
    this.logger.info({ listener: this.spec.name, missing }, 'plain TCP connections use net.Socket: this Node lacks a piece of its TCP handle that Ferry uses directly');
  }

  stopAccepting(): void {
    if (!this.accepting) return;
    this.accepting = false;
    // A net.Server's close waits for the sockets it made; the TCP handles taken over
    // (handle-stream.ts) are not its own, so the wait is for every connection counted here.
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const empty = new Promise<void>((resolve) => {
      if (this.open === 0) resolve();
      else this.whenEmpty = resolve;
    });
    this.closed = Promise.all([serverClosed, empty]).then(() => undefined);
  }

  async close(): Promise<void> {
    this.stopAccepting();
    // What the sink has is the sink's to end (see `held`); handshakes in progress end here.
    for (const socket of this.held) socket.destroy();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS).unref()))]);
    clearTimeout(timer);
  }
}

function createServer(spec: ListenerSpec, sink: ConnectionSink, gate: AcceptGate, logger: Logger): Server {
  const needTls = (): TlsMaterial => {
    if (spec.tls === undefined) throw new Error(`listener ${spec.name}: ${spec.kind} needs TLS material`);
    return spec.tls;
  };
  switch (spec.kind) {
    case 'tcp':
      return createTcpServer(spec.name, sink, gate);
    case 'tls':
      return createTlsServer(spec.name, needTls(), sink, gate, (err) =>
        logger.debug({ err, listener: spec.name }, 'TLS handshake failed'),
      );
    case 'ws':
    case 'wss':
      return createWsServer(
        {
          name: spec.name,
          path: spec.wsPath ?? '/mqtt',
          maxMessageBytes: spec.maxMessageBytes ?? 1024 * 1024 + 1024,
          ...(spec.wsHeadersTimeoutMs === undefined ? {} : { headersTimeoutMs: spec.wsHeadersTimeoutMs }),
          ...(spec.kind === 'wss' ? { tls: needTls() } : {}),
        },
        sink,
        gate,
      );
  }
}

export interface ListenerGroup {
  readonly listeners: readonly Listener[];
  /** Bound port per listener name. */
  readonly ports: Readonly<Record<string, number>>;
  stopAccepting(): void;
  close(): Promise<void>;
}

/**
 * Start every listener; if one cannot bind, the others are closed again and the error (naming the
 * listener and address) is thrown.
 */
export async function startListeners(specs: readonly ListenerSpec[], sink: ConnectionSink, logger: Logger): Promise<ListenerGroup> {
  const started: NetListener[] = [];
  try {
    for (const spec of specs) {
      const listener = new NetListener(spec, sink, logger);
      try {
        await listener.listen();
      } catch (err) {
        throw new Error(`listener ${spec.name} cannot listen on ${spec.host}:${spec.port}: ${(err as Error).message}`, { cause: err });
      }
      started.push(listener);
    }
  } catch (err) {
    await Promise.all(started.map((l) => l.close()));
    throw err;
  }
  return {
    listeners: started,
    ports: Object.fromEntries(started.map((l) => [l.name, l.port])),
    stopAccepting: () => started.forEach((l) => l.stopAccepting()),
    close: async () => {
      await Promise.all(started.map((l) => l.close()));
    },
  };
}
