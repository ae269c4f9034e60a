/**
 * The Node floor of forwarding: a net.Server that answers CONNECT, SUBSCRIBE and PINGREQ with fixed
 * replies and writes each PUBLISH's bytes, as they came, to every socket subscribed to its topic
 * (QoS 1: then a PUBACK to the publisher), one socket.write per PUBLISH, in the 'data' callback.
 * Nothing else: no session, auth, store, traces, re-encoding, packet ids of its own, or wildcards
 * (filters match topics exactly). What one forwarded message costs any broker built on Node's
 * net.Socket on this machine, run by the harness in place of a Ferry build (it takes the arguments
 * of `ferry start` and reads only --mqtt-port and --bind):
 *
 *   node dist/bench/e2e/run.js --generator c --baseline-cli dist/bench/e2e/forward-floor.js \
 *     --brokers ferry,ferry-base,mosquitto --scenarios latency_10k_64b,latency_q1_10k_64b
 *
 * (bench/RESULTS.md issue 15 §15a.)
 */
import type { Socket } from 'node:net';
import { CONNACK, PINGRESP, serveFloor } from './floor.js';

/** Exact topic → subscribed sockets. */
const subscribers = new Map<string, Socket[]>();

/** A partial packet left at the end of a read, per socket. */
const pending = new WeakMap<Socket, Buffer>();

function subscribe(socket: Socket, buf: Buffer, start: number, end: number): void {
  // [packet id][(topic length, topic, options)…]
  const codes: number[] = [];
  for (let i = start + 2; i + 2 < end; ) {
    const len = buf.readUInt16BE(i);
    const topic = buf.toString('utf8', i + 2, i + 2 + len);
    const qos = Math.min(buf[i + 2 + len] as number, 1);
    let list = subscribers.get(topic);
    if (list === undefined) subscribers.set(topic, (list = []));
    if (!list.includes(socket)) list.push(socket);
    codes.push(qos);
    i += 3 + len;
  }
  socket.write(Buffer.from([0x90, 2 + codes.length, buf[start] as number, buf[start + 1] as number, ...codes]));
}

function publish(socket: Socket, buf: Buffer, from: number, start: number, end: number): void {
  const len = buf.readUInt16BE(start);
  const topic = buf.toString('utf8', start + 2, start + 2 + len);
  const list = subscribers.get(topic);
  if (list !== undefined) {
    const bytes = buf.subarray(from, end);
    for (const s of list) s.write(bytes);
  }
  const qos = ((buf[from] as number) >> 1) & 3;
  if (qos > 0) {
    const id = start + 2 + len;
    socket.write(Buffer.from([qos === 1 ? 0x40 : 0x50, 2, buf[id] as number, buf[id + 1] as number]));
  }
}

/** Handles every complete packet of buf; returns where the first incomplete one starts. */
function packets(socket: Socket, buf: Buffer): number {
  let off = 0;
  while (off + 2 <= buf.length) {
    let rem = 0;
    let mul = 1;
    let i = off + 1;
    for (;;) {
      if (i >= buf.length) return off;
      const b = buf[i++] as number;
      rem += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) break;
      if (mul > 128 ** 3) {
        socket.destroy(); // malformed length: not a client of this floor
        return buf.length;
      }
    }
    const end = i + rem;
    if (end > buf.length) return off;
    const type = (buf[off] as number) >> 4;
    if (type === 3) publish(socket, buf, off, i, end);
    else if (type === 1) socket.write(CONNACK);
    else if (type === 8) subscribe(socket, buf, i, end);
    else if (type === 12) socket.write(PINGRESP);
    else if (type === 14) socket.end();
    off = end; // PUBACK from a subscriber and anything else: ignored
  }
  return off;
}

function onData(this: Socket, chunk: Buffer): void {
  const rest = pending.get(this);
  const buf = rest === undefined ? chunk : Buffer.concat([rest, chunk]);
  const used = packets(this, buf);
  if (used === buf.length) {
    if (rest !== undefined) pending.delete(this);
  } else pending.set(this, Buffer.from(buf.subarray(used)));
}

function onClose(this: Socket): void {
  for (const [topic, list] of subscribers) {
    const i = list.indexOf(this);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) subscribers.delete(topic);
  }
}

function ignore(): void {}

serveFloor((socket) => {
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('error', ignore);
});
