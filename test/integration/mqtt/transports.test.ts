/**
 * Runs the MQTT behaviour suite over TCP, TLS, WebSocket and WSS against one in-process Ferry.
 */
import { after, before, describe } from 'node:test';
import { makeSelfSignedCert, startFerry, tempDir } from '../../helpers/index.js';
import type { RunningFerry } from '../../../src/internal.js';
import { behaviourSuite } from './behaviour.js';

describe('mqtt over every transport', () => {
  let ferry: RunningFerry;
  const teardown: Array<() => unknown> = [];
  const t = { after: (fn: () => unknown) => teardown.push(fn) };

  before(async () => {
    const cert = makeSelfSignedCert(tempDir(t, 'ferry-cert-'));
    ferry = await startFerry(t, { tlsCert: cert.certFile, tlsKey: cert.keyFile });
  });
  after(async () => {
    for (const fn of teardown.reverse()) await fn();
  });

  behaviourSuite('tcp', () => `mqtt://127.0.0.1:${ferry.ports.mqtt}`);
  behaviourSuite('tls', () => `mqtts://127.0.0.1:${ferry.ports.mqtts}`);
  behaviourSuite('ws', () => `ws://127.0.0.1:${ferry.ports.ws}/mqtt`);
  behaviourSuite('wss', () => `wss://127.0.0.1:${ferry.ports.wss}/mqtt`);
});
