/**
 * `ferry queue drain <name> [--out FILE|-] [--max N] [--wait 5s] [--visibility 30s]`: receives from a
 * built-in queue in batches until a receive waits --wait and gets nothing (or --max messages),
 * writing each message as one JSON line. A batch is acked only once it is written (and fsynced,
 * for a file): a crash or a failed write leaves it in the queue, visible again after
 * --visibility, so nothing is lost, at worst written twice.
 */
import { parseDuration, UsageError } from './args.js';
import { enc } from './client.js';
import { progress } from './progress.js';
import type { Ctx } from './resources.js';
import { openSink } from './sink.js';

/** The API's largest batch. */
const BATCH = 100;

interface Received {
  id: string;
  receipt: string;
  payload: string;
  properties?: Record<string, string>;
  deliveries: number;
  enqueuedAt: number;
}

export async function queueDrain(c: Ctx, instancePath: string): Promise<void> {
  const base = `${instancePath}/queues/${enc(c.args.positional(1, 'queue name'))}`;
  const maxText = c.args.get('max');
  if (maxText !== undefined && !/^[1-9]\d*$/.test(maxText)) throw new UsageError(`--max must be a positive whole number, got "${maxText}"`);
  const max = maxText === undefined ? Infinity : Number(maxText);
  const wait = Math.round(parseDuration(c.args.get('wait') ?? '5s') / 1000);
  const visibility = c.args.get('visibility') === undefined ? undefined : Math.round(parseDuration(c.args.get('visibility')!) / 1000);
  const sink = openSink(c.args.get('out'), c.out.write);
  const bar = progress(c.interactive === true, c.err ?? (() => undefined));
  let drained = 0;
  try {
    while (drained < max) {
      const { items } = (await c.client.call('POST', `${base}/receive`, {
        max: Math.min(BATCH, max - drained),
        wait,
        ...(visibility === undefined ? {} : { visibilityTimeout: visibility }),
      })) as { items: Received[] };
      if (items.length === 0) break;
      sink.write(
        items
          .map((m) => `${JSON.stringify({ id: m.id, payload: m.payload, payloadEncoding: 'base64', properties: m.properties ?? {}, deliveries: m.deliveries, enqueuedAt: m.enqueuedAt })}\n`)
          .join(''),
      );
      sink.flush();
      await c.client.call('POST', `${base}/ack`, { receipts: items.map((m) => m.receipt) });
      drained += items.length;
      bar.update(`drained ${drained}${max === Infinity ? '' : `/${max}`} messages`);
    }
  } finally {
    bar.done();
    sink.close();
  }
}
