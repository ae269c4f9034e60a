/**
 * While a CONNECT is authenticated the client's later packets wait, and its socket stops reading
 * only once such bytes arrive (issue 15: most clients send nothing before their CONNACK, and a
 * pause and resume of every socket cost each connect of a storm). The wait is made with the
 * test-only fault hook after authentication (src/faults), over real sockets.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startFerry } from '../../helpers/index.js';
import { connectPacket, rawSocket, subscription } from '../../helpers/raw-client.js';
import { SocketStream } from '../../../src/transport/tcp.js';
import { HandleStream } from '../../../src/transport/handle-stream.js';
import type { ByteStream } from '../../../src/transport/types.js';
import type { RunningFerry } from '../../../src/internal.js';

/** Holds every CONNECT after authentication until release() is called. */
function holdConnects(ferry: RunningFerry): { release: () => void; reached: Promise<void> } {
  let release!: () => void;
  let reached!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const reachedP = new Promise<void>((resolve) => (reached = resolve));
  ferry.broker.faults = {
    afterAuthenticate: () => {
      reached();
      return gate;
    },
  };
  return { release, reached: reachedP };
}

/** Counts pause() calls of the server side of every TCP connection in this process (a HandleStream, or a SocketStream where Node's TCP handle cannot be used). */
function countPauses(t: TestContext): { readonly count: number } {
  const counter = { count: 0 };
  for (const prototype of [SocketStream.prototype, HandleStream.prototype]) {
    const original = prototype.pause;
    prototype.pause = function (this: ByteStream) {
      counter.count++;
      original.call(this);
    };
    t.after(() => {
      prototype.pause = original;
    });
  }
  return counter;
}

const quiet = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('connect - packets sent while the CONNECT is authenticated wait, the socket pauses, and they follow the CONNACK in order', async (t) => {
  const ferry = await startFerry(t);
  const pauses = countPauses(t);
  const { release, reached } = holdConnects(ferry);
  const client = await rawSocket(t, ferry.ports.mqtt);
  client.send(connectPacket({ clientId: 'eager' }));
  await reached;
  client.send({ type: 'subscribe', packetId: 7, subscriptions: [subscription('eager/#', 1)] });
  await quiet(50);
  client.send({ type: 'pingreq' });
  await quiet(100);
  assert.equal(client.inbox.length, 0, 'nothing answered before the CONNACK');
  assert.ok(pauses.count >= 1, 'bytes during the wait paused the socket');
  release();
  assert.equal((await client.expectPacket('connack')).reasonCode, 0);
  assert.equal((await client.expectPacket('suback')).packetId, 7);
  await client.expectPacket('pingresp');
  // Reading resumed: a packet after the CONNACK is answered.
  client.send({ type: 'pingreq' });
  await client.expectPacket('pingresp');
});

test('connect - a client that sends nothing before its CONNACK: its socket is never paused', async (t) => {
  const ferry = await startFerry(t);
  const pauses = countPauses(t);
  const { release, reached } = holdConnects(ferry);
  const client = await rawSocket(t, ferry.ports.mqtt);
  client.send(connectPacket({ clientId: 'patient' }));
  await reached;
  await quiet(50);
  release();
  assert.equal((await client.expectPacket('connack')).reasonCode, 0);
  client.send({ type: 'pingreq' });
  await client.expectPacket('pingresp');
  assert.equal(pauses.count, 0);
});
