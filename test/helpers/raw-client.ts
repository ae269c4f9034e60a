/**
 * A raw MQTT client for conformance tests: a real TCP socket, Ferry's own codec, and nothing
 * else — no retries, no automatic acks, no keepalive. Tests say exactly which bytes go out and
 * assert exactly which packets come back, in the style of nats-server's `testMQTTConnect`,
 * `testMQTTCheckConnAck` and `testMQTTExpectNothing`.
 *
 *   const { client, connack } = await rawConnect(t, port, { protocolVersion: 5 });
 *   client.send({ type: 'subscribe', packetId: 1, subscriptions: [sub('a/b', 1)] });
 *   await client.expectPacket('suback');
 *   await client.expectNothing(100);
 *
 * Every packet the server sends is queued in arrival order; expectPacket() takes the next one
 * and fails if it is of another type, so unexpected packets never go unnoticed. Every wait has
 * a timeout. The socket is destroyed after the test.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { once } from 'node:events';
import {
  Decoder,
  MAX_PACKET_SIZE,
  encode,
  type ConnackPacket,
  type ConnectPacket,
  type Packet,
  type PacketType,
  type ProtocolVersion,
  type PublishPacket,
  type QoS,
  type Subscription,
} from '../../src/protocol/index.js';
import type { Teardown } from './temp.js';

export type PacketOf<T extends PacketType> = Extract<Packet, { type: T }>;

/** Default time a raw client waits for a packet or a close, ms. */
export const RAW_TIMEOUT_MS = 2000;

export class RawClient {
  /** Packets received and not yet taken by expectPacket(), oldest first. */
  readonly inbox: Packet[] = [];
  /** Set once the socket has closed (either side). */
  closed = false;
  /** Why the socket closed, if it was an error. */
  error: Error | undefined;
  /** Set when the server sent bytes our codec rejects: every later expectation fails with it. */
  decodeError: Error | undefined;
  private readonly decoder: Decoder;
  private wake: (() => void) | null = null;

  constructor(
    readonly socket: Socket,
    /** Version used to encode packets and decode the server's; set it before sending CONNECT. */
    public protocolVersion: ProtocolVersion,
  ) {
    this.decoder = new Decoder({ maxPacketSize: MAX_PACKET_SIZE, protocolVersion });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.error ??= err;
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  /** Encodes a packet with the client's protocol version (or writes raw bytes) and sends it. */
  send(packet: Packet | Buffer): void {
    const data = Buffer.isBuffer(packet) ? packet : encode(packet, this.protocolVersion);
    if (!this.closed) this.socket.write(data);
  }

  /**
   * The next packet from the server, which must be of `type`. Fails on another type, on close
   * and on timeout, naming what came instead.
   */
  async expectPacket<T extends PacketType>(type: T, timeoutMs = RAW_TIMEOUT_MS): Promise<PacketOf<T>> {
    const packet = await this.nextPacket(timeoutMs, `a ${type.toUpperCase()}`);
    if (packet.type !== type) {
      throw new Error(`expected ${type.toUpperCase()}, got ${describePacket(packet)}`);
    }
    return packet as PacketOf<T>;
  }

  /** The next packet from the server, whatever its type. */
  async nextPacket(timeoutMs = RAW_TIMEOUT_MS, what = 'a packet'): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const packet = this.inbox.shift();
      if (packet !== undefined) return packet;
      if (this.decodeError !== undefined) throw this.decodeError;
      if (this.closed) throw new Error(`expected ${what}, but the connection closed${this.why()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${what} within ${timeoutMs} ms, got nothing`);
      await this.wait(left);
    }
  }

  /**
   * Resolves once the server has closed the connection. Fails if a packet arrives first (take
   * expected packets, e.g. an MQTT 5 DISCONNECT, with expectPacket() before) or on timeout.
   */
  async expectClosed(timeoutMs = RAW_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const packet = this.inbox[0];
      if (packet !== undefined) throw new Error(`expected the connection to close, got ${describePacket(packet)}`);
      if (this.decodeError !== undefined) throw this.decodeError;
      if (this.closed) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected the connection to close within ${timeoutMs} ms, it stayed open`);
      await this.wait(left);
    }
  }

  /** Waits `ms` and fails if any packet arrived or the connection closed meanwhile. */
  async expectNothing(ms = 100): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const packet = this.inbox[0];
      if (packet !== undefined) throw new Error(`expected nothing for ${ms} ms, got ${describePacket(packet)}`);
      if (this.decodeError !== undefined) throw this.decodeError;
      if (this.closed) throw new Error(`expected nothing for ${ms} ms, but the connection closed${this.why()}`);
      const left = deadline - Date.now();
      if (left <= 0) return;
      await this.wait(left);
    }
  }

  /**
   * Waits until at least `count` packets are waiting in the inbox (for bulk receives, where
   * taking packets one by one would be slow). Fails on close or timeout.
   */
  async expectInbox(count: number, timeoutMs = RAW_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length < count) {
      if (this.decodeError !== undefined) throw this.decodeError;
      if (this.closed) throw new Error(`expected ${count} packets, the connection closed with ${this.inbox.length}${this.why()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} packets within ${timeoutMs} ms, got ${this.inbox.length}`);
      await this.wait(left);
    }
  }

  /** Sends SUBSCRIBE for `filters` and returns the SUBACK reason codes. */
  async subscribe(filters: string | Array<string | Subscription>, qos: QoS = 0, packetId = 1): Promise<number[]> {
    const list = typeof filters === 'string' ? [filters] : filters;
    this.send({
      type: 'subscribe',
      packetId,
      subscriptions: list.map((f) => (typeof f === 'string' ? subscription(f, qos) : f)),
    });
    const suback = await this.expectPacket('suback');
    if (suback.packetId !== packetId) throw new Error(`SUBACK for packet id ${suback.packetId}, sent ${packetId}`);
    return suback.reasonCodes;
  }

  /** Sends PUBLISH (QoS 0 unless given; packet id 1 for QoS > 0 unless given). No ack is awaited. */
  publish(topic: string, payload: string | Buffer, options: Partial<Omit<PublishPacket, 'type' | 'topic' | 'payload'>> = {}): void {
    const qos = options.qos ?? 0;
    const packet: PublishPacket = {
      type: 'publish',
      topic,
      payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
      qos,
      retain: options.retain ?? false,
      dup: options.dup ?? false,
    };
    if (qos > 0) packet.packetId = options.packetId ?? 1;
    if (options.properties !== undefined) packet.properties = options.properties;
    this.send(packet);
  }

  /** Stops reading from the socket (a client that never reads); the kernel buffers fill up. */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** Closes the socket without DISCONNECT (an abrupt network loss, as far as the server knows). */
  destroy(): void {
    this.socket.destroy();
  }

  /** Sends DISCONNECT and ends the socket. */
  async disconnect(): Promise<void> {
    this.send({ type: 'disconnect' });
    this.socket.end();
    if (!this.closed) await this.expectClosed();
  }

  private onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    try {
      for (let packet = this.decoder.next(); packet !== null; packet = this.decoder.next()) this.inbox.push(packet);
    } catch (err) {
      // The server sent something our codec rejects: that is a failure of the test, not a close.
      this.decodeError ??= new Error(`undecodable bytes from the server: ${(err as Error).message}`, { cause: err });
      this.socket.destroy();
    }
    this.notify();
  }

  private why(): string {
    return this.error === undefined ? '' : ` (${this.error.message})`;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** A SUBSCRIBE entry with default options. */
export function subscription(topicFilter: string, qos: QoS = 0, options: Partial<Omit<Subscription, 'topicFilter' | 'qos'>> = {}): Subscription {
  return { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0, ...options };
}

/** One line naming a packet for failure messages. */
export function describePacket(packet: Packet): string {
  switch (packet.type) {
    case 'connack':
    case 'disconnect':
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return `${packet.type.toUpperCase()} reason 0x${(packet.reasonCode ?? 0).toString(16).padStart(2, '0')}`;
    case 'publish':
      return `PUBLISH ${packet.topic} qos ${packet.qos}${packet.dup ? ' dup' : ''} (${packet.payload.length} bytes)`;
    case 'suback':
      return `SUBACK [${packet.reasonCodes.map((c) => `0x${c.toString(16)}`).join(', ')}]`;
    default:
      return packet.type.toUpperCase();
  }
}

/** Opens a TCP connection to Ferry and wraps it; destroyed after the test. */
export async function rawSocket(t: Teardown, port: number, protocolVersion: ProtocolVersion = 4, host = '127.0.0.1'): Promise<RawClient> {
  const socket = netConnect({ port, host });
  t.after(() => {
    socket.destroy();
  });
  socket.setNoDelay(true);
  await Promise.race([
    once(socket, 'connect'),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`TCP connect to ${host}:${port} timed out`)), RAW_TIMEOUT_MS)),
  ]);
  return new RawClient(socket, protocolVersion);
}

export type RawConnectOptions = Partial<Omit<ConnectPacket, 'type' | 'protocolName'>>;

let clientCounter = 0;

/** The CONNECT rawConnect() sends: 3.1.1 unless protocolVersion says otherwise, clean, a unique id. */
export function connectPacket(fields: RawConnectOptions = {}): ConnectPacket {
  const version = fields.protocolVersion ?? 4;
  return {
    type: 'connect',
    protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    clean: true,
    keepalive: 0,
    clientId: `raw-${process.pid}-${++clientCounter}`,
    ...fields,
  };
}

/**
 * Connects, sends CONNECT (see connectPacket) and checks that CONNACK accepts it. For a CONNECT
 * that should be refused, use rawSocket() and send it yourself.
 */
export async function rawConnect(
  t: Teardown,
  port: number,
  options: RawConnectOptions = {},
): Promise<{ client: RawClient; connack: ConnackPacket }> {
  const connect = connectPacket(options);
  const client = await rawSocket(t, port, connect.protocolVersion);
  client.send(connect);
  const connack = await client.expectPacket('connack');
  if (connack.reasonCode !== 0) throw new Error(`CONNECT refused: ${describePacket(connack)}`);
  return { client, connack };
}
