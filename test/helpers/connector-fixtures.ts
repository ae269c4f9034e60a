/** Messages and checks shared by the connector tests: every reference property, checked one by one. */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RuleMessage, StatusEvent, TargetConnector, TargetItem } from '../../src/rules/connectors/index.js';

/** A message with every property set, MQTT 5 ones included, and binary payload bytes. */
export function fullMessage(i: number, overrides: Partial<RuleMessage> = {}): RuleMessage {
  return {
    clientId: `GID_car@@@dev${i % 3}`,
    topic: `sensors/room${i}/temp`,
    qos: 1,
    cleanSession: i % 2 === 0,
    bornTime: 1_765_000_000_000 + i,
    msgId: `0a0b0c0d0e0f${String(i).padStart(20, '0')}`,
    payload: Buffer.from([0, 255, 1, 254, i & 0xff, 0x0d, 0x0a]),
    userProperties: [
      { key: 'unit', value: 'celsius' },
      { key: 'unit', value: 'second value, same key' },
    ],
    contentType: 'application/octet-stream',
    messageExpiryInterval: 3600,
    ...overrides,
  };
}

/** A message with only the MQTT 3.1.1 properties (no MQTT 5 ones), single-level topic. */
export function plainMessage(i: number): RuleMessage {
  return {
    clientId: `GID_car@@@plain${i}`,
    topic: 'flat',
    qos: 0,
    cleanSession: true,
    bornTime: 1_765_000_000_000 + i,
    msgId: `ffff${String(i).padStart(28, '0')}`,
    payload: Buffer.from(`plain ${i}`),
  };
}

export function statusEvent(i: number, eventType: StatusEvent['eventType'] = 'connect'): StatusEvent {
  return {
    clientId: `GID_car@@@dev${i}`,
    time: 1_765_000_000_000 + i,
    eventType,
    channelId: `${String(i).padStart(4, '0')}b9b1281046046faafe5e0b458e4`,
    clientIp: `192.0.2.${i % 250}:${40000 + i}`,
  };
}

export const asMessages = (messages: RuleMessage[]): TargetItem[] => messages.map((message) => ({ type: 'message', message }));

/** The properties the consuming side must see for `message` (strings, MQTT 5 ones only when set). */
export function expectedProperties(message: RuleMessage): Record<string, string> {
  const slash = message.topic.indexOf('/');
  const expected: Record<string, string> = {
    clientId: message.clientId,
    topic: message.topic,
    mqttParentTopic: slash < 0 ? message.topic : message.topic.slice(0, slash),
    mqttSecondTopic: slash < 0 ? '' : message.topic.slice(slash),
    qoslevel: String(message.qos),
    cleansessionflag: String(message.cleanSession),
    bornTime: String(message.bornTime),
    msgId: message.msgId,
  };
  if (message.userProperties) expected.mqtt5UserProperty = JSON.stringify(message.userProperties);
  if (message.contentType !== undefined) expected.mqtt5ContentType = message.contentType;
  if (message.messageExpiryInterval !== undefined) expected.mqtt5MsgExpireInterval = String(message.messageExpiryInterval);
  return expected;
}

/** Assert the consumer saw exactly the expected properties (extra keys listed in `allowExtra` ignored). */
export function assertProperties(seen: Record<string, string>, message: RuleMessage, allowExtra: readonly string[] = []): void {
  const picked: Record<string, string> = {};
  for (const [key, value] of Object.entries(seen)) if (!allowExtra.includes(key)) picked[key] = value;
  assert.deepEqual(picked, expectedProperties(message), `properties of ${message.msgId}`);
}

export function assertStatusBody(body: Buffer | string, event: StatusEvent): void {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  assert.equal(
    text,
    JSON.stringify({ clientId: event.clientId, time: event.time, eventType: event.eventType, channelId: event.channelId, clientIp: event.clientIp }),
  );
}

// Mid-stream tests: an engine killed and restarted while a worker-like loop delivers.
const CLIENTS = 4;
export const TOTAL = 2_000;
export const BATCH = 100;

export function midstreamMessages(): RuleMessage[] {
  return Array.from({ length: TOTAL }, (_, i) =>
    fullMessage(i, { clientId: `GID_c@@@${i % CLIENTS}`, msgId: `m${String(i).padStart(6, '0')}` }),
  );
}

/** What a rule worker does with partial outcomes: keep each client's failed suffix for the next try. */
export async function deliverAll(target: TargetConnector, all: RuleMessage[], chaos: () => Promise<void>): Promise<number> {
  let queue = [...all];
  let attempts = 0;
  let running: Promise<void> | undefined;
  while (queue.length > 0) {
    // A quarter in, the engine goes down (in the background, while deliveries go on).
    if (running === undefined && queue.length <= (all.length * 3) / 4) running = chaos();
    const batch = queue.slice(0, BATCH);
    const outcomes = await target.deliver(asMessages(batch));
    attempts++;
    const failedClients = new Set<string>();
    const retry: RuleMessage[] = [];
    batch.forEach((m, i) => {
      if (failedClients.has(m.clientId) || !outcomes[i]!.ok) {
        failedClients.add(m.clientId);
        retry.push(m);
      }
    });
    queue = [...retry, ...queue.slice(BATCH)];
    if (retry.length > 0) await sleep(100);
  }
  await running;
  return attempts;
}

export function assertCompleteAndOrdered(arrived: { clientId: string; msgId: string }[]): void {
  const first = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const { clientId, msgId } of arrived) {
    if (seen.has(msgId)) continue;
    seen.add(msgId);
    const list = first.get(clientId) ?? [];
    list.push(msgId);
    first.set(clientId, list);
  }
  assert.equal(seen.size, TOTAL, 'every message arrived');
  for (const [clientId, ids] of first) assert.deepEqual(ids, [...ids].sort(), `order of ${clientId}`);
}

