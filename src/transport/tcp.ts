/**
 * MQTT over TCP through net.Socket, and the ByteStream adapter shared with TLS (a TLSSocket is a
 * net.Socket). Plain TCP connections are HandleStreams (Node's TCP handle without net.Socket,
 * handle-stream.ts) where this Node allows; SocketStream is their fallback.
 *
 * Per-connection cost is kept to the socket itself and one SocketStream object (with the peer packed in it):
 * every socket listener is a shared module-level function that finds its stream through a symbol
 * slot on the socket (no closures per connection; socket-slots.ts), 'drain' is only listened to
 * once a write has been refused, 'close' is the listener's, and there are no timers here
 * (keepalive and connect timeouts belong to connection/).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { ByteStream, ConnectionSink, PeerInfo, StreamHandler } from './types.js';
import { kError, kStream, noteError, shareEmptyPipes, type SlottedSocket } from './socket-slots.js';
import { PackedPeer, PEER_FREE_BIT } from './peer.js';
import { readShared, sharedReader } from './shared-read.js';
import type { HandleGate } from './handle-stream.js';

const DRAIN_HOOKED = PEER_FREE_BIT;

// Shared socket listeners (`this` is the socket).
function socketData(this: Socket, chunk: Buffer): void {
  (this as SlottedSocket)[kStream]?.handler?.onData(chunk);
}
// Plain TCP sockets read through one shared buffer (shared-read.ts); TLS sockets by 'data'.
const sharedSocketData = sharedReader(socketData);
function socketDrain(this: Socket): void {
  (this as SlottedSocket)[kStream]?.handler?.onDrain();
}

/** The peer is kept packed (PackedPeer: no PeerInfo object or address string per connection). */
export class SocketStream extends PackedPeer implements ByteStream {
  handler: StreamHandler | undefined;

  constructor(
    private readonly socket: Socket,
    peer: PeerInfo,
  ) {
    super(peer);
    socket.setNoDelay(true);
    socket.on('error', noteError);
    shareEmptyPipes(socket);
  }

  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  write(data: Buffer): boolean {
    if (this.socket.write(data)) return true;
    if ((this.portBits & DRAIN_HOOKED) === 0) {
      // 'drain' is emitted later than this return, so hooking it now misses nothing.
      this.portBits |= DRAIN_HOOKED;
      this.socket.on('drain', socketDrain);
    }
    return false;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    // Readable.resume() of a flowing stream still queues a nextTick and a read(0).
    if (this.socket.isPaused()) this.socket.resume();
  }

  end(): void {
    // Flush, send FIN and close without waiting for the peer's FIN.
    this.socket.destroySoon();
  }

  destroy(): void {
    this.socket.destroy();
  }

  attach(handler: StreamHandler): void {
    const socket = this.socket as SlottedSocket;
    this.handler = handler;
    socket[kStream] = this;
    if (!readShared(socket, sharedSocketData)) socket.on('data', socketData);
    // Its 'close' reaches the handler through the listener's (socket-slots.ts); closed already, now.
    if (socket.closed) queueMicrotask(() => handler.onClose(socket[kError]));
  }
}

/**
 * Base PeerInfo of an accepted socket, or undefined if it is already gone. Reading remoteAddress
 * makes Node cache an {address, family, port} object on the socket (`_peername`, 56 bytes) for the
 * socket's life; the PeerInfo keeps the two values Ferry needs, so the cache is let go (Node
 * fills it again if anything else asks).
 */
export function socketPeer(socket: Socket, transport: PeerInfo['transport'], listener: string, serverName?: string): PeerInfo | undefined {
  const { remoteAddress, remotePort } = socket;
  (socket as Socket & { _peername?: unknown })._peername = undefined;
  if (remoteAddress === undefined || remotePort === undefined) return undefined;
  return peerInfo(transport, remoteAddress, remotePort, listener, serverName, undefined, undefined);
}

/**
 * A PeerInfo as an object literal of a few fixed shapes. Not by spreading a base object: V8 gave
 * every `{ ...base, serverName }` a hidden class of its own (a map, its descriptors and a
 * property array: ~0.26 KB per connection, bench/idle-heap.bench.ts).
 */
export function peerInfo(
  transport: PeerInfo['transport'],
  remoteAddress: string,
  remotePort: number,
  listener: string,
  serverName: string | undefined,
  clientCertCN: string | undefined,
  clientCertificates: readonly Buffer[] | undefined,
): PeerInfo {
  if (clientCertCN === undefined && clientCertificates === undefined) {
    return serverName === undefined ? { transport, remoteAddress, remotePort, listener } : { transport, remoteAddress, remotePort, listener, serverName };
  }
  return { transport, remoteAddress, remotePort, listener, serverName, clientCertCN, clientCertificates };
}

export interface AcceptGate extends HandleGate {
  /** False once the listener stops accepting; late connections are dropped. */
  readonly accepting: boolean;
  /**
   * Count an accepted socket. The gate listens to its 'close' and passes it on to the socket's
   * stream (socketClosed): call before making the stream.
   */
  track(socket: Socket): void;
  /** A tracked socket not handed to the sink yet (a handshake in progress): closing the listener ends it. */
  hold(socket: Socket): void;
  /** A held socket was handed over or refused. */
  release(socket: Socket): void;
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
