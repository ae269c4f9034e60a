/**
 * A bystander client that measures how long a broker keeps its other clients waiting: one MQTT
 * connection sends PINGREQ, waits for PINGRESP, pauses `gapMs`, and again. A broker whose event
 * loop is stuck (a mass disconnect handled in one go) answers late; the round trip of the ping
 * sent just before is the stall. Works against any broker (PINGREQ/PINGRESP are MQTT 3.1.1's).
 *
 * `summary(from, to)` covers the pings sent in that window (process.hrtime ns); a ping still
 * unanswered counts with its wait so far, so a stall that outlasts the window is not missed.
 */
import net from 'node:net';
import { HOST } from './brokers.js';

const PINGREQ = Buffer.from([0xc0, 0x00]);

export interface ProbeSummary {
  /** Pings sent in the window. */
  pings: number;
  /** Round trips, ms. */
  p50: number;
  p99: number;
  max: number;
}

function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  // MQTT 3.1.1 CONNECT, clean session, keep alive 0 (the probe pings on its own schedule).
  const variable = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x00]);
  const remaining = variable.length + 2 + id.length;
  return Buffer.concat([Buffer.from([0x10, remaining]), variable, Buffer.from([id.length >> 8, id.length & 0xff]), id]);
}

export class PingProbe {
  /** Send times and round trips (ns), one pair per ping; rtt -1 while unanswered. */
  private readonly sent: bigint[] = [];
  private readonly rtt: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private error: Error | null = null;

  private constructor(
    private readonly socket: net.Socket,
    private readonly gapMs: number,
  ) {
    socket.on('data', (data) => this.onData(data));
    socket.on('error', (err) => (this.error = err));
    socket.on('close', () => {
      if (!this.stopped) this.error ??= new Error('probe connection closed by the broker');
    });
  }

  static async open(port: number, clientId: string, gapMs = 1): Promise<PingProbe> {
    const socket = net.connect({ host: HOST, port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('probe: no CONNACK within 5 s')), 5000);
      socket.once('error', reject);
      socket.once('data', (data) => {
        clearTimeout(timer);
        socket.off('error', reject);
        if (data[0] !== 0x20 || data[3] !== 0) reject(new Error(`probe: CONNECT refused (${data.toString('hex')})`));
        else resolve();
      });
      socket.write(connectPacket(clientId));
    });
    const probe = new PingProbe(socket, gapMs);
    probe.ping();
    return probe;
  }

  private ping(): void {
    this.timer = null;
    if (this.stopped) return;
    this.sent.push(process.hrtime.bigint());
    this.rtt.push(-1);
    this.socket.write(PINGREQ);
  }

  private onData(data: Buffer): void {
    // Only PINGRESPs (d0 00) come on this connection; one per outstanding ping.
    for (let i = 0; i + 1 < data.length; i += 2) {
      const last = this.rtt.length - 1;
      if (last < 0 || this.rtt[last] !== -1) continue;
      this.rtt[last] = Number(process.hrtime.bigint() - this.sent[last]!);
      if (!this.stopped) this.timer = setTimeout(() => this.ping(), this.gapMs);
    }
  }

  summary(from: bigint, to: bigint): ProbeSummary {
    if (this.error !== null) throw this.error;
    const now = process.hrtime.bigint();
    const rtts: number[] = [];
    for (let i = 0; i < this.sent.length; i++) {
      const at = this.sent[i]!;
      if (at < from || at > to) continue;
      rtts.push(this.rtt[i] === -1 ? Number(now - at) : this.rtt[i]!);
    }
    // The ping in flight when the window opened waits through it too.
    for (let i = this.sent.length - 1; i >= 0; i--) {
      if (this.sent[i]! >= from) continue;
      const answered = this.rtt[i] === -1 ? now : this.sent[i]! + BigInt(this.rtt[i]!);
      if (answered > from) rtts.push(Number(answered - from));
      break;
    }
    rtts.sort((a, b) => a - b);
    const at = (q: number): number => (rtts.length === 0 ? 0 : rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))]! / 1e6);
    return { pings: rtts.length, p50: at(0.5), p99: at(0.99), max: rtts.length === 0 ? 0 : rtts[rtts.length - 1]! / 1e6 };
  }

  close(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.socket.destroy();
  }
}
