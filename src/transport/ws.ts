/**
 * MQTT over WebSocket (`ws`) and secure WebSocket (`wss`), on a plain http/https server.
 *
 * - Only upgrades on the configured path (default /mqtt) are accepted; other paths get 404 and
 *   plain HTTP requests get 426.
 * - Subprotocol: `mqtt` is chosen, else `mqttv3.1`; a client that offers neither gets no
 *   subprotocol (and usually gives up).
 * - permessage-deflate is off: it costs memory per connection and CPU per message.
 * - Each binary message is handed to the broker as one chunk (a message may hold part of a packet
 *   or several packets; the decoder does not care). A text frame closes the connection
 *   [MQTT-6.0.0-1].
 * - Backpressure: write() returns false once ws.bufferedAmount reaches WS_HIGH_WATER_MARK; onDrain
 *   fires when the underlying socket has drained after that.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { socketPeer, type AcceptGate } from './tcp.js';
import { tlsPeer, tlsServerOptions, type TlsMaterial } from './tls.js';
import type { ByteStream, ConnectionSink, PeerInfo, StreamHandler } from './types.js';

export const WS_HIGH_WATER_MARK = 64 * 1024;
export const WS_SUBPROTOCOLS = ['mqtt', 'mqttv3.1'] as const;

const kError = Symbol('ferry.transport.error');
const kStream = Symbol('ferry.transport.stream');
type Slots = { [kError]?: Error; [kStream]?: WebSocketStream };

function noteError(this: unknown, error: Error): void {
  (this as Slots)[kError] ??= error;
}

// Shared listeners, no closures per connection: `this` is the WebSocket (message, close) or the
// raw socket under it (drain); both carry the stream in a symbol slot.
function wsMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const stream = (this as WebSocket & Slots)[kStream];
  // binaryType is 'nodebuffer', so binary messages arrive as one Buffer.
  if (isBinary) stream?.handler?.onData(data as Buffer);
  else this.close(1003, 'MQTT requires binary frames'); // [MQTT-6.0.0-1]
}
function wsClose(this: WebSocket): void {
  const ws = this as WebSocket & Slots;
  ws[kStream]?.handler?.onClose(ws[kError]);
}
function socketDrain(this: Socket): void {
  (this as Socket & Slots)[kStream]?.drained();
}

export class WebSocketStream implements ByteStream {
  handler: StreamHandler | undefined;
  private needDrain = false;
  private drainHooked = false;

  constructor(
    private readonly ws: WebSocket,
    /** The raw socket under `ws` (its 'drain' tells us when ws's buffer emptied). */
    private readonly socket: Socket,
    readonly peer: PeerInfo,
  ) {
    ws.on('error', noteError);
  }

  get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  write(data: Buffer): boolean {
    this.ws.send(data);
    if (this.ws.bufferedAmount < WS_HIGH_WATER_MARK) return true;
    this.needDrain = true;
    if (!this.drainHooked) {
      this.drainHooked = true;
      (this.socket as Socket & Slots)[kStream] = this;
      this.socket.on('drain', socketDrain);
    }
    return false;
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  end(): void {
    this.ws.close(1000);
  }

  destroy(): void {
    this.ws.terminate();
  }

  attach(handler: StreamHandler): void {
    const ws = this.ws as WebSocket & Slots;
    this.handler = handler;
    ws[kStream] = this;
    ws.on('message', wsMessage);
    if (ws.readyState === ws.CLOSED) {
      queueMicrotask(() => handler.onClose(ws[kError]));
      return;
    }
    ws.on('close', wsClose);
  }

  /** The raw socket drained: tell the handler once ws's own buffer is below the mark too. */
  drained(): void {
    if (!this.needDrain || this.ws.bufferedAmount >= WS_HIGH_WATER_MARK) return;
    this.needDrain = false;
    this.handler?.onDrain();
  }
}

/** Host header without port, lowercased ('[::1]:8083' → '::1'). */
export function hostName(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const h = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : (host.split(':')[0] ?? '');
  return h === '' ? undefined : h.toLowerCase();
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

function refuse(socket: Socket, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function notWebSocket(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket', connection: 'close' });
  res.end('MQTT over WebSocket: connect with a WebSocket client\n');
}

export interface WsServerOptions {
  name: string;
  path: string;
  /** Largest WebSocket message accepted (ws maxPayload), bytes. */
  maxMessageBytes: number;
  /** Present for wss. */
  tls?: TlsMaterial;
}

const WS_HEADERS_TIMEOUT_MS = 10_000;

export function createWsServer(options: WsServerOptions, sink: ConnectionSink, gate: AcceptGate): Server {
  const { name, path, tls } = options;
  // A WebSocket handshake that trickles its headers is cut after 10 s (checked every second), not
  // Node's default 60 s checked every 30 s; upgraded connections are the broker's from then on.
  const slow = { headersTimeout: WS_HEADERS_TIMEOUT_MS, connectionsCheckingInterval: 1000 };
  const server = tls === undefined ? createHttpServer(slow, notWebSocket) : createHttpsServer({ ...tlsServerOptions(tls), ...slow }, notWebSocket);
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    clientTracking: false,
    maxPayload: options.maxMessageBytes,
    handleProtocols: pickProtocol,
  });

  const accept = (ws: WebSocket, req: IncomingMessage): void => {
    const socket = req.socket;
    const host = hostName(req.headers.host);
    let peer: PeerInfo | undefined;
    if (tls === undefined) {
      const base = socketPeer(socket, 'ws', name);
      peer = base && host !== undefined ? { ...base, serverName: host } : base;
    } else {
      peer = tlsPeer(socket as TLSSocket, 'wss', name, host, tls.deviceCertificates === true);
    }
    if (!gate.accepting || peer === undefined) {
      ws.terminate();
      return;
    }
    gate.track(socket);
    sink.accept(new WebSocketStream(ws, socket, peer));
  };

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (!gate.accepting) return void socket.destroy();
    if (pathOf(req.url) !== path) return refuse(socket, '404 Not Found');
    wss.handleUpgrade(req, socket, head, accept);
  });
  return server;
}
