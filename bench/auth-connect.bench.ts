/**
 * Connects per second with authentication (issue 4): anonymous vs Signature vs Token vs
 * DeviceCredential, over TCP on loopback.
 *
 *   node dist/bench/auth-connect.bench.js [--seconds 5] [--warmup 1] [--loops 64] [--rounds 3]
 *
 * Ferry runs in a worker thread (its own event loop and core); the main thread runs `loops`
 * parallel connect loops: TCP connect → CONNECT → CONNACK → DISCONNECT → close, each with a
 * new client id `GID_bench@@@<loop>-<n>` (so Signature/DeviceCredential passwords differ per
 * connect, as with real devices). Signature/Token/DeviceCredential clients go to a relaxed
 * instance with the group created; anonymous ones to the default instance. Store: memory.
 * Median of `rounds` windows per mode, modes interleaved round by round.
 */
import { createHmac } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const INSTANCE = 'mqtt-bench';
const KEY = { id: 'BENCHKEY0001', secret: 'bench-secret-0123456789' };

type Mode = 'anonymous' | 'signature' | 'token' | 'device';
const MODES: readonly Mode[] = ['anonymous', 'signature', 'token', 'device'];

interface Ready {
  port: number;
  token: string;
  /** One DeviceCredential per loop: client id `GID_bench@@@dev<i>`. */
  devices: Array<{ id: string; secret: string }>;
}

// ---------------------------------------------------------------- broker side (worker thread)

async function runBroker(): Promise<void> {
  const { resolveConfig } = await import('../src/config/index.js');
  const { startFerry } = await import('../src/server.js');
  const { tmpdir } = await import('node:os');
  const { mkdtempSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { config } = resolveConfig({
    dataDir: mkdtempSync(join(tmpdir(), 'ferry-auth-bench-')),
    storeEngine: 'memory',
    mqttPort: 0,
    wsPort: 0,
    httpPort: 0,
    amqpPort: -1,
    logLevel: 'silent',
    tracing: false,
    bootstrapAccessKeyId: KEY.id,
    bootstrapAccessKeySecret: KEY.secret,
    loginMaxFailuresPerIp: 0,
    loginMaxFailuresPerUsername: 0,
  });
  const ferry = await startFerry(config, { announce: null });
  const auth = ferry.auth;
  await auth.tenancy.createInstance({ id: INSTANCE, mode: 'relaxed' });
  await auth.tenancy.createGroup(INSTANCE, 'GID_bench');
  const { token } = auth.tokens.apply({
    instanceId: INSTANCE,
    accessKeyId: KEY.id,
    resources: ['bench/#'],
    actions: 'R,W',
    expireTime: Date.now() + 24 * 3600_000,
  });
  // DeviceCredential: a credential is bound to one client id, so each loop has its own device.
  const devices: Ready['devices'] = [];
  for (let i = 0; i < (workerData as { loops: number }).loops; i++) {
    const cred = await auth.devices.register(INSTANCE, `GID_bench@@@dev${i}`);
    devices.push({ id: cred.DeviceAccessKeyId, secret: cred.DeviceAccessKeySecret });
  }
  const ready: Ready = { port: ferry.ports.mqtt, token, devices };
  parentPort!.postMessage(ready);
  parentPort!.on('message', (message: string) => {
    if (message === 'stop') {
      ferry.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          console.error('broker stop failed', err);
          process.exit(1);
        },
      );
    }
  });
}

// ---------------------------------------------------------------- connector side (main thread)

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.alloc(2 + b.length);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    bytes.push(b);
  } while (n > 0);
  return Buffer.from(bytes);
}

/** MQTT 3.1.1 CONNECT, clean session, with optional username/password. */
function connectPacket(clientId: string, username?: string, password?: string): Buffer {
  const flags = 0x02 | (username !== undefined ? 0x80 : 0) | (password !== undefined ? 0x40 : 0);
  const body = Buffer.concat([
    Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, flags, 0x00, 0x3c]),
    str(clientId),
    ...(username !== undefined ? [str(username)] : []),
    ...(password !== undefined ? [str(password)] : []),
  ]);
  return Buffer.concat([Buffer.from([0x10]), varint(body.length), body]);
}

const DISCONNECT = Buffer.from([0xe0, 0x00]);

const hmac = (secret: string, text: string): string => createHmac('sha1', secret).update(text).digest('base64');

function credentials(mode: Mode, loop: number, n: number, ready: Ready): Buffer {
  const clientId = `GID_bench@@@${loop}-${n}`;
  switch (mode) {
    case 'anonymous':
      return connectPacket(clientId);
    case 'signature':
      return connectPacket(clientId, `Signature|${KEY.id}|${INSTANCE}`, hmac(KEY.secret, clientId));
    case 'token':
      return connectPacket(clientId, `Token|${KEY.id}|${INSTANCE}`, `RW|${ready.token}`);
    case 'device': {
      const device = ready.devices[loop]!;
      const deviceId = `GID_bench@@@dev${loop}`;
      return connectPacket(deviceId, `DeviceCredential|${device.id}|${INSTANCE}`, hmac(device.secret, deviceId));
    }
  }
}

interface Window {
  connects: number;
  refused: number;
}

/** One connect → CONNACK → DISCONNECT → close cycle; resolves with the CONNACK return code. */
function cycle(port: number, packet: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket: Socket = tcpConnect({ port, host: '127.0.0.1', noDelay: true });
    let code = -1;
    socket.once('connect', () => socket.write(packet));
    socket.on('data', (chunk: Buffer) => {
      if (code === -1 && chunk.length >= 4 && chunk[0] === 0x20) {
        code = chunk[3]!;
        if (code === 0) socket.end(DISCONNECT);
        else socket.end();
      }
    });
    socket.once('error', reject);
    socket.once('close', () => resolve(code));
  });
}

async function measure(mode: Mode, ready: Ready, loops: number, seconds: number, warmup: number): Promise<Window> {
  const stats: Window = { connects: 0, refused: 0 };
  let counting = false;
  let running = true;
  const loop = async (index: number): Promise<void> => {
    let n = 0;
    while (running) {
      const code = await cycle(ready.port, credentials(mode, index, n++, ready));
      if (!counting) continue;
      if (code === 0) stats.connects++;
      else stats.refused++;
    }
  };
  const all = Array.from({ length: loops }, (_, i) => loop(i));
  await new Promise((resolve) => setTimeout(resolve, warmup * 1000));
  counting = true;
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  counting = false;
  running = false;
  await Promise.all(all);
  return { connects: stats.connects / seconds, refused: stats.refused };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      loops: { type: 'string', default: '64' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const seconds = Number(values.seconds);
  const warmup = Number(values.warmup);
  const loops = Number(values.loops);
  const rounds = Number(values.rounds);
  const worker = new Worker(new URL(import.meta.url), { workerData: { loops } });
  const ready = await new Promise<Ready>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const results = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  let refused = 0;
  for (let round = 0; round < rounds; round++) {
    for (const mode of MODES) {
      const window = await measure(mode, ready, loops, seconds, warmup);
      results.get(mode)!.push(window.connects);
      refused += window.refused;
      process.stderr.write(`round ${round + 1} ${mode}: ${Math.round(window.connects)} connects/s\n`);
    }
  }
  worker.postMessage('stop');
  const anonymous = median(results.get('anonymous')!);
  console.log(`\nNode ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${loops} loops, ${rounds} × ${seconds} s\n`);
  console.log('| mode | connects/s (median) | vs anonymous |');
  console.log('|---|---:|---:|');
  for (const mode of MODES) {
    const value = median(results.get(mode)!);
    console.log(`| ${mode} | ${Math.round(value).toLocaleString('en-US')} | ${(value / anonymous).toFixed(2)}× |`);
  }
  if (refused > 0) console.log(`\n${refused} connects were refused (should be 0)`);
}

const failed = (err: unknown): void => {
  console.error(err);
  process.exit(1);
};
if (isMainThread) {
  main().catch(failed);
} else {
  runBroker().catch(failed);
}
