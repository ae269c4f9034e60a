/** Holding a client's input while an asynchronous decision (an authorization callback) is pending. */
import type { Channel } from './channel.js';
import { RC } from './reason.js';

/**
 * Pauses the channel's input until `pending` settles, then runs `then` with its value and lets
 * the held packets through (unless the connection went away meanwhile).
 */
export function holdWhile<T>(ch: Channel, pending: Promise<T>, then: (value: T) => void): void {
  ch.paused = true;
  ch.out.pauseReading();
  pending.then(
    (value) => {
      if (ch.isClosed) return;
      then(value);
      ch.paused = false;
      if (!ch.isClosed) ch.out.resumeProcessing();
    },
    (err: unknown) => {
      // Deciders settle with a decision; a rejection is a bug: close rather than hang the client.
      ch.log.error({ err }, 'pending decision failed');
      ch.terminate(RC.UnspecifiedError);
    },
  );
}
