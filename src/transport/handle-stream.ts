/**
 * Plain TCP connections as Node's TCP handle itself, without net.Socket: the ByteStream is the
 * handle plus one HandleStream object (bindings and why: tcp-handle.ts).
 *
 * What net.Socket did per connection, done here with the handle's own calls:
 * - reads: `readStart` into the process's one shared read buffer (`useUserBuffer`), each read's
 *   bytes copied out (shared-read.ts); pause/resume are `readStop`/`readStart` (the kernel keeps
 *   what is not read; nothing is buffered here).
 * - writes: `writeBuffer` with a WriteWrap request. Usually the kernel takes all of it at once (the
 *   write completes synchronously): nothing is kept, and the request object is used again for the
 *   next write. When it goes asynchronous, that request keeps the buffer referenced until libuv
 *   calls it back, and a new one is made for the next write; `bufferedBytes` is the handle's
 *   `writeQueueSize`, write() returns false from net.Socket's high-water mark (16 KiB) on, and
 *   onDrain follows when the queue is empty (as net.Socket's 'drain').
 * - end: `shutdown` (libuv sends FIN after the queued writes), then `close`; destroy: `close` now.
 * - the peer's FIN ends the stream the same way (net.Socket's allowHalfOpen: false); a read, write or
 *   shutdown error closes it with that error. The listener's close callback counts the connection out
 *   and reports onClose once (socket-slots.ts).
 * Every callback is a shared module-level function that finds its stream through the handle's slot.
 */
import type { Server } from 'node:net';
import type { ByteStream, ConnectionSink, PeerInfo, StreamHandler } from './types.js';
import { kError, kStream, type Slotted } from './socket-slots.js';
import { PackedPeer, PEER_FREE_BIT } from './peer.js';
import { copyOut, sharedReadBuffer } from './shared-read.js';
import { endOwnTurn, ownTurn } from './turn-end.js';
import { peerInfo } from './tcp.js';
import { errorName, systemError, takeAccepts, type StreamRequest, type TcpHandle, type TcpHandles } from './tcp-handle.js';

/** net.Socket's default writableHighWaterMark (Node 20): write() returns false from here on. */
export const HANDLE_HIGH_WATER_MARK = 16 * 1024;

/** Flags in PackedPeer's portBits. */
const DRAIN_WANTED = PEER_FREE_BIT;
const PAUSED = PEER_FREE_BIT << 1;
const ENDING = PEER_FREE_BIT << 2;
const CLOSED = PEER_FREE_BIT << 3;
/** A write went asynchronous and libuv's queue has not been seen empty since. */
const QUEUED = PEER_FREE_BIT << 4;

type SlottedHandle = TcpHandle & Slotted & { [kStream]?: HandleStream | undefined };

/** What a listener gives its handle streams: counts them in and out (listeners.ts). */
export interface HandleGate {
  readonly accepting: boolean;
  /** Count an accepted handle in; it is counted out by `untrack`. */
  trackHandle(): void;
  /** The listener's close callback: `this` is the closed carrier (counts it out, tells its stream). */
  readonly untrack: (this: object) => void;
}

let bindings: TcpHandles;
/** The request the next write goes with; replaced only when a write keeps it (went asynchronous). */
let spareWrite: StreamRequest;
/** getpeername's output, one for the process (read at once, never kept). */
const peerName: { address?: string | undefined; port?: number | undefined; family?: string } = {};

function newWriteRequest(): StreamRequest {
  const req = new bindings.WriteWrap();
  req.oncomplete = writeDone;
  req.buffer = undefined;
  return req;
}

/**
 * libuv's read callback. It owns the turn (turn-end.ts): the output of what was read is flushed
 * before it returns, with no process.nextTick.
 */
function onRead(this: SlottedHandle): undefined {
  const stream = this[kStream];
  if (stream === undefined) return undefined;
  const nread = bindings.streamBaseState[bindings.kReadBytesOrError] as number;
  if (nread > 0) {
    const owner = ownTurn();
    try {
      stream.handler?.onData(copyOut(sharedReadBuffer(), nread));
    } finally {
      if (owner) endOwnTurn();
    }
  } else if (nread === bindings.eof) stream.end();
  else if (nread < 0) stream.fail(systemError(nread, 'read'));
  return undefined;
}

/** An asynchronous write finished (`this` is its request). */
function writeDone(this: StreamRequest, status: number, handle: SlottedHandle): void {
  this.buffer = undefined;
  handle[kStream]?.written(status);
}

function shutdownDone(this: StreamRequest, status: number, handle: SlottedHandle): void {
  const stream = handle[kStream];
  if (stream === undefined) return;
  if (status < 0) stream.fail(systemError(status, 'shutdown'));
  else stream.destroy();
}

export class HandleStream extends PackedPeer implements ByteStream {
  handler: StreamHandler | undefined;

  constructor(
    private readonly handle: SlottedHandle,
    peer: PeerInfo,
    private readonly untrack: (this: object) => void,
  ) {
    super(peer);
    handle[kStream] = this;
  }

  get bufferedBytes(): number {
    // Read per QoS 0 delivery (Connection.congested): the handle's getter is a call into C++,
    // made only while something is queued.
    return (this.portBits & (QUEUED | CLOSED)) === QUEUED ? this.handle.writeQueueSize : 0;
  }

  /**
   * Whether libuv kept the last write's buffer (it went asynchronous; see the header). After a write
   * refused before libuv (stream ending or closed, or an error) this reads another write's flag:
   * either answer is safe then, as nothing was handed over.
   */
  get holdsLastWrite(): boolean {
    return bindings.streamBaseState[bindings.kLastWriteWasAsync] !== 0;
  }

  write(data: Buffer): boolean {
    if ((this.portBits & (ENDING | CLOSED)) !== 0) return false;
    const req = spareWrite;
    const status = this.handle.writeBuffer(req, data);
    if (status !== 0) {
      this.fail(systemError(status, 'write'));
      return false;
    }
    if (bindings.streamBaseState[bindings.kLastWriteWasAsync] === 0) return true;
    // libuv writes the rest later from `data` itself: the request keeps it until writeDone.
    req.buffer = data;
    spareWrite = newWriteRequest();
    this.portBits |= QUEUED;
    if (this.handle.writeQueueSize < HANDLE_HIGH_WATER_MARK) return true;
    this.portBits |= DRAIN_WANTED;
    return false;
  }

  /** An asynchronous write completed with `status` (writes queued when the handle is closed come back cancelled). */
  written(status: number): void {
    if (status < 0) return this.fail(systemError(status, 'write'));
    if ((this.portBits & CLOSED) !== 0) return;
    if (this.handle.writeQueueSize > 0) return;
    const drain = (this.portBits & DRAIN_WANTED) !== 0;
    this.portBits &= ~(DRAIN_WANTED | QUEUED);
    if (drain) this.handler?.onDrain();
  }

  pause(): void {
    if ((this.portBits & (PAUSED | CLOSED)) !== 0) return;
    this.portBits |= PAUSED;
    this.handle.readStop();
  }

  resume(): void {
    if ((this.portBits & PAUSED) === 0) return;
    this.portBits &= ~PAUSED;
    if ((this.portBits & CLOSED) === 0) this.handle.readStart();
  }

  end(): void {
    if ((this.portBits & (ENDING | CLOSED)) !== 0) return;
    this.portBits |= ENDING;
    const req = new bindings.ShutdownWrap();
    req.oncomplete = shutdownDone;
    const status = this.handle.shutdown(req);
    // 1: done at once (Node's convention); ENOTCONN: the peer is gone already. Either way, close.
    if (status === 1 || (status < 0 && errorName(status) === 'ENOTCONN')) this.destroy();
    else if (status !== 0) this.fail(systemError(status, 'shutdown'));
  }

  destroy(): void {
    if ((this.portBits & CLOSED) !== 0) return;
    this.portBits |= CLOSED;
    // Writes still queued are cancelled (writeDone sees the stream closed); untrack reports onClose.
    this.handle.close(this.untrack);
  }

  /** Close with `error`; one after the close began (a cancelled write or shutdown) is not reported. */
  fail(error: Error): void {
    if ((this.portBits & CLOSED) !== 0) return;
    this.handle[kError] ??= error;
    this.destroy();
  }

  attach(handler: StreamHandler): void {
    this.handler = handler;
    const handle = this.handle;
    if (handle[kStream] !== this) {
      // Closed before it was attached (and the close reported to nobody): report it now.
      queueMicrotask(() => handler.onClose(handle[kError]));
      return;
    }
    if ((this.portBits & (PAUSED | CLOSED)) !== 0) return;
    const status = handle.readStart();
    if (status !== 0) this.fail(systemError(status, 'read'));
  }
}

/**
 * Accept `server`'s plain TCP connections as HandleStreams (its 'connection' event no longer fires).
 * Call once it listens. False if the server has no listening handle to take over.
 */
export function acceptHandles(server: Server, handles: TcpHandles, name: string, sink: ConnectionSink, gate: HandleGate): boolean {
  bindings = handles;
  spareWrite ??= newWriteRequest();
  return takeAccepts(server, (status, clientHandle) => {
    if (status !== 0 || clientHandle === undefined) {
      server.emit('error', systemError(status, 'accept'));
      return;
    }
    const handle = clientHandle as SlottedHandle;
    if (!gate.accepting || handle.getpeername(peerName) !== 0 || peerName.address === undefined || peerName.port === undefined) {
      handle.close();
      return;
    }
    const peer = peerInfo('tcp', peerName.address, peerName.port, name, undefined, undefined, undefined);
    peerName.address = undefined;
    peerName.port = undefined;
    handle.setNoDelay(true);
    handle.onread = onRead;
    handle.useUserBuffer(sharedReadBuffer());
    gate.trackHandle();
    sink.accept(new HandleStream(handle, peer, gate.untrack));
  });
}
