/**
 * MQTT over WebSocket (`ws`) and secure WebSocket (`wss`), on a plain http/https server.
 *
 * - Only upgrades on the configured path (default /mqtt) are accepted; other paths get 404 and
 *   plain HTTP requests get 426. The handshake is checked in ws-handshake.ts, the framing is our
 *   own (ws-frames.ts): the `ws` library's objects cost ~9 KB per idle connection.
 * - Subprotocol: `mqtt` is chosen, else `mqttv3.1`; a client that offers neither gets no
 *   subprotocol (and usually gives up).
 * - No extensions: permessage-deflate would cost memory per connection and CPU per message, so an
 *   offer of it is declined (not named in the answer).
 * - A binary message may hold part of a packet or several packets; the decoder does not care.
 *   A text frame closes the connection [MQTT-6.0.0-1].
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { socketPeer, type AcceptGate } from './tcp.js';
import { tlsPeer, tlsServerOptions, type TlsMaterial } from './tls.js';
import type { ConnectionSink, PeerInfo } from './types.js';
import { checkHandshake } from './ws-handshake.js';
import { WsStream } from './ws-frames.js';

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

function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function refuse(socket: Socket, status: string, headers = ''): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n${headers}Content-Length: 0\r\n\r\n`);
}

function notWebSocket(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket', connection: 'close' });
  res.end('MQTT over WebSocket: connect with a WebSocket client\n');
}

export interface WsServerOptions {
  name: string;
  path: string;
  /** Largest WebSocket message accepted (over it: close 1009), bytes. */
  maxMessageBytes: number;
  /** Present for wss. */
  tls?: TlsMaterial;
}

const WS_HEADERS_TIMEOUT_MS = 10_000;

export function createWsServer(options: WsServerOptions, sink: ConnectionSink, gate: AcceptGate): Server {
  const { name, path, tls, maxMessageBytes } = options;
  // A WebSocket handshake that trickles its headers is cut after 10 s (checked every second), not
  // Node's default 60 s checked every 30 s; upgraded connections are the broker's from then on.
  const slow = { headersTimeout: WS_HEADERS_TIMEOUT_MS, connectionsCheckingInterval: 1000 };
  const server = tls === undefined ? createHttpServer(slow, notWebSocket) : createHttpsServer({ ...tlsServerOptions(tls), ...slow }, notWebSocket);

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (!gate.accepting) return void socket.destroy();
    if (pathOf(req.url) !== path) return refuse(socket, '404 Not Found');
    const verdict = checkHandshake(req, pickProtocol);
    if (!verdict.ok) return refuse(socket, verdict.status, verdict.headers);
    const host = hostName(req.headers.host);
    let peer: PeerInfo | undefined;
    if (tls === undefined) {
      peer = socketPeer(socket, 'ws', name, host);
    } else {
      peer = tlsPeer(socket as TLSSocket, 'wss', name, host, tls.deviceCertificates === true);
    }
    if (peer === undefined || !socket.writable) return void socket.destroy();
    socket.write(verdict.response);
    // The HTTP server's sockets are half-open capable: a FIN from the client ends our side too
    // (Node's own 'end' handling then does it; WsStream needs no 'end' listener of its own).
    socket.allowHalfOpen = false;
    gate.track(socket);
    sink.accept(new WsStream(socket, peer, maxMessageBytes, head.length > 0 ? head : null));
  });
  return server;
}
