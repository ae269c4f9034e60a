/**
 * Readable log lines for a terminal (`logFormat: pretty`, docs/observability.md): pino still
 * produces its JSON lines, and this destination turns each into
 *
 *   10:16:46.653 INFO  transport  listening listener=mqtt port=1883
 *
 * before it goes into the same bounded, non-blocking sink as JSON would. Colours only when the
 * output is a terminal. Anything that is not a JSON object is passed through unchanged.
 */
import type { DestinationStream } from 'pino';

const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'component']);
const COLOURS: Record<string, string> = { fatal: '\x1b[41;97m', error: '\x1b[31m', warn: '\x1b[33m', info: '\x1b[32m', debug: '\x1b[36m', trace: '\x1b[90m' };
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'object' && v !== null) {
    const err = v as { type?: unknown; message?: unknown };
    if (typeof err.message === 'string' && typeof err.type === 'string') return JSON.stringify(`${err.type}: ${err.message}`);
    return JSON.stringify(v);
  }
  return String(v);
}

export function prettyLine(line: string, colour: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null) return line;
  const level = typeof entry['level'] === 'string' ? entry['level'] : 'info';
  const time = typeof entry['time'] === 'string' ? entry['time'].slice(11, 23) : '';
  const component = typeof entry['component'] === 'string' ? entry['component'] : '';
  const fields = Object.entries(entry)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(' ');
  const label = level.toUpperCase().padEnd(5);
  const paint = (code: string | undefined, text: string): string => (colour && code !== undefined ? `${code}${text}${RESET}` : text);
  const head = `${paint(DIM, time)} ${paint(COLOURS[level], label)} ${component === '' ? '' : `${paint(DIM, component)}  `}`;
  return `${head}${String(entry['msg'] ?? '')}${fields === '' ? '' : ` ${paint(DIM, fields)}`}\n`;
}

/** A pino destination writing readable lines into `target` (pino writes one JSON line per call). */
export function prettyDestination(target: DestinationStream, colour: boolean): DestinationStream {
  return {
    write(chunk: string): void {
      const lines = chunk.split('\n').filter((l) => l !== '');
      target.write(lines.map((l) => prettyLine(l, colour)).join(''));
    },
  };
}
