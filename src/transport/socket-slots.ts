/**
 * What the transports keep on an accepted socket, shared by TCP, TLS and WebSocket: the stream that
 * adapts it (so shared module-level listeners find it without a closure per connection) and the
 * first error it reported. A socket has one 'close' listener, the listener's (listeners.ts), which
 * untracks it and tells its stream through socketClosed(): a second listener would cost every
 * connection an array in the socket's `_events`.
 */
import type { Socket } from 'node:net';
import type { StreamHandler } from './types.js';

export const kError = Symbol('ferry.transport.error');
export const kStream = Symbol('ferry.transport.stream');

/** A stream found through a socket's slot. */
export interface SlotStream {
  readonly handler: StreamHandler | undefined;
}

export type SlottedSocket = Socket & { [kError]?: Error; [kStream]?: SlotStream };

/** Shared 'error' listener: remember the first error so onClose can report it. */
export function noteError(this: unknown, error: Error): void {
  (this as SlottedSocket)[kError] ??= error;
}

/** The socket closed: its stream's handler hears of it (once; handlers ignore repeats). */
export function socketClosed(socket: Socket): void {
  const slotted = socket as SlottedSocket;
  slotted[kStream]?.handler?.onClose(slotted[kError]);
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
