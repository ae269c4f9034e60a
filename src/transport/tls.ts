/**
 * MQTT over TLS. Server certificate/key (and optionally a CA for client certificates) come from
 * files read once at startup. With requestClientCert, clients must present a certificate signed
 * by the CA (mutual TLS); its subject CN is passed on in PeerInfo.clientCertCN. The SNI server
 * name is passed on as PeerInfo.serverName (used to find the client's instance).
 */
import type { Server } from 'node:net';
import { createServer, type TlsOptions, type TLSSocket } from 'node:tls';
import { SocketStream, socketPeer, type AcceptGate } from './tcp.js';
import type { ConnectionSink, PeerInfo } from './types.js';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  /** Require and verify a client certificate against `ca`. */
  requestClientCert: boolean;
}

/** Handshakes that take longer than this are dropped (bounds half-open TLS connections). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export function tlsServerOptions(tls: TlsMaterial): TlsOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    requestCert: tls.requestClientCert,
    rejectUnauthorized: tls.requestClientCert,
    minVersion: 'TLSv1.2',
    handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
  };
}

/** Subject CN of a verified client certificate, if there is one. */
export function verifiedClientCN(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const cn: unknown = socket.getPeerCertificate().subject?.CN;
  if (typeof cn === 'string') return cn;
  if (Array.isArray(cn) && typeof cn[0] === 'string') return cn[0];
  return undefined;
}

/** PeerInfo for a TLS socket: SNI name and verified client certificate CN when present. */
export function tlsPeer(
  socket: TLSSocket,
  transport: PeerInfo['transport'],
  listener: string,
  serverName?: string,
): PeerInfo | undefined {
  const base = socketPeer(socket, transport, listener);
  if (base === undefined) return undefined;
  const name = serverName ?? (socket.servername || undefined);
  const cn = verifiedClientCN(socket);
  if (name === undefined && cn === undefined) return base;
  return {
    ...base,
    ...(name === undefined ? {} : { serverName: name }),
    ...(cn === undefined ? {} : { clientCertCN: cn }),
  };
}

export function createTlsServer(
  name: string,
  tls: TlsMaterial,
  sink: ConnectionSink,
  gate: AcceptGate,
  onClientError: (error: Error) => void,
): Server {
  const server = createServer(tlsServerOptions(tls));
  server.on('secureConnection', (socket: TLSSocket) => {
    const peer = tlsPeer(socket, 'tls', name);
    if (!gate.accepting || peer === undefined) {
      socket.destroy();
      return;
    }
    gate.track(socket);
    sink.accept(new SocketStream(socket, peer));
  });
  server.on('tlsClientError', onClientError);
  return server;
}
