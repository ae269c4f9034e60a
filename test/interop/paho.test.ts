/**
 * Paho Python 1.6 (Debian python3-paho-mqtt) against an in-process Ferry: MQTT 3.1.1 and 5,
 * over TCP and over WebSocket (/mqtt). The client side lives in paho-check.py; this file
 * starts Ferry, runs the script and checks what it reports.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry } from '../helpers/index.js';
import { PAHO_SCRIPT, PYTHON, requirePaho, run } from './tools.js';

interface PahoMessage {
  topic: string;
  qos: number;
  retain: boolean;
  payload: string;
  userProperties?: Array<[string, string]>;
  contentType?: string;
  correlationData?: string;
}

interface PahoReport {
  granted: number[];
  received: PahoMessage[];
  retained: PahoMessage;
}

describe('interop - paho python', () => {
  before(() => requirePaho());

  for (const transport of ['tcp', 'websockets'] as const) {
    for (const version of ['311', '5'] as const) {
      test(`interop - paho ${version === '5' ? 'MQTTv5' : 'MQTTv311'} over ${transport}: connect, subscribe, publish QoS 0/1/2, retained`, async (t) => {
        const ferry = await startFerry(t);
        const port = transport === 'tcp' ? ferry.ports.mqtt : ferry.ports.ws;
        const topic = `interop/paho/${transport}/${version}`;
        const { stdout } = await run(t, PYTHON, [PAHO_SCRIPT, String(port), transport, version, topic], 20_000);
        const report = JSON.parse(stdout) as PahoReport;

        assert.deepEqual(report.granted, [2]);
        const plain = report.received.filter((m) => m.topic !== `${topic}/props`);
        assert.deepEqual(
          plain.map(({ topic: tp, qos, retain, payload }) => ({ topic: tp, qos, retain, payload })),
          [0, 1, 2].map((qos) => ({ topic: `${topic}/q${qos}`, qos, retain: false, payload: `paho qos ${qos}` })),
        );
        if (version === '5') {
          const withProps = report.received.find((m) => m.topic === `${topic}/props`);
          assert.ok(withProps !== undefined, 'the MQTT 5 message with properties arrived');
          assert.deepEqual(withProps.userProperties, [['origin', 'paho']]);
          assert.equal(withProps.contentType, 'text/plain');
          assert.equal(withProps.correlationData, 'corr-1');
        }
        assert.deepEqual(report.retained, { topic: `${topic}/retained`, qos: 1, retain: true, payload: 'kept' });
      });
    }
  }
});

/** What paho-topics.py reports. */
interface TopicsReport {
  connacks: Record<string, number>;
  grantedAll?: number[];
  grantedWildcards?: number[];
  received?: Array<{ topic: string; payload: string }>;
}

const PAHO_TOPICS_SCRIPT = PAHO_SCRIPT.replace(/paho-check\.py$/, 'paho-topics.py');
const INTEROP_TOPICS = ['TopicA', 'TopicA/B', 'Topic/C', 'TopicA/C', '/TopicA', '/', 'a//b', `${'L'.repeat(200)}/x`, 'with space/ü'];

describe('interop - paho python topic shapes', () => {
  before(() => requirePaho());

  for (const version of ['311', '5'] as const) {
    test(`interop - paho ${version === '5' ? 'MQTTv5' : 'MQTTv311'}: the interop test's topics, will topic /TopicA, empty and long first levels in the relaxed default instance`, async (t) => {
      const ferry = await startFerry(t);
      const { stdout } = await run(t, PYTHON, [PAHO_TOPICS_SCRIPT, String(ferry.ports.mqtt), version], 20_000);
      const report = JSON.parse(stdout) as TopicsReport;
      assert.deepEqual(report.connacks, { sub: 0, wild: 0, will: 0, pub: 0 });
      assert.deepEqual(report.grantedAll, [1]);
      assert.deepEqual(report.grantedWildcards, [1, 1, 1, 1, 1, 1]);
      assert.deepEqual(
        report.received!.map((m) => m.topic),
        [...INTEROP_TOPICS, '/TopicA'],
      );
      assert.equal(report.received!.at(-1)!.payload, 'client not disconnected');
    });
  }
});
