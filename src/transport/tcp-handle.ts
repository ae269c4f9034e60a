/**
 * Node's TCP handle, as plain-TCP connections use it without net.Socket (handle-stream.ts): the
 * bindings lib/net.js and lib/internal/stream_base_commons.js are built on (Node 20:
 * `process.binding('tcp_wrap')` and `process.binding('stream_wrap')`), found and checked once.
 *
 * Why not public API: every accepted net.Socket is a Duplex with readable and writable states, an
 * event emitter and an options copy — 2.3 KB of the 3.5 KB a connect leaves to the scavenger, ~15 µs
 * of a connect's ~56 µs (bench/RESULTS.md issue 15 §24, §35, §38). The handle alone does what Ferry
 * needs of a connection. These are Node internals: if this Node lacks any piece (checked here by
 * shape, not version), tcpHandles() returns null and plain TCP goes through net.Socket as before.
 */
import { getSystemErrorName } from 'node:util';

/** A request object Node's stream calls back on: `oncomplete(status, handle)` with the request as `this`. */
export interface StreamRequest {
  oncomplete?: (this: StreamRequest, status: number, handle: TcpHandle) => void;
  /** A write's bytes, kept referenced while the kernel has not taken them all. */
  buffer?: Buffer | undefined;
}

/** The accepted connection's handle (a TCPWrap, a LibuvStreamWrap underneath). */
export interface TcpHandle {
  /** Called with the handle as `this` after each read; the byte count is in streamBaseState. Must return undefined. */
  onread: (this: TcpHandle, arrayBuffer: ArrayBuffer | undefined) => undefined;
  /** Bytes queued in libuv and not yet written. */
  readonly writeQueueSize: number;
  useUserBuffer(buffer: Buffer): void;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: StreamRequest, data: Buffer): number;
  shutdown(req: StreamRequest): number;
  setNoDelay(on: boolean): number;
  getpeername(out: { address?: string | undefined; port?: number | undefined; family?: string }): number;
  /** `callback` runs with the handle as `this` once libuv has closed it. */
  close(callback?: (this: TcpHandle) => void): void;
}

/** The listening handle of a net.Server: `onconnection(status, clientHandle)` with it as `this`. */
interface ListeningHandle {
  onconnection: (status: number, clientHandle?: TcpHandle) => void;
}

export interface TcpHandles {
  readonly WriteWrap: new () => StreamRequest;
  readonly ShutdownWrap: new () => StreamRequest;
  /** Shared with Node: the last read's byte count (or error) and whether the last write went asynchronous. */
  readonly streamBaseState: Int32Array;
  readonly kReadBytesOrError: number;
  readonly kLastWriteWasAsync: number;
  /** libuv's end of stream (UV_EOF), as a read's byte count. */
  readonly eof: number;
}

type BindingLookup = (name: string) => unknown;

const HANDLE_METHODS = ['readStart', 'readStop', 'writeBuffer', 'shutdown', 'useUserBuffer', 'setNoDelay', 'getpeername', 'close'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

function hasProperty(prototype: object, name: string): boolean {
  for (let p: object | null = prototype; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    if (Object.getOwnPropertyDescriptor(p, name) !== undefined) return true;
  }
  return false;
}

/**
 * The pieces this Node has, or null with what is missing. `lookup` is process.binding (a parameter so
 * that a Node without them can be described in a test).
 */
export function detectTcpHandles(lookup: BindingLookup | undefined): TcpHandles | { missing: string } {
  if (typeof lookup !== 'function') return { missing: 'process.binding' };
  let tcpWrap: unknown;
  let streamWrap: unknown;
  let uv: unknown;
  try {
    tcpWrap = lookup('tcp_wrap');
    streamWrap = lookup('stream_wrap');
    uv = lookup('uv');
  } catch (err) {
    return { missing: `process.binding: ${(err as Error).message}` };
  }
  if (!isRecord(tcpWrap) || typeof tcpWrap['TCP'] !== 'function') return { missing: 'tcp_wrap.TCP' };
  const prototype = (tcpWrap['TCP'] as { prototype: unknown }).prototype;
  if (!isRecord(prototype)) return { missing: 'TCP.prototype' };
  for (const name of [...HANDLE_METHODS, 'onread', 'writeQueueSize']) {
    if (!hasProperty(prototype, name)) return { missing: `TCP.prototype.${name}` };
  }
  if (!isRecord(streamWrap)) return { missing: 'stream_wrap' };
  const { WriteWrap, ShutdownWrap, streamBaseState, kReadBytesOrError, kLastWriteWasAsync } = streamWrap;
  if (typeof WriteWrap !== 'function') return { missing: 'stream_wrap.WriteWrap' };
  if (typeof ShutdownWrap !== 'function') return { missing: 'stream_wrap.ShutdownWrap' };
  if (!(streamBaseState instanceof Int32Array)) return { missing: 'stream_wrap.streamBaseState' };
  if (typeof kReadBytesOrError !== 'number' || typeof kLastWriteWasAsync !== 'number') return { missing: 'stream_wrap.kReadBytesOrError/kLastWriteWasAsync' };
  if (!isRecord(uv) || typeof uv['UV_EOF'] !== 'number') return { missing: 'uv.UV_EOF' };
  return {
    WriteWrap: WriteWrap as TcpHandles['WriteWrap'],
    ShutdownWrap: ShutdownWrap as TcpHandles['ShutdownWrap'],
    streamBaseState,
    kReadBytesOrError,
    kLastWriteWasAsync,
    eof: uv['UV_EOF'],
  };
}

let found: TcpHandles | { missing: string } | undefined;

/** This Node's TCP handle bindings (looked up once), or `{ missing }` naming the first piece it lacks. */
export function tcpHandles(): TcpHandles | { missing: string } {
  found ??= detectTcpHandles((process as unknown as { binding?: BindingLookup }).binding?.bind(process));
  return found;
}

/**
 * Take over what `server` does per accepted connection: its listening handle's `onconnection` is
 * replaced by `accept`, so Node builds no net.Socket (the server still listens, counts nothing and
 * closes as before). Call once it listens, before the loop runs I/O again ('listening' is emitted in
 * a nextTick after the handle started listening, so no connection was accepted yet). False if the
 * server has no such handle (then its 'connection' event goes on as before).
 */
export function takeAccepts(server: object, accept: (status: number, clientHandle?: TcpHandle) => void): boolean {
  const handle = (server as { _handle?: unknown })._handle;
  if (!isRecord(handle) || typeof handle['onconnection'] !== 'function') return false;
  (handle as unknown as ListeningHandle).onconnection = accept;
  return true;
}

/** libuv's name of an error status (`ECONNRESET`). */
export function errorName(status: number): string {
  try {
    return getSystemErrorName(status);
  } catch {
    return `Unknown system error ${status}`;
  }
}

/** An Error as Node makes for a failed system call (`read ECONNRESET`, with code, errno and syscall). */
export function systemError(status: number, syscall: string): Error {
  const code = errorName(status);
  return Object.assign(new Error(`${syscall} ${code}`), { code, errno: status, syscall });
}
