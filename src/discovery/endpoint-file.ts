/**
 * The endpoint file: a running Ferry records where it listens in <dataDir>/ferry.endpoint.json,
 * so the CLI (and scripts) on the same machine find it without being told the ports:
 *
 *   { "pid": 4242, "startedAt": "2026-…Z", "dataDir": "./data", "defaultInstance": "mqtt-default",
 *     "urls": { "http": "http://127.0.0.1:8080", "mqtt": "mqtt://127.0.0.1:1883", "ws": "ws://127.0.0.1:8083/mqtt", … } }
 *
 * Written atomically (temporary file + rename) once every listener accepts, removed at the end of
 * a graceful stop. A Ferry that was killed leaves it behind: readers check that `pid` is alive and
 * report the file as stale otherwise. The data directory is locked by the store, so only one Ferry
 * writes here at a time.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ENDPOINT_FILE = 'ferry.endpoint.json';

export type EndpointUrls = Partial<Record<'http' | 'mqtt' | 'ws' | 'mqtts' | 'wss' | 'amqp' | 'amqps', string>>;

export interface EndpointRecord {
  readonly pid: number;
  readonly startedAt: string;
  readonly dataDir: string;
  /** The instance anonymous clients and listeners without a binding belong to. */
  readonly defaultInstance: string;
  readonly urls: EndpointUrls;
}

/** Host a local client dials for a bind address: a wildcard bind is reached over loopback. */
export function dialHost(bind: string): string {
  if (bind === '0.0.0.0' || bind === '') return '127.0.0.1';
  if (bind === '::' || bind === '[::]') return '::1';
  return bind.includes(':') && !bind.startsWith('[') ? `[${bind}]` : bind;
}

export interface ListenInfo {
  readonly bind: string;
  readonly wsPath: string;
  readonly ports: Readonly<Partial<Record<keyof EndpointUrls, number>>>;
}

export function endpointUrls(info: ListenInfo): EndpointUrls {
  const host = dialHost(info.bind);
  const urls: Record<string, string> = {};
  const scheme = { http: 'http', mqtt: 'mqtt', ws: 'ws', mqtts: 'mqtts', wss: 'wss', amqp: 'amqp', amqps: 'amqps' } as const;
  for (const [name, port] of Object.entries(info.ports)) {
    if (typeof port !== 'number' || port <= 0 || !(name in scheme)) continue;
    const path = name === 'ws' || name === 'wss' ? info.wsPath : '';
    urls[name] = `${scheme[name as keyof typeof scheme]}://${host}:${port}${path}`;
  }
  return urls;
}

export function writeEndpointFile(dataDir: string, record: EndpointRecord): void {
  const file = join(dataDir, ENDPOINT_FILE);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o644 });
  renameSync(temporary, file);
}

/** Removes the file if it is still this process's (a newer Ferry on the directory owns its own). */
export function removeEndpointFile(dataDir: string, pid = process.pid): void {
  const found = readEndpointFile(dataDir);
  if (found.kind === 'found' && found.record.pid !== pid) return;
  rmSync(join(dataDir, ENDPOINT_FILE), { force: true });
}

export type EndpointLookup =
  | { kind: 'found'; file: string; record: EndpointRecord }
  | { kind: 'missing'; file: string }
  | { kind: 'stale'; file: string; record: EndpointRecord }
  | { kind: 'invalid'; file: string; reason: string };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readEndpointFile(dataDir: string): EndpointLookup {
  const file = join(dataDir, ENDPOINT_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing', file };
    return { kind: 'invalid', file, reason: (err as Error).message };
  }
  let record: EndpointRecord;
  try {
    record = JSON.parse(text) as EndpointRecord;
  } catch {
    return { kind: 'invalid', file, reason: 'not JSON' };
  }
  if (typeof record !== 'object' || record === null || !Number.isInteger(record.pid) || typeof record.urls !== 'object' || record.urls === null) {
    return { kind: 'invalid', file, reason: 'not an endpoint file' };
  }
  return alive(record.pid) ? { kind: 'found', file, record } : { kind: 'stale', file, record };
}
