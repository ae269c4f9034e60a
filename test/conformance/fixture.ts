/**
 * Shared setup for the conformance tests: an in-process Ferry whose logs are captured, and a
 * bystander — a well-behaved publisher/subscriber pair connected before a test misbehaves, which
 * must keep working afterwards ("no other client notices").
 */
import assert from 'node:assert/strict';
import type { FerryConfigInput, RunningFerry } from '../../src/internal.js';
import type { ProtocolVersion } from '../../src/protocol/index.js';
import { captureLogger, startFerry, type CapturedLogs, type Teardown } from '../helpers/index.js';
import { rawConnect, type RawClient } from '../helpers/raw-client.js';

export interface ConformanceFerry {
  ferry: RunningFerry;
  port: number;
  logs: CapturedLogs;
  /** Log lines about protocol errors (the channel logs each one once). */
  protocolErrorLogs(): Record<string, unknown>[];
}

/** Ferry on port 0 with `broker` options and captured info-level logs; stopped after the test. */
export async function conformanceFerry(t: Teardown, broker: NonNullable<FerryConfigInput['broker']> = {}): Promise<ConformanceFerry> {
  const logs = captureLogger('info');
  const ferry = await startFerry(t, { broker }, { logger: logs.logger });
  return {
    ferry,
    port: ferry.ports.mqtt,
    logs,
    protocolErrorLogs: () => logs.lines.filter((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('protocol error')),
  };
}

let bystanderCount = 0;

/** A publisher and a subscriber that should not notice anything another client does. */
export class Bystander {
  private sent = 0;

  private constructor(
    readonly publisher: RawClient,
    readonly subscriber: RawClient,
    readonly topic: string,
  ) {}

  static async connect(t: Teardown, port: number, protocolVersion: ProtocolVersion = 5): Promise<Bystander> {
    const topic = `bystander/${++bystanderCount}`;
    const { client: subscriber } = await rawConnect(t, port, { protocolVersion });
    assert.deepEqual(await subscriber.subscribe(topic, 1), [1]);
    const { client: publisher } = await rawConnect(t, port, { protocolVersion });
    const bystander = new Bystander(publisher, subscriber, topic);
    await bystander.roundTrip();
    return bystander;
  }

  /** Publishes one QoS 1 message and checks it is acknowledged and delivered, with nothing else. */
  async roundTrip(): Promise<void> {
    const n = ++this.sent;
    const payload = `still here ${n}`;
    this.publisher.publish(this.topic, payload, { qos: 1, packetId: n });
    const puback = await this.publisher.expectPacket('puback');
    assert.equal(puback.packetId, n, 'bystander PUBACK packet id');
    assert.equal(puback.reasonCode ?? 0, 0, 'bystander PUBACK reason');
    const publish = await this.subscriber.expectPacket('publish');
    assert.equal(publish.topic, this.topic);
    assert.equal(publish.payload.toString(), payload);
    this.subscriber.send({ type: 'puback', packetId: publish.packetId! });
    await this.subscriber.expectNothing(20);
  }
}
