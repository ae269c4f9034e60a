/**
 * The HTTP port against slow and greedy clients (docs/security.md): the request headers must
 * arrive within `headersTimeoutMs` and the whole request within `requestTimeoutMs` (Node closes
 * slower connections with 408, checked every second instead of Node's default 30 s), idle
 * keep-alive connections close after 5 s, and one client address may hold at most
 * `maxConnectionsPerAddress` open connections; more are closed as soon as they are accepted.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface HttpLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxConnectionsPerAddress: number;
  /** Told about each connection refused by the per-address cap (metrics). */
  readonly onRefused?: () => void;
  /** Told about each connection closed by the header or request timeout (metrics). */
  readonly onTimeout?: () => void;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, maxConnectionsPerAddress: 64 };

/** How often Node checks the header and request timeouts, ms. */
const CHECK_INTERVAL_MS = 1000;
const KEEP_ALIVE_TIMEOUT_MS = 5000;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** An http.Server with the limits applied (Fastify's serverFactory). */
export function limitedHttpServer(handler: Handler, limits: HttpLimits): Server {
  const server = createServer(
    {
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: CHECK_INTERVAL_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    },
    handler,
  );
  // Fastify answers the client error (408); this listener only counts it.
  server.on('clientError', (err: Error & { code?: string }) => {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') limits.onTimeout?.();
  });
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const count = open.get(address) ?? 0;
    if (count >= limits.maxConnectionsPerAddress) {
      limits.onRefused?.();
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
  return server;
}
