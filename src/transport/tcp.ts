/**
 * MQTT over TCP, and the ByteStream adapter shared with TLS (a TLSSocket is a net.Socket).
 *
 * Per-connection cost is kept to the socket itself, one small PeerInfo and one SocketStream object:
 * the error handler is a shared module-level function, the only closure is the broker's onClose
 * wrapper, and there are no timers here (keepalive and connect timeouts belong to connection/).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { ByteStream, ConnectionSink, PeerInfo } from './types.js';

const kError = Symbol('ferry.transport.error');
type ErrorSlot = { [kError]?: Error };

/** Shared 'error' listener: remember the first error so onClose can report it. */
function noteError(this: unknown, error: Error): void {
  (this as ErrorSlot)[kError] ??= error;
}

export class SocketStream implements ByteStream {
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
    return this.socket.write(data);
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

  onData(listener: (chunk: Buffer) => void): void {
    this.socket.on('data', listener);
  }

  onDrain(listener: () => void): void {
    this.socket.on('drain', listener);
  }

  onClose(listener: (error?: Error) => void): void {
    const socket = this.socket as Socket & ErrorSlot;
    if (socket.closed) {
      queueMicrotask(() => listener(socket[kError]));
      return;
    }
    socket.on('close', () => listener(socket[kError]));
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
