/**
 * MQTT control packets as plain, typed objects: one interface per packet type, discriminated on
 * `type`. The codec (decoder.ts / encoder.ts) converts between these and wire bytes for
 * MQTT 3.1 (protocol level 3), 3.1.1 (4) and 5.0 (5). Everything above `protocol/` speaks only
 * these types.
 *
 * Conventions:
 * - Optional fields are absent (not `undefined`) when the wire form omits them.
 * - `properties` exists only for MQTT 5 and only when at least one property is present.
 * - Binary data is a Buffer; strings are already UTF-8 decoded and validated.
 * - Decoded Buffers (payloads, password, correlation/authentication data) may be views into the
 *   chunk the bytes arrived in (see decoder.ts): copy them before keeping them long-term
 *   (retained store, offline queues) so they do not pin the whole chunk.
 * - `reasonCode` holds the MQTT 5 reason code; for 3.x CONNACK it holds the 3.x return code,
 *   for 3.x SUBACK the granted QoS or 0x80.
 */

export type ProtocolVersion = 3 | 4 | 5;
export type QoS = 0 | 1 | 2;

/** MQTT 5 properties (section 2.2.2.2). Which ones a packet may carry is checked by the codec. */
export interface Properties {
  payloadFormatIndicator?: number; // 0x01 byte
  messageExpiryInterval?: number; // 0x02 u32
  contentType?: string; // 0x03
  responseTopic?: string; // 0x08
  correlationData?: Buffer; // 0x09
  subscriptionIdentifiers?: number[]; // 0x0B varint, may repeat in PUBLISH
  sessionExpiryInterval?: number; // 0x11 u32
  assignedClientIdentifier?: string; // 0x12
  serverKeepAlive?: number; // 0x13 u16
  authenticationMethod?: string; // 0x15
  authenticationData?: Buffer; // 0x16
  requestProblemInformation?: number; // 0x17 byte
  willDelayInterval?: number; // 0x18 u32
  requestResponseInformation?: number; // 0x19 byte
  responseInformation?: string; // 0x1A
  serverReference?: string; // 0x1C
  reasonString?: string; // 0x1F
  receiveMaximum?: number; // 0x21 u16
  topicAliasMaximum?: number; // 0x22 u16
  topicAlias?: number; // 0x23 u16
  maximumQoS?: number; // 0x24 byte
  retainAvailable?: number; // 0x25 byte
  userProperties?: Array<[string, string]>; // 0x26, order preserved, duplicates allowed
  maximumPacketSize?: number; // 0x27 u32
  wildcardSubscriptionAvailable?: number; // 0x28 byte
  subscriptionIdentifiersAvailable?: number; // 0x29 byte
  sharedSubscriptionAvailable?: number; // 0x2A byte
}

export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: Properties;
}

export interface ConnectPacket {
  type: 'connect';
  protocolName: string; // 'MQTT' or 'MQIsdp' (3.1)
  protocolVersion: ProtocolVersion;
  clean: boolean; // Clean Session (3.x) / Clean Start (5)
  keepalive: number;
  clientId: string;
  will?: Will;
  username?: string;
  password?: Buffer;
  properties?: Properties;
}

export interface ConnackPacket {
  type: 'connack';
  sessionPresent: boolean;
  reasonCode: number;
  properties?: Properties;
}

export interface PublishPacket {
  type: 'publish';
  topic: string; // may be '' in MQTT 5 when a topic alias is used
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  packetId?: number; // present iff qos > 0
  properties?: Properties;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP share one shape. reasonCode absent means 0x00 (success). */
export interface AckPacket<T extends 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'> {
  type: T;
  packetId: number;
  reasonCode?: number;
  properties?: Properties;
}
export type PubackPacket = AckPacket<'puback'>;
export type PubrecPacket = AckPacket<'pubrec'>;
export type PubrelPacket = AckPacket<'pubrel'>;
export type PubcompPacket = AckPacket<'pubcomp'>;

export interface Subscription {
  topicFilter: string;
  qos: QoS;
  noLocal: boolean; // MQTT 5 only; false for 3.x
  retainAsPublished: boolean; // MQTT 5 only
  retainHandling: 0 | 1 | 2; // MQTT 5 only
}

export interface SubscribePacket {
  type: 'subscribe';
  packetId: number;
  subscriptions: Subscription[];
  properties?: Properties;
}

export interface SubackPacket {
  type: 'suback';
  packetId: number;
  reasonCodes: number[];
  properties?: Properties;
}

export interface UnsubscribePacket {
  type: 'unsubscribe';
  packetId: number;
  topicFilters: string[];
  properties?: Properties;
}

export interface UnsubackPacket {
  type: 'unsuback';
  packetId: number;
  reasonCodes: number[]; // empty for 3.x (no payload)
  properties?: Properties;
}

export interface PingreqPacket {
  type: 'pingreq';
}
export interface PingrespPacket {
  type: 'pingresp';
}

export interface DisconnectPacket {
  type: 'disconnect';
  reasonCode?: number; // MQTT 5; absent means 0x00
  properties?: Properties;
}

export interface AuthPacket {
  type: 'auth';
  reasonCode?: number;
  properties?: Properties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;

export type PacketType = Packet['type'];
