/**
 * How the CLI reaches Ferry: the REST API at --endpoint (FERRY_ENDPOINT, else the running Ferry's
 * endpoint file in the data directory, else http://127.0.0.1:8080; endpoint.ts), authenticated
 * with, in order:
 *   1. --token / FERRY_TOKEN                                   a bearer token (`ferry token login`)
 *   2. --access-key-id + --access-key-secret, or FERRY_ACCESS_KEY_ID + FERRY_ACCESS_KEY_SECRET
 *   3. the bootstrap key file of a data directory on this machine:
 *      <--data-dir | FERRY_DATA_DIR | ./data>/bootstrap-access-key.json
 * Requests with an AccessKey are signed (docs/api.md, "Authentication").
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signedHeaders } from '../../api/rest/signing.js';
import { UsageError, type Args } from './args.js';
import { dataDirOf, type Endpoints } from './endpoint.js';

export type Credentials = { kind: 'key'; id: string; secret: string; source: string } | { kind: 'bearer'; token: string };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const BOOTSTRAP_FILE = 'bootstrap-access-key.json';
/** How long a request answered 503 with Retry-After is sent again, ms (a JetStream leader election takes a few seconds). */
const RETRY_FOR_MS = 20_000;

export function resolveCredentials(args: Args, env: NodeJS.ProcessEnv): Credentials | null {
  const token = args.get('token') ?? env['FERRY_TOKEN'];
  if (token !== undefined && token !== '') return { kind: 'bearer', token };
  const id = args.get('access-key-id') ?? env['FERRY_ACCESS_KEY_ID'];
  const secret = args.get('access-key-secret') ?? env['FERRY_ACCESS_KEY_SECRET'];
  if (id !== undefined && secret !== undefined) return { kind: 'key', id, secret, source: 'options/environment' };
  if (id !== undefined || secret !== undefined) throw new UsageError('give both --access-key-id and --access-key-secret (or FERRY_ACCESS_KEY_ID and FERRY_ACCESS_KEY_SECRET)');
  const file = join(dataDirOf(args, env), BOOTSTRAP_FILE);
  if (existsSync(file)) {
    try {
      const body = JSON.parse(readFileSync(file, 'utf8')) as { accessKeyId?: string; accessKeySecret?: string };
      if (typeof body.accessKeyId === 'string' && typeof body.accessKeySecret === 'string') {
        return { kind: 'key', id: body.accessKeyId, secret: body.accessKeySecret, source: file };
      }
    } catch {
      throw new UsageError(`${file} is not a bootstrap key file`);
    }
  }
  return null;
}

export class FerryClient {
  constructor(
    readonly endpoint: string,
    readonly credentials: Credentials | null,
  ) {}

  static from(args: Args, env: NodeJS.ProcessEnv, endpoints: Endpoints): FerryClient {
    return new FerryClient(endpoints.api(), resolveCredentials(args, env));
  }

  /** Calls /api/v1<path>; answers the JSON body (null for 204) or throws ApiError. */
  async call(method: string, path: string, body?: unknown): Promise<unknown> {
    if (this.credentials === null) {
      throw new UsageError('no credentials: use --access-key-id/--access-key-secret, FERRY_ACCESS_KEY_ID/_SECRET, --token, or run on the machine with the data directory (--data-dir)');
    }
    const url = new URL(`/api/v1${path}`, this.endpoint);
    const text = body === undefined ? '' : JSON.stringify(body);
    // A 503 with Retry-After was not executed (a cluster node waiting for a JetStream leader
    // election to check the signature's nonce): sent again, signed anew, for a bounded time.
    const giveUpAt = Date.now() + RETRY_FOR_MS;
    let res: Response;
    for (;;) {
      res = await this.send(this.credentials, method, url, text, body !== undefined);
      const retryAfter = Number(res.headers.get('retry-after') ?? NaN);
      if (res.status !== 503 || !Number.isFinite(retryAfter) || Date.now() >= giveUpAt) break;
      await res.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(retryAfter * 1000, 100), 2000)));
    }
    if (res.status === 204) return null;
    const raw = await res.text();
    let json: unknown;
    try {
      json = raw === '' ? null : JSON.parse(raw);
    } catch {
      throw new ApiError(res.status, 'BadResponse', `unexpected answer (HTTP ${res.status}) from ${this.endpoint}: is it Ferry?`);
    }
    if (!res.ok) {
      const error = (json as { error?: { code?: string; message?: string; field?: string } } | null)?.error;
      throw new ApiError(res.status, error?.code ?? `HTTP${res.status}`, error?.message ?? `HTTP ${res.status}`, error?.field);
    }
    return json;
  }

  private async send(credentials: Credentials, method: string, url: URL, text: string, hasBody: boolean): Promise<Response> {
    const headers: Record<string, string> = hasBody ? { 'content-type': 'application/json' } : {};
    if (credentials.kind === 'bearer') headers['authorization'] = `Bearer ${credentials.token}`;
    else Object.assign(headers, signedHeaders({ method, path: url.pathname, query: url.search.slice(1), body: text }, credentials));
    try {
      return await fetch(url, { method, headers, ...(hasBody ? { body: text } : {}) });
    } catch (err) {
      const reason = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
      throw new ApiError(0, 'Unreachable', `cannot reach Ferry at ${this.endpoint}: ${reason} (is it running? give --endpoint, or --data-dir of the running Ferry)`);
    }
  }
}

export function enc(segment: string): string {
  return encodeURIComponent(segment);
}

export function query(params: Record<string, string | number | boolean | undefined>): string {
  const pairs = Object.entries(params).filter(([, v]) => v !== undefined) as Array<[string, string | number | boolean]>;
  return pairs.length === 0 ? '' : `?${new URLSearchParams(pairs.map(([k, v]) => [k, String(v)])).toString()}`;
}
