/**
 * `ferry credential import <file>`: registers device credentials in bulk. The file holds client
 * ids, one per line, or JSON lines `{"clientId": ...}` (blank lines and `#` comments skipped).
 * Prints `clientId,deviceAccessKeyId,deviceAccessKeySecret` CSV to stdout (or --out FILE),
 * carries on past a client id Ferry refuses (one stderr line each) and fails with the count.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from './args.js';
import { ApiError } from './client.js';
import { CommandFailure, oneLine } from './failures.js';
import { progress } from './progress.js';
import type { Ctx } from './resources.js';
import { openSink } from './sink.js';

/** Client ids from the file's text; a line that is neither an id nor `{"clientId": "..."}` is a usage error. */
export function clientIdsOf(text: string, file: string): string[] {
  const ids: string[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (!line.startsWith('{')) {
      ids.push(line);
      continue;
    }
    let clientId: unknown;
    try {
      clientId = (JSON.parse(line) as { clientId?: unknown }).clientId;
    } catch {
      throw new UsageError(`${file}:${i + 1}: not valid JSON`);
    }
    if (typeof clientId !== 'string' || clientId === '') throw new UsageError(`${file}:${i + 1}: no "clientId" string`);
    ids.push(clientId);
  }
  return ids;
}

/** A CSV field, quoted when it holds a comma, quote or line break (RFC 4180). */
const csv = (value: string): string => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

export async function credentialImport(c: Ctx, instancePath: string): Promise<void> {
  const file = c.args.positional(1, 'file of client ids');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? oneLine(err)}`);
  }
  const ids = clientIdsOf(text, file);
  // Opened before the first registration, so a bad --out costs no credentials.
  const sink = openSink(c.args.get('out'), c.out.write, 0o600);
  const write = sink.write;
  const bar = progress(c.interactive === true, c.err ?? (() => undefined));
  let failed = 0;
  try {
    write('clientId,deviceAccessKeyId,deviceAccessKeySecret\n');
    for (const [i, clientId] of ids.entries()) {
      bar.update(`registered ${i - failed}/${ids.length}${failed > 0 ? `, ${failed} failed` : ''}`);
      try {
        const answer = (await c.client.call('POST', `${instancePath}/device-credentials`, { clientId })) as {
          DeviceAccessKeyId: string;
          DeviceAccessKeySecret: string;
        };
        write(`${csv(clientId)},${csv(answer.DeviceAccessKeyId)},${csv(answer.DeviceAccessKeySecret)}\n`);
      } catch (err) {
        // Only a refusal of this one client id is skipped; Ferry unreachable or a bad key stops the import.
        if (!(err instanceof ApiError) || err.status === 401 || err.status === 403) throw err;
        failed++;
        bar.done();
        c.err?.(`ferry credential: ${clientId}: ${err.code}: ${err.message}\n`);
      }
    }
    sink.flush();
  } finally {
    bar.done();
    sink.close();
  }
  if (failed > 0) throw new CommandFailure(`${failed} of ${ids.length} credentials not registered`);
}
