/**
 * Accepted plain TCP sockets read into one buffer shared by the process instead of a new
 * ArrayBuffer per read.
 *
 * Why: Node's stream read path mallocs 64 KiB for every read, reallocs it to the bytes read and
 * wraps it in an ArrayBuffer. At 10k msg/s that is one ArrayBuffer per message, and freeing them
 * was 36 % of each young-generation GC pause, after which glibc's malloc_consolidate took another
 * 100–200 µs on the next read (bench/RESULTS.md, issue 15 §15b, §19). Here each read lands in the
 * shared buffer and only its bytes are copied out, into a slice of Node's 8 KiB Buffer pool
 * (Buffer.allocUnsafe), which Ferry may keep (the decoder and messages hold subarrays of chunks).
 *
 * How: Node has this path as the `onread` option, but only for sockets it builds from options
 * (net.connect, new net.Socket); net.Server builds accepted sockets itself without it (Node 20,
 * lib/net.js onconnection) and no public API turns it on later. So this does what the Socket
 * constructor does for `onread`, on the accepted socket: the option's three slots (found by their
 * description on a probe socket, not guessed) and the handle's `useUserBuffer`. Everything else —
 * pause()/resume() as readStop/readStart, EOF as 'end', errors — is Node's own `onread` path.
 * If this Node lacks any of it, or the socket is not a plain net.Socket with nothing buffered,
 * readShared() returns false and the caller listens to 'data' as before.
 */
import { Socket } from 'node:net';

/** The read callback: `this` is the socket, `chunk` is Ferry's to keep. */
export type SharedReadCallback = (this: Socket, chunk: Buffer) => void;

/** What Node calls with the bytes read into the shared buffer (`this` is the socket). */
export type SharedReader = (this: Socket, nread: number, buffer: Buffer) => void;

interface OnreadSlots {
  readonly buffer: symbol;
  readonly callback: symbol;
  readonly generator: symbol;
}

// Node calls stream[kBufferCb](nread, buffer) with the socket as `this`.
type UserBufferHandle = { useUserBuffer?: (buffer: Buffer) => void; reading?: boolean };
type SocketInternals = Socket & { _handle?: UserBufferHandle | null } & Record<symbol, unknown>;

/** 64 KiB: what Node's own read path asks for, so one read takes what it took before. */
const READ_BUFFER_BYTES = 64 * 1024;

let slots: OnreadSlots | null | undefined;
let readBuffer: Buffer | undefined;

/** The process's one read buffer (also what HandleStream's handles read into: handle-stream.ts). */
export function sharedReadBuffer(): Buffer {
  readBuffer ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  return readBuffer;
}

/** The `onread` slots of this Node's net.Socket, or null if it has no such option. */
function onreadSlots(): OnreadSlots | null {
  if (slots !== undefined) return slots;
  const marker = Buffer.alloc(1);
  // @types/node lists `onread` for net.connect only; the Socket constructor is what reads it.
  const options = { onread: { buffer: marker, callback: () => true } } as ConstructorParameters<typeof Socket>[0];
  const probe = new Socket(options) as SocketInternals;
  let buffer: symbol | undefined;
  let callback: symbol | undefined;
  let generator: symbol | undefined;
  for (const s of Object.getOwnPropertySymbols(probe)) {
    if (s.description === 'kBuffer' && probe[s] === marker) buffer = s;
    else if (s.description === 'kBufferCb' && typeof probe[s] === 'function') callback = s;
    else if (s.description === 'kBufferGen' && probe[s] === null) generator = s;
  }
  probe.destroy();
  slots = buffer !== undefined && callback !== undefined && generator !== undefined ? { buffer, callback, generator } : null;
  return slots;
}

/**
 * Node's `onread` callback for `onChunk`: copies the bytes out and hands them on. Make one per
 * module and share it (a socket keeps no slot of its own for it: one less property per connection).
 */
export function sharedReader(onChunk: SharedReadCallback): SharedReader {
  return function (this: Socket, nread: number, buffer: Buffer): void {
    onChunk.call(this, copyOut(buffer, nread));
  };
}

/**
 * Reads up to this many bytes are copied byte by byte: Buffer.copy of a part of its source builds a
 * Uint8Array view of that part first (Node 20's _copyActual), ~90 bytes allocated per read — at 10k
 * msg/s one read per PUBLISH and one per PUBACK, 6 % of all a QoS 1 message allocates (issue 15
 * §23). Larger reads (a loaded connection) take the native copy, the view amortized over the bytes.
 */
const COPY_LOOP_MAX_BYTES = 512;

/** The first `nread` bytes of `buffer`, as a new buffer Ferry may keep. */
export function copyOut(buffer: Buffer, nread: number): Buffer {
  const chunk = Buffer.allocUnsafe(nread);
  if (nread > COPY_LOOP_MAX_BYTES) buffer.copy(chunk, 0, 0, nread);
  else for (let i = 0; i < nread; i++) chunk[i] = buffer[i] as number;
  return chunk;
}

/**
 * Route `socket`'s reads through the shared buffer to `reader`, instead of 'data' events. Call it
 * in the turn the socket was accepted or before anything was read (it refuses a socket with bytes
 * buffered). True when done; false when not possible here (then listen to 'data').
 */
export function readShared(socket: Socket, reader: SharedReader): boolean {
  const s = socket as SocketInternals;
  const handle = s._handle;
  if (handle === null || handle === undefined || typeof handle.useUserBuffer !== 'function') return false;
  // A TLSSocket's _handle is its TLS wrap; only plain TCP sockets read this way.
  if ((socket as Socket & { encrypted?: boolean }).encrypted === true) return false;
  if (socket.readableLength > 0 || socket.readableEnded || socket.destroyed) return false;
  const found = onreadSlots();
  if (found === null || s[found.buffer] !== null) return false;
  const buffer = sharedReadBuffer();
  s[found.buffer] = buffer;
  s[found.callback] = reader;
  handle.useUserBuffer(buffer);
  // Node's Socket.read/resume start the handle reading only when the option is set; the accepted
  // socket began reading already (its constructor's read(0)), so nothing else to do here.
  return true;
}
