/**
 * The connect floor without net.Socket: the same fixed CONNACK/PINGRESP as connect-floor.ts, but each
 * accepted connection is Node's TCP handle itself — the listening handle's `onconnection` is replaced
 * (net.Server still listens), reads go into one shared buffer (`useUserBuffer`), replies go out by
 * `writeBuffer`. What a connect costs when Node builds no Socket, stream states or emitter for it
 * (bench/RESULTS.md issue 15 §38). Run in place of a Ferry build, side by side with the net.Server floor:
 *
 *   node dist/bench/e2e/run.js --generator c --ferry-cli dist/bench/e2e/connect-floor-raw.js \
 *     --baseline-cli dist/bench/e2e/connect-floor.js --brokers ferry,ferry-base --idle-conns 19900 \
 *     --scenarios connect_storm_19.9k
 */
import { CONNACK, PINGRESP, serveFloor } from './floor.js';
import { takeAccepts, tcpHandles, type TcpHandle } from '../../src/transport/tcp-handle.js';

// Node's bindings as Ferry finds them (src/transport/tcp-handle.ts); the floor needs them all.
const found = tcpHandles();
if ('missing' in found) throw new Error(`connect-floor-raw: this Node lacks ${found.missing}`);
const { WriteWrap, streamBaseState, kReadBytesOrError, kLastWriteWasAsync } = found;

const readBuffer = Buffer.allocUnsafeSlow(64 * 1024);
/** Handed to writeBuffer; replaced only when a write goes asynchronous (then it belongs to that write). */
let spareReq = new WriteWrap();

function writeDone(): void {}

function write(handle: TcpHandle, data: Buffer): void {
  const req = spareReq;
  const err = handle.writeBuffer(req, data);
  if (err === 0 && streamBaseState[kLastWriteWasAsync] !== 0) {
    req.buffer = data;
    req.oncomplete = writeDone;
    spareReq = new WriteWrap();
  }
}

function onRead(this: TcpHandle): undefined {
  const nread = streamBaseState[kReadBytesOrError] as number;
  if (nread > 0) {
    // One packet per read is enough for the generator's CONNECT and PINGREQ.
    if (readBuffer[0] === 0x10) write(this, CONNACK);
    else if (readBuffer[0] === 0xc0) write(this, PINGRESP);
  } else if (nread < 0) {
    this.close();
  }
  return undefined;
}

function onConnection(err: number, clientHandle: TcpHandle | undefined): void {
  if (err !== 0 || clientHandle === undefined) return;
  clientHandle.setNoDelay(true);
  clientHandle.onread = onRead;
  clientHandle.useUserBuffer(readBuffer);
  clientHandle.readStart();
}

serveFloor(() => {}, (server) => {
  if (!takeAccepts(server, onConnection)) throw new Error('connect-floor-raw: the server has no listening handle');
});
