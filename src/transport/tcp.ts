/**
 * MQTT over TCP, and the ByteStream adapter shared with TLS (a TLSSocket is a net.Socket).
 *
 * Per-connection cost is kept to the socket itself, one small PeerInfo and one SocketStream object:
 * every socket listener is a shared module-level function that finds its stream through a symbol
 * slot on the socket (no closures per connection), 'drain' is only listened to once a write has
 * been refused, and there are no timers here (keepalive and connect timeouts belong to connection/).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { ByteStream, ConnectionSink, PeerInfo, StreamHandler } from './types.js';

const kError = Symbol('ferry.transport.error');
const kStream = Symbol('ferry.transport.stream');
type Slots = { [kError]?: Error; [kStream]?: SocketStream };

/** Shared 'error' listener: remember the first error so onClose can report it. */
function noteError(this: unknown, error: Error): void {
  (this as Slots)[kError] ??= error;
}

// Shared socket listeners (`this` is the socket).
function socketData(this: Socket, chunk: Buffer): void {
  (this as Socket & Slots)[kStream]?.handler?.onData(chunk);
}
function socketDrain(this: Socket): void {
  (this as Socket & Slots)[kStream]?.handler?.onDrain();
}
function socketClose(this: Socket): void {
  const socket = this as Socket & Slots;
  socket[kStream]?.handler?.onClose(socket[kError]);
}

export class SocketStream implements ByteStream {
  handler: StreamHandler | undefined;
  private drainHooked = false;

  constructor(
    private readonly socket: Socket,
    readonly peer: PeerInfo,
  ) {
    socket.setNoDelay(true);
    socket.on('error', noteError);
  }

  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  write(data: Buffer): boolean {
    if (this.socket.write(data)) return true;
    if (!this.drainHooked) {
      // 'drain' is emitted later than this return, so hooking it now misses nothing.
      this.drainHooked = true;
      this.socket.on('drain', socketDrain);
    }
    return false;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    // Flush, send FIN and close without waiting for the peer's FIN.
    this.socket.destroySoon();
  }

  destroy(): void {
    this.socket.destroy();
  }

  attach(handler: StreamHandler): void {
    const socket = this.socket as Socket & Slots;
    this.handler = handler;
    socket[kStream] = this;
    socket.on('data', socketData);
    if (socket.closed) {
      queueMicrotask(() => handler.onClose(socket[kError]));
      return;
    }
    socket.on('close', socketClose);
  }
}

/** Base PeerInfo of an accepted socket, or undefined if it is already gone. */
export function socketPeer(socket: Socket, transport: PeerInfo['transport'], listener: string): PeerInfo | undefined {
  const { remoteAddress, remotePort } = socket;
  if (remoteAddress === undefined || remotePort === undefined) return undefined;
  return { transport, remoteAddress, remotePort, listener };
}

export interface AcceptGate {
  /** False once the listener stops accepting; late connections are dropped. */
  readonly accepting: boolean;
  /** Remember an accepted connection so close() can end it. */
  track(socket: Socket): void;
}

export function createTcpServer(name: string, sink: ConnectionSink, gate: AcceptGate): Server {
  const server = createServer({ noDelay: true });
  server.on('connection', (socket: Socket) => {
    const peer = socketPeer(socket, 'tcp', name);
    if (!gate.accepting || peer === undefined) {
      socket.destroy();
      return;
    }
    gate.track(socket);
    sink.accept(new SocketStream(socket, peer));
  });
  return server;
}
