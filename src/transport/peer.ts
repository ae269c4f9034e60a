/**
 * A connection's PeerInfo as its stream keeps it: every idle connection is counted in bytes
 * (issue 15), and a PeerInfo object (56 B) plus its address string (32 B for "192.168.1.10")
 * cost each one 88 bytes for values read a few times in its life (authentication, logs, status
 * events, the clients API).
 *
 * What all peers of a listener (and, for WebSocket, of a Host name) have in common is one shared
 * PeerBase; what is per connection is two small integers in the stream: the IPv4 address packed
 * into a signed 32-bit integer (stored in place, no string), and the port with flag bits. Other
 * addresses (IPv6) stay strings. `PackedPeer.peer` builds an equal PeerInfo on each read.
 */
import type { PeerInfo, TransportKind } from './types.js';

/** The part of a PeerInfo that is not the remote address and port. */
export interface PeerBase {
  readonly transport: TransportKind;
  readonly listener: string;
  readonly serverName?: string | undefined;
  readonly clientCertCN?: string | undefined;
  readonly clientCertificates?: readonly Buffer[] | undefined;
}

/** Bits of the packed port field above the port (16 bits). */
const MAPPED = 1 << 16;
const PORT = 0xffff;
/** First flag bit a stream may use for itself in the same field. */
export const PEER_FREE_BIT = 1 << 17;

const V4_MAPPED_PREFIX = '::ffff:';
const DOT = 0x2e;
const ZERO = 0x30;

/**
 * A dotted quad as a signed 32-bit integer, or undefined when it is not one in canonical form.
 * Read by character codes: it runs once per accepted connection, and a RegExp match allocated an
 * array and four strings each time (issue 15 §16).
 */
export function packIpv4(address: string): number | undefined {
  const length = address.length;
  let n = 0;
  let parts = 0;
  let i = 0;
  while (i < length) {
    const start = i;
    let v = 0;
    while (i < length) {
      const digit = address.charCodeAt(i) - ZERO;
      if (digit < 0 || digit > 9) break;
      v = v * 10 + digit;
      i++;
    }
    const digits = i - start;
    // Canonical only ("010" would not round-trip): Node never gives another form.
    if (digits === 0 || digits > 3 || v > 255 || (digits > 1 && address.charCodeAt(start) === ZERO)) return undefined;
    n = (n << 8) | v;
    parts++;
    if (i === length) break;
    if (parts === 4 || address.charCodeAt(i) !== DOT) return undefined;
    i++;
    if (i === length) return undefined; // a trailing dot
  }
  return parts === 4 ? n | 0 : undefined;
}

export function unpackIpv4(n: number): string {
  return `${(n >>> 24) & 0xff}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/**
 * Shared bases, one per (transport, listener, server name): clients of one domain all send the
 * same Host / SNI name. Bounded; past it, each connection gets a base of its own.
 */
const bases = new Map<string, PeerBase>();
const MAX_SHARED_BASES = 1024;

/** The shared base found last: a storm's connections come in on one listener, so most accepts skip the key and lookup. */
let lastBase: PeerBase | null = null;

function baseOf(peer: PeerInfo): PeerBase {
  const { transport, listener, serverName, clientCertCN, clientCertificates } = peer;
  if (clientCertCN !== undefined || clientCertificates !== undefined) return { transport, listener, serverName, clientCertCN, clientCertificates };
  const last = lastBase;
  if (last !== null && last.listener === listener && last.transport === transport && last.serverName === serverName) return last;
  const key = `${transport}\u0000${listener}\u0000${serverName ?? ''}`;
  const shared = bases.get(key);
  if (shared !== undefined) return (lastBase = shared);
  const base: PeerBase = serverName === undefined ? { transport, listener } : { transport, listener, serverName };
  if (bases.size < MAX_SHARED_BASES) {
    bases.set(key, base);
    lastBase = base;
  }
  return base;
}

/**
 * Base class of the streams (SocketStream, WsStream): holds the peer packed. `portBits` holds
 * the port and PEER_FREE_BIT and above are the subclass's own flags (one field for both).
 */
export abstract class PackedPeer {
  private readonly base: PeerBase;
  private readonly address: number | string;
  protected portBits: number;

  constructor(peer: PeerInfo) {
    this.base = baseOf(peer);
    const { remoteAddress } = peer;
    let packed = packIpv4(remoteAddress);
    let mapped = 0;
    if (packed === undefined && remoteAddress.startsWith(V4_MAPPED_PREFIX)) {
      packed = packIpv4(remoteAddress.slice(V4_MAPPED_PREFIX.length));
      if (packed !== undefined) mapped = MAPPED;
    }
    this.address = packed ?? remoteAddress;
    this.portBits = (peer.remotePort & PORT) | mapped;
  }

  /** Who is connected: a new PeerInfo equal to the one the stream was made with, on each read. */
  get peer(): PeerInfo {
    const { base, address } = this;
    const bits = this.portBits;
    const remoteAddress = typeof address === 'string' ? address : (bits & MAPPED) !== 0 ? V4_MAPPED_PREFIX + unpackIpv4(address) : unpackIpv4(address);
    const remotePort = bits & PORT;
    const { transport, listener, serverName, clientCertCN, clientCertificates } = base;
    if (clientCertCN === undefined && clientCertificates === undefined) {
      return serverName === undefined ? { transport, remoteAddress, remotePort, listener } : { transport, remoteAddress, remotePort, listener, serverName };
    }
    return { transport, remoteAddress, remotePort, listener, serverName, clientCertCN, clientCertificates };
  }
}
