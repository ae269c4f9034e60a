/**
 * The console's only way to the server: /api/v1 with the session cookie (HttpOnly, so this
 * script never sees the token) and the session's CSRF token in X-Ferry-CSRF. The CSRF token
 * lives in memory only; a reload reads it again from GET /console/session.
 */
export interface Session {
  readonly accessKeyId: string;
  readonly csrf: string;
  readonly expiresAt: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf = '';
let onSignedOut: () => void = () => undefined;

/** Called when any call finds the session gone (expired, revoked, key disabled). */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

async function errorOf(response: Response): Promise<ApiError> {
  let code = `HTTP${response.status}`;
  let message = response.statusText;
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, code, message);
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { 'x-ferry-csrf': csrf, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401) onSignedOut();
    throw error;
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** Path segment, escaped (client ids and topics may hold anything). */
export function seg(value: string): string {
  return encodeURIComponent(value);
}

export function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
}

export async function currentSession(): Promise<Session | undefined> {
  const response = await fetch('/console/session', { credentials: 'same-origin', cache: 'no-store' });
  if (response.status !== 200) return undefined;
  const session = (await response.json()) as Session;
  csrf = session.csrf;
  return session;
}

export async function signIn(credentials: { accessKeyId: string; accessKeySecret: string } | { token: string }): Promise<Session> {
  const response = await fetch('/console/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify(credentials),
  });
  if (!response.ok) throw await errorOf(response);
  const session = (await response.json()) as Session;
  csrf = session.csrf;
  return session;
}

export async function signOut(): Promise<void> {
  await fetch('/console/session', { method: 'DELETE', headers: { 'x-ferry-csrf': csrf }, credentials: 'same-origin' });
  csrf = '';
}

export interface Page<T> {
  items: T[];
  total: number;
  next: string | null;
}
