/**
 * The Node floor of a connect storm: a net.Server that answers every CONNECT with a fixed CONNACK
 * and does nothing else (no session, no auth, no store, no traces). What a connect costs any
 * broker built on Node's net.Socket on this machine; run by the harness in place of a Ferry build
 * (it takes the arguments of `ferry start` and reads only --mqtt-port, --bind and, for
 * connect_storm_tls_*, --tls-port/--tls-cert/--tls-key: a TLS listener with Ferry's TLS options):
 *
 *   node dist/bench/e2e/run.js --generator c --baseline-cli dist/bench/e2e/connect-floor.js \
 *     --brokers ferry,ferry-base --idle-conns 19900 --scenarios connect_storm_19.9k
 *
 * (bench/RESULTS.md issue 15 §9, §18.)
 */
import type { Socket } from 'node:net';
import { CONNACK, PINGRESP, serveFloor } from './floor.js';

function onData(this: Socket, chunk: Buffer): void {
  // One packet per read is enough for the generator's CONNECT and PINGREQ.
  if (chunk[0] === 0x10) this.write(CONNACK);
  else if (chunk[0] === 0xc0) this.write(PINGRESP);
}

function ignore(): void {}

serveFloor((socket) => {
  socket.on('data', onData);
  socket.on('error', ignore);
});
