/**
 * Load-generator child process. Forked by run.ts; one role per process
 * (publishers, subscribers, connection churn, idle connections), driven over
 * the IPC channel (see ipc.ts).
 *
 * Hot paths avoid per-message allocation: QoS 0 publishers write one
 * pre-built batch buffer repeatedly, subscribers only walk fixed headers.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { FromWorker, ToWorker, WorkerConfig, SubConfig, PubConfig, ConnectConfig, IdleConfig, LatencyStats } from './ipc.js';
import { MARK_EVERY } from './ipc.js';
import {
  PacketReader,
  PKT_CONNACK,
  PKT_PUBACK,
  PKT_PUBLISH,
  PKT_SUBACK,
  buildConnect,
  buildPublish,
  buildSubscribe,
  DISCONNECT,
} from './wire.js';

const SETUP_TIMEOUT_MS = 30_000;

function send(msg: FromWorker): void {
  process.send?.(msg);
}

function fail(message: string): never {
  send({ type: 'error', message });
  setTimeout(() => process.exit(1), 100);
  throw new Error(message);
}

const nowNs = (): number => Number(process.hrtime.bigint());
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** A connected MQTT client whose packet handler can be swapped after setup. */
interface Client {
  readonly socket: net.Socket;
  onPacket: (type: number, flags: number, buf: Buffer, bodyStart: number, end: number) => void;
  /** Called before each TCP chunk is parsed (latency: one clock read per chunk). */
  beforeChunk: () => void;
  /** Called after each TCP chunk has been fully parsed (used to flush batched acks). */
  afterChunk: () => void;
  closedUnexpectedly: boolean;
  /** We closed it on purpose (offline persistent session). */
  expectClose: boolean;
  /** CONNACK session-present flag. */
  sessionPresent: boolean;
}

let shuttingDown = false;
let runtimeErrors = 0;

/**
 * @param onConnack called synchronously on CONNACK, before any packet that follows it in the same
 *   TCP chunk (a resumed session's queued messages do), so a handler set there sees them all.
 */
function openClient(host: string, port: number, clientId: string, clean = true, onConnack?: (c: Client) => void, ws = false): Promise<Client> {
  return new Promise((resolve, reject) => {
    // WebSocket: the handshake, then MQTT inside binary frames (wsIn unwraps them into `reader`).
    let wsIn: ((chunk: Buffer) => void) | null = null;
    // `onread` with a per-socket static buffer: no Buffer allocation per TCP read.
    const readBuf = Buffer.allocUnsafe(64 * 1024);
    const socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer: readBuf,
        callback: (n: number, buf: Uint8Array) => {
          client.beforeChunk();
          const chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
          if (wsIn) wsIn(chunk);
          else reader.push(chunk);
          client.afterChunk();
          return true;
        },
      },
    });
    const client: Client = {
      socket,
      onPacket: (type, _flags, buf, bodyStart) => {
        if (type !== PKT_CONNACK) return;
        const rc = buf[bodyStart + 1];
        if (rc !== 0) {
          socket.destroy();
          reject(new Error(`CONNACK rc=${String(rc)}`));
          return;
        }
        client.sessionPresent = ((buf[bodyStart] ?? 0) & 1) === 1;
        onConnack?.(client);
        resolve(client);
      },
      beforeChunk: () => {},
      afterChunk: () => {},
      closedUnexpectedly: false,
      expectClose: false,
      sessionPresent: false,
    };
    const reader = new PacketReader((t, f, b, s, e) => client.onPacket(t, f, b, s, e));
    if (ws) {
      wsIn = wsUnwrapper(reader, (why) => {
        socket.destroy();
        reject(new Error(why));
      });
      socket.once('connect', () => socket.write(Buffer.concat([wsHandshake(host, port), wsFrame(buildConnect(clientId, 60, clean))])));
    } else socket.once('connect', () => socket.write(buildConnect(clientId, 60, clean)));
    socket.on('error', (err) => {
      reject(err);
    });
    socket.on('close', () => {
      if (!shuttingDown && !client.expectClose) {
        client.closedUnexpectedly = true;
        runtimeErrors++;
        reject(new Error('connection closed during setup'));
      }
    });
  });
}

const WS_PATH = '/mqtt';
const PINGREQ = Buffer.from([0xc0, 0x00]);

function wsHandshake(host: string, port: number): Buffer {
  return Buffer.from(
    `GET ${WS_PATH} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`,
    'latin1',
  );
}

/** One masked binary frame (mask key 0: the payload goes out as is, which is legal). */
function wsFrame(payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x82, 0x80 | len, 0, 0, 0, 0]) : Buffer.from([0x82, 0x80 | 126, len >> 8, len & 0xff, 0, 0, 0, 0]);
  return Buffer.concat([head, payload]);
}

/** Reads the 101 response, then feeds the payloads of the server's (unmasked) data frames to `reader`. */
function wsUnwrapper(reader: PacketReader, fail: (why: string) => void): (chunk: Buffer) => void {
  let pending: Buffer | null = null;
  let upgraded = false;
  return (chunk) => {
    let b = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = null;
    if (!upgraded) {
      const end = b.indexOf('\r\n\r\n');
      if (end === -1) {
        pending = Buffer.from(b);
        return;
      }
      const status = b.subarray(0, b.indexOf('\r\n')).toString('latin1');
      if (!status.startsWith('HTTP/1.1 101')) return fail(`WebSocket handshake refused: ${status}`);
      upgraded = true;
      b = b.subarray(end + 4);
    }
    let off = 0;
    while (b.length - off >= 2) {
      const op = b[off]! & 0x0f;
      let len = b[off + 1]! & 0x7f;
      let h = 2;
      if (len === 126) {
        if (b.length - off < 4) break;
        len = b.readUInt16BE(off + 2);
        h = 4;
      } else if (len === 127) {
        if (b.length - off < 10) break;
        len = Number(b.readBigUInt64BE(off + 2));
        h = 10;
      }
      if (b.length - off < h + len) break;
      if (op === 0 || op === 2) reader.push(b.subarray(off + h, off + h + len));
      else if (op === 8) return fail('WebSocket closed by the server');
      off += h + len;
    }
    if (off < b.length) pending = Buffer.from(b.subarray(off));
  };
}

function subscribe(client: Client, topic: string, qos: 0 | 1): Promise<void> {
  return new Promise((resolve, reject) => {
    client.onPacket = (type, _flags, buf, bodyStart, end) => {
      if (type !== PKT_SUBACK) return;
      const granted = buf[end - 1];
      if (granted === 0x80) reject(new Error(`SUBACK failure for ${topic}`));
      else resolve();
      void bodyStart;
    };
    client.socket.write(buildSubscribe(1, topic, qos));
  });
}

/** Outcome of connecting many clients: counts, and why the failures failed (the 5 commonest reasons). */
interface ConnectOutcome {
  ok: number;
  failed: number;
  reasons: string;
}

async function connectAll<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<ConnectOutcome> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const reasons = new Map<string, number>();
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
        ok++;
      } catch (e) {
        failed++;
        // "connect ECONNREFUSED 127.0.0.1:1234" and the like: one reason whatever the port.
        const why = (e instanceof Error ? e.message : String(e)).replace(/\d+\.\d+\.\d+\.\d+:\d+/g, 'ADDR');
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  const top = [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 5);
  return { ok, failed, reasons: top.map(([why, n]) => `${n}× ${why}`).join('; ') };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

// ---------------------------------------------------------------------------
// Role implementations. Each returns a small controller the IPC loop drives.

interface Role {
  /** Start generating load at t0; take window snapshots at start/end. */
  go(t0: number, start: number, end: number): void;
  stop(): void;
  total(): number;
  latency?: () => LatencyStats | undefined;
  probeTotal?: () => number;
  acked?: () => number;
  dups?: () => number;
  lastAtNs?: () => number;
  marksNs?: () => readonly number[];
  reconnect?: (count: number) => Promise<{ connected: number; failed: number; sessionPresent: number }>;
  storm?: () => Promise<{ connected: number; failed: number; reasons: string; sessionPresent: number; dropNs: number; doneNs: number }>;
}

/** DISCONNECT, then wait for the broker to close the socket (or 2 s). */
function closeGracefully(c: Client): Promise<void> {
  c.expectClose = true;
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      c.socket.destroy();
      resolve();
    }, 2000);
    c.socket.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    c.socket.end(DISCONNECT);
  });
}

/** Shared window bookkeeping: snapshot `count()` and CPU at start and end. */
function scheduleWindow(start: number, end: number, count: () => number, probe?: () => number, extra?: () => { ackedTotal?: number; totalAtEnd?: number }): void {
  let p0 = 0;
  let c0 = 0;
  let cpu0 = 0;
  let t0 = 0;
  setTimeout(() => {
    c0 = count();
    p0 = probe?.() ?? 0;
    cpu0 = cpuNow();
    t0 = nowNs();
  }, Math.max(0, (start - nowNs()) / 1e6));
  setTimeout(() => {
    const c1 = count();
    const cpu1 = cpuNow();
    const t1 = nowNs();
    const pc = probe ? { probeCount: probe() - p0 } : {};
    send({ type: 'window', count: c1 - c0, elapsedNs: t1 - t0, cpuUs: cpu1 - cpu0, errors: runtimeErrors, ...pc, ...(extra?.() ?? {}) });
  }, Math.max(0, (end - nowNs()) / 1e6));
}

function latencyStats(samples: Float64Array, n: number): LatencyStats {
  const s = samples.subarray(0, n).sort();
  const q = (p: number): number => (n === 0 ? NaN : s[Math.min(n - 1, Math.floor(p * n))]!);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i]!;
  return { n, p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: n ? s[n - 1]! : NaN, mean: n ? sum / n : NaN };
}

async function runSub(cfg: SubConfig): Promise<{ role: Role; ok: number; failed: number }> {
  let received = 0;
  let dups = 0;
  // Latency samples in µs, for messages *sent* inside the window.
  let samples = new Float64Array(1 << 16);
  let nSamples = 0;
  let winStart = Infinity;
  let winEnd = -Infinity;
  let chunkNow = 0;
  /** hrtime of the read that brought the last PUBLISH (backlog drain: time to the last message). */
  let lastAtNs = 0;
  /** hrtime of the read that brought the MARK_EVERY-th, 2×MARK_EVERY-th, … PUBLISH (backlog drain's timeline). */
  const marksNs: number[] = [];

  /** Latency sample of one PUBLISH (send timestamp in the first 8 payload bytes). */
  const sample = (flags: number, buf: Buffer, bodyStart: number): void => {
    const payloadOff = bodyStart + 2 + buf.readUInt16BE(bodyStart) + ((flags & 0x06) !== 0 ? 2 : 0);
    const sentAt = buf.readDoubleLE(payloadOff);
    if (sentAt >= winStart && sentAt < winEnd) {
      if (nSamples === samples.length) {
        const bigger = new Float64Array(samples.length * 2);
        bigger.set(samples);
        samples = bigger;
      }
      samples[nSamples++] = (chunkNow - sentAt) / 1000;
    }
  };

  const clients: Client[] = [];
  const clean = cfg.persistent !== true;
  const res = await connectAll(cfg.clients, 64, async (spec) => {
    const c = await openClient(cfg.host, cfg.port, spec.clientId, clean);
    await subscribe(c, spec.topic, cfg.qos);
    if (cfg.offline) await closeGracefully(c);
    else clients.push(c);
  });
  if (res.failed > 0) fail(`subscriber setup: ${res.failed}/${cfg.clients.length} clients failed`);

  const installQos1 = (c: Client): void => {
    {
      // Batch PUBACKs for a whole TCP chunk into one write (QoS 1 PUBLISHes; QoS 0 are just counted).
      let acks = Buffer.allocUnsafe(4 * 256);
      let nAcks = 0;
      let before = received;
      c.beforeChunk = () => {
        chunkNow = nowNs();
        before = received;
      };
      c.onPacket = (type, flags, buf, bodyStart) => {
        if (type !== PKT_PUBLISH) return;
        received++;
        if ((flags & 0x08) !== 0) dups++;
        if (cfg.latency) sample(flags, buf, bodyStart);
        if ((flags & 0x06) !== 0) {
          const idOff = bodyStart + 2 + buf.readUInt16BE(bodyStart);
          if ((nAcks + 1) * 4 > acks.length) {
            const bigger = Buffer.allocUnsafe(acks.length * 2);
            acks.copy(bigger, 0, 0, nAcks * 4);
            acks = bigger;
          }
          const o = nAcks * 4;
          acks[o] = 0x40;
          acks[o + 1] = 0x02;
          acks[o + 2] = buf[idOff]!;
          acks[o + 3] = buf[idOff + 1]!;
          nAcks++;
        }
      };
      c.afterChunk = () => {
        if (received !== before) {
          lastAtNs = chunkNow;
          while ((marksNs.length + 1) * MARK_EVERY <= received) marksNs.push(chunkNow);
        }
        if (nAcks > 0) {
          c.socket.write(Buffer.from(acks.subarray(0, nAcks * 4)));
          nAcks = 0;
        }
      };
    }
  };

  for (const c of clients) {
    if (cfg.qos === 1) {
      installQos1(c);
    } else if (cfg.latency) {
      c.beforeChunk = () => {
        chunkNow = nowNs();
      };
      c.onPacket = (type, flags, buf, bodyStart) => {
        if (type !== PKT_PUBLISH) return;
        received++;
        sample(flags, buf, bodyStart);
      };
    } else {
      c.onPacket = (type) => {
        if (type === PKT_PUBLISH) received++;
      };
    }
  }

  return {
    ok: res.ok,
    failed: res.failed,
    role: {
      go(_t0, start, end) {
        winStart = start;
        winEnd = end;
        scheduleWindow(start, end, () => received, undefined, () => ({ totalAtEnd: received }));
      },
      stop() {},
      total: () => received,
      dups: () => dups,
      lastAtNs: () => lastAtNs,
      marksNs: () => marksNs,
      // Summarised only after the driver has drained the broker, so messages
      // sent late in the window are still counted.
      latency: () => (cfg.latency ? latencyStats(samples, nSamples) : undefined),
      async reconnect(count) {
        let sessionPresent = 0;
        const again = await connectAll(cfg.clients.slice(0, count), 64, async (spec) => {
          // Queued messages may follow CONNACK in the same chunk: install the handler on CONNACK.
          const c = await openClient(cfg.host, cfg.port, spec.clientId, false, installQos1);
          if (c.sessionPresent) sessionPresent++;
          clients.push(c);
        });
        return { connected: again.ok, failed: again.failed, sessionPresent };
      },
    },
  };
}

async function runPub(cfg: PubConfig): Promise<{ role: Role; ok: number; failed: number }> {
  const clients: { c: Client; topic: string }[] = [];
  const res = await connectAll(cfg.clients, 64, async (spec) => {
    const c = await openClient(cfg.host, cfg.port, spec.clientId);
    c.onPacket = () => {};
    clients.push({ c, topic: spec.topic });
  });
  if (res.failed > 0) fail(`publisher setup: ${res.failed}/${cfg.clients.length} clients failed`);

  let sent = 0;
  let acked = 0;
  let stopped = false;
  const starters: (() => void)[] = [];

  // Optional in-process probe subscriber for window-based QoS 0 flow control.
  let probeReceived = 0;
  /** `sent` value that the probe's count is compared against (reset if the probe stalls). */
  let probeBase = 0;
  let probeSeenAtBase = 0;
  let resumeOnProbe: (() => void) | null = null;
  if (cfg.probe) {
    const probe = await openClient(cfg.host, cfg.port, cfg.probe.clientId);
    await subscribe(probe, cfg.probe.topic, 0);
    probe.onPacket = (type) => {
      if (type === PKT_PUBLISH) probeReceived++;
    };
    probe.afterChunk = () => {
      const r = resumeOnProbe;
      resumeOnProbe = null;
      r?.();
    };
  }
  const window = cfg.probe?.window ?? Infinity;
  /** Messages the probe has not seen yet. */
  const ahead = (): number => sent - probeBase - (probeReceived - probeSeenAtBase);

  const limit = cfg.limit ?? Infinity;
  for (const { c, topic } of clients) {
    const tpl = buildPublish(topic, cfg.qos, cfg.payloadSize);
    const pktLen = tpl.bytes.length;

    if (cfg.rate > 0) {
      // Open loop at a fixed rate: every ~1 ms send however many messages are
      // due so the long-run rate is exact regardless of timer jitter. QoS 1
      // (latency): packet ids cycle over 1..65535 and PUBACKs are only counted
      // (at 10k msg/s a few are outstanding at once).
      const perConn = cfg.rate / clients.length;
      const qos1 = cfg.qos === 1;
      let nextId = 1;
      if (qos1) {
        c.onPacket = (type) => {
          if (type === PKT_PUBACK) acked++;
        };
      }
      starters.push(() => {
        const begin = nowNs();
        let mine = 0;
        const tick = (): void => {
          if (stopped) {
            clearInterval(timer);
            return;
          }
          const now = nowNs();
          const due = Math.floor(((now - begin) / 1e9) * perConn) - mine;
          if (due <= 0) return;
          const out = Buffer.allocUnsafe(due * pktLen);
          for (let i = 0; i < due; i++) {
            const o = i * pktLen;
            tpl.bytes.copy(out, o);
            if (qos1) {
              out[o + tpl.idOffset] = nextId >> 8;
              out[o + tpl.idOffset + 1] = nextId & 0xff;
              nextId = nextId === 65535 ? 1 : nextId + 1;
            }
            if (cfg.timestamp) out.writeDoubleLE(now, o + tpl.payloadOffset);
          }
          mine += due;
          sent += due;
          c.socket.write(out);
        };
        const timer = setInterval(tick, 1);
      });
    } else if (cfg.qos === 1) {
      // Closed loop: keep `inflight` PUBLISHes unacknowledged; every PUBACK
      // frees its packet id, which is immediately reused for the next PUBLISH.
      // With `topics`, successive PUBLISHes cycle over them.
      const tpls = cfg.topics?.length ? cfg.topics.map((t) => buildPublish(t, 1, cfg.payloadSize)) : [tpl];
      let seq = 0;
      let freed: number[] = [];
      const emit = (ids: readonly number[]): void => {
        if (ids.length === 0 || stopped) return;
        const n = Math.min(ids.length, limit - sent);
        if (n <= 0) return;
        let len = 0;
        for (let i = 0; i < n; i++) len += tpls[(seq + i) % tpls.length]!.bytes.length;
        const out = Buffer.allocUnsafe(len);
        let o = 0;
        for (let i = 0; i < n; i++) {
          const t = tpls[seq++ % tpls.length]!;
          t.bytes.copy(out, o);
          const id = ids[i]!;
          out[o + t.idOffset] = id >> 8;
          out[o + t.idOffset + 1] = id & 0xff;
          if (cfg.timestamp) out.writeDoubleLE(nowNs(), o + t.payloadOffset);
          o += t.bytes.length;
        }
        sent += n;
        c.socket.write(out);
      };
      c.onPacket = (type, _flags, buf, bodyStart) => {
        if (type !== PKT_PUBACK) return;
        acked++;
        freed.push(buf.readUInt16BE(bodyStart));
      };
      c.afterChunk = () => {
        if (freed.length > 0) {
          const ids = freed;
          freed = [];
          emit(ids);
        }
      };
      starters.push(() => emit(Array.from({ length: cfg.inflight }, (_, i) => i + 1)));
    } else {
      // As fast as the socket drains: write one pre-built ~16 KB batch
      // repeatedly, yielding to the event loop regularly so timers/IPC run.
      const per = Math.max(1, Math.floor(16384 / pktLen));
      const batch = Buffer.allocUnsafe(per * pktLen);
      for (let i = 0; i < per; i++) {
        tpl.bytes.copy(batch, i * pktLen);
        if (cfg.timestamp) batch.writeDoubleLE(nowNs(), i * pktLen + tpl.payloadOffset);
      }
      const pump = (): void => {
        for (let i = 0; i < 32; i++) {
          if (stopped) return;
          if (ahead() + per > window) {
            // Wait for the probe subscriber to catch up. QoS 0 may legally
            // be dropped, so if nothing arrives for 100 ms, forget the gap.
            const seen = probeReceived;
            const t = setTimeout(() => {
              if (resumeOnProbe === null || probeReceived !== seen) return;
              resumeOnProbe = null;
              probeBase = sent;
              probeSeenAtBase = probeReceived;
              pump();
            }, 100);
            resumeOnProbe = () => {
              clearTimeout(t);
              pump();
            };
            return;
          }
          sent += per;
          if (!c.socket.write(batch)) {
            c.socket.once('drain', pump);
            return;
          }
        }
        setImmediate(pump);
      };
      starters.push(pump);
    }
  }

  return {
    ok: res.ok,
    failed: res.failed,
    role: {
      go(t0, start, end) {
        setTimeout(() => starters.forEach((s) => s()), Math.max(0, (t0 - nowNs()) / 1e6));
        scheduleWindow(start, end, () => (cfg.qos === 1 ? acked : sent), cfg.probe ? () => probeReceived : undefined, () => ({ ackedTotal: acked, totalAtEnd: sent }));
      },
      stop() {
        stopped = true;
      },
      total: () => sent,
      acked: () => acked,
      probeTotal: () => probeReceived,
    },
  };
}

function runConnect(cfg: ConnectConfig): { role: Role; ok: number; failed: number } {
  let done = 0;
  let seq = 0;
  let stopped = false;
  const one = (): void => {
    if (stopped || shuttingDown) return;
    const socket = cfg.tls === true
      ? tls.connect({ host: cfg.host, port: cfg.port, rejectUnauthorized: false, servername: 'localhost' })
      : net.connect({ host: cfg.host, port: cfg.port, noDelay: true });
    let acked = false;
    socket.setTimeout(5000, () => socket.destroy());
    const reader = new PacketReader((type, _f, buf, bodyStart) => {
      if (type === PKT_CONNACK && !acked) {
        acked = buf[bodyStart + 1] === 0;
        socket.end(DISCONNECT);
      }
    });
    socket.once(cfg.tls === true ? 'secureConnect' : 'connect', () => socket.write(buildConnect(`${cfg.clientPrefix}-${seq++}`)));
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (acked) done++;
      else runtimeErrors++;
      one();
    });
  };
  return {
    ok: 0,
    failed: 0,
    role: {
      go(t0, start, end) {
        setTimeout(() => {
          for (let i = 0; i < cfg.concurrency; i++) one();
        }, Math.max(0, (t0 - nowNs()) / 1e6));
        scheduleWindow(start, end, () => done);
      },
      stop() {
        stopped = true;
      },
      total: () => done,
    },
  };
}

async function runIdle(cfg: IdleConfig): Promise<{ role: Role; ok: number; failed: number; reasons: string }> {
  let held: Client[] = [];
  const ids = Array.from({ length: cfg.count }, (_, i) => `${cfg.clientPrefix}-${i}`);
  const clean = cfg.persistent !== true;
  const open = async (id: string, into: Client[]): Promise<void> => {
    const c = await openClient(cfg.host, cfg.port, id, clean, undefined, cfg.ws === true);
    c.onPacket = () => {};
    into.push(c);
  };
  const res = await connectAll(ids, cfg.concurrency, (id) => open(id, held));
  // Idle devices still keep their connection alive: a PINGREQ per client well within the keep
  // alive of 60 s, or a setup or storm longer than 90 s gets clients dropped by the broker.
  const ping = setInterval(() => {
    for (const c of held) if (!c.socket.destroyed) c.socket.write(PINGREQ);
  }, 30_000);
  ping.unref();
  return {
    ok: res.ok,
    failed: res.failed,
    reasons: res.reasons,
    role: {
      go() {},
      stop() {
        clearInterval(ping);
      },
      total: () => held.filter((c) => !c.closedUnexpectedly).length,
      // Every client drops at once (no DISCONNECT: as when a gateway or the network fails), and all
      // come straight back with the same client ids; done when the last CONNACK is in.
      async storm() {
        const dropNs = nowNs();
        for (const c of held) {
          c.expectClose = true;
          c.socket.destroy();
        }
        const back: Client[] = [];
        held = back; // the keep-alive pings go to the clients that are back
        const r = await connectAll(ids, Math.max(cfg.concurrency, 500), (id) => open(id, back));
        const doneNs = nowNs();
        return { connected: r.ok, failed: r.failed, reasons: r.reasons, sessionPresent: back.filter((c) => c.sessionPresent).length, dropNs, doneNs };
      },
    },
  };
}

// ---------------------------------------------------------------------------

let role: Role | null = null;

async function setup(cfg: WorkerConfig): Promise<void> {
  const t = Date.now();
  const r =
    cfg.role === 'sub' ? runSub(cfg) : cfg.role === 'pub' ? runPub(cfg) : cfg.role === 'idle' ? runIdle(cfg) : Promise.resolve(runConnect(cfg));
  // 5,000 idle connections per process take longer than 30 s on a loaded machine.
  const res = await withTimeout(r, cfg.role === 'idle' ? 4 * SETUP_TIMEOUT_MS : SETUP_TIMEOUT_MS, `${cfg.role} setup`);
  role = res.role;
  runtimeErrors = 0;
  const reasons = 'reasons' in res ? String(res.reasons) : '';
  send({ type: 'ready', connected: res.ok, failed: res.failed, ...(reasons === '' ? {} : { reasons }), setupMs: Date.now() - t });
}

process.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'config':
      setup(msg.config).catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
      break;
    case 'go':
      role?.go(Number(msg.t0), Number(msg.start), Number(msg.end));
      break;
    case 'stop':
      role?.stop();
      break;
    case 'reconnect':
      if (!role?.reconnect) fail('reconnect: not an offline subscriber');
      role
        .reconnect(msg.count)
        .then((r) => send({ type: 'reconnected', ...r }))
        .catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
      break;
    case 'storm':
      if (!role?.storm) fail('storm: not an idle worker');
      role
        .storm()
        .then((r) => send({ type: 'stormed', ...r, dropNs: String(r.dropNs), doneNs: String(r.doneNs) }))
        .catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
      break;
    case 'report':
      {
        const latency = role?.latency?.();
        const probeTotal = role?.probeTotal?.();
        const acked = role?.acked?.();
        const dups = role?.dups?.();
        const lastAtNs = role?.lastAtNs?.();
        const marksNs = role?.marksNs?.();
        send({
          type: 'report',
          total: role?.total() ?? 0,
          errors: runtimeErrors,
          ...(latency ? { latency } : {}),
          ...(probeTotal !== undefined ? { probeTotal } : {}),
          ...(acked !== undefined ? { acked } : {}),
          ...(dups !== undefined ? { dups } : {}),
          ...(lastAtNs !== undefined ? { lastAtNs } : {}),
          ...(marksNs !== undefined && marksNs.length > 0 ? { marksNs } : {}),
        });
      }
      break;
    case 'exit':
      shuttingDown = true;
      process.exit(0);
  }
});
process.on('disconnect', () => {
  shuttingDown = true;
  process.exit(0);
});
