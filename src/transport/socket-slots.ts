/**
 * What the transports keep on an accepted connection's carrier — a net.Socket (TLS, WebSocket, plain
 * TCP where Node's handle cannot be used) or Node's TCP handle itself (handle-stream.ts): the stream
 * that adapts it (so shared module-level callbacks find it without a closure per connection) and the
 * first error it reported. A carrier closing reaches the listener's one shared callback (listeners.ts:
 * a socket's 'close' listener, a handle's close callback), which counts it out and tells its stream
 * through socketClosed(): a second 'close' listener would cost every socket an array in its `_events`.
 */
import type { Socket } from 'node:net';
import type { StreamHandler } from './types.js';

export const kError = Symbol('ferry.transport.error');
export const kStream = Symbol('ferry.transport.stream');

/** A stream found through a carrier's slot. */
export interface SlotStream {
  readonly handler: StreamHandler | undefined;
}

/** A socket or a TCP handle with the slots. */
export interface Slotted {
  [kError]?: Error;
  [kStream]?: SlotStream | undefined;
}

export type SlottedSocket = Socket & Slotted;

/** Shared 'error' listener: remember the first error so onClose can report it. */
export function noteError(this: unknown, error: Error): void {
  (this as SlottedSocket)[kError] ??= error;
}

/**
 * The carrier closed: its stream's handler hears of it (once; handlers ignore repeats), and the slot
 * lets the stream go (a stream attached later finds it empty and reports the close itself).
 */
export function socketClosed(carrier: object): void {
  const slotted = carrier as Slotted;
  const stream = slotted[kStream];
  if (stream === undefined) return;
  slotted[kStream] = undefined;
  stream.handler?.onClose(slotted[kError]);
}

/**
 * Every accepted socket's ReadableState.pipes (Node 20: an empty array per socket, 32 bytes of
 * every idle connection) is this one frozen empty array: Ferry never pipes a socket, and Node only
 * writes the array in pipe()/unpipe() — a pipe() would throw, not corrupt other sockets. Applied
 * only where Node keeps an empty array there.
 */
const NO_PIPES: readonly never[] = Object.freeze([]);

export function shareEmptyPipes(socket: Socket): void {
  const state = (socket as Socket & { _readableState?: { pipes?: unknown } })._readableState;
  if (state !== undefined && Array.isArray(state.pipes) && state.pipes.length === 0) state.pipes = NO_PIPES;
}
