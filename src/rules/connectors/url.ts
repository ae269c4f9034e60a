/**
 * Target/source URLs: parsing with clear errors, typed access to query parameters, and redaction.
 * A URL may carry a password (`amqp://user:pass@host`) or a token in its query; whatever is shown
 * (logs, errors, stats, the API) goes through redactUrl() / redactText() first.
 */
import { ConnectorUrlError } from './errors.js';

/** Query parameters whose values are secrets wherever they appear. */
const SECRET_PARAMS = /^(password|pass|secret|token|access_?token|api_?key|key|auth|authorization|sig|signature)$/i;
const MASK = '***';

/** Parse an absolute URL; the message names the problem without echoing a credential. */
export function parseUrl(input: string): URL {
  if (typeof input !== 'string' || input.trim() === '') throw new ConnectorUrlError('the URL is empty', 'url');
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new ConnectorUrlError(`not a valid URL: ${redactUnparsable(input)}`, 'url');
  }
  return url;
}

/** The scheme without the colon, lower case (`amqp`, `nats`, `redis`, `https`, ...). */
export function schemeOf(url: URL): string {
  return url.protocol.replace(/:$/, '').toLowerCase();
}

/** The URL with its password and secret query values masked. Never throws. */
export function redactUrl(input: string | URL): string {
  let url: URL;
  try {
    url = typeof input === 'string' ? new URL(input) : new URL(input.href);
  } catch {
    return redactUnparsable(String(input));
  }
  if (url.password !== '') url.password = MASK;
  for (const key of [...url.searchParams.keys()]) {
    if (SECRET_PARAMS.test(key)) url.searchParams.set(key, MASK);
  }
  // URLSearchParams.set re-encodes '***' as '***' (safe chars), so the string stays readable.
  return url.href;
}

/** Replace every occurrence of the URL's secrets inside a free text (e.g. a library's error). */
export function redactText(text: string, url: URL): string {
  let out = text;
  const secrets = new Set<string>();
  if (url.password !== '') {
    secrets.add(url.password);
    secrets.add(safeDecode(url.password));
  }
  for (const [key, value] of url.searchParams) if (SECRET_PARAMS.test(key) && value !== '') secrets.add(value);
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join(MASK);
  return out;
}

/** Something that is not even a URL: keep the scheme and host-ish start, drop anything after '@'. */
function redactUnparsable(input: string): string {
  const at = input.lastIndexOf('@');
  const shown = at >= 0 ? `${input.slice(0, input.indexOf('//') + 2)}${MASK}@${input.slice(at + 1)}` : input;
  return JSON.stringify(shown.length > 200 ? `${shown.slice(0, 200)}…` : shown);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Typed access to a connector URL's query: every parameter must be read (or explicitly allowed),
 * so a typo such as `?stram=` is an error instead of a silently ignored setting.
 */
export class UrlParams {
  private readonly seen = new Set<string>();

  constructor(
    readonly url: URL,
    private readonly what: string,
  ) {
    for (const key of url.searchParams.keys()) {
      if (url.searchParams.getAll(key).length > 1) throw this.error(key, `parameter "${key}" is given more than once`);
    }
  }

  /** A parameter that must be present and non-empty. */
  required(name: string): string {
    const value = this.optional(name);
    if (value === undefined || value === '') throw this.error(name, `needs the parameter "${name}" (e.g. ?${name}=...)`);
    return value;
  }

  optional(name: string): string | undefined {
    this.seen.add(name);
    return this.url.searchParams.get(name) ?? undefined;
  }

  /** A positive integer parameter within [min, max]. */
  integer(name: string, min: number, max: number): number | undefined {
    const raw = this.optional(name);
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw this.error(name, `parameter "${name}" must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return Number(raw);
  }

  /** Fail on any parameter nobody asked for. */
  rejectUnknown(): void {
    for (const key of this.url.searchParams.keys()) {
      if (!this.seen.has(key)) {
        const known = [...this.seen].sort().join(', ') || 'none';
        throw this.error(key, `unknown parameter "${key}" (known: ${known})`);
      }
    }
  }

  error(part: string, message: string): ConnectorUrlError {
    return new ConnectorUrlError(`${this.what} ${redactUrl(this.url)}: ${message}`, part);
  }
}
