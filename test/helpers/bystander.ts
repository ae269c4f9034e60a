/**
 * The bystander of the attack tests (issue 12): a well-behaved mqtt.js client that publishes a
 * QoS 1 message to itself every 100 ms and times each round trip (PUBLISH → delivery back). An
 * attack that stalls the event loop or starves the broker shows up as slow or missing trips.
 *
 *   const bystander = await startBystander(t, ferry.ports.mqtt);
 *   ... attack ...
 *   const report = await bystander.stop();
 *   assert.ok(report.maxMs < 1000, JSON.stringify(report));
 */
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import type { Teardown } from './temp.js';

export interface BystanderReport {
  /** Round trips completed. */
  readonly trips: number;
  /** Round trips started that never came back before stop(). */
  readonly lost: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface Bystander {
  /** Stops sending, waits for the last trip (up to 2 s) and reports. */
  stop(): Promise<BystanderReport>;
}

export async function startBystander(t: Teardown, port: number, options: { username?: string; password?: string; clientId?: string } = {}): Promise<Bystander> {
  const topic = `bystander/${randomBytes(6).toString('hex')}`;
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    protocolVersion: 4,
    clientId: options.clientId ?? `bystander-${randomBytes(4).toString('hex')}`,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
  });
  const ticking: { timer?: NodeJS.Timeout } = {};
  t.after(() => {
    // Also when the test failed before stop(): the timer must not keep the process alive.
    clearInterval(ticking.timer);
    client.end(true);
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync(topic, { qos: 1 });
  const pending = new Map<number, number>();
  const times: number[] = [];
  let seq = 0;
  client.on('message', (_topic, payload) => {
    const n = Number(payload.toString());
    const sent = pending.get(n);
    if (sent === undefined) return;
    pending.delete(n);
    times.push(performance.now() - sent);
  });
  const send = (): void => {
    const n = ++seq;
    pending.set(n, performance.now());
    client.publish(topic, String(n), { qos: 1 });
  };
  send();
  ticking.timer = setInterval(send, 100);
  return {
    async stop() {
      clearInterval(ticking.timer);
      const deadline = Date.now() + 2000;
      while (pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // A trip still out counts at its age so far: a stalled broker cannot hide behind it.
      const now = performance.now();
      const all = [...times, ...[...pending.values()].map((sent) => now - sent)].sort((a, b) => a - b);
      client.end(true);
      return {
        trips: times.length,
        lost: pending.size,
        p99Ms: Math.round(all[Math.min(all.length - 1, Math.floor(all.length * 0.99))] ?? 0),
        maxMs: Math.round(all[all.length - 1] ?? 0),
      };
    },
  };
}
