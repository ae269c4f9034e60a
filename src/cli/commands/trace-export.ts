/**
 * `ferry trace export messages|device <clientId> | message <msgId> [--since 1h] --out FILE|-`:
 * walks every page of a trace query and writes one JSON line per record. The time window is
 * fixed when the export starts, so records arriving meanwhile do not shift the pages.
 */
import { UsageError, parseDuration } from './args.js';
import { enc, query } from './client.js';
import { progress } from './progress.js';
import type { Ctx } from './resources.js';
import { openSink, type Sink } from './sink.js';

/** The API's largest page. */
const PAGE_SIZE = 100;

interface Page {
  items: unknown[];
  total: number;
}

export async function traceExport(c: Ctx, instancePath: string): Promise<void> {
  const kind = c.args.positional(1, 'what to export (messages, device or message)');
  const subject = c.args.positional(2, kind === 'message' ? 'MsgId' : 'client id');
  const out = c.args.get('out');
  if (out === undefined) throw new UsageError('--out FILE (or - for stdout) is required');
  const endTime = Date.now();
  const window = { beginTime: endTime - parseDuration(c.args.get('since') ?? '1h'), endTime, reverse: c.args.flag('reverse') || undefined };
  let base: string;
  let fetchPage: (page: number) => Promise<Page>;
  let first: unknown[] = [];
  if (kind === 'device' || kind === 'messages') {
    base = kind === 'device' ? `${instancePath}/traces/devices/${enc(subject)}` : `${instancePath}/traces/clients/${enc(subject)}/messages`;
    fetchPage = async (page) => (await c.client.call('GET', `${base}${query({ ...window, page, pageSize: PAGE_SIZE })}`)) as Page;
  } else if (kind === 'message') {
    base = `${instancePath}/traces/messages/${enc(subject)}`;
    // How the message came in is in every answer: written once, before the deliveries.
    fetchPage = async (page) => {
      const answer = (await c.client.call('GET', `${base}${query({ ...window, page, pageSize: PAGE_SIZE })}`)) as { published: unknown[]; deliveries: Page };
      if (page === 1) first = answer.published;
      return answer.deliveries;
    };
  } else {
    throw new UsageError(`trace export: unknown kind "${kind}"; expected messages, device or message`);
  }
  const sink = openSink(out, c.out.write);
  try {
    await walk(c, sink, fetchPage, () => first);
  } finally {
    sink.close();
  }
}

async function walk(c: Ctx, sink: Sink, fetchPage: (page: number) => Promise<Page>, published: () => unknown[]): Promise<void> {
  const bar = progress(c.interactive === true, c.err ?? (() => undefined));
  let written = 0;
  try {
    for (let page = 1; ; page++) {
      const answer = await fetchPage(page);
      const records = page === 1 ? [...published(), ...answer.items] : answer.items;
      sink.write(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
      written += records.length;
      bar.update(`exported ${written}/${answer.total + published().length} records (page ${page})`);
      if (answer.items.length === 0 || page * PAGE_SIZE >= answer.total) break;
    }
    sink.flush();
  } finally {
    bar.done();
  }
}
