/**
 * What the Node floors (connect-floor.ts, forward-floor.ts) share: they run in place of a Ferry build,
 * so they take `ferry start`'s arguments and read only --mqtt-port, --bind and the TLS listener's
 * --tls-port/--tls-cert/--tls-key; fixed replies; listeners with Ferry's backlog (and Ferry's TLS
 * options, for connect_storm_tls_*); a clean exit on the harness's SIGTERM (so --cpu-prof writes its profile).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

export const CONNACK = Buffer.from([0x20, 2, 0, 0]);
export const PINGRESP = Buffer.from([0xd0, 0]);

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

/**
 * Listens where the harness asked, with TCP_NODELAY, and exits 0 on SIGTERM/SIGINT. `onListening`
 * sees the plain listener once it listens (before any connection is accepted).
 */
export function serveFloor(onConnection: (socket: Socket) => void, onListening?: (server: Server) => void): void {
  const port = Number(arg('--mqtt-port') ?? 1883);
  const host = arg('--bind') ?? '127.0.0.1';
  const server = createServer({ noDelay: true }, onConnection);
  server.listen({ port, host, backlog: 4096 }, () => onListening?.(server));
  const tlsPort = Number(arg('--tls-port') ?? -1);
  const cert = arg('--tls-cert');
  const key = arg('--tls-key');
  if (tlsPort > 0 && cert !== undefined && key !== undefined) {
    // The options of Ferry's TLS listener (src/transport/tls.ts tlsServerOptions, no client certificates).
    const options = { cert: readFileSync(cert), key: readFileSync(key), minVersion: 'TLSv1.2' as const, handshakeTimeout: 10_000, noDelay: true };
    createTlsServer(options, onConnection).listen({ port: tlsPort, host, backlog: 4096 });
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
}
