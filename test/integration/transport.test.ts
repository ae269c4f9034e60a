import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { test } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import {
  startListeners,
  WS_HIGH_WATER_MARK,
  createLogger,
  type ListenerGroup,
  type ListenerSpec,
} from '../../src/internal.js';
import type { ByteStream, ConnectionSink } from '../../src/transport/types.js';
import { makeSelfSignedCert, tempDir, waitFor, type Teardown } from '../helpers/index.js';

const logger = createLogger({ level: 'silent' });

/** Records accepted streams; echoes data back when `echo` is set. */
class RecordingSink implements ConnectionSink {
  readonly streams: ByteStream[] = [];
  readonly closes: (Error | undefined)[] = [];
  /** 'drain' events seen per stream. */
  readonly drains = new Map<ByteStream, number>();
  constructor(private readonly echo = true) {}
  accept(stream: ByteStream): void {
    this.streams.push(stream);
    this.drains.set(stream, 0);
    stream.attach({
      onData: (chunk) => {
        if (this.echo) stream.write(chunk);
      },
      onDrain: () => this.drains.set(stream, (this.drains.get(stream) ?? 0) + 1),
      onClose: (err) => this.closes.push(err),
    });
  }
}

async function listen(t: Teardown, specs: ListenerSpec[], sink: ConnectionSink): Promise<ListenerGroup> {
  const group = await startListeners(specs, sink, logger);
  t.after(async () => {
    // The streams handed over are the sink's to end (as the broker's close does), then the listeners close.
    if (sink instanceof RecordingSink) for (const s of sink.streams) s.destroy();
    await group.close();
  });
  return group;
}

function tcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
}

function wsOpen(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

const host = '127.0.0.1';

test('transport - tcp stream carries bytes both ways and reports peer and close', async (t) => {
  const sink = new RecordingSink();
  const group = await listen(t, [{ name: 'mqtt', kind: 'tcp', host, port: 0 }], sink);
  const port = group.ports['mqtt'] ?? 0;
  assert.ok(port > 0);
  const client = await tcp(port);
  client.write('hello');
  const [echoed] = (await once(client, 'data')) as [Buffer];
  assert.equal(echoed.toString(), 'hello');
  const stream = sink.streams[0];
  assert.ok(stream);
  assert.equal(stream.peer.transport, 'tcp');
  assert.equal(stream.peer.listener, 'mqtt');
  assert.equal(stream.peer.remoteAddress, '127.0.0.1');
  assert.equal(stream.peer.remotePort, client.localPort);
  assert.equal(stream.bufferedBytes, 0);
  client.end();
  await waitFor(() => sink.closes.length === 1);
  assert.equal(sink.closes[0], undefined);
});

test('transport - tcp end() flushes then closes; destroy() closes at once', async (t) => {
  const sink = new RecordingSink(false);
  const group = await listen(t, [{ name: 'mqtt', kind: 'tcp', host, port: 0 }], sink);
  const client = await tcp(group.ports['mqtt'] ?? 0);
  const stream = await waitFor(() => sink.streams[0]);
  let received = '';
  client.on('data', (d: Buffer) => (received += d.toString()));
  stream.write(Buffer.from('bye'));
  stream.end();
  await once(client, 'end');
  assert.equal(received, 'bye');
  await waitFor(() => sink.closes.length === 1);

  const client2 = await tcp(group.ports['mqtt'] ?? 0);
  const stream2 = await waitFor(() => sink.streams[1]);
  stream2.destroy();
  await once(client2, 'close');
  await waitFor(() => sink.closes.length === 2);
});

test('transport - tcp write reports backpressure and onDrain fires', async (t) => {
  const sink = new RecordingSink(false);
  const group = await listen(t, [{ name: 'mqtt', kind: 'tcp', host, port: 0 }], sink);
  const client = await tcp(group.ports['mqtt'] ?? 0);
  client.pause();
  const stream = await waitFor(() => sink.streams[0]);
  const drained = (): number => sink.drains.get(stream) ?? 0;
  const chunk = Buffer.alloc(256 * 1024);
  let writes = 0;
  while (stream.write(chunk)) assert.ok(++writes < 400, 'backpressure never reported');
  assert.ok(stream.bufferedBytes > 0);
  client.resume();
  await waitFor(() => drained() === 1, { message: 'drain' });
  client.destroy();
});

test('transport - ws negotiates the mqtt subprotocol and carries binary messages', async (t) => {
  const sink = new RecordingSink();
  const group = await listen(t, [{ name: 'ws', kind: 'ws', host, port: 0, wsPath: '/mqtt' }], sink);
  const port = group.ports['ws'] ?? 0;
  for (const offered of [['mqtt'], ['mqttv3.1'], ['other', 'mqttv3.1', 'mqtt']]) {
    const ws = new WebSocket(`ws://${host}:${port}/mqtt?x=1`, offered);
    await wsOpen(ws);
    assert.equal(ws.protocol, offered.includes('mqtt') ? 'mqtt' : 'mqttv3.1');
    ws.terminate();
  }
  const ws = new WebSocket(`ws://${host}:${port}/mqtt`, 'mqtt', { headers: { host: 'Tenant-A.Example.com:9999' } });
  await wsOpen(ws);
  ws.send(Buffer.from([0x10, 0x00]));
  const [data, isBinary] = (await once(ws, 'message')) as [Buffer, boolean];
  assert.equal(isBinary, true);
  assert.deepEqual([...data], [0x10, 0x00]);
  const stream = sink.streams.at(-1);
  assert.ok(stream);
  assert.equal(stream.peer.transport, 'ws');
  assert.equal(stream.peer.listener, 'ws');
  assert.equal(stream.peer.serverName, 'tenant-a.example.com');
  assert.equal(stream.peer.remoteAddress, '127.0.0.1');
  ws.close();
  await waitFor(() => sink.closes.length === sink.streams.length);
});

test('transport - ws refuses other paths and plain HTTP requests', async (t) => {
  const sink = new RecordingSink();
  const group = await listen(t, [{ name: 'ws', kind: 'ws', host, port: 0, wsPath: '/mqtt' }], sink);
  const port = group.ports['ws'] ?? 0;
  const ws = new WebSocket(`ws://${host}:${port}/other`, 'mqtt');
  const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
  assert.equal(res.statusCode, 404);
  ws.on('error', () => {});
  ws.terminate();
  const plain = await fetch(`http://${host}:${port}/mqtt`);
  assert.equal(plain.status, 426);
  assert.equal(sink.streams.length, 0);
});

test('transport - ws text frame closes the connection [MQTT-6.0.0-1]', async (t) => {
  const sink = new RecordingSink();
  const group = await listen(t, [{ name: 'ws', kind: 'ws', host, port: 0 }], sink);
  const ws = new WebSocket(`ws://${host}:${group.ports['ws']}/mqtt`, 'mqtt');
  await wsOpen(ws);
  ws.send('not binary');
  const [code] = (await once(ws, 'close')) as [number];
  assert.equal(code, 1003);
});

test('transport - ws write reports backpressure above the high-water mark and onDrain fires', async (t) => {
  const sink = new RecordingSink(false);
  const group = await listen(t, [{ name: 'ws', kind: 'ws', host, port: 0, maxMessageBytes: 1 << 20 }], sink);
  const ws = new WebSocket(`ws://${host}:${group.ports['ws']}/mqtt`, 'mqtt');
  await wsOpen(ws);
  ws.pause();
  const stream = await waitFor(() => sink.streams[0]);
  const drained = (): number => sink.drains.get(stream) ?? 0;
  assert.equal(stream.write(Buffer.alloc(100)), true, 'small write is below the mark');
  const chunk = Buffer.alloc(256 * 1024);
  let writes = 0;
  while (stream.write(chunk)) assert.ok(++writes < 400, 'backpressure never reported');
  assert.ok(stream.bufferedBytes >= WS_HIGH_WATER_MARK);
  let received = 0;
  ws.on('message', (d: Buffer) => (received += d.length));
  ws.resume();
  await waitFor(() => drained() === 1, { message: 'drain' });
  assert.ok(stream.bufferedBytes < WS_HIGH_WATER_MARK);
  await waitFor(() => received === 100 + (writes + 1) * chunk.length, { message: 'all bytes received' });
  ws.terminate();
});

test('transport - tls passes SNI server name and verified client certificate CN', async (t) => {
  const dir = tempDir(t);
  const server = makeSelfSignedCert(dir);
  const device = makeSelfSignedCert(dir, { cn: 'device-1', altNames: ['DNS:device-1'] });
  const sink = new RecordingSink();
  const tls = { cert: readFileSync(server.certFile), key: readFileSync(server.keyFile), ca: readFileSync(device.certFile), requestClientCert: true };
  const group = await listen(t, [{ name: 'mqtts', kind: 'tls', host, port: 0, tls }], sink);
  const port = group.ports['mqtts'] ?? 0;

  const client = tlsConnect({ host, port, servername: 'localhost', ca: server.cert, cert: device.cert, key: device.key });
  await once(client, 'secureConnect');
  client.write('ping');
  const [echo] = (await once(client, 'data')) as [Buffer];
  assert.equal(echo.toString(), 'ping');
  const stream = sink.streams[0];
  assert.ok(stream);
  assert.equal(stream.peer.transport, 'tls');
  assert.equal(stream.peer.serverName, 'localhost');
  assert.equal(stream.peer.clientCertCN, 'device-1');
  client.destroy();

  // Without a client certificate the handshake is refused and nothing reaches the sink.
  const anonymous: TLSSocket = tlsConnect({ host, port, servername: 'localhost', ca: server.cert });
  await new Promise<void>((resolve) => {
    anonymous.once('error', () => resolve());
    anonymous.once('close', () => resolve());
  });
  assert.equal(sink.streams.length, 1);
});

test('transport - wss uses the Host header as server name and passes the client CN', async (t) => {
  const dir = tempDir(t);
  const server = makeSelfSignedCert(dir);
  const device = makeSelfSignedCert(dir, { cn: 'device-2', altNames: ['DNS:device-2'] });
  const sink = new RecordingSink();
  const tls = { cert: readFileSync(server.certFile), key: readFileSync(server.keyFile), ca: readFileSync(device.certFile), requestClientCert: true };
  const group = await listen(t, [{ name: 'wss', kind: 'wss', host, port: 0, tls }], sink);
  const ws = new WebSocket(`wss://localhost:${group.ports['wss']}/mqtt`, 'mqtt', { ca: server.cert, cert: device.cert, key: device.key });
  await wsOpen(ws);
  const stream = await waitFor(() => sink.streams[0]);
  assert.equal(stream.peer.transport, 'wss');
  assert.equal(stream.peer.listener, 'wss');
  assert.equal(stream.peer.serverName, 'localhost');
  assert.equal(stream.peer.clientCertCN, 'device-2');
  ws.terminate();
});

test('transport - stopAccepting refuses new connections; the sink ends its streams, close releases the ports', async (t) => {
  const sink = new RecordingSink();
  const group = await listen(
    t,
    [
      { name: 'mqtt', kind: 'tcp', host, port: 0 },
      { name: 'ws', kind: 'ws', host, port: 0 },
    ],
    sink,
  );
  const tcpPort = group.ports['mqtt'] ?? 0;
  const wsPort = group.ports['ws'] ?? 0;
  const client = await tcp(tcpPort);
  const ws = new WebSocket(`ws://${host}:${wsPort}/mqtt`, 'mqtt');
  await wsOpen(ws);
  await waitFor(() => sink.streams.length === 2);
  group.stopAccepting();
  await assert.rejects(tcp(tcpPort));
  await assert.rejects(tcp(wsPort));
  client.write('still here');
  const [echo] = (await once(client, 'data')) as [Buffer];
  assert.equal(echo.toString(), 'still here');
  assert.equal(group.listeners.find((l) => l.name === 'mqtt')?.connections, 1);
  // The sink ends what it was handed (the broker does, in its close), then the listeners close at once.
  const closed = Promise.all([once(client, 'close'), once(ws, 'close')]);
  for (const s of sink.streams) s.end();
  await closed;
  await waitFor(() => sink.closes.length === 2);
  await waitFor(() => group.listeners.every((l) => l.connections === 0), { message: 'listeners count their connections out' });
  const started = Date.now();
  await group.close();
  assert.ok(Date.now() - started < 1000, 'nothing left to wait for');
});

test('transport - accepted sockets share one frozen empty pipes array; pause and resume still carry every byte', async (t) => {
  const sink = new RecordingSink();
  const group = await listen(
    t,
    [
      // Plain TCP through net.Socket (its fallback; otherwise there is no socket: handle-stream.test.ts).
      { name: 'mqtt', kind: 'tcp', host, port: 0, netSocket: true },
      { name: 'ws', kind: 'ws', host, port: 0 },
    ],
    sink,
  );
  const a = await tcp(group.ports['mqtt'] ?? 0);
  const b = await tcp(group.ports['mqtt'] ?? 0);
  const ws = new WebSocket(`ws://${host}:${group.ports['ws'] ?? 0}/mqtt`, 'mqtt');
  await wsOpen(ws);
  await waitFor(() => sink.streams.length === 3);
  const pipes = sink.streams.map((s) => (s as unknown as { socket: { _readableState: { pipes: unknown } } }).socket._readableState.pipes);
  assert.ok(Array.isArray(pipes[0]) && Object.isFrozen(pipes[0]) && (pipes[0] as unknown[]).length === 0);
  assert.equal(pipes[1], pipes[0]);
  assert.equal(pipes[2], pipes[0]);
  // Paused, the socket buffers in its own ReadableState; resumed, every byte comes through once.
  const stream = sink.streams[0]!;
  stream.pause();
  a.write('x'.repeat(100_000));
  await new Promise((resolve) => setTimeout(resolve, 100));
  stream.resume();
  let echoed = 0;
  a.on('data', (c: Buffer) => (echoed += c.length));
  await waitFor(() => echoed === 100_000, { message: 'all bytes echoed after resume' });
  b.destroy();
  ws.terminate();
});

test('transport - a port in use is an error naming the listener', async (t) => {
  const sink = new RecordingSink();
  const group = await listen(t, [{ name: 'mqtt', kind: 'tcp', host, port: 0 }], sink);
  await assert.rejects(
    startListeners([{ name: 'ws', kind: 'ws', host, port: 0 }, { name: 'mqtt2', kind: 'tcp', host, port: group.ports['mqtt'] ?? 0 }], sink, logger),
    /listener mqtt2 cannot listen/,
  );
});

/** The listen(2) backlog of a listening socket: `ss` shows it as Send-Q. */
function listenBacklog(port: number): number {
  const line = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim();
  const sendQ = Number(line.split(/\s+/)[2]);
  assert.ok(Number.isInteger(sendQ), `ss gave no listening socket on ${port}: ${line}`);
  return sendQ;
}

test('transport - listeners take the configured listen backlog (the kernel caps it at somaxconn)', async (t) => {
  const sink = new RecordingSink();
  const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  const asked = Math.min(1000, somaxconn);
  const group = await listen(
    t,
    [
      { name: 'mqtt', kind: 'tcp', host, port: 0, backlog: asked },
      { name: 'ws', kind: 'ws', host, port: 0, backlog: asked },
      { name: 'plain', kind: 'tcp', host, port: 0 },
    ],
    sink,
  );
  assert.equal(listenBacklog(group.ports['mqtt'] ?? 0), asked);
  assert.equal(listenBacklog(group.ports['ws'] ?? 0), asked);
  assert.equal(listenBacklog(group.ports['plain'] ?? 0), 511, "node's default when none is set");
});
