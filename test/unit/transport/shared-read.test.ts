import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTcpServer, type AcceptGate } from '../../../src/transport/tcp.js';
import { socketClosed } from '../../../src/transport/socket-slots.js';
import { readShared, sharedReader } from '../../../src/transport/shared-read.js';
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

/** `n` one-byte writes, each read before the next is sent (so each is a read of its own). */
async function separateReads(c: Socket, recorder: Recorder, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const want = recorder.bytes.length + 1;
    c.write('.');
    await waitFor(() => recorder.bytes.length === want, { intervalMs: 1, message: `read ${i + 1}` });
  }
}

test('shared read - a TCP connection moves to the shared buffer on its 64th read; chunks it was given stay intact', { timeout: 20_000 }, async (t) => {
  const { port, accepted } = await tcpListener(t);
  const c = await client(port, t);
  const { socket, recorder } = await waitFor(() => accepted[0], { message: 'accepted' });

  // An idle connection (a few reads) keeps Node's default read path.
  await separateReads(c, recorder, 63);
  assert.equal(socket.listenerCount('data'), 1, 'still on data events after 63 reads');
  await separateReads(c, recorder, 1);
  assert.equal(socket.listenerCount('data'), 0, 'reads go through the shared buffer from the 64th on');
  const before = recorder.bytes.length;

  c.write('first');
  await waitFor(() => recorder.bytes.length === before + 5, { message: 'first chunk' });
  const first = recorder.chunks.at(-1)!;
  // Later reads land in the same shared buffer: the chunk handed out before must be a copy.
  c.write('SECOND');
  await waitFor(() => recorder.bytes.length === before + 11, { message: 'second chunk' });
  assert.equal(first.toString(), 'first');
  assert.equal(recorder.bytes.subarray(before).toString(), 'firstSECOND');

  // More than the shared buffer holds (64 KiB), in one write: every byte in order.
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 0xff;
  const chunksBefore = recorder.chunks.length;
  c.write(big);
  await waitFor(() => recorder.bytes.length === before + 11 + big.length, { message: 'big write' });
  assert.ok(recorder.bytes.subarray(before + 11).equals(big), 'big write arrives intact');
  assert.ok(recorder.chunks.length - chunksBefore > 1, 'the big write took several reads');
  assert.equal(first.toString(), 'first');
  assert.equal(recorder.bytes.subarray(0, 64).toString(), '.'.repeat(64));
});

test('shared read - pause() stops reads until resume(); the peer closing closes the stream', { timeout: 20_000 }, async (t) => {
  const { port, accepted } = await tcpListener(t);
  const c = await client(port, t);
  const { socket, stream, recorder } = await waitFor(() => accepted[0], { message: 'accepted' });
  await separateReads(c, recorder, 64);
  assert.equal(socket.listenerCount('data'), 0, 'on the shared buffer');

  stream.pause();
  c.write('held');
  await sleep(100);
  assert.equal(recorder.bytes.length, 64, 'nothing read while paused');
  stream.resume();
  await waitFor(() => recorder.bytes.subarray(64).toString() === 'held', { message: 'read after resume' });

  c.end();
  await waitFor(() => recorder.closed, { message: 'onClose after the peer ended' });
});

test('shared read - a connection paused at its 64th read moves only after it is resumed', { timeout: 20_000 }, async (t) => {
  const { port, accepted } = await tcpListener(t);
  const c = await client(port, t);
  const { socket, stream, recorder } = await waitFor(() => accepted[0], { message: 'accepted' });
  await separateReads(c, recorder, 63);
  // Paused in the 64th read's callback (as flow control does): the handle still reads into the
  // Readable's buffer, which the shared path would bypass.
  const original = recorder.onData.bind(recorder);
  recorder.onData = (chunk) => {
    original(chunk);
    stream.pause();
  };
  await separateReads(c, recorder, 1);
  assert.equal(socket.listenerCount('data'), 1, 'not moved while paused');
  recorder.onData = original;
  c.write('more');
  await sleep(50);
  assert.equal(recorder.bytes.length, 64, 'nothing delivered while paused');
  stream.resume();
  await waitFor(() => recorder.bytes.subarray(64).toString() === 'more', { message: 'buffered bytes after resume' });
  await separateReads(c, recorder, 1);
  assert.equal(socket.listenerCount('data'), 0, 'moved on the next read once resumed');
  c.write('end');
  await waitFor(() => recorder.bytes.subarray(64).toString() === 'more.end', { message: 'read on the shared buffer' });
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
