/**
 * Our WebSocket framing (src/transport/ws-frames.ts, ws-handshake.ts) over real sockets: the
 * handshake's refusals, malformed frames closed with the RFC 6455 codes, fragmentation, control
 * frames, frames split across reads, and the `ws` client library (permessage-deflate offered).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { test } from 'node:test';
import WebSocket from 'ws';
import { startListeners, createLogger, type ListenerGroup } from '../../src/internal.js';
import type { ByteStream, ConnectionSink } from '../../src/transport/types.js';
import { waitFor, type Teardown } from '../helpers/index.js';

const logger = createLogger({ level: 'silent' });
const host = '127.0.0.1';
const MAX = 1000;

/** Collects what each stream delivers; echoes it back when `echo` is set. */
class Sink implements ConnectionSink {
  readonly streams: ByteStream[] = [];
  readonly data: Buffer[] = [];
  readonly closes: (Error | undefined)[] = [];
  constructor(private readonly echo = false) {}
  accept(stream: ByteStream): void {
    this.streams.push(stream);
    stream.attach({
      onData: (chunk) => {
        this.data.push(Buffer.from(chunk));
        if (this.echo) stream.write(Buffer.from(chunk));
      },
      onDrain: () => {},
      onClose: (err) => this.closes.push(err),
    });
  }
  received(): Buffer {
    return Buffer.concat(this.data);
  }
}

async function listen(t: Teardown, sink: ConnectionSink, wsHeadersTimeoutMs?: number): Promise<number> {
  const spec = { name: 'ws', kind: 'ws', host, port: 0, wsPath: '/mqtt', maxMessageBytes: MAX, ...(wsHeadersTimeoutMs === undefined ? {} : { wsHeadersTimeoutMs }) } as const;
  const group: ListenerGroup = await startListeners([spec], sink, logger);
  t.after(async () => {
    // The streams handed over are the sink's to end (as the broker's close does).
    if (sink instanceof Sink) for (const s of sink.streams) s.destroy();
    await group.close();
  });
  return group.ports['ws'] ?? 0;
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function request(port: number, lines: string[]): string {
  return [`GET /mqtt HTTP/1.1`, `Host: ${host}:${port}`, ...lines, '', ''].join('\r\n');
}

function upgradeHeaders(extra: string[] = []): string[] {
  return ['Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${KEY}`, 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Protocol: mqtt', ...extra];
}

/** A raw client: everything the server sends, as one growing buffer. */
interface Raw {
  readonly socket: Socket;
  bytes(): Buffer;
  closed: Promise<void>;
}

async function raw(port: number, first: string | Buffer): Promise<Raw> {
  const socket = netConnect({ host, port });
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  socket.write(first);
  return { socket, bytes: () => Buffer.concat(chunks), closed };
}

/** Frames after the 101 response: [opcode, payload]. */
function framesOf(all: Buffer): [number, Buffer][] {
  const end = all.indexOf('\r\n\r\n');
  assert.ok(end > 0, 'an HTTP response');
  let off = end + 4;
  const out: [number, Buffer][] = [];
  while (off + 2 <= all.length) {
    let len = all[off + 1]! & 0x7f;
    let h = 2;
    if (len === 126) {
      len = all.readUInt16BE(off + 2);
      h = 4;
    }
    if (off + h + len > all.length) break;
    out.push([all[off]! & 0x0f, all.subarray(off + h, off + h + len)]);
    off += h + len;
  }
  return out;
}

/** A client frame: masked (unless `masked` is false), FIN unless `fin` is false, `rsv` bits in byte 0. */
function frame(opcode: number, payload: Buffer | string, o: { fin?: boolean; masked?: boolean; rsv?: number; mask?: number } = {}): Buffer {
  const p = Buffer.from(payload);
  const masked = o.masked !== false;
  const b0 = (o.fin === false ? 0 : 0x80) | (o.rsv ?? 0) | opcode;
  const len = p.length;
  const head = len < 126 ? Buffer.from([b0, (masked ? 0x80 : 0) | len]) : Buffer.from([b0, (masked ? 0x80 : 0) | 126, len >> 8, len & 0xff]);
  if (!masked) return Buffer.concat([head, p]);
  const key = Buffer.alloc(4);
  key.writeUInt32BE(o.mask ?? 0x12345678);
  const body = Buffer.from(p.map((b, i) => b ^ key[i & 3]!));
  return Buffer.concat([head, key, body]);
}

function closeCode(r: Raw): number | undefined {
  const close = framesOf(r.bytes()).find(([op]) => op === 8);
  return close && close[1].length >= 2 ? close[1].readUInt16BE(0) : undefined;
}

async function opened(port: number): Promise<Raw> {
  const r = await raw(port, request(port, upgradeHeaders()));
  await waitFor(() => r.bytes().includes('\r\n\r\n'), { message: '101 response' });
  assert.match(r.bytes().toString('latin1'), /^HTTP\/1\.1 101 /);
  return r;
}

test('ws framing - handshake answers the accept key and the mqtt subprotocol, and refuses bad requests', async (t) => {
  const sink = new Sink();
  const port = await listen(t, sink);
  const ok = await opened(port);
  const head = ok.bytes().toString('latin1');
  // RFC 6455 §1.3's example key and its accept value.
  assert.match(head, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
  assert.match(head, /\r\nSec-WebSocket-Protocol: mqtt\r\n/);
  assert.doesNotMatch(head, /Extensions/i);
  ok.socket.destroy();

  const cases: [string, string[], RegExp][] = [
    ['bad key', upgradeHeaders().map((h) => (h.startsWith('Sec-WebSocket-Key') ? 'Sec-WebSocket-Key: short' : h)), /^HTTP\/1\.1 400 /],
    ['no key', upgradeHeaders().filter((h) => !h.startsWith('Sec-WebSocket-Key')), /^HTTP\/1\.1 400 /],
    ['version 12', upgradeHeaders().map((h) => (h.startsWith('Sec-WebSocket-Version') ? 'Sec-WebSocket-Version: 12' : h)), /^HTTP\/1\.1 426 [^]*Sec-WebSocket-Version: 13, 8/],
    ['upgrade to something else', upgradeHeaders().map((h) => (h.startsWith('Upgrade') ? 'Upgrade: h2c' : h)), /^HTTP\/1\.1 400 /],
    ['malformed subprotocol list', upgradeHeaders().map((h) => (h.startsWith('Sec-WebSocket-Protocol') ? 'Sec-WebSocket-Protocol: mqtt,,mqtt' : h)), /^HTTP\/1\.1 400 /],
  ];
  for (const [what, lines, expected] of cases) {
    const r = await raw(port, request(port, lines));
    await r.closed;
    assert.match(r.bytes().toString('latin1'), expected, what);
  }
  const post = await raw(port, request(port, upgradeHeaders()).replace(/^GET/, 'POST'));
  await post.closed;
  assert.match(post.bytes().toString('latin1'), /^HTTP\/1\.1 405 /);
  assert.equal(sink.streams.length, 1, 'only the good handshake became a connection');
});

test('ws framing - request heads: split at every byte, malformed, too large, too slow, plain HTTP, closed listener', async (t) => {
  const sink = new Sink();
  const port = await listen(t, sink, 1500);
  // The head byte by byte, with the frame right behind it.
  const whole = Buffer.concat([Buffer.from(request(port, upgradeHeaders())), frame(2, 'hi')]);
  const split = await raw(port, whole.subarray(0, 1));
  for (let i = 1; i < whole.length; i++) {
    split.socket.write(whole.subarray(i, i + 1));
    if (i % 32 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await waitFor(() => sink.received().toString() === 'hi', { message: 'the frame after a head split at every byte' });
  assert.match(split.bytes().toString('latin1'), /^HTTP\/1\.1 101 /);
  split.socket.destroy();

  const refused: [string, string | Buffer, RegExp][] = [
    ['folded field line', request(port, ['Upgrade: websocket', ' x', ...upgradeHeaders().slice(1)]), /^HTTP\/1\.1 400 /],
    ['space before the colon', request(port, ['Upgrade : websocket', ...upgradeHeaders().slice(1)]), /^HTTP\/1\.1 400 /],
    ['bare LF in a value', request(port, ['Upgrade: web\nsocket', ...upgradeHeaders().slice(1)]), /^HTTP\/1\.1 400 /],
    ['not HTTP/1.x', request(port, upgradeHeaders()).replace('HTTP/1.1', 'HTTP/2.0'), /^HTTP\/1\.1 400 /],
    ['two keys', request(port, [...upgradeHeaders(), `Sec-WebSocket-Key: ${KEY}`]), /^HTTP\/1\.1 400 /],
    ['head over 16 KiB', request(port, [...upgradeHeaders(), `X-Pad: ${'a'.repeat(17 * 1024)}`]), /^HTTP\/1\.1 431 /],
    ['no end of head, over 16 KiB', `GET /mqtt HTTP/1.1\r\nX-Pad: ${'a'.repeat(17 * 1024)}`, /^HTTP\/1\.1 431 /],
    ['upgrade on another path', request(port, upgradeHeaders()).replace('GET /mqtt ', 'GET /other '), /^HTTP\/1\.1 404 /],
    ['plain request', `GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n`, /^HTTP\/1\.1 426 [^]*\r\nUpgrade: websocket\r\n[^]*connect with a WebSocket client/],
    ['Upgrade without Connection: upgrade', request(port, upgradeHeaders().filter((h) => !h.startsWith('Connection'))), /^HTTP\/1\.1 426 /],
  ];
  for (const [what, first, expected] of refused) {
    const r = await raw(port, first);
    await r.closed;
    assert.match(r.bytes().toString('latin1'), expected, what);
  }
  // Connection: keep-alive, Upgrade (as browsers send it) is an upgrade; repeated Host: the first counts.
  const listed = await raw(port, request(port, [...upgradeHeaders().map((h) => (h.startsWith('Connection') ? 'Connection: keep-alive, Upgrade' : h)), 'Host: other.example']));
  await waitFor(() => listed.bytes().includes('\r\n\r\n'), { message: '101 response' });
  assert.match(listed.bytes().toString('latin1'), /^HTTP\/1\.1 101 /);
  assert.equal(sink.streams.at(-1)?.peer.serverName, host);
  listed.socket.destroy();

  // A head that does not complete in time: 408 and closed, with the deadline checked every second.
  const slow = await raw(port, 'GET /mqtt HTTP/1.1\r\n');
  const started = Date.now();
  await slow.closed;
  assert.match(slow.bytes().toString('latin1'), /^HTTP\/1\.1 408 /);
  assert.ok(Date.now() - started >= 1000, 'not before its deadline');
  assert.equal(sink.streams.length, 2, 'only the good handshakes became connections');
});

test('ws framing - closing the listener ends handshakes in progress', async (t) => {
  const sink = new Sink();
  const group: ListenerGroup = await startListeners([{ name: 'ws', kind: 'ws', host, port: 0, wsPath: '/mqtt' }], sink, logger);
  t.after(() => group.close());
  const r = await raw(group.ports['ws'] ?? 0, 'GET /mqtt HTTP/1.1\r\n');
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = Date.now();
  await group.close();
  await r.closed;
  assert.ok(Date.now() - started < 1500, 'closed at once, not after the close wait');
  assert.equal(sink.streams.length, 0);
});

test('ws framing - malformed frames close with the RFC 6455 code and report an error', async (t) => {
  const sink = new Sink();
  const port = await listen(t, sink);
  const badUtf8 = Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from([0xc3, 0x28])]);
  const cases: [string, Buffer, number][] = [
    ['unmasked client frame', frame(2, 'x', { masked: false }), 1002],
    ['RSV1 (permessage-deflate not negotiated)', frame(2, 'x', { rsv: 0x40 }), 1002],
    ['reserved opcode 3', frame(3, 'x'), 1002],
    ['reserved control opcode 0xb', frame(0xb, ''), 1002],
    ['continuation without a message', frame(0, 'x'), 1002],
    ['new message inside a fragmented one', Buffer.concat([frame(2, 'a', { fin: false }), frame(2, 'b')]), 1002],
    ['fragmented ping', frame(9, 'x', { fin: false }), 1002],
    ['ping over 125 bytes', frame(9, Buffer.alloc(126)), 1002],
    ['close with a 1-byte payload', frame(8, Buffer.from([3])), 1002],
    ['close code 1005 (reserved)', frame(8, Buffer.from([0x03, 0xed])), 1002],
    ['close code 999', frame(8, Buffer.from([0x03, 0xe7])), 1002],
    ['close reason not UTF-8', frame(8, badUtf8), 1007],
    ['message over the maximum', frame(2, Buffer.alloc(MAX + 1)), 1009],
    ['fragments together over the maximum', Buffer.concat([frame(2, Buffer.alloc(600), { fin: false }), frame(0, Buffer.alloc(600))]), 1009],
    ['text frame [MQTT-6.0.0-1]', frame(1, 'not binary'), 1003],
  ];
  for (const [what, bytes, code] of cases) {
    const before = sink.closes.length;
    const r = await opened(port);
    r.socket.write(bytes);
    await r.closed;
    assert.equal(closeCode(r), code, what);
    await waitFor(() => sink.closes.length === before + 1, { message: `${what}: onClose` });
    assert.match(String(sink.closes.at(-1)?.message), /WebSocket protocol error/, what);
  }
  // Payload streams through as it arrives (MQTT has no message boundaries), so only the valid first
  // fragments of two cases ('a', 600 bytes) got through; nothing of a refused frame did.
  assert.equal(sink.received().length, 1 + 600);
});

test('ws framing - fragments, pings between them, and frames split at every byte arrive intact', async (t) => {
  const sink = new Sink();
  const port = await listen(t, sink);
  const r = await opened(port);
  const bytes = Buffer.concat([
    frame(2, 'he', { fin: false, mask: 0xa1b2c3d4 }),
    frame(9, 'are you there?'),
    frame(0, 'll', { fin: false }),
    frame(10, 'unsolicited pong'),
    frame(0, 'o'),
    frame(2, Buffer.alloc(300, 7)), // 16-bit length
    frame(2, ''), // empty message
  ]);
  for (let i = 0; i < bytes.length; i++) {
    r.socket.write(bytes.subarray(i, i + 1));
    if (i % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await waitFor(() => sink.received().length === 305, { message: 'all payload' });
  assert.equal(sink.received().subarray(0, 5).toString(), 'hello');
  assert.ok(sink.received().subarray(5).every((b) => b === 7));
  await waitFor(() => framesOf(r.bytes()).some(([op]) => op === 10), { message: 'pong' });
  const pong = framesOf(r.bytes()).find(([op]) => op === 10);
  assert.equal(pong?.[1].toString(), 'are you there?');
  r.socket.destroy();
});

test('ws framing - a frame sent with the handshake is delivered; close is echoed and the socket ends', async (t) => {
  const sink = new Sink(true);
  const port = await listen(t, sink);
  const r = await raw(port, Buffer.concat([Buffer.from(request(port, upgradeHeaders())), frame(2, Buffer.from([0x10, 0x00]))]));
  await waitFor(() => sink.received().length === 2, { message: 'data in the head' });
  await waitFor(() => framesOf(r.bytes()).length === 1, { message: 'echo' });
  assert.deepEqual(framesOf(r.bytes())[0], [2, Buffer.from([0x10, 0x00])]);
  r.socket.write(frame(8, Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('bye')])));
  await r.closed;
  assert.equal(closeCode(r), 4000);
  await waitFor(() => sink.closes.length === 1);
  assert.equal(sink.closes[0], undefined, 'a clean close is no error');

  // A FIN without a close frame ends our side too.
  const f = await opened(port);
  f.socket.end();
  await f.closed;
  await waitFor(() => sink.closes.length === 2);
});

test('ws framing - the ws client with permessage-deflate offered gets no extension and talks binary both ways', async (t) => {
  const sink = new Sink(true);
  const port = await listen(t, sink);
  const ws = new WebSocket(`ws://${host}:${port}/mqtt`, 'mqtt', { perMessageDeflate: true });
  await once(ws, 'open');
  assert.equal(ws.extensions, '');
  assert.equal(ws.protocol, 'mqtt');
  const big = Buffer.alloc(MAX, 3); // 16-bit length frames both ways
  let echoed = 0;
  ws.on('message', (d: Buffer) => (echoed += d.length)); // one frame per read the server got
  ws.send(big);
  await waitFor(() => echoed === MAX, { message: 'echo' });
  // The server's end(): close 1000, then the socket ends.
  const stream = sink.streams[0];
  assert.ok(stream);
  stream.end();
  const [code] = (await once(ws, 'close')) as [number];
  assert.equal(code, 1000);
});
