/**
 * MQTT over WebSocket (`ws`) and secure WebSocket (`wss`), on a plain net / tls server.
 *
 * - The opening handshake is read off the socket here (http-head.ts, ws-handshake.ts), not by an
 *   http.Server: its parser objects and the fields it leaves on every upgraded socket cost each
 *   idle connection ~0.1 KB for its life and ~1 KB of garbage at connect (issue 15). What the HTTP
 *   server did is kept: request heads over Node's maxHeaderSize get 431, heads that take more than
 *   10 s get 408 (checked every second), malformed ones 400; plain HTTP requests get 426; only
 *   upgrades on the configured path (default /mqtt) are accepted, other paths get 404. Every
 *   refusal closes the connection. The listener serves nothing but WebSocket (the HTTP API has a
 *   port of its own).
 * - Subprotocol: `mqtt` is chosen, else `mqttv3.1`; a client that offers neither gets no
 *   subprotocol (and usually gives up).
 * - No extensions: permessage-deflate would cost memory per connection and CPU per message, so an
 *   offer of it is declined (not named in the answer).
 * - The framing is our own (ws-frames.ts): the `ws` library's objects cost ~9 KB per idle
 *   connection. A binary message may hold part of a packet or several packets; the decoder does
 *   not care. A text frame closes the connection [MQTT-6.0.0-1].
 */
import { maxHeaderSize } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsNetServer, type TLSSocket } from 'node:tls';
import { headEnd, hasToken, parseRequestHead } from './http-head.js';
import { socketPeer, type AcceptGate } from './tcp.js';
import { tlsPeer, tlsServerOptions, type TlsMaterial } from './tls.js';
import type { ConnectionSink, PeerInfo } from './types.js';
import { checkHandshake } from './ws-handshake.js';
import { prepareWsSocket, WsStream, type WsReceiver } from './ws-frames.js';

export { WS_HIGH_WATER_MARK, WsStream as WebSocketStream } from './ws-frames.js';
export const WS_SUBPROTOCOLS = ['mqtt', 'mqttv3.1'] as const;

/**
 * Host names seen, each kept once: clients of one domain all send the same Host, and a copy per
 * connection would cost every idle WebSocket client ~30 bytes. Bounded; past it, names are not shared.
 */
const hostNames = new Map<string, string>();
const MAX_SHARED_HOST_NAMES = 256;

/** Host header without port, lowercased ('[::1]:8083' → '::1'). */
export function hostName(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const h = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : (host.split(':')[0] ?? '');
  if (h === '') return undefined;
  const name = h.toLowerCase();
  const shared = hostNames.get(name);
  if (shared !== undefined) return shared;
  if (hostNames.size < MAX_SHARED_HOST_NAMES) hostNames.set(name, name);
  return name;
}

function pickProtocol(offered: Set<string>): string | false {
  for (const p of WS_SUBPROTOCOLS) if (offered.has(p)) return p;
  return false;
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

const PLAIN_HTTP_BODY = 'MQTT over WebSocket: connect with a WebSocket client\n';

/** Answer with `status` and close (flush, FIN). */
function refuse(socket: Socket, status: string, headers = '', body = ''): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

export interface WsServerOptions {
  name: string;
  path: string;
  /** Largest WebSocket message accepted (over it: close 1009), bytes. */
  maxMessageBytes: number;
  /** Present for wss. */
  tls?: TlsMaterial;
  /** Time a client has to send its request head, ms (default 10 s; 408 after it). */
  headersTimeoutMs?: number;
}

const WS_HEADERS_TIMEOUT_MS = 10_000;
/** How often handshakes are checked against their deadline (Node's http.Server checks every 30 s by default). */
const HANDSHAKE_CHECK_MS = 1_000;

/** What every handshake of one listener shares. */
interface Upgrader {
  readonly options: WsServerOptions;
  readonly sink: ConnectionSink;
  readonly gate: AcceptGate;
  /** Handshakes not done yet, for the deadline check. */
  readonly pending: Set<Handshake>;
}

/**
 * One socket's opening handshake: collects its bytes up to the end of the request head, then
 * answers it; on success the socket's slot gets the WsStream (ws-frames.ts). Short-lived.
 */
class Handshake implements WsReceiver {
  /** Socket slots expect a stream's handler; a handshake has none (its close needs no telling). */
  readonly handler = undefined;
  private buf: Buffer | null = null;
  private done = false;
  readonly deadline: number;

  constructor(
    readonly socket: Socket,
    private readonly up: Upgrader,
  ) {
    this.deadline = Date.now() + (up.options.headersTimeoutMs ?? WS_HEADERS_TIMEOUT_MS);
    up.pending.add(this);
  }

  receive(chunk: Buffer): void {
    if (this.done) return;
    const buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    const end = headEnd(buf);
    if (end === -1 || end > maxHeaderSize) {
      if (buf.length > maxHeaderSize) return this.finish('431 Request Header Fields Too Large');
      this.buf = buf;
      return;
    }
    this.buf = null;
    this.upgrade(buf.toString('latin1', 0, end - 4), buf.subarray(end));
  }

  /** The deadline passed: 408, as http.Server answers it. */
  expire(): void {
    this.finish('408 Request Timeout');
  }

  private finish(status: string, headers = '', body = ''): void {
    this.done = true;
    this.buf = null;
    this.up.pending.delete(this);
    this.up.gate.release(this.socket);
    if (status !== '') refuse(this.socket, status, headers, body);
  }

  private upgrade(head: string, rest: Buffer): void {
    const { socket, up } = this;
    const { options, gate, sink } = up;
    const req = parseRequestHead(head);
    if (req === undefined) return this.finish('400 Bad Request');
    // As http.Server: an upgrade is a request with an Upgrade field that Connection names.
    if (req.headers['upgrade'] === undefined || !hasToken(req.headers['connection'], 'upgrade')) {
      return this.finish('426 Upgrade Required', 'Content-Type: text/plain\r\nUpgrade: websocket\r\n', PLAIN_HTTP_BODY);
    }
    if (pathOf(req.url) !== options.path) return this.finish('404 Not Found');
    const verdict = checkHandshake(req, pickProtocol);
    if (!verdict.ok) return this.finish(verdict.status, verdict.headers);
    this.finish('');
    if (!gate.accepting) return void socket.destroy();
    const host = hostName(req.headers['host']);
    const peer: PeerInfo | undefined =
      options.tls === undefined ? socketPeer(socket, 'ws', options.name, host) : tlsPeer(socket as TLSSocket, 'wss', options.name, host, options.tls.deviceCertificates === true);
    if (peer === undefined || !socket.writable) return void socket.destroy();
    socket.write(verdict.response);
    sink.accept(new WsStream(socket, peer, options.maxMessageBytes, rest.length > 0 ? rest : null));
  }
}

export function createWsServer(options: WsServerOptions, sink: ConnectionSink, gate: AcceptGate): Server {
  const up: Upgrader = { options, sink, gate, pending: new Set() };
  const server = options.tls === undefined ? createNetServer({ noDelay: true }) : createTlsNetServer({ ...tlsServerOptions(options.tls), noDelay: true });
  const accepted = (socket: Socket): void => {
    if (!gate.accepting) return void socket.destroy();
    // Held while the handshake lasts: closing the listener ends handshakes in progress.
    gate.track(socket);
    gate.hold(socket);
    prepareWsSocket(socket, new Handshake(socket, up));
  };
  if (options.tls === undefined) server.on('connection', accepted);
  else server.on('secureConnection', accepted);

  server.once('listening', () => {
    const check = setInterval(() => {
      const now = Date.now();
      for (const h of up.pending) {
        if (h.socket.destroyed) up.pending.delete(h);
        else if (now >= h.deadline) h.expire();
      }
    }, HANDSHAKE_CHECK_MS);
    check.unref();
    server.once('close', () => clearInterval(check));
  });
  return server;
}
