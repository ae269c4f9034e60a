/**
 * The server side of the WebSocket opening handshake (RFC 6455 §4.2), on a request head read by ws.ts.
 *
 * Checks what the `ws` library checks before it answers 101 (method GET, `Upgrade: websocket`, a
 * well-formed `Sec-WebSocket-Key`, version 13 or 8, a parseable `Sec-WebSocket-Protocol` list) and
 * answers with the accept key and the chosen subprotocol. Extensions (permessage-deflate) are
 * declined the way the RFC provides: the answer names none, so the client must not use any; a
 * frame that uses one anyway (RSV1) is a protocol error in ws-frames.ts.
 */
import { createHash } from 'node:crypto';
import type { RequestHead } from './http-head.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** An HTTP token (RFC 7230 §3.2.6). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export type HandshakeVerdict =
  | { readonly ok: true; readonly response: string }
  | { readonly ok: false; readonly status: string; readonly headers?: string };

/** Offered subprotocols, or undefined if the header is malformed (empty item, not a token, repeated). */
export function parseSubprotocols(header: string | undefined): Set<string> | undefined {
  const offered = new Set<string>();
  if (header === undefined) return offered;
  for (const raw of header.split(',')) {
    const p = raw.trim();
    if (!TOKEN.test(p) || offered.has(p)) return undefined;
    offered.add(p);
  }
  return offered;
}

export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

/**
 * Validate an upgrade request; on success the complete 101 response to write.
 * @param choose picks the subprotocol from the offered ones (false: none).
 */
export function checkHandshake(req: Pick<RequestHead, 'method' | 'headers'>, choose: (offered: Set<string>) => string | false): HandshakeVerdict {
  if (req.method !== 'GET') return { ok: false, status: '405 Method Not Allowed' };
  if (req.headers['upgrade']?.toLowerCase() !== 'websocket') return { ok: false, status: '400 Bad Request' };
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || !KEY.test(key)) return { ok: false, status: '400 Bad Request' };
  const version = req.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') {
    // RFC 6455 §4.4: name the versions this server speaks.
    return { ok: false, status: '426 Upgrade Required', headers: 'Sec-WebSocket-Version: 13, 8\r\n' };
  }
  const offered = parseSubprotocols(req.headers['sec-websocket-protocol']);
  if (offered === undefined) return { ok: false, status: '400 Bad Request' };
  const protocol = offered.size > 0 ? choose(offered) : false;
  return {
    ok: true,
    response:
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n` +
      (protocol === false ? '' : `Sec-WebSocket-Protocol: ${protocol}\r\n`) +
      '\r\n',
  };
}
