/**
 * MQTT over TLS. Server certificate/key (and optionally a CA for client certificates) come from
 * files read once at startup. With requestClientCert, clients must present a certificate signed
 * by the CA (mutual TLS); its subject CN is passed on in PeerInfo.clientCertCN. The SNI server
 * name is passed on as PeerInfo.serverName (used to find the client's instance).
 *
 * With deviceCertificates, the listener asks every client for a certificate without verifying it
 * in the handshake (the CAs are registered at run time, per instance): the presented chain goes
 * up in PeerInfo.clientCertificates and authentication verifies it (X.509 device identity).
 */
import type { Server } from 'node:net';
import { createServer, type DetailedPeerCertificate, type TlsOptions, type TLSSocket } from 'node:tls';
import { SocketStream, peerInfo, socketPeer, type AcceptGate } from './tcp.js';
import type { ConnectionSink, PeerInfo } from './types.js';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  /** Require and verify a client certificate against `ca`. */
  requestClientCert: boolean;
  /** Ask for a client certificate and pass it on unverified (X.509 device identity, src/x509). */
  deviceCertificates?: boolean;
}

/** Handshakes that take longer than this are dropped (bounds half-open TLS connections). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export function tlsServerOptions(tls: TlsMaterial): TlsOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    requestCert: tls.requestClientCert || tls.deviceCertificates === true,
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

/** The chain a client presented, DER, its own certificate first (empty when it sent none). */
export function presentedChain(socket: TLSSocket): Buffer[] {
  const chain: Buffer[] = [];
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  // The last certificate of the chain names itself as its issuer.
  while (cert !== undefined && cert.raw !== undefined && chain.length < 8) {
    chain.push(cert.raw);
    if (cert.issuerCertificate === undefined || cert.issuerCertificate === cert || cert.issuerCertificate.raw?.equals(cert.raw)) break;
    cert = cert.issuerCertificate;
  }
  return chain;
}

/** PeerInfo for a TLS socket: SNI name and verified client certificate CN when present. */
export function tlsPeer(
  socket: TLSSocket,
  transport: PeerInfo['transport'],
  listener: string,
  serverName?: string,
  deviceCertificates = false,
): PeerInfo | undefined {
  const base = socketPeer(socket, transport, listener);
  if (base === undefined) return undefined;
  const name = serverName ?? (socket.servername || undefined);
  const cn = verifiedClientCN(socket);
  const chain = deviceCertificates ? presentedChain(socket) : [];
  if (name === undefined && cn === undefined && chain.length === 0) return base;
  return peerInfo(base.transport, base.remoteAddress, base.remotePort, base.listener, name, cn, chain.length === 0 ? undefined : chain);
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
    const peer = tlsPeer(socket, 'tls', name, undefined, tls.deviceCertificates === true);
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
