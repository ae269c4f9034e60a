/**
 * The head of an HTTP/1.x request (request line and header fields, RFC 9112 §2–5), parsed from
 * bytes, for the WebSocket listeners (ws.ts): they read the opening handshake off a plain socket
 * instead of running an http.Server, whose parser objects and fields on every upgraded socket cost
 * each idle WebSocket connection ~0.1 KB for its life and ~1 KB of garbage at connect (issue 15).
 *
 * Strict where a lax parse could be abused, as Node's llhttp is: a bare CR or LF, a field line
 * folded onto the previous one, whitespace before the colon, a name that is not a token, a control
 * character in a value are all malformed (400). Repeated fields are joined with ", " except those
 * that can only be given once, where the first counts (the list Node's IncomingMessage uses).
 */

export interface RequestHead {
  readonly method: string;
  /** The request target as sent (path and query). */
  readonly url: string;
  /** HTTP minor version (1.0 → 0, 1.1 → 1). */
  readonly minor: number;
  /** Field values by lowercased name. */
  readonly headers: Readonly<Record<string, string | undefined>>;
}

/** An HTTP token (RFC 9110 §5.6.2). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/1\.([01])$/;
/** Visible characters, space and tab only (no CR, LF, NUL or other controls). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Fields whose repeats Node drops (the first counts) instead of joining. */
const SINGLE = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since', 'if-unmodified-since',
  'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent',
]);

/** End of the head in `buf` (the index just past the empty line), or -1 if it is not complete. */
export function headEnd(buf: Buffer): number {
  const at = buf.indexOf('\r\n\r\n', 0, 'latin1');
  return at === -1 ? -1 : at + 4;
}

/** Parses a complete head (without its final empty line); undefined if it is malformed. */
export function parseRequestHead(text: string): RequestHead | undefined {
  const lines = text.split('\r\n');
  const requestLine = REQUEST_LINE.exec(lines[0] ?? '');
  if (requestLine === null) return undefined;
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return undefined; // also catches obs-fold (leading space) and space before ':'
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!FIELD_VALUE.test(value)) return undefined; // a bare CR or LF, NUL, other controls
    const key = name.toLowerCase();
    const seen = headers[key];
    if (seen === undefined) headers[key] = value;
    else if (!SINGLE.has(key)) headers[key] = `${seen}, ${value}`;
  }
  return { method: requestLine[1]!, url: requestLine[2]!, minor: Number(requestLine[3]), headers };
}

/** True if a comma-separated field value holds `token` (case-insensitive), e.g. Connection: keep-alive, Upgrade. */
export function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  for (const item of value.split(',')) if (item.trim().toLowerCase() === token) return true;
  return false;
}
