/** A signed (or bearer) REST client for tests, doing what docs/api.md tells users to do. */
import { signedHeaders } from '../../../src/api/rest/signing.js';

export interface RestAnswer {
  status: number;
  body: Record<string, unknown> & { items?: Array<Record<string, unknown>>; error?: { code: string; message: string; field?: string } };
}

export type Auth = { id: string; secret: string } | { bearer: string } | null;

export async function rest(endpoint: string, auth: Auth, method: string, path: string, body?: unknown): Promise<RestAnswer> {
  const text = body === undefined ? '' : JSON.stringify(body);
  const url = new URL(`/api/v1${path}`, endpoint);
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  if (auth !== null && 'bearer' in auth) headers['authorization'] = `Bearer ${auth.bearer}`;
  else if (auth !== null) Object.assign(headers, signedHeaders({ method, path: url.pathname, query: url.search.slice(1), body: text }, auth));
  const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: text }) });
  const raw = await res.text();
  return { status: res.status, body: raw === '' ? {} : (JSON.parse(raw) as RestAnswer['body']) };
}
