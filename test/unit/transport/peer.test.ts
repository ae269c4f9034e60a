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
});

test('transport peer - the stream flag bits above the port do not change the peer', () => {
  const p: PeerInfo = { transport: 'tcp', remoteAddress: '10.0.0.1', remotePort: 65535, listener: 'mqtt' };
  const probe = new Probe(p);
  probe.setFlag(1 << 17);
  probe.setFlag(1 << 20);
  assert.deepEqual(probe.peer, p);
});
