import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTcpServer, type AcceptGate } from '../../../src/transport/tcp.js';
import { socketClosed } from '../../../src/transport/socket-slots.js';
import { copyOut, readShared, sharedReader } from '../../../src/transport/shared-read.js';
import type { ByteStream, StreamHandler } from '../../../src/transport/types.js';
import { makeSelfSignedCert } from '../../helpers/tls.js';
import { tempDir } from '../../helpers/temp.js';
import { waitFor } from '../../helpers/wait.js';

/** What one accepted connection's handler saw. */
class Recorder implements StreamHandler {
  readonly chunks: Buffer[] = [];
  closed = false;
  onData(chunk: Buffer): void {
    this.chunks.push(chunk);
  }
  onDrain(): void {}
  onClose(): void {
    this.closed = true;
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

interface Accepted {
  stream: ByteStream;
  socket: Socket;
  recorder: Recorder;
}

/** Ferry's TCP listener with a sink that attaches a Recorder, as Connection does. */
async function tcpListener(t: { after(fn: () => unknown): void }): Promise<{ port: number; accepted: Accepted[] }> {
  const accepted: Accepted[] = [];
  let last: Socket | undefined;
  const gate: AcceptGate = {
    accepting: true,
    track(socket) {
      last = socket;
      socket.on('close', () => socketClosed(socket));
    },
    hold() {},
    release() {},
    // createTcpServer's sockets only (no TCP handles taken over here).
    trackHandle() {},
    untrack() {},
  };
  const server = createTcpServer('mqtt', {
    accept(stream) {
      const recorder = new Recorder();
      stream.attach(recorder);
      accepted.push({ stream, socket: last!, recorder });
    },
  }, gate);
  await listen(server, t);
  return { port: (server.address() as AddressInfo).port, accepted };
}

/** Listen on a free port; after the test, its accepted sockets are destroyed and it is closed. */
async function listen(server: Server, t: { after(fn: () => unknown): void }): Promise<void> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => sockets.add(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

async function client(port: number, t: { after(fn: () => unknown): void }): Promise<Socket> {
  const c = connect(port, '127.0.0.1');
  c.setNoDelay(true);
  await once(c, 'connect');
  t.after(() => c.destroy());
  return c;
}

test('shared read - a TCP connection reads without a data listener, and chunks it was given stay intact', { timeout: 20_000 }, async (t) => {
  const { port, accepted } = await tcpListener(t);
  const c = await client(port, t);
  const { socket, recorder } = await waitFor(() => accepted[0], { message: 'accepted' });
  assert.equal(socket.listenerCount('data'), 0, 'reads go through the shared buffer, not data events');

  c.write('first');
  await waitFor(() => recorder.bytes.length === 5, { message: 'first chunk' });
  const first = recorder.chunks[0]!;
  // Later reads land in the same shared buffer: the chunk handed out before must be a copy.
  c.write('SECOND');
  await waitFor(() => recorder.bytes.length === 11, { message: 'second chunk' });
  assert.equal(first.toString(), 'first');
  assert.equal(recorder.bytes.toString(), 'firstSECOND');

  // More than the shared buffer holds (64 KiB), in one write: every byte in order.
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 0xff;
  c.write(big);
  await waitFor(() => recorder.bytes.length === 11 + big.length, { message: 'big write' });
  assert.ok(recorder.bytes.subarray(11).equals(big), 'big write arrives intact');
  assert.ok(recorder.chunks.length > 2, 'the big write took several reads');
  assert.equal(first.toString(), 'first');
});

test('shared read - copyOut: a read of any size is copied into a buffer of its own, the bytes after it left out', () => {
  const shared = Buffer.alloc(4096);
  // Both copies: byte by byte (small reads) and the native one (past 512 bytes), and their edges.
  for (const n of [1, 4, 83, 511, 512, 513, 4000]) {
    for (let i = 0; i < shared.length; i++) shared[i] = (i * 7 + n) & 0xff;
    const chunk = copyOut(shared, n);
    assert.equal(chunk.length, n);
    assert.ok(chunk.equals(shared.subarray(0, n)), `${n} bytes copied`);
    assert.notEqual(chunk.buffer, shared.buffer, 'not a view of the shared buffer');
    shared.fill(0xee);
    assert.ok(chunk.every((b, i) => b === ((i * 7 + n) & 0xff)), `${n} bytes stay after the shared buffer is overwritten`);
  }
});

test('shared read - pause() stops reads until resume(); the peer closing closes the stream', { timeout: 20_000 }, async (t) => {
  const { port, accepted } = await tcpListener(t);
  const c = await client(port, t);
  const { stream, recorder } = await waitFor(() => accepted[0], { message: 'accepted' });

  stream.pause();
  c.write('held');
  await sleep(100);
  assert.equal(recorder.chunks.length, 0, 'nothing read while paused');
  stream.resume();
  await waitFor(() => recorder.bytes.toString() === 'held', { message: 'read after resume' });

  c.end();
  await waitFor(() => recorder.closed, { message: 'onClose after the peer ended' });
});

test('shared read - refused for a socket with bytes already buffered and for TLS sockets', { timeout: 20_000 }, async (t) => {
  // Bytes read before the switch sit in the Readable's buffer: switching would skip them.
  const buffered = createServer();
  let plain: Socket | undefined;
  buffered.on('connection', (s) => (plain = s));
  await listen(buffered, t);
  const c = await client((buffered.address() as AddressInfo).port, t);
  c.write('early');
  const socket = await waitFor(() => (plain !== undefined && plain.readableLength > 0 ? plain : undefined), { message: 'bytes buffered' });
  assert.equal(readShared(socket, sharedReader(() => {})), false);
  assert.equal(socket.read()?.toString(), 'early');

  const cert = makeSelfSignedCert(tempDir(t));
  const tlsServer = createTlsServer({ cert: cert.cert, key: cert.key });
  let secure: TLSSocket | undefined;
  tlsServer.on('secureConnection', (s: TLSSocket) => (secure = s));
  await listen(tlsServer, t);
  const tc = tlsConnect({ port: (tlsServer.address() as AddressInfo).port, host: '127.0.0.1', ca: cert.cert, servername: 'localhost' });
  t.after(() => tc.destroy());
  await once(tc, 'secureConnect');
  const s = await waitFor(() => secure, { message: 'TLS accepted' });
  assert.equal(readShared(s, sharedReader(() => {})), false);
});
