/**
 * Messages between AMQP and MQTT, as the managed service's server SDK reads and writes them
 * (reference §6.1, docs/amqp.md):
 *
 * delivery (device → backend): the queue entry's properties become AMQP headers — the SDK reads
 *   `mqttParentTopic`, `mqttSecondTopic`, `clientId`, `bornTime` (a long, ms) and
 *   `mqtt5UserProperty` (JSON), Ferry adds `topic`, `qoslevel`, `cleansessionflag`, `msgId` — and
 *   the AMQP `contentType` / `expiration` / `messageId` / `timestamp` properties.
 * publish (backend → device): `contentType`, `expiration` and header `mqtt5UserProperty` become
 *   the MQTT 5 content type, message expiry and user properties; `seqId`, `messageId` are accepted.
 *
 * `expiration` carries the MQTT 5 Message Expiry Interval in SECONDS both ways, as the SDK's
 * `mqtt5MsgExpireInterval` does — not RabbitMQ's milliseconds.
 */
import { PROPERTY, parseUserProperties, propertyString } from '../rules/connectors/properties.js';
import type { ReceivedQueueMessage } from '../rules/runtime.js';
import type { Properties } from '../protocol/packets.js';
import type { BasicProperties } from './codec.js';

/** AMQP properties and headers of a queued device message or status event. */
export function deliveryProperties(message: ReceivedQueueMessage): BasicProperties {
  const p = message.properties;
  const headers: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(p)) {
    if (key === PROPERTY.contentType || key === PROPERTY.expiryInterval) continue;
    // The SDK reads bornTime as a number; AMQP type 'l' (signed 64-bit) keeps ms timestamps whole.
    headers[key] = key === PROPERTY.bornTime && /^\d+$/.test(value) ? { '!': 'long', value: Number(value) } : value;
  }
  const out: BasicProperties = { headers, deliveryMode: 2 };
  const contentType = p[PROPERTY.contentType];
  if (contentType !== undefined) out.contentType = contentType;
  else if (p[PROPERTY.eventType] !== undefined) out.contentType = 'application/json';
  const expiry = p[PROPERTY.expiryInterval];
  if (expiry !== undefined) out.expiration = expiry;
  const msgId = p[PROPERTY.msgId];
  if (msgId !== undefined && msgId !== '') out.messageId = msgId;
  const born = Number(p[PROPERTY.bornTime] ?? message.enqueuedAt);
  out.timestamp = Math.floor((Number.isFinite(born) ? born : message.enqueuedAt) / 1000);
  return out;
}

export class PublishPropertyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PublishPropertyError';
  }
}

/** MQTT 5 properties and expiry of a backend's publish; PublishPropertyError names what is wrong. */
export function publishProperties(props: BasicProperties): { properties?: Properties; messageExpiryInterval?: number } {
  const out: { properties?: Properties; messageExpiryInterval?: number } = {};
  const properties: Properties = {};
  if (props.contentType !== undefined && props.contentType !== '') properties.contentType = props.contentType;
  const raw = propertyString(props.headers?.[PROPERTY.userProperty]);
  if (raw !== undefined) {
    let parsed;
    try {
      parsed = parseUserProperties(raw);
    } catch (error) {
      throw new PublishPropertyError((error as Error).message);
    }
    if (parsed !== undefined && parsed.length > 0) properties.userProperties = parsed.map((u) => [u.key, u.value] as [string, string]);
  }
  if (props.expiration !== undefined && props.expiration !== '') {
    if (!/^\d{1,10}$/.test(props.expiration) || Number(props.expiration) > 0xffffffff) {
      throw new PublishPropertyError(`expiration must be the message expiry in whole seconds (0-4294967295), got ${JSON.stringify(props.expiration)}`);
    }
    const seconds = Number(props.expiration);
    if (seconds > 0) out.messageExpiryInterval = seconds;
  }
  if (Object.keys(properties).length > 0) out.properties = properties;
  return out;
}
