/**
 * The message shape on the wire, shared by every connector: the reference's property keys
 * (§5.1: `clientId`, `topic`, `mqttParentTopic`, `mqttSecondTopic`, `qoslevel`, `cleansessionflag`,
 * `bornTime`, `msgId`, `mqtt5UserProperty`, `mqtt5ContentType`, `mqtt5MsgExpireInterval`) as string
 * values — AMQP/NATS headers, Redis stream fields, webhook JSON members — and the payload bytes
 * unchanged. Inbound goes the other way: properties → an MQTT publish under the rule's parent topic.
 */
import { InboundMessageError } from './errors.js';
import type { InboundItem, InboundMessage, RuleMessage, SourceRecord, StatusEvent, UserProperty } from './types.js';

export const PROPERTY = {
  clientId: 'clientId',
  topic: 'topic',
  parentTopic: 'mqttParentTopic',
  secondTopic: 'mqttSecondTopic',
  realTopic: 'mqttRealTopic',
  qos: 'qoslevel',
  cleanSession: 'cleansessionflag',
  bornTime: 'bornTime',
  msgId: 'msgId',
  userProperty: 'mqtt5UserProperty',
  contentType: 'mqtt5ContentType',
  expiryInterval: 'mqtt5MsgExpireInterval',
  eventType: 'eventType',
} as const;

/** Reference limit on `mqtt5UserProperty` (§5.1). */
const USER_PROPERTY_MAX_BYTES = 8 * 1024;

/** `sensors/a/b` → parent `sensors`, second `/a/b`; a one-level topic has an empty second topic. */
export function splitTopic(topic: string): { parent: string; second: string } {
  const slash = topic.indexOf('/');
  return slash < 0 ? { parent: topic, second: '' } : { parent: topic.slice(0, slash), second: topic.slice(slash) };
}

/** The properties of an outbound message, in a fixed order; absent MQTT 5 ones are left out. */
export function messageProperties(message: RuleMessage): Record<string, string> {
  const { parent, second } = splitTopic(message.topic);
  const props: Record<string, string> = {
    [PROPERTY.clientId]: message.clientId,
    [PROPERTY.topic]: message.topic,
    [PROPERTY.parentTopic]: parent,
    [PROPERTY.secondTopic]: second,
    [PROPERTY.qos]: String(message.qos),
    [PROPERTY.cleanSession]: String(message.cleanSession),
    [PROPERTY.bornTime]: String(message.bornTime),
    [PROPERTY.msgId]: message.msgId,
  };
  if (message.userProperties !== undefined && message.userProperties.length > 0) {
    props[PROPERTY.userProperty] = JSON.stringify(message.userProperties.map((p) => ({ key: p.key, value: p.value })));
  }
  if (message.contentType !== undefined) props[PROPERTY.contentType] = message.contentType;
  if (message.messageExpiryInterval !== undefined) props[PROPERTY.expiryInterval] = String(message.messageExpiryInterval);
  return props;
}

/** The reference's status JSON body, keys in the reference's order (§5.4). */
export function statusBody(event: StatusEvent): Buffer {
  return Buffer.from(
    JSON.stringify({
      clientId: event.clientId,
      time: event.time,
      eventType: event.eventType,
      channelId: event.channelId,
      clientIp: event.clientIp,
    }),
  );
}

/** Header values arrive typed by the engine (AMQP numbers, booleans, byte strings): make them strings. */
export function propertyString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return JSON.stringify(value);
}

/**
 * A source message → the MQTT publish it asks for (reference §5.1, data inbound):
 * - topic: parent topic + `mqttSecondTopic` (default empty: the parent topic itself);
 * - `mqttSecondTopic` = `/p2p/<clientId>`: a P2P message to that client; the topic the client sees is
 *   parent + `mqttRealTopic` when given, else `<parent>/p2p/<clientId>`;
 * - `qoslevel` 0/1/2, default 1; `cleansessionflag` true/false, default true;
 * - MQTT 5: `mqtt5UserProperty` (JSON array), `mqtt5ContentType`, `mqtt5MsgExpireInterval`.
 * Anything malformed throws InboundMessageError naming the property.
 */
export function parseInbound(properties: Readonly<Record<string, string>>, payload: Buffer, parentTopic: string): InboundMessage {
  const second = normaliseSubtopic(properties[PROPERTY.secondTopic], PROPERTY.secondTopic);
  const real = normaliseSubtopic(properties[PROPERTY.realTopic], PROPERTY.realTopic);

  let topic: string;
  let p2pClientId: string | undefined;
  const p2p = /^\/p2p\/(.*)$/.exec(second);
  if (p2p) {
    const clientId = p2p[1] ?? '';
    if (clientId === '' || clientId.includes('/')) {
      throw new InboundMessageError('InvalidTopic', PROPERTY.secondTopic, `${PROPERTY.secondTopic} "${second}" must be /p2p/<clientId>`);
    }
    p2pClientId = clientId;
    topic = parentTopic + (real !== '' ? real : second);
  } else {
    topic = parentTopic + second;
  }
  checkTopicName(topic, real !== '' && p2pClientId !== undefined ? PROPERTY.realTopic : PROPERTY.secondTopic);

  const qosRaw = properties[PROPERTY.qos];
  let qos: 0 | 1 | 2 = 1;
  if (qosRaw !== undefined && qosRaw !== '') {
    if (qosRaw !== '0' && qosRaw !== '1' && qosRaw !== '2') {
      throw new InboundMessageError('InvalidQos', PROPERTY.qos, `${PROPERTY.qos} must be 0, 1 or 2, got ${JSON.stringify(qosRaw)}`);
    }
    qos = Number(qosRaw) as 0 | 1 | 2;
  }

  const cleanRaw = properties[PROPERTY.cleanSession];
  let cleanSession = true;
  if (cleanRaw !== undefined && cleanRaw !== '') {
    const lower = cleanRaw.toLowerCase();
    if (lower !== 'true' && lower !== 'false') {
      throw new InboundMessageError(
        'InvalidCleanSession',
        PROPERTY.cleanSession,
        `${PROPERTY.cleanSession} must be true or false, got ${JSON.stringify(cleanRaw)}`,
      );
    }
    cleanSession = lower === 'true';
  }

  const message: {
    -readonly [K in keyof InboundMessage]: InboundMessage[K];
  } = { topic, qos, cleanSession, payload };
  if (p2pClientId !== undefined) message.p2pClientId = p2pClientId;
  const userProperties = parseUserProperties(properties[PROPERTY.userProperty]);
  if (userProperties !== undefined) message.userProperties = userProperties;
  const contentType = properties[PROPERTY.contentType];
  if (contentType !== undefined && contentType !== '') message.contentType = contentType;
  const expiry = properties[PROPERTY.expiryInterval];
  if (expiry !== undefined && expiry !== '') {
    if (!/^\d{1,10}$/.test(expiry) || Number(expiry) > 0xffffffff) {
      throw new InboundMessageError(
        'InvalidExpiryInterval',
        PROPERTY.expiryInterval,
        `${PROPERTY.expiryInterval} must be an integer number of seconds from 0 to 4294967295, got ${JSON.stringify(expiry)}`,
      );
    }
    message.messageExpiryInterval = Number(expiry);
  }
  return message;
}

/**
 * A source record → the item the consume handler gets: parsed, or the typed reason it is malformed.
 * Never throws: an unexpected parser failure is reported as a malformed message too.
 */
export function inboundItem(record: SourceRecord, parentTopic: string): InboundItem {
  try {
    return { ok: true, message: parseInbound(record.properties, record.payload, parentTopic), record };
  } catch (err) {
    const error =
      err instanceof InboundMessageError
        ? err
        : new InboundMessageError('Unreadable', '', `cannot read the message: ${err instanceof Error ? err.message : String(err)}`);
    return { ok: false, error, record };
  }
}

/** `/a/b` stays, `a/b` becomes `/a/b` (some producers omit the slash), absent becomes ''. */
function normaliseSubtopic(value: string | undefined, property: string): string {
  if (value === undefined || value === '') return '';
  if (value.includes('\u0000')) throw new InboundMessageError('InvalidTopic', property, `${property} contains a NUL character`);
  return value.startsWith('/') ? value : `/${value}`;
}

/** An MQTT topic name: no wildcards [MQTT-3.3.2-2], no NUL, at most 65535 bytes [MQTT-1.5.4-1]. */
function checkTopicName(topic: string, property: string): void {
  if (topic === '') throw new InboundMessageError('InvalidTopic', property, 'the topic is empty (no parent topic and no subtopic)');
  if (/[+#]/.test(topic)) {
    throw new InboundMessageError('InvalidTopic', property, `the topic "${topic}" contains a wildcard (+ or #); a publish needs a topic name`);
  }
  if (Buffer.byteLength(topic) > 65535) throw new InboundMessageError('InvalidTopic', property, 'the topic is longer than 65535 bytes');
}

export function parseUserProperties(raw: string | undefined): UserProperty[] | undefined {
  if (raw === undefined || raw === '') return undefined;
  const fail = (why: string): never => {
    throw new InboundMessageError('InvalidUserProperty', PROPERTY.userProperty, `${PROPERTY.userProperty} ${why}`);
  };
  if (Buffer.byteLength(raw) > USER_PROPERTY_MAX_BYTES) fail(`is larger than ${USER_PROPERTY_MAX_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return fail('is not valid JSON (expected [{"key":"...","value":"..."}])');
  }
  if (!Array.isArray(parsed)) return fail('must be a JSON array of {"key","value"} objects');
  return parsed.map((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null) return fail(`entry ${i} is not an object`);
    const { key, value } = entry as { key?: unknown; value?: unknown };
    if (typeof key !== 'string' || typeof value !== 'string') return fail(`entry ${i} needs string "key" and "value"`);
    return { key, value };
  });
}
