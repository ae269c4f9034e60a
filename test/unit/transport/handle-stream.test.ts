import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startListeners, type ListenerGroup, type ListenerSpec } from '../../../src/transport/listeners.js';
import { HANDLE_HIGH_WATER_MARK, HandleStream } from '../../../src/transport/handle-stream.js';
import { detectTcpHandles, tcpHandles } from '../../../src/transport/tcp-handle.js';
import { SocketStream } from '../../../src/transport/tcp.js';
import type { ByteStream, ConnectionSink, StreamHandler } from '../../../src/transport/types.js';
import { atTurnEnd } from '../../../src/transport/turn-end.js';
import { createLogger } from '../../../src/observability/logger.js';
import { waitFor } from '../../helpers/wait.js';

type T = { after(fn: () => unknown): void };

/** What one accepted stream's handler saw. */
class Recorder implements StreamHandler {
  readonly chunks: Buffer[] = [];
  drains = 0;
  readonly closes: (Error | undefined)[] = [];
  constructor(readonly stream: ByteStream) {}
  onData(chunk: Buffer): void {
    this.chunks.push(chunk);
  }
  onDrain(): void {
    this.drains++;
  }
  onClose(error?: Error): void {
    this.closes.push(error);
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

class Sink implements ConnectionSink {
  readonly accepted: Recorder[] = [];
  accept(stream: ByteStream): void {
    const recorder = new Recorder(stream);
    stream.attach(recorder);
    this.accepted.push(recorder);
  }
}

const logger = createLogger({ level: 'silent' });

async function listener(t: T, extra: Partial<ListenerSpec> = {}): Promise<{ group: ListenerGroup; port: number; sink: Sink }> {
  const sink = new Sink();
  const group = await startListeners([{ name: 'mqtt', kind: 'tcp', host: '127.0.0.1', port: 0, ...extra }], sink, logger);
  t.after(async () => {
    for (const r of sink.accepted) r.stream.destroy();
    await group.close();
  });
  return { group, port: group.ports['mqtt'] ?? 0, sink };
}

async function client(port: number, t: T): Promise<Socket> {
  const c = connect(port, '127.0.0.1');
  await once(c, 'connect');
  t.after(() => c.destroy());
  return c;
}

/** A buffer whose every byte depends on its offset (so lost, repeated or reordered bytes show). */
function pattern(bytes: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 31 + (i >> 9) + seed) & 0xff;
  return b;
}

/** Collects what a client socket receives. */
function received(c: Socket): { readonly bytes: number; buffer(): Buffer; ended: boolean } {
  const chunks: Buffer[] = [];
  const state = {
    bytes: 0,
    ended: false,
    buffer: () => Buffer.concat(chunks),
  };
  c.on('data', (d: Buffer) => {
    chunks.push(d);
    state.bytes += d.length;
  });
  c.on('end', () => (state.ended = true));
  return state;
}

test('handle stream - this Node has every piece, and plain TCP listeners hand out HandleStreams that carry bytes both ways', { timeout: 20_000 }, async (t) => {
  assert.ok(!('missing' in tcpHandles()), `missing: ${JSON.stringify(tcpHandles())}`);
  const { port, sink, group } = await listener(t);
  const c = await client(port, t);
  const r = await waitFor(() => sink.accepted[0], { message: 'accepted' });
  assert.ok(r.stream instanceof HandleStream, 'no net.Socket');
  assert.deepEqual(r.stream.peer, { transport: 'tcp', remoteAddress: '127.0.0.1', remotePort: c.localPort, listener: 'mqtt' });
  assert.equal(group.listeners[0]?.connections, 1);
  const got = received(c);
  c.write('first');
  await waitFor(() => r.bytes.length === 5, { message: 'first read' });
  const first = r.chunks[0]!;
  // More than the shared read buffer (64 KiB): every byte in order, the earlier chunk not overwritten.
  const big = pattern(300_000);
  c.write(big);
  await waitFor(() => r.bytes.length === 5 + big.length, { message: 'big read' });
  assert.equal(first.toString(), 'first');
  assert.ok(r.bytes.subarray(5).equals(big));
  assert.equal(r.stream.write(Buffer.from('back')), true);
  await waitFor(() => got.bytes === 4, { message: 'reply' });
  assert.equal(got.buffer().toString(), 'back');
  assert.equal(r.stream.bufferedBytes, 0);
  c.end();
  await waitFor(() => r.closes.length === 1, { message: 'closed after the peer ended' });
  assert.equal(r.closes[0], undefined);
  await waitFor(() => got.ended, { message: 'our FIN' });
  await waitFor(() => group.listeners[0]?.connections === 0, { message: 'counted out' });
});

test('handle stream - a slow reader: write() refuses from the high-water mark, bytes stay queued, onDrain once when the queue empties', { timeout: 30_000 }, async (t) => {
  const { port, sink } = await listener(t);
  const c = await client(port, t);
  c.pause(); // a client that stops reading
  const r = await waitFor(() => sink.accepted[0], { message: 'accepted' });
  const chunk = 32 * 1024;
  const sent: Buffer[] = [];
  let ok = true;
  for (let i = 0; ok; i++) {
    assert.ok(i < 2_000, 'write() never refused');
    const b = pattern(chunk, i);
    sent.push(b);
    ok = r.stream.write(b);
  }
  assert.ok(r.stream.bufferedBytes >= HANDLE_HIGH_WATER_MARK, `queued ${r.stream.bufferedBytes}`);
  await sleep(50);
  assert.equal(r.drains, 0, 'no drain while the reader reads nothing');
  // Writes past the mark are still taken (and still refused).
  const extra = pattern(1000, 99);
  sent.push(extra);
  assert.equal(r.stream.write(extra), false);
  const got = received(c);
  c.resume();
  const total = sent.reduce((n, b) => n + b.length, 0);
  await waitFor(() => got.bytes === total, { message: 'every byte written arrives', timeoutMs: 20_000 });
  await waitFor(() => r.drains === 1, { message: 'drain' });
  assert.equal(r.stream.bufferedBytes, 0);
  assert.ok(got.buffer().equals(Buffer.concat(sent)), 'in order, intact');
  await sleep(50);
  assert.equal(r.drains, 1, 'drain once');
  assert.equal(r.stream.write(Buffer.from('x')), true, 'writes accepted again');
});

test('handle stream - a large write that completes asynchronously keeps its bytes (even with no other reference, through a GC)', { timeout: 30_000 }, async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const { port, sink } = await listener(t);
  const c = await client(port, t);
  c.pause();
  const r = await waitFor(() => sink.accepted[0], { message: 'accepted' });
  const bytes = 16 * 1024 * 1024;
  // Written and dropped at once: only the stream keeps it.
  assert.equal(r.stream.write(pattern(bytes, 7)), false, 'far over the high-water mark');
  assert.ok(r.stream.bufferedBytes > 0, 'went asynchronous');
  gc();
  // The pool and allocations after the GC would reuse freed memory: make some garbage of other bytes.
  for (let i = 0; i < 8; i++) Buffer.alloc(1024 * 1024, 0xaa);
  gc();
  const got = received(c);
  c.resume();
  await waitFor(() => got.bytes === bytes, { message: 'all of it', timeoutMs: 20_000 });
  assert.ok(got.buffer().equals(pattern(bytes, 7)), 'the bytes as written');
  await waitFor(() => r.drains === 1, { message: 'drain' });
});

test('handle stream - end() sends everything queued, then FIN, then closes; onClose once, without an error', { timeout: 30_000 }, async (t) => {
  const { port, sink, group } = await listener(t);
  const c = await client(port, t);
  c.pause();
  const r = await waitFor(() => sink.accepted[0], { message: 'accepted' });
  const sent = [pattern(16 * 1024 * 1024, 1), pattern(100, 2)];
  for (const b of sent) r.stream.write(b);
  assert.ok(r.stream.bufferedBytes > 0, 'queued when end() is called');
  r.stream.end();
  assert.equal(r.stream.write(Buffer.from('late')), false, 'nothing taken after end()');
  await sleep(50);
  assert.equal(r.closes.length, 0, 'not closed while output is queued');
  const got = received(c);
  c.resume();
  await waitFor(() => got.ended, { message: 'FIN after the data', timeoutMs: 20_000 });
  assert.ok(got.buffer().equals(Buffer.concat(sent)), 'everything, in order, then FIN');
  await waitFor(() => r.closes.length === 1, { message: 'closed' });
  assert.equal(r.closes[0], undefined);
  await waitFor(() => group.listeners[0]?.connections === 0, { message: 'counted out' });
  await sleep(50);
  assert.equal(r.closes.length, 1, 'once');
});

test('handle stream - the listener close() waits for an ended stream to send what it has queued', { timeout: 30_000 }, async (t) => {
  const { port, sink, group } = await listener(t);
  const c = await client(port, t);
  c.pause();
  const r = await waitFor(() => sink.accepted[0], { message: 'accepted' });
  const sent = pattern(16 * 1024 * 1024, 4);
  r.stream.write(sent);
  r.stream.end(); // as the broker's close ends its connections before the listeners close
  let closed = false;
  const closing = group.close().then(() => (closed = true));
  await sleep(300);
  assert.equal(closed, false, 'still flushing');
  const got = received(c);
  c.resume();
  await closing;
  assert.equal(r.closes.length, 1, 'the stream closed before close() returned');
  await waitFor(() => got.ended, { message: 'FIN' });
  assert.ok(got.buffer().equals(sent));
});

test('handle stream - destroy() closes at once and discards what is queued', { timeout: 30_000 }, async (t) => {
  const { port, sink } = await listener(t);
  const c = await client(port, t);
  c.pause();
  const r = await waitFor(() => sink.accepted[0], { message: 'accepted' });
  const bytes = 16 * 1024 * 1024;
  r.stream.write(pattern(bytes, 3));
  assert.ok(r.stream.bufferedBytes > 0);
  r.stream.destroy();
  assert.equal(r.stream.bufferedBytes, 0);
  assert.equal(r.stream.write(Buffer.from('late')), false);
  const got = received(c);
  c.resume();
  await once(c, 'close');
  assert.ok(got.bytes < bytes, `discarded (${got.bytes} of ${bytes} arrived)`);
  await waitFor(() => r.closes.length === 1, { message: 'closed' });
  assert.equal(r.closes[0], undefined);
  r.stream.destroy();
  r.stream.end();
  await sleep(50);
  assert.equal(r.closes.length, 1, 'once');
});

test('handle stream - the peer resetting the connection closes the stream with that error, once', { timeout: 20_000 }, async (t) => {
  const { port, sink, group } = await listener(t);
  const c = await client(port, t);
  const r = await waitFor(() => sink.accepted[0], { message: 'accepted' });
  c.resetAndDestroy();
  await waitFor(() => r.closes.length === 1, { message: 'closed' });
  const error = r.closes[0] as (Error & { code?: string; syscall?: string }) | undefined;
  assert.ok(error instanceof Error, 'an error');
  assert.equal(error.code, 'ECONNRESET');
  assert.equal(error.syscall, 'read');
  assert.equal(error.message, 'read ECONNRESET');
  assert.equal(r.stream.write(Buffer.from('x')), false);
  r.stream.end();
  r.stream.destroy();
  await sleep(50);
  assert.equal(r.closes.length, 1, 'once');
  assert.equal(group.listeners[0]?.connections, 0);
});

test('handle stream - pause() stops reading (the kernel keeps the bytes) until resume(); resume() of a running stream does nothing', { timeout: 20_000 }, async (t) => {
  const { port, sink } = await listener(t);
  const c = await client(port, t);
  const r = await waitFor(() => sink.accepted[0], { message: 'accepted' });
  r.stream.resume();
  r.stream.pause();
  r.stream.pause();
  const sent = pattern(200_000, 5);
  c.write(sent);
  await sleep(150);
  assert.equal(r.chunks.length, 0, 'nothing read while paused');
  r.stream.resume();
  await waitFor(() => r.bytes.length === sent.length, { message: 'read after resume' });
  assert.ok(r.bytes.equals(sent));
  // Paused from inside onData, as Connection does while a CONNECT is authenticated.
  r.onData = function (this: Recorder, chunk: Buffer) {
    this.chunks.push(chunk);
    this.stream.pause();
  };
  const before = r.chunks.length;
  c.write('a');
  await waitFor(() => r.chunks.length === before + 1, { message: 'one read' });
  c.write('b');
  await sleep(100);
  assert.equal(r.chunks.length, before + 1, 'paused from inside a read');
  r.stream.resume();
  await waitFor(() => r.chunks.length === before + 2, { message: 'read again' });
  assert.equal(r.chunks.at(-1)?.toString(), 'b');
});

/** Echoes each read back as a Connection does: queued, then written by one job at the turn's end. */
class TurnEndEcho implements StreamHandler {
  readonly events: string[] = [];
  private out: Buffer[] = [];
  /** When set, the first read records the order of the turn's callbacks into `events`. */
  probe = true;
  constructor(readonly stream: ByteStream) {}
  onData(chunk: Buffer): void {
    if (this.probe) {
      this.probe = false;
      const events = this.events;
      events.push('read');
      // Queued before the turn's first job: runs after the jobs only if they ran inside the read
      // callback (from a tick, the jobs would come after this one).
      process.nextTick(() => events.push('tick'));
      atTurnEnd(() => events.push('job'));
      queueMicrotask(() => {
        events.push('microtask');
        atTurnEnd(() => events.push('job queued by the microtask'));
      });
      setImmediate(() => events.push('next loop phase'));
    }
    if (this.out.length === 0) atTurnEnd(this.flush);
    this.out.push(chunk);
  }
  private readonly flush = (): void => {
    const out = this.out;
    this.out = [];
    this.stream.write(Buffer.concat(out));
  };
  onDrain(): void {}
  onClose(): void {}
}

test('handle stream - a read\'s turn-end jobs run inside its callback (before a nextTick it queued, with no tick of their own), later jobs in a tick; an echo keeps every byte in order', { timeout: 30_000 }, async (t) => {
  const echoes: TurnEndEcho[] = [];
  const sink: ConnectionSink = {
    accept(stream: ByteStream): void {
      const echo = new TurnEndEcho(stream);
      stream.attach(echo);
      echoes.push(echo);
    },
  };
  const group = await startListeners([{ name: 'mqtt', kind: 'tcp', host: '127.0.0.1', port: 0 }], sink, logger);
  t.after(async () => {
    for (const e of echoes) e.stream.destroy();
    await group.close();
  });
  const c = await client(group.ports['mqtt'] ?? 0, t);
  const got = received(c);
  const e = await waitFor(() => echoes[0], { message: 'accepted' });
  assert.ok(e.stream instanceof HandleStream);
  c.write('x');
  await waitFor(() => got.bytes === 1, { message: 'echo of the first read' });
  await waitFor(() => e.events.length === 6, { message: 'the turn done' });
  // The job ran before the read callback returned: ahead of the nextTick queued before it. A job
  // queued later in the turn (by a microtask) still ran in that turn, before the loop moved on.
  assert.deepEqual(e.events, ['read', 'job', 'tick', 'microtask', 'job queued by the microtask', 'next loop phase']);

  // Many reads, each echoed by its turn's job: nothing lost, repeated or reordered.
  const all = pattern(200_000, 7);
  for (let o = 0; o < all.length; o += 1000) {
    c.write(all.subarray(o, o + 1000));
    if (o % 20_000 === 0) await sleep(1);
  }
  await waitFor(() => got.bytes === 1 + all.length, { message: 'every byte echoed', timeoutMs: 20_000 });
  assert.ok(got.buffer().subarray(1).equals(all));
});

test('handle stream - a listener with netSocket: true hands out net.Socket streams (the fallback path) that carry bytes and close the same', { timeout: 20_000 }, async (t) => {
  const { port, sink, group } = await listener(t, { netSocket: true });
  const c = await client(port, t);
  const r = await waitFor(() => sink.accepted[0], { message: 'accepted' });
  assert.ok(r.stream instanceof SocketStream);
  const got = received(c);
  c.write('ping');
  await waitFor(() => r.bytes.toString() === 'ping', { message: 'read' });
  r.stream.write(Buffer.from('pong'));
  r.stream.end();
  await waitFor(() => got.ended, { message: 'FIN' });
  assert.equal(got.buffer().toString(), 'pong');
  await waitFor(() => r.closes.length === 1 && group.listeners[0]?.connections === 0, { message: 'closed, counted out' });
});

test('handle stream - detection names the first piece a Node lacks', () => {
  const real = (process as unknown as { binding(name: string): unknown }).binding.bind(process);
  assert.deepEqual(detectTcpHandles(undefined), { missing: 'process.binding' });
  assert.deepEqual(
    detectTcpHandles(() => {
      throw new Error('No such module: tcp_wrap');
    }),
    { missing: 'process.binding: No such module: tcp_wrap' },
  );
  const without = (name: string, key: string) => (n: string) => (n === name ? { ...(real(n) as object), [key]: undefined } : real(n));
  assert.deepEqual(detectTcpHandles(without('tcp_wrap', 'TCP')), { missing: 'tcp_wrap.TCP' });
  assert.deepEqual(detectTcpHandles(without('stream_wrap', 'WriteWrap')), { missing: 'stream_wrap.WriteWrap' });
  assert.deepEqual(detectTcpHandles(without('stream_wrap', 'streamBaseState')), { missing: 'stream_wrap.streamBaseState' });
  assert.deepEqual(detectTcpHandles(without('uv', 'UV_EOF')), { missing: 'uv.UV_EOF' });
  class Bare {}
  assert.deepEqual(detectTcpHandles((n) => (n === 'tcp_wrap' ? { TCP: Bare } : real(n))), { missing: 'TCP.prototype.readStart' });
  assert.ok(!('missing' in detectTcpHandles(real)));
});

test('handle stream - on a Node without process.binding the listeners use net.Socket, and say so once', { timeout: 30_000 }, async (t) => {
  const child = fork(fileURLToPath(new URL('./handle-fallback-child.js', import.meta.url)), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  const [ports] = (await once(child, 'message')) as [number[]];
  assert.equal(ports.length, 2);
  for (const port of ports) {
    const c = await client(port, t);
    const got = received(c);
    c.write('echo me');
    await waitFor(() => got.bytes === 7, { message: 'echo' });
    assert.equal(got.buffer().toString(), 'echo me');
    c.end();
    await once(c, 'close');
  }
  child.send('report');
  const [kinds] = (await once(child, 'message')) as [string[]];
  assert.deepEqual(kinds, ['SocketStream', 'SocketStream']);
  await once(child, 'exit');
  const fallback = lines.filter((l) => typeof l['msg'] === 'string' && (l['msg'] as string).includes('use net.Socket'));
  assert.equal(fallback.length, 1, `logged once: ${JSON.stringify(lines)}`);
  assert.equal(fallback[0]?.['level'], 'info');
  assert.equal(fallback[0]?.['missing'], 'process.binding');
});
