/**
 * mqtt.js helpers for the behaviour suites: connect with a promise, collect messages, and make
 * sure every client a test opened is closed when it ends.
 */
import type { TestContext } from 'node:test';
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient, type IPublishPacket } from 'mqtt';

export interface Received {
  topic: string;
  payload: string;
  packet: IPublishPacket;
}

export interface TestClient {
  client: MqttClient;
  connack: IConnackPacket;
  /** Every message received so far, in order. */
  received: Received[];
  /** Resolves once `count` messages have arrived in total (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
}

export async function connect(t: TestContext, url: string, options: IClientOptions = {}): Promise<TestClient> {
  const client = mqtt.connect(url, {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    protocolVersion: 4,
    rejectUnauthorized: false,
    ...options,
  });
  t.after(() => {
    client.end(true);
  });
  const received: Received[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  client.on('message', (topic, payload, packet) => {
    received.push({ topic, payload: payload.toString(), packet });
    for (const waiter of [...waiters]) {
      if (received.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    client.once('connect', (packet) => resolve(packet));
    client.once('error', reject);
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
  return {
    client,
    connack,
    received,
    waitFor(count, timeoutMs = 3000) {
      if (received.length >= count) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${count} messages, got ${received.length}`)),
          timeoutMs,
        );
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(received);
          },
        });
      });
    },
  };
}

/** Connects and expects a refusal; resolves with the CONNACK reason/return code. */
export function connectRefused(t: TestContext, url: string, options: IClientOptions): Promise<number> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  t.after(() => {
    client.end(true);
  });
  return new Promise((resolve, reject) => {
    client.once('connect', () => reject(new Error('connection was accepted')));
    client.once('error', (error: Error & { code?: number }) => {
      if (typeof error.code === 'number') resolve(error.code);
      else reject(error);
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits `ms` and asserts nothing more arrived. */
export async function expectNoMore(client: TestClient, count: number, ms = 300): Promise<void> {
  await sleep(ms);
  if (client.received.length !== count) {
    throw new Error(`expected ${count} messages, got ${client.received.length}: ${JSON.stringify(client.received.map((r) => r.topic))}`);
  }
}

let counter = 0;
/** A client id unique within the test run. */
export function uniqueId(prefix = 'c'): string {
  return `${prefix}-${process.pid}-${++counter}`;
}
