/**
 * The AMQP endpoint's protocol edges over a raw socket: a wrong protocol header, malformed and
 * out-of-place frames, an oversize frame and unsupported methods each close the connection with
 * the reply code AMQP 0-9-1 names (501, 502, 505, 540, ...), and Ferry keeps serving.
 */
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import amqp from 'amqplib';
import { makeSelfSignedCert, startFerry, tempDir, waitFor, within } from '../../helpers/index.js';
import { DEFAULT_INSTANCE_ID } from '../../../src/broker/options.js';
import { decodeArgs, encodeMethod, FrameReader, M, PROTOCOL_HEADER, type Frame } from '../../../src/amqp/codec.js';
import { connectAmqp, sdkLogin, type SdkKey } from './sdk.js';

const KEY: SdkKey = { id: 'FERRYAMQPPROTO1', secret: 'amqp-protocol-secret-012345678' };

interface Raw {
  socket: Socket;
  frames: Frame[];
  /** Bytes received before the first frame parse (protocol header answers). */
  raw: Buffer[];
  closed: Promise<void>;
  next(id: number): Promise<Frame & { type: 'method' }>;
}

function rawConnect(t: TestContext, port: number): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1', () => resolve(raw));
    socket.on('error', reject);
    t.after(() => socket.destroy());
    const reader = new FrameReader();
    reader.frameMax = 1 << 20;
    const raw: Raw = {
      socket,
      frames: [],
      raw: [],
      closed: new Promise((done) => socket.on('close', () => done())),
      next: (id) =>
        waitFor(() => raw.frames.find((f): f is Frame & { type: 'method' } => f.type === 'method' && f.id === id), { message: `method ${id.toString(16)}` }),
    };
    socket.on('data', (chunk: Buffer) => {
      raw.raw.push(chunk);
      if (Buffer.concat(raw.raw).equals(PROTOCOL_HEADER)) return;
      raw.frames.push(...reader.push(chunk));
    });
  });
}

/** A raw connection through the SDK login, open on vhost MQTT with channel 1 open. */
async function opened(t: TestContext, port: number): Promise<Raw> {
  const c = await rawConnect(t, port);
  c.socket.write(PROTOCOL_HEADER);
  await c.next(M.ConnectionStart);
  const login = sdkLogin(DEFAULT_INSTANCE_ID, KEY);
  c.socket.write(
    encodeMethod(M.ConnectionStartOk, 0, {
      clientProperties: login.clientProperties,
      mechanism: 'PLAIN',
      response: Buffer.from(`\u0000${login.username}\u0000${login.password}`),
      locale: 'en_US',
    }),
  );
  await c.next(M.ConnectionTune);
  c.socket.write(encodeMethod(M.ConnectionTuneOk, 0, { channelMax: 0, frameMax: 8192, heartbeat: 0 }));
  c.socket.write(encodeMethod(M.ConnectionOpen, 0, { virtualHost: 'MQTT', capabilities: '', insist: false }));
  await c.next(M.ConnectionOpenOk);
  c.socket.write(encodeMethod(M.ChannelOpen, 1, { outOfBand: '' }));
  await c.next(M.ChannelOpenOk);
  return c;
}

async function closedWith(c: Raw, code: number): Promise<string> {
  const close = await c.next(M.ConnectionClose);
  const args = decodeArgs<{ replyCode: number; replyText: string }>(close.id, close.args);
  assert.equal(args.replyCode, code, args.replyText);
  c.socket.write(encodeMethod(M.ConnectionCloseOk, 0, {}));
  await c.closed;
  return args.replyText;
}

test('amqp - malformed and unexpected frames close the connection with 501/502/505/540 and Ferry keeps serving', async (t) => {
  const ferry = await startFerry(t, { amqpPort: 0, bootstrapAccessKeyId: KEY.id, bootstrapAccessKeySecret: KEY.secret });
  const port = ferry.ports.amqp!;

  // A different protocol header: Ferry answers with the one it speaks and closes.
  const wrong = await rawConnect(t, port);
  wrong.socket.write(Buffer.from('AMQP\u0000\u0000\u0009\u0000'));
  await wrong.closed;
  assert.deepEqual(Buffer.concat(wrong.raw), PROTOCOL_HEADER);

  // No frame-end octet.
  let c = await opened(t, port);
  const bad = encodeMethod(M.BasicQos, 1, { prefetchSize: 0, prefetchCount: 1, global: false });
  bad[bad.length - 1] = 0;
  c.socket.write(bad);
  assert.match(await closedWith(c, 501), /FRAME_ERROR/);

  // Larger than the negotiated frame-max (8192).
  c = await opened(t, port);
  const big = Buffer.alloc(9000 + 8);
  big.writeUInt8(1, 0);
  big.writeUInt16BE(1, 1);
  big.writeUInt32BE(9000, 3);
  big[big.length - 1] = 0xce;
  c.socket.write(big);
  assert.match(await closedWith(c, 501), /frame-max/);

  // Method arguments cut short.
  c = await opened(t, port);
  const frame = Buffer.from([1, 0, 1, 0, 0, 0, 6, 0, 0x32, 0, 0x0a, 0, 0, 0xce]); // queue.declare, 2 argument bytes
  c.socket.write(frame);
  assert.match(await closedWith(c, 502), /SYNTAX_ERROR/);

  // A content body with no basic.publish before it.
  c = await opened(t, port);
  c.socket.write(Buffer.from([3, 0, 1, 0, 0, 0, 2, 0x68, 0x69, 0xce]));
  assert.match(await closedWith(c, 505), /UNEXPECTED_FRAME/);

  // An unknown frame type.
  c = await opened(t, port);
  c.socket.write(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0xce]));
  assert.match(await closedWith(c, 501), /frame type/);

  // A frame on a channel never opened.
  c = await opened(t, port);
  c.socket.write(encodeMethod(M.BasicQos, 7, { prefetchSize: 0, prefetchCount: 1, global: false }));
  assert.match(await closedWith(c, 504), /channel 7/);

  // A method outside the subset (basic.get), named in the close.
  c = await opened(t, port);
  c.socket.write(encodeMethod(0x003c0046, 1, { ticket: 0, queue: 'sensors', noAck: true }));
  assert.match(await closedWith(c, 540), /basic\.get/);

  // An unknown virtual host.
  c = await rawConnect(t, port);
  c.socket.write(PROTOCOL_HEADER);
  await c.next(M.ConnectionStart);
  const login = sdkLogin(DEFAULT_INSTANCE_ID, KEY);
  c.socket.write(encodeMethod(M.ConnectionStartOk, 0, { clientProperties: login.clientProperties, mechanism: 'PLAIN', response: Buffer.from(`\u0000${login.username}\u0000${login.password}`), locale: 'en_US' }));
  await c.next(M.ConnectionTune);
  c.socket.write(encodeMethod(M.ConnectionTuneOk, 0, { channelMax: 0, frameMax: 8192, heartbeat: 0 }));
  c.socket.write(encodeMethod(M.ConnectionOpen, 0, { virtualHost: 'prod', capabilities: '', insist: false }));
  assert.match(await closedWith(c, 530), /virtual host/);

  // Random bytes after the header.
  c = await rawConnect(t, port);
  c.socket.write(Buffer.concat([PROTOCOL_HEADER, Buffer.from('\u0001\u0000\u0000\u0000\u0000\u0000\u0001\u0000\u00ce', 'latin1')]));
  await c.closed;

  // Still serving: amqplib connects and an unsupported method via the library is 540 too.
  const connection = await connectAmqp(t, port, sdkLogin(DEFAULT_INSTANCE_ID, KEY));
  const closed = new Promise<Error>((resolve) => connection.once('error', resolve));
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  await assert.rejects(channel.assertExchange('x', 'topic'));
  assert.match((await closed).message, /540.*exchange\.declare/);
});

test('amqp - heartbeats are sent at the negotiated rate', async (t) => {
  const ferry = await startFerry(t, { amqpPort: 0, bootstrapAccessKeyId: KEY.id, bootstrapAccessKeySecret: KEY.secret });
  const c = await rawConnect(t, ferry.ports.amqp!);
  c.socket.write(PROTOCOL_HEADER);
  await c.next(M.ConnectionStart);
  const login = sdkLogin(DEFAULT_INSTANCE_ID, KEY);
  c.socket.write(encodeMethod(M.ConnectionStartOk, 0, { clientProperties: login.clientProperties, mechanism: 'PLAIN', response: Buffer.from(`\u0000${login.username}\u0000${login.password}`), locale: 'en_US' }));
  await c.next(M.ConnectionTune);
  c.socket.write(encodeMethod(M.ConnectionTuneOk, 0, { channelMax: 0, frameMax: 8192, heartbeat: 1 }));
  c.socket.write(encodeMethod(M.ConnectionOpen, 0, { virtualHost: 'MQTT', capabilities: '', insist: false }));
  await c.next(M.ConnectionOpenOk);
  await waitFor(() => c.frames.some((f) => f.type === 'heartbeat'), { timeoutMs: 3000, message: 'a heartbeat from Ferry' });
  // A peer that stays silent for two heartbeat intervals is dropped.
  await within(5000, 'not dropped', c.closed);
});

test('amqp - AMQPS: the same endpoint over TLS when TLS is configured, and /readyz counts the listener', async (t) => {
  const cert = makeSelfSignedCert(tempDir(t), { cn: 'localhost', altNames: ['DNS:localhost', 'IP:127.0.0.1'] });
  const ferry = await startFerry(t, {
    amqpPort: -1,
    amqpsPort: 0,
    tlsCert: cert.certFile,
    tlsKey: cert.keyFile,
    bootstrapAccessKeyId: KEY.id,
    bootstrapAccessKeySecret: KEY.secret,
  });
  assert.equal(ferry.ports.amqp, undefined, 'the plain listener is off');
  assert.ok(ferry.ports.amqps !== undefined && ferry.ports.amqps > 0);
  const login = sdkLogin(DEFAULT_INSTANCE_ID, KEY);
  const connection = await amqp.connect(
    { protocol: 'amqps', hostname: '127.0.0.1', port: ferry.ports.amqps, username: login.username, password: login.password, vhost: 'MQTT' },
    { clientProperties: login.clientProperties, ca: [cert.cert], servername: 'localhost' },
  );
  t.after(() => connection.close().catch(() => undefined));
  const channel = await connection.createChannel();
  const declared = await channel.assertQueue('secure');
  assert.equal(declared.queue, 'secure');
  const ready = await fetch(`http://127.0.0.1:${ferry.ports.http}/readyz`);
  assert.equal(ready.status, 200);
});
