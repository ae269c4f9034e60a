/**
 * Creating a JetStream stream or KV bucket that may not exist yet is look-up-then-add. Nodes
 * starting at once on an empty cluster can all miss it in the look-up and add it together;
 * JetStream then answers all but one with "subjects overlap with an existing stream" (10065) or
 * "stream name already in use" (10058), although the stream they wanted is there now. Running the
 * create again finds it in the look-up and opens it as it is. A request that timed out (JetStream
 * electing a leader, a server just lost) is run again too: the look-up comes first, so an add that
 * did go through is opened, not added twice (else a node starting in such a moment exits).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { JetStreamManager, StreamConfig } from '@nats-io/jetstream';

/** JetStream's error codes for an add that lost the race to another node's identical add. */
const LOST_RACE = new Set([10058, 10065]);
/**
 * Attempts in all; a clustered add may take a moment to show in the look-up after its answer, and
 * a timed-out request waits out its own timeout (5 s by default) each time.
 */
const ATTEMPTS = 5;
const PAUSE_MS = 50;

export async function createOrOpen<T>(create: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (err) {
      if (attempt >= ATTEMPTS || !worthRetrying(err)) throw err;
      await sleep(PAUSE_MS * attempt);
    }
  }
}

/** A lost race, or a request nobody answered in time (nats.js's TimeoutError). */
function worthRetrying(err: unknown): boolean {
  return LOST_RACE.has((err as { code?: unknown }).code as number) || (err as { name?: unknown }).name === 'TimeoutError';
}

/** Adds the stream `config` names unless it exists (then it is used as it is), through createOrOpen. */
export function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  return createOrOpen(async () => {
    try {
      await jsm.streams.info(config.name);
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 10059 && !/stream not found/i.test((err as Error).message)) throw err;
    }
    await jsm.streams.add(config);
  });
}
