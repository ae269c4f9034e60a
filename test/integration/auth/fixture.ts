/**
 * Ferry with authentication for the issue 4 proof tests: a known bootstrap AccessKey, a manual
 * auth clock (token expiry and notices on demand), and mqtt.js helpers that report what a
 * refused client sees (CONNACK codes, SUBACK/PUBACK reason codes, server DISCONNECT, close).
 */
import type { TestContext } from 'node:test';
import mqtt, { type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient, type Packet } from 'mqtt';
import { ManualClock } from '../../../src/auth/clock.js';
import { hmacSha1Base64 } from '../../../src/auth/crypto.js';
import type { FerryConfigInput, RunningFerry } from '../../../src/internal.js';
import { startFerry, within } from '../../helpers/index.js';

export const ADMIN = { id: 'FERRYADMIN00001', secret: 'admin-secret-0123456789' };

export interface AuthFerry {
  readonly ferry: RunningFerry;
  readonly clock: ManualClock;
  readonly url: string;
}

export async function startAuthFerry(t: TestContext, config: FerryConfigInput = {}): Promise<AuthFerry> {
  const clock = new ManualClock(Date.now());
  const ferry = await startFerry(
    t,
    { storeEngine: 'memory', bootstrapAccessKeyId: ADMIN.id, bootstrapAccessKeySecret: ADMIN.secret, ...config },
    { authClock: clock, announce: null },
  );
  return { ferry, clock, url: `mqtt://127.0.0.1:${ferry.ports.mqtt}` };
}

export interface Conn {
  readonly client: MqttClient;
  readonly connack: IConnackPacket;
  /** PUBLISHes received (any topic, also without a subscription). */
  readonly received: Array<{ topic: string; payload: string; packet: IPublishPacket }>;
  /** Server DISCONNECT reason code (MQTT 5), when one came. */
  disconnectReason: number | null;
  closed: boolean;
  /** Resolves when the connection is closed. */
  readonly whenClosed: Promise<void>;
}

export async function open(t: TestContext, url: string, options: IClientOptions): Promise<Conn> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, ...options });
  t.after(() => {
    client.end(true);
  });
  const received: Conn['received'] = [];
  let markClosed!: () => void;
  const whenClosed = new Promise<void>((resolve) => (markClosed = resolve));
  const conn = {
    client,
    received,
    disconnectReason: null as number | null,
    closed: false,
    whenClosed,
  };
  client.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), packet }));
  client.on('disconnect', (packet) => (conn.disconnectReason = packet.reasonCode ?? 0));
  client.on('close', () => {
    conn.closed = true;
    markClosed();
  });
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
  return { ...conn, connack, get disconnectReason() { return conn.disconnectReason; }, get closed() { return conn.closed; } } as Conn;
}

/** Connects expecting a refusal; resolves with the CONNACK return code (3.1.1) or reason code (5). */
export function refused(t: TestContext, url: string, options: IClientOptions): Promise<number> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, ...options });
  t.after(() => {
    client.end(true);
  });
  return new Promise((resolve, reject) => {
    client.once('connect', () => reject(new Error('connection was accepted')));
    client.once('error', (error: Error & { code?: number }) => {
      if (typeof error.code === 'number') resolve(error.code);
      else reject(error);
    });
    client.once('close', () => reject(new Error('closed without a CONNACK')));
  });
}

function nextPacket(client: MqttClient, cmd: Packet['cmd'], timeoutMs = 3000): Promise<Packet | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(null), timeoutMs);
    const onPacket = (packet: Packet): void => {
      if (packet.cmd === cmd) done(packet);
    };
    const onClose = (): void => done(null);
    const done = (packet: Packet | null): void => {
      clearTimeout(timer);
      client.off('packetreceive', onPacket);
      client.off('close', onClose);
      resolve(packet);
    };
    client.on('packetreceive', onPacket);
    client.once('close', onClose);
  });
}

/** SUBSCRIBE; the SUBACK codes, or null if the connection closed instead. */
export async function subscribe(conn: Conn, filters: string | string[], qos: 0 | 1 | 2 = 1): Promise<number[] | null> {
  const suback = nextPacket(conn.client, 'suback');
  conn.client.subscribe(filters, { qos }, () => undefined);
  const packet = await suback;
  return packet === null ? null : (packet as unknown as { granted: number[] }).granted;
}

/** QoS 1 PUBLISH; the PUBACK reason code (0 when none), or null if the connection closed instead. */
export async function publish(conn: Conn, topic: string, payload: string | Buffer = 'x'): Promise<number | null> {
  const puback = nextPacket(conn.client, 'puback');
  conn.client.publish(topic, payload, { qos: 1 }, () => undefined);
  const packet = await puback;
  return packet === null ? null : ((packet as unknown as { reasonCode?: number }).reasonCode ?? 0);
}

/** Waits until `count` messages arrived (or fails after the timeout). */
export async function received(conn: Conn, count: number, timeoutMs = 3000): Promise<Conn['received']> {
  const deadline = Date.now() + timeoutMs;
  while (conn.received.length < count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} messages, got ${conn.received.length}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return conn.received;
}

export async function closed(conn: Conn, timeoutMs = 3000): Promise<void> {
  await within(timeoutMs, 'connection still open', conn.whenClosed);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function signature(accessKeyId: string, secret: string, instanceId: string, clientId: string): IClientOptions {
  return { clientId, username: `Signature|${accessKeyId}|${instanceId}`, password: hmacSha1Base64(secret, clientId) };
}
