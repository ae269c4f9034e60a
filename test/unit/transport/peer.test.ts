import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PackedPeer, packIpv4, unpackIpv4 } from '../../../src/transport/peer.js';
import type { PeerInfo } from '../../../src/transport/types.js';

class Probe extends PackedPeer {
  setFlag(bit: number): void {
    this.portBits |= bit;
  }
}

test('transport peer - dotted quads pack into a signed 32-bit integer and back', () => {
  for (const a of ['0.0.0.0', '127.0.0.1', '10.1.2.3', '192.168.1.10', '255.255.255.255', '128.0.0.1']) {
    const n = packIpv4(a);
    assert.equal(typeof n, 'number', a);
    assert.equal(n! | 0, n, `${a} is an int32`);
    assert.equal(unpackIpv4(n!), a);
  }
  for (const a of ['::1', '1.2.3', '1.2.3.256', '01.2.3.4', '1.2.3.4.5', 'localhost', '']) assert.equal(packIpv4(a), undefined, a);
});

test('transport peer - packIpv4 agrees with a dotted-quad pattern on edge cases and random strings', () => {
  // The pattern packIpv4 replaced (a RegExp match per accepted connection): canonical quads only.
  const reference = (address: string): number | undefined => {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
    if (m === null) return undefined;
    let n = 0;
    for (let i = 1; i <= 4; i++) {
      const part = m[i]!;
      const v = Number(part);
      if (v > 255 || (part.length > 1 && part[0] === '0')) return undefined;
      n = (n << 8) | v;
    }
    return n | 0;
  };
  const edges = ['1.2.3.4.', '.1.2.3', '1..2.3', '1.2.3.4 ', ' 1.2.3.4', '+1.2.3.4', '1.2.3.-4', '0.0.0.00', '1234.1.1.1', '1.2.3.0', '0.0.0.0', '9.99.199.255', '256.1.1.1', '1.2.3.4/8', '１.2.3.4'];
  for (const a of edges) assert.equal(packIpv4(a), reference(a), a);
  const alphabet = '0123456789..  :fa-';
  let seed = 7;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648);
  for (let k = 0; k < 20000; k++) {
    let a = '';
    const len = next() % 17;
    for (let j = 0; j < len; j++) a += alphabet[next() % alphabet.length];
    assert.equal(packIpv4(a), reference(a), JSON.stringify(a));
  }
  for (let k = 0; k < 2000; k++) {
    const a = [next() % 300, next() % 300, next() % 300, next() % 300].join('.');
    assert.equal(packIpv4(a), reference(a), a);
  }
});

test('transport peer - a packed peer reads back equal to the PeerInfo it was made with', () => {
  const peers: PeerInfo[] = [
    { transport: 'tcp', remoteAddress: '192.168.1.10', remotePort: 51234, listener: 'mqtt' },
    { transport: 'tcp', remoteAddress: '::ffff:10.0.0.7', remotePort: 1, listener: 'mqtt' },
    { transport: 'tcp', remoteAddress: '2001:db8::1', remotePort: 65535, listener: 'mqtt' },
    { transport: 'ws', remoteAddress: '127.0.0.1', remotePort: 40000, listener: 'ws', serverName: 'tenant-a.example.com' },
    { transport: 'tls', remoteAddress: '127.0.0.1', remotePort: 40001, listener: 'mqtts', serverName: undefined, clientCertCN: 'device-1', clientCertificates: undefined },
    { transport: 'wss', remoteAddress: '127.0.0.1', remotePort: 40002, listener: 'wss', serverName: 'x', clientCertCN: undefined, clientCertificates: [Buffer.from('der')] },
  ];
  for (const p of peers) assert.deepEqual(new Probe(p).peer, p);
  // Again in another order: the shared base found last must not leak into another listener's peers.
  for (const p of [...peers].reverse()) assert.deepEqual(new Probe(p).peer, p);
  for (const p of peers) assert.deepEqual(new Probe(p).peer, p);
});

test('transport peer - the stream flag bits above the port do not change the peer', () => {
  const p: PeerInfo = { transport: 'tcp', remoteAddress: '10.0.0.1', remotePort: 65535, listener: 'mqtt' };
  const probe = new Probe(p);
  probe.setFlag(1 << 17);
  probe.setFlag(1 << 20);
  assert.deepEqual(probe.peer, p);
});
