/**
 * The rule delivery thread: runs the target connectors (Redis, NATS, RabbitMQ, webhooks) of every
 * outbound and status rule, so that building their commands, their sockets and their replies
 * never take the broker thread's turns. It holds no state that matters: the outbox (on the broker
 * thread, in the store) is the truth, and a batch counts as delivered only once its outcome is
 * back there. See delivery-thread.ts for the other side and docs/rules.md ("Delivery thread").
 */
import { parentPort } from 'node:worker_threads';
import { createConnectorRegistry } from '../connectors/index.js';
import type { ConnectorLogger, TargetConnector } from '../connectors/types.js';
import { unpackFeed } from './feed-packing.js';
import { Lane } from './lane.js';
import type { LaneMessage, ThreadReply, ThreadRequest } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('delivery-worker.ts runs as a worker thread');

const send = (reply: ThreadReply): void => port.postMessage(reply);

const logger: ConnectorLogger = {
  info: (obj, msg) => send({ type: 'log', level: 'info', obj: { ...obj }, msg }),
  warn: (obj, msg) => send({ type: 'log', level: 'warn', obj: plain(obj), msg }),
  error: (obj, msg) => send({ type: 'log', level: 'error', obj: plain(obj), msg }),
};

const registry = createConnectorRegistry();
const targets = new Map<number, TargetConnector>();
/** The dispatcher of each target's rule (lane.ts), by target. */
const lanes = new Map<number, Lane>();

port.on('message', (request: ThreadRequest | LaneMessage) => {
  if (request.type === 'open' || request.type === 'feed' || request.type === 'pause') {
    lane(request);
    return;
  }
  handle(request).then(
    (value) => send(value === undefined ? { type: 'reply', n: request.n, ok: true } : { type: 'reply', n: request.n, ok: true, value }),
    (error: unknown) => send({ type: 'reply', n: request.n, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
send({ type: 'ready' });

async function handle(request: ThreadRequest): Promise<Extract<ThreadReply, { ok: true }>['value']> {
  switch (request.type) {
    case 'start': {
      const target = registry.createTarget(request.url, { logger, ...(request.secret === undefined ? {} : { secret: request.secret }) });
      targets.set(request.t, target);
      await target.start();
      return undefined;
    }
    case 'health':
      return known(request.t).health();
    case 'close': {
      const lane = lanes.get(request.t);
      lanes.delete(request.t);
      await lane?.close();
      return undefined;
    }
    case 'stop': {
      const target = targets.get(request.t);
      targets.delete(request.t);
      await lanes.get(request.t)?.close();
      lanes.delete(request.t);
      await target?.stop();
      return undefined;
    }
  }
}

function lane(message: LaneMessage): void {
  const t = message.t;
  switch (message.type) {
    case 'open': {
      const target = targets.get(t);
      if (target === undefined) {
        // Cannot happen (a lane opens after its target starts, on a new thread too): said, not thrown.
        send({ type: 'log', level: 'error', obj: { t }, msg: 'rule lane opened for a target that is not on the delivery thread' });
        return;
      }
      const opened = new Lane(target, message.maxAttempts, (outcomes) => send({ type: 'outcomes', t, outcomes }));
      opened.setPaused(message.paused);
      lanes.set(t, opened);
      return;
    }
    case 'feed': {
      // A lane closed meanwhile (the rule stopped): the entries stay in the outbox.
      lanes.get(t)?.feed(message.data === null ? [] : unpackFeed(message.data), message.forget);
      return;
    }
    case 'pause':
      lanes.get(t)?.setPaused(message.paused);
      return;
  }
}

function known(t: number): TargetConnector {
  const target = targets.get(t);
  if (target === undefined) throw new Error(`no target ${t} on the delivery thread`);
  return target;
}

/** A log object that can cross threads: errors become their message. */
function plain(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) out[key] = value instanceof Error ? value.message : value;
  return out;
}
