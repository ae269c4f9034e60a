/**
 * Wire constants for MQTT 3.1 / 3.1.1 / 5.0: packet type numbers, fixed-header flag rules,
 * the MQTT 5 property table (id, data type, packets allowed) and size limits.
 */
import type { PacketType, Properties } from './packets.js';

/** Control packet type numbers (fixed header bits 7-4). 0 is reserved. */
export const PacketCode = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
  auth: 15,
} as const satisfies Record<PacketType, number>;

/** Packet type name by number; index 0 (reserved) is undefined. */
export const PACKET_TYPE_BY_CODE: readonly (PacketType | undefined)[] = [
  undefined,
  'connect',
  'connack',
  'publish',
  'puback',
  'pubrec',
  'pubrel',
  'pubcomp',
  'subscribe',
  'suback',
  'unsubscribe',
  'unsuback',
  'pingreq',
  'pingresp',
  'disconnect',
  'auth',
];

/**
 * Required fixed-header flag bits (low nibble) per packet type [MQTT-2.2.2-1]; -1 for PUBLISH,
 * whose flags carry DUP/QoS/RETAIN. PUBREL, SUBSCRIBE and UNSUBSCRIBE must be 0b0010
 * [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1].
 */
export const REQUIRED_FLAGS: readonly number[] = [-2, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];

/** PUBLISH fixed-header flag bits. */
export const PUBLISH_DUP = 0x08;
export const PUBLISH_QOS_MASK = 0x06;
export const PUBLISH_QOS_SHIFT = 1;
export const PUBLISH_RETAIN = 0x01;

/** CONNECT flag bits (section 3.1.2.3). */
export const CONNECT_USERNAME = 0x80;
export const CONNECT_PASSWORD = 0x40;
export const CONNECT_WILL_RETAIN = 0x20;
export const CONNECT_WILL_QOS_MASK = 0x18;
export const CONNECT_WILL_QOS_SHIFT = 3;
export const CONNECT_WILL = 0x04;
export const CONNECT_CLEAN = 0x02;
export const CONNECT_RESERVED = 0x01;

/** SUBSCRIBE options byte (section 3.8.3.1). */
export const SUB_QOS_MASK = 0x03;
export const SUB_NO_LOCAL = 0x04;
export const SUB_RETAIN_AS_PUBLISHED = 0x08;
export const SUB_RETAIN_HANDLING_MASK = 0x30;
export const SUB_RETAIN_HANDLING_SHIFT = 4;
/** Bits that must be zero: 7-2 in 3.x [MQTT-3.8.3-4], 7-6 in 5 [MQTT-3.8.3-5]. */
export const SUB_RESERVED_V3 = 0xfc;
export const SUB_RESERVED_V5 = 0xc0;

/** Limits. */
export const MAX_REMAINING_LENGTH = 268_435_455; // 4-byte Variable Byte Integer [MQTT-1.5.5]
export const MAX_VARINT = MAX_REMAINING_LENGTH;
export const MAX_STRING_BYTES = 65_535; // two-byte length prefix [MQTT-1.5.4]
export const MAX_PACKET_ID = 65_535;
/** Largest possible packet: 1 type byte + 4 length bytes + max remaining length. */
export const MAX_PACKET_SIZE = 1 + 4 + MAX_REMAINING_LENGTH;

/** Protocol name / level pairs accepted in CONNECT. */
export const PROTOCOL_NAME_V3 = 'MQIsdp';
export const PROTOCOL_NAME = 'MQTT';

/**
 * Property contexts: bit i of a property's `allowed` mask means "packet type i may carry it".
 * Bit 0 (packet type 0 is reserved) stands for the Will Properties inside CONNECT.
 */
export const WILL_CONTEXT = 0;

export type PropertyDataType = 'byte' | 'u16' | 'u32' | 'varint' | 'string' | 'binary' | 'pair';
export type PropertyName = keyof Properties;

export interface PropertyInfo {
  readonly id: number;
  readonly name: PropertyName;
  readonly type: PropertyDataType;
  /** Bit mask of contexts (packet type numbers, WILL_CONTEXT) allowed to carry it. */
  readonly allowed: number;
  /** May appear more than once (User Property everywhere, Subscription Identifier in PUBLISH). */
  readonly repeatable: boolean;
}

const bit = (...codes: number[]): number => codes.reduce((m, c) => m | (1 << c), 0);
const P = PacketCode;
const W = WILL_CONTEXT;

/** MQTT 5 Table 2-4 (section 2.2.2.2), one row per property. */
export const PROPERTY_TABLE: readonly PropertyInfo[] = [
  { id: 0x01, name: 'payloadFormatIndicator', type: 'byte', allowed: bit(P.publish, W), repeatable: false },
  { id: 0x02, name: 'messageExpiryInterval', type: 'u32', allowed: bit(P.publish, W), repeatable: false },
  { id: 0x03, name: 'contentType', type: 'string', allowed: bit(P.publish, W), repeatable: false },
  { id: 0x08, name: 'responseTopic', type: 'string', allowed: bit(P.publish, W), repeatable: false },
  { id: 0x09, name: 'correlationData', type: 'binary', allowed: bit(P.publish, W), repeatable: false },
  // Repeatable in PUBLISH only; SUBSCRIBE may carry one [MQTT-3.8.2.1.2] (checked in properties.ts).
  { id: 0x0b, name: 'subscriptionIdentifiers', type: 'varint', allowed: bit(P.publish, P.subscribe), repeatable: true },
  { id: 0x11, name: 'sessionExpiryInterval', type: 'u32', allowed: bit(P.connect, P.connack, P.disconnect), repeatable: false },
  { id: 0x12, name: 'assignedClientIdentifier', type: 'string', allowed: bit(P.connack), repeatable: false },
  { id: 0x13, name: 'serverKeepAlive', type: 'u16', allowed: bit(P.connack), repeatable: false },
  { id: 0x15, name: 'authenticationMethod', type: 'string', allowed: bit(P.connect, P.connack, P.auth), repeatable: false },
  { id: 0x16, name: 'authenticationData', type: 'binary', allowed: bit(P.connect, P.connack, P.auth), repeatable: false },
  { id: 0x17, name: 'requestProblemInformation', type: 'byte', allowed: bit(P.connect), repeatable: false },
  { id: 0x18, name: 'willDelayInterval', type: 'u32', allowed: bit(W), repeatable: false },
  { id: 0x19, name: 'requestResponseInformation', type: 'byte', allowed: bit(P.connect), repeatable: false },
  { id: 0x1a, name: 'responseInformation', type: 'string', allowed: bit(P.connack), repeatable: false },
  { id: 0x1c, name: 'serverReference', type: 'string', allowed: bit(P.connack, P.disconnect), repeatable: false },
  {
    id: 0x1f,
    name: 'reasonString',
    type: 'string',
    allowed: bit(P.connack, P.puback, P.pubrec, P.pubrel, P.pubcomp, P.suback, P.unsuback, P.disconnect, P.auth),
    repeatable: false,
  },
  { id: 0x21, name: 'receiveMaximum', type: 'u16', allowed: bit(P.connect, P.connack), repeatable: false },
  { id: 0x22, name: 'topicAliasMaximum', type: 'u16', allowed: bit(P.connect, P.connack), repeatable: false },
  { id: 0x23, name: 'topicAlias', type: 'u16', allowed: bit(P.publish), repeatable: false },
  { id: 0x24, name: 'maximumQoS', type: 'byte', allowed: bit(P.connack), repeatable: false },
  { id: 0x25, name: 'retainAvailable', type: 'byte', allowed: bit(P.connack), repeatable: false },
  {
    id: 0x26,
    name: 'userProperties',
    type: 'pair',
    allowed: bit(
      W,
      P.connect,
      P.connack,
      P.publish,
      P.puback,
      P.pubrec,
      P.pubrel,
      P.pubcomp,
      P.subscribe,
      P.suback,
      P.unsubscribe,
      P.unsuback,
      P.disconnect,
      P.auth,
    ),
    repeatable: true,
  },
  { id: 0x27, name: 'maximumPacketSize', type: 'u32', allowed: bit(P.connect, P.connack), repeatable: false },
  { id: 0x28, name: 'wildcardSubscriptionAvailable', type: 'byte', allowed: bit(P.connack), repeatable: false },
  { id: 0x29, name: 'subscriptionIdentifiersAvailable', type: 'byte', allowed: bit(P.connack), repeatable: false },
  { id: 0x2a, name: 'sharedSubscriptionAvailable', type: 'byte', allowed: bit(P.connack), repeatable: false },
];

/** Property info by id (sparse; undefined for ids the spec does not define). */
export const PROPERTY_BY_ID: readonly (PropertyInfo | undefined)[] = (() => {
  const byId: (PropertyInfo | undefined)[] = new Array<PropertyInfo | undefined>(0x2b).fill(undefined);
  for (const p of PROPERTY_TABLE) byId[p.id] = p;
  return byId;
})();

/** Property id by name. */
export const PROPERTY_ID = Object.fromEntries(PROPERTY_TABLE.map((p) => [p.name, p.id])) as Record<
  PropertyName,
  number
>;

/** Allowed-context mask by property id (dense array for the hot path). */
export const PROPERTY_ALLOWED: readonly number[] = PROPERTY_BY_ID.map((p) => (p === undefined ? 0 : p.allowed));

/** Human-readable context name for error messages. */
export function contextName(context: number): string {
  return context === WILL_CONTEXT ? 'WILL' : (PACKET_TYPE_BY_CODE[context] ?? `type ${context}`).toUpperCase();
}
