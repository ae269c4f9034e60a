/**
 * Serialization of the forwardable MQTT 5 PUBLISH properties for storage: a small JSON document
 * with Buffers as base64. Topic Alias and Subscription Identifiers are per-delivery and never
 * stored with a message (subscription ids live on the queue/in-flight entry).
 */
import type { Properties } from '../protocol/packets.js';

const FORWARDABLE = [
  'payloadFormatIndicator',
  'messageExpiryInterval',
  'contentType',
  'responseTopic',
  'correlationData',
  'userProperties',
] as const;

interface Stored {
  p?: number;
  e?: number;
  c?: string;
  r?: string;
  d?: string;
  u?: Array<[string, string]>;
}

/** Encodes the forwardable properties of a message; null when there are none. */
export function encodeProperties(properties: Properties | undefined): Buffer | null {
  if (properties === undefined) return null;
  const out: Stored = {};
  let any = false;
  if (properties.payloadFormatIndicator !== undefined) { out.p = properties.payloadFormatIndicator; any = true; }
  if (properties.messageExpiryInterval !== undefined) { out.e = properties.messageExpiryInterval; any = true; }
  if (properties.contentType !== undefined) { out.c = properties.contentType; any = true; }
  if (properties.responseTopic !== undefined) { out.r = properties.responseTopic; any = true; }
  if (properties.correlationData !== undefined) { out.d = properties.correlationData.toString('base64'); any = true; }
  if (properties.userProperties !== undefined && properties.userProperties.length > 0) {
    out.u = properties.userProperties.map(([k, v]) => [k, v]);
    any = true;
  }
  return any ? Buffer.from(JSON.stringify(out), 'utf8') : null;
}

export function decodeProperties(data: Buffer | null): Properties | undefined {
  if (data === null || data.length === 0) return undefined;
  const stored = JSON.parse(data.toString('utf8')) as Stored;
  const properties: Properties = {};
  if (stored.p !== undefined) properties.payloadFormatIndicator = stored.p;
  if (stored.e !== undefined) properties.messageExpiryInterval = stored.e;
  if (stored.c !== undefined) properties.contentType = stored.c;
  if (stored.r !== undefined) properties.responseTopic = stored.r;
  if (stored.d !== undefined) properties.correlationData = Buffer.from(stored.d, 'base64');
  if (stored.u !== undefined) properties.userProperties = stored.u.map(([k, v]) => [k, v]);
  return properties;
}

export const FORWARDABLE_PROPERTIES: readonly string[] = FORWARDABLE;
