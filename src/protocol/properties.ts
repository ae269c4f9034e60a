/**
 * MQTT 5 property codec (section 2.2.2). Properties are written in identifier order.
 *
 * Decoding rejects, per Table 2-4 and the per-property rules of chapter 3:
 * - an identifier the spec does not define, or one not valid for the packet: Malformed (0x81)
 *   [section 2.2.2.2];
 * - a single-valued property given twice: Protocol Error (0x82);
 * - out-of-range values (e.g. Receive Maximum 0, a byte flag other than 0/1): Protocol Error,
 *   except Topic Alias 0, which is Topic Alias Invalid (0x94) [MQTT-3.3.2-8].
 * Encoding throws EncodeError for the same conditions, so whatever encodes also decodes.
 */
import type { Properties } from './packets.js';
import { DecodeError, EncodeError } from './errors.js';
import { PROPERTY_ALLOWED, PROPERTY_BY_ID, PacketCode, contextName, MAX_VARINT } from './constants.js';
import { ReasonCode } from './reason-codes.js';
import { malformed, protocolError, type Reader } from './reader.js';
import {
  type Writer,
  binaryFieldLength,
  checkU16,
  checkU32,
  stringFieldLength,
  varintLength,
} from './writer.js';

// Property identifiers (Table 2-4).
const PAYLOAD_FORMAT_INDICATOR = 0x01;
const MESSAGE_EXPIRY_INTERVAL = 0x02;
const CONTENT_TYPE = 0x03;
const RESPONSE_TOPIC = 0x08;
const CORRELATION_DATA = 0x09;
const SUBSCRIPTION_IDENTIFIER = 0x0b;
const SESSION_EXPIRY_INTERVAL = 0x11;
const ASSIGNED_CLIENT_IDENTIFIER = 0x12;
const SERVER_KEEP_ALIVE = 0x13;
const AUTHENTICATION_METHOD = 0x15;
const AUTHENTICATION_DATA = 0x16;
const REQUEST_PROBLEM_INFORMATION = 0x17;
const WILL_DELAY_INTERVAL = 0x18;
const REQUEST_RESPONSE_INFORMATION = 0x19;
const RESPONSE_INFORMATION = 0x1a;
const SERVER_REFERENCE = 0x1c;
const REASON_STRING = 0x1f;
const RECEIVE_MAXIMUM = 0x21;
const TOPIC_ALIAS_MAXIMUM = 0x22;
const TOPIC_ALIAS = 0x23;
const MAXIMUM_QOS = 0x24;
const RETAIN_AVAILABLE = 0x25;
const USER_PROPERTY = 0x26;
const MAXIMUM_PACKET_SIZE = 0x27;
const WILDCARD_SUBSCRIPTION_AVAILABLE = 0x28;
const SUBSCRIPTION_IDENTIFIERS_AVAILABLE = 0x29;
const SHARED_SUBSCRIPTION_AVAILABLE = 0x2a;

function nameOf(id: number): string {
  return PROPERTY_BY_ID[id]?.name ?? `0x${id.toString(16)}`;
}

// ---------------------------------------------------------------------------------------------
// Encoding

function allowed(id: number, context: number): void {
  if (((PROPERTY_ALLOWED[id] as number) & (1 << context)) === 0) {
    throw new EncodeError(`property ${nameOf(id)} is not allowed in ${contextName(context)}`);
  }
}

function flagLength(id: number, v: number, context: number): number {
  allowed(id, context);
  if (v !== 0 && v !== 1) throw new EncodeError(`property ${nameOf(id)}: ${v} must be 0 or 1`);
  return 2;
}

function u16Length(id: number, v: number, context: number, min: number): number {
  allowed(id, context);
  checkU16(v, nameOf(id));
  if (v < min) throw new EncodeError(`property ${nameOf(id)}: ${v} is below ${min}`);
  return 3;
}

function u32Length(id: number, v: number, context: number, min: number): number {
  allowed(id, context);
  checkU32(v, nameOf(id));
  if (v < min) throw new EncodeError(`property ${nameOf(id)}: ${v} is below ${min}`);
  return 5;
}

function stringLength(id: number, v: string, context: number): number {
  allowed(id, context);
  return 1 + stringFieldLength(v, nameOf(id));
}

function binaryLength(id: number, v: Buffer, context: number): number {
  allowed(id, context);
  return 1 + binaryFieldLength(v, nameOf(id));
}

/**
 * Byte length of the encoded properties, excluding the Property Length prefix. Validates that
 * each present property is allowed in `context` (a packet type number or WILL_CONTEXT).
 */
export function propertiesLength(p: Properties, context: number): number {
  let n = 0;
  if (p.payloadFormatIndicator !== undefined) n += flagLength(PAYLOAD_FORMAT_INDICATOR, p.payloadFormatIndicator, context);
  if (p.messageExpiryInterval !== undefined) n += u32Length(MESSAGE_EXPIRY_INTERVAL, p.messageExpiryInterval, context, 0);
  if (p.contentType !== undefined) n += stringLength(CONTENT_TYPE, p.contentType, context);
  if (p.responseTopic !== undefined) {
    if (p.responseTopic.includes('+') || p.responseTopic.includes('#')) {
      throw new EncodeError('responseTopic: contains wildcards [MQTT-3.3.2-14]');
    }
    n += stringLength(RESPONSE_TOPIC, p.responseTopic, context);
  }
  if (p.correlationData !== undefined) n += binaryLength(CORRELATION_DATA, p.correlationData, context);
  const subIds = p.subscriptionIdentifiers;
  if (subIds !== undefined && subIds.length > 0) {
    allowed(SUBSCRIPTION_IDENTIFIER, context);
    if (subIds.length > 1 && context !== PacketCode.publish) {
      throw new EncodeError('subscriptionIdentifiers: only PUBLISH may carry more than one');
    }
    for (let i = 0; i < subIds.length; i++) {
      const id = subIds[i] as number;
      if (!Number.isInteger(id) || id < 1 || id > MAX_VARINT) {
        throw new EncodeError(`subscriptionIdentifiers: ${id} is not in 1..${MAX_VARINT}`);
      }
      n += 1 + varintLength(id);
    }
  }
  if (p.sessionExpiryInterval !== undefined) n += u32Length(SESSION_EXPIRY_INTERVAL, p.sessionExpiryInterval, context, 0);
  if (p.assignedClientIdentifier !== undefined) n += stringLength(ASSIGNED_CLIENT_IDENTIFIER, p.assignedClientIdentifier, context);
  if (p.serverKeepAlive !== undefined) n += u16Length(SERVER_KEEP_ALIVE, p.serverKeepAlive, context, 0);
  if (p.authenticationMethod !== undefined) n += stringLength(AUTHENTICATION_METHOD, p.authenticationMethod, context);
  if (p.authenticationData !== undefined) n += binaryLength(AUTHENTICATION_DATA, p.authenticationData, context);
  if (p.requestProblemInformation !== undefined) n += flagLength(REQUEST_PROBLEM_INFORMATION, p.requestProblemInformation, context);
  if (p.willDelayInterval !== undefined) n += u32Length(WILL_DELAY_INTERVAL, p.willDelayInterval, context, 0);
  if (p.requestResponseInformation !== undefined) n += flagLength(REQUEST_RESPONSE_INFORMATION, p.requestResponseInformation, context);
  if (p.responseInformation !== undefined) n += stringLength(RESPONSE_INFORMATION, p.responseInformation, context);
  if (p.serverReference !== undefined) n += stringLength(SERVER_REFERENCE, p.serverReference, context);
  if (p.reasonString !== undefined) n += stringLength(REASON_STRING, p.reasonString, context);
  if (p.receiveMaximum !== undefined) n += u16Length(RECEIVE_MAXIMUM, p.receiveMaximum, context, 1);
  if (p.topicAliasMaximum !== undefined) n += u16Length(TOPIC_ALIAS_MAXIMUM, p.topicAliasMaximum, context, 0);
  if (p.topicAlias !== undefined) n += u16Length(TOPIC_ALIAS, p.topicAlias, context, 1);
  if (p.maximumQoS !== undefined) n += flagLength(MAXIMUM_QOS, p.maximumQoS, context);
  if (p.retainAvailable !== undefined) n += flagLength(RETAIN_AVAILABLE, p.retainAvailable, context);
  const user = p.userProperties;
  if (user !== undefined && user.length > 0) {
    allowed(USER_PROPERTY, context);
    for (let i = 0; i < user.length; i++) {
      const pair = user[i] as [string, string];
      n += 1 + stringFieldLength(pair[0], 'user property name') + stringFieldLength(pair[1], 'user property value');
    }
  }
  if (p.maximumPacketSize !== undefined) n += u32Length(MAXIMUM_PACKET_SIZE, p.maximumPacketSize, context, 1);
  if (p.wildcardSubscriptionAvailable !== undefined) {
    n += flagLength(WILDCARD_SUBSCRIPTION_AVAILABLE, p.wildcardSubscriptionAvailable, context);
  }
  if (p.subscriptionIdentifiersAvailable !== undefined) {
    n += flagLength(SUBSCRIPTION_IDENTIFIERS_AVAILABLE, p.subscriptionIdentifiersAvailable, context);
  }
  if (p.sharedSubscriptionAvailable !== undefined) {
    n += flagLength(SHARED_SUBSCRIPTION_AVAILABLE, p.sharedSubscriptionAvailable, context);
  }
  return n;
}

/** Writes Property Length then the properties; `length` comes from propertiesLength(). */
export function writeProperties(w: Writer, p: Properties | undefined, length: number): void {
  w.varint(length);
  if (p === undefined || length === 0) return;
  if (p.payloadFormatIndicator !== undefined) {
    w.u8(PAYLOAD_FORMAT_INDICATOR);
    w.u8(p.payloadFormatIndicator);
  }
  if (p.messageExpiryInterval !== undefined) {
    w.u8(MESSAGE_EXPIRY_INTERVAL);
    w.u32(p.messageExpiryInterval);
  }
  if (p.contentType !== undefined) {
    w.u8(CONTENT_TYPE);
    w.string(p.contentType);
  }
  if (p.responseTopic !== undefined) {
    w.u8(RESPONSE_TOPIC);
    w.string(p.responseTopic);
  }
  if (p.correlationData !== undefined) {
    w.u8(CORRELATION_DATA);
    w.binary(p.correlationData);
  }
  const subIds = p.subscriptionIdentifiers;
  if (subIds !== undefined) {
    for (let i = 0; i < subIds.length; i++) {
      w.u8(SUBSCRIPTION_IDENTIFIER);
      w.varint(subIds[i] as number);
    }
  }
  if (p.sessionExpiryInterval !== undefined) {
    w.u8(SESSION_EXPIRY_INTERVAL);
    w.u32(p.sessionExpiryInterval);
  }
  if (p.assignedClientIdentifier !== undefined) {
    w.u8(ASSIGNED_CLIENT_IDENTIFIER);
    w.string(p.assignedClientIdentifier);
  }
  if (p.serverKeepAlive !== undefined) {
    w.u8(SERVER_KEEP_ALIVE);
    w.u16(p.serverKeepAlive);
  }
  if (p.authenticationMethod !== undefined) {
    w.u8(AUTHENTICATION_METHOD);
    w.string(p.authenticationMethod);
  }
  if (p.authenticationData !== undefined) {
    w.u8(AUTHENTICATION_DATA);
    w.binary(p.authenticationData);
  }
  if (p.requestProblemInformation !== undefined) {
    w.u8(REQUEST_PROBLEM_INFORMATION);
    w.u8(p.requestProblemInformation);
  }
  if (p.willDelayInterval !== undefined) {
    w.u8(WILL_DELAY_INTERVAL);
    w.u32(p.willDelayInterval);
  }
  if (p.requestResponseInformation !== undefined) {
    w.u8(REQUEST_RESPONSE_INFORMATION);
    w.u8(p.requestResponseInformation);
  }
  if (p.responseInformation !== undefined) {
    w.u8(RESPONSE_INFORMATION);
    w.string(p.responseInformation);
  }
  if (p.serverReference !== undefined) {
    w.u8(SERVER_REFERENCE);
    w.string(p.serverReference);
  }
  if (p.reasonString !== undefined) {
    w.u8(REASON_STRING);
    w.string(p.reasonString);
  }
  if (p.receiveMaximum !== undefined) {
    w.u8(RECEIVE_MAXIMUM);
    w.u16(p.receiveMaximum);
  }
  if (p.topicAliasMaximum !== undefined) {
    w.u8(TOPIC_ALIAS_MAXIMUM);
    w.u16(p.topicAliasMaximum);
  }
  if (p.topicAlias !== undefined) {
    w.u8(TOPIC_ALIAS);
    w.u16(p.topicAlias);
  }
  if (p.maximumQoS !== undefined) {
    w.u8(MAXIMUM_QOS);
    w.u8(p.maximumQoS);
  }
  if (p.retainAvailable !== undefined) {
    w.u8(RETAIN_AVAILABLE);
    w.u8(p.retainAvailable);
  }
  const user = p.userProperties;
  if (user !== undefined) {
    for (let i = 0; i < user.length; i++) {
      const pair = user[i] as [string, string];
      w.u8(USER_PROPERTY);
      w.string(pair[0]);
      w.string(pair[1]);
    }
  }
  if (p.maximumPacketSize !== undefined) {
    w.u8(MAXIMUM_PACKET_SIZE);
    w.u32(p.maximumPacketSize);
  }
  if (p.wildcardSubscriptionAvailable !== undefined) {
    w.u8(WILDCARD_SUBSCRIPTION_AVAILABLE);
    w.u8(p.wildcardSubscriptionAvailable);
  }
  if (p.subscriptionIdentifiersAvailable !== undefined) {
    w.u8(SUBSCRIPTION_IDENTIFIERS_AVAILABLE);
    w.u8(p.subscriptionIdentifiersAvailable);
  }
  if (p.sharedSubscriptionAvailable !== undefined) {
    w.u8(SHARED_SUBSCRIPTION_AVAILABLE);
    w.u8(p.sharedSubscriptionAvailable);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

function duplicate(id: number): DecodeError {
  return protocolError(`property ${nameOf(id)} included more than once`);
}

function readFlag(r: Reader, id: number, previous: number | undefined): number {
  if (previous !== undefined) throw duplicate(id);
  const v = r.u8(nameOf(id));
  if (v > 1) throw protocolError(`property ${nameOf(id)}: ${v} must be 0 or 1`);
  return v;
}

function readU16(r: Reader, id: number, previous: number | undefined): number {
  if (previous !== undefined) throw duplicate(id);
  return r.u16(nameOf(id));
}

function readU32(r: Reader, id: number, previous: number | undefined): number {
  if (previous !== undefined) throw duplicate(id);
  return r.u32(nameOf(id));
}

function readString(r: Reader, id: number, previous: string | undefined): string {
  if (previous !== undefined) throw duplicate(id);
  return r.string(nameOf(id));
}

function readBinary(r: Reader, id: number, previous: Buffer | undefined): Buffer {
  if (previous !== undefined) throw duplicate(id);
  return r.binary(nameOf(id));
}

/**
 * Reads Property Length and the properties that follow, for `context` (packet type number or
 * WILL_CONTEXT). Returns undefined when there are none. Binary values are subarrays (no copy).
 */
export function readProperties(r: Reader, context: number): Properties | undefined {
  const length = r.varint('property length');
  if (length === 0) return undefined;
  if (length > r.remaining) throw malformed('property length: exceeds the packet');
  const outerEnd = r.end;
  const end = r.pos + length;
  // Narrow the reader so a property cannot run past Property Length.
  r.end = end;
  const p: Properties = {};
  const contextBit = 1 << context;
  while (r.pos < end) {
    const id = r.u8('property identifier');
    const mask = id < PROPERTY_ALLOWED.length ? (PROPERTY_ALLOWED[id] as number) : 0;
    if (mask === 0) throw malformed(`property identifier 0x${id.toString(16)} is not defined`);
    if ((mask & contextBit) === 0) {
      throw malformed(`property ${nameOf(id)} is not allowed in ${contextName(context)} [2.2.2.2]`);
    }
    switch (id) {
      case PAYLOAD_FORMAT_INDICATOR:
        p.payloadFormatIndicator = readFlag(r, id, p.payloadFormatIndicator);
        break;
      case MESSAGE_EXPIRY_INTERVAL:
        p.messageExpiryInterval = readU32(r, id, p.messageExpiryInterval);
        break;
      case CONTENT_TYPE:
        p.contentType = readString(r, id, p.contentType);
        break;
      case RESPONSE_TOPIC:
        p.responseTopic = readString(r, id, p.responseTopic);
        // Response Topic must not contain wildcards [MQTT-3.3.2-14].
        if (p.responseTopic.includes('+') || p.responseTopic.includes('#')) {
          throw new DecodeError('response topic contains wildcards [MQTT-3.3.2-14]', ReasonCode.TopicNameInvalid);
        }
        break;
      case CORRELATION_DATA:
        p.correlationData = readBinary(r, id, p.correlationData);
        break;
      case SUBSCRIPTION_IDENTIFIER: {
        const v = r.varint('subscription identifier');
        if (v === 0) throw protocolError('subscription identifier 0 [3.3.2.3.8]');
        if (p.subscriptionIdentifiers === undefined) p.subscriptionIdentifiers = [v];
        else if (context === PacketCode.publish) p.subscriptionIdentifiers.push(v);
        else throw duplicate(id);
        break;
      }
      case SESSION_EXPIRY_INTERVAL:
        p.sessionExpiryInterval = readU32(r, id, p.sessionExpiryInterval);
        break;
      case ASSIGNED_CLIENT_IDENTIFIER:
        p.assignedClientIdentifier = readString(r, id, p.assignedClientIdentifier);
        break;
      case SERVER_KEEP_ALIVE:
        p.serverKeepAlive = readU16(r, id, p.serverKeepAlive);
        break;
      case AUTHENTICATION_METHOD:
        p.authenticationMethod = readString(r, id, p.authenticationMethod);
        break;
      case AUTHENTICATION_DATA:
        p.authenticationData = readBinary(r, id, p.authenticationData);
        break;
      case REQUEST_PROBLEM_INFORMATION:
        p.requestProblemInformation = readFlag(r, id, p.requestProblemInformation);
        break;
      case WILL_DELAY_INTERVAL:
        p.willDelayInterval = readU32(r, id, p.willDelayInterval);
        break;
      case REQUEST_RESPONSE_INFORMATION:
        p.requestResponseInformation = readFlag(r, id, p.requestResponseInformation);
        break;
      case RESPONSE_INFORMATION:
        p.responseInformation = readString(r, id, p.responseInformation);
        break;
      case SERVER_REFERENCE:
        p.serverReference = readString(r, id, p.serverReference);
        break;
      case REASON_STRING:
        p.reasonString = readString(r, id, p.reasonString);
        break;
      case RECEIVE_MAXIMUM:
        p.receiveMaximum = readU16(r, id, p.receiveMaximum);
        if (p.receiveMaximum === 0) throw protocolError('receive maximum 0 [3.1.2.11.3]');
        break;
      case TOPIC_ALIAS_MAXIMUM:
        p.topicAliasMaximum = readU16(r, id, p.topicAliasMaximum);
        break;
      case TOPIC_ALIAS:
        p.topicAlias = readU16(r, id, p.topicAlias);
        if (p.topicAlias === 0) {
          throw new DecodeError('topic alias 0 [MQTT-3.3.2-8]', ReasonCode.TopicAliasInvalid);
        }
        break;
      case MAXIMUM_QOS:
        p.maximumQoS = readFlag(r, id, p.maximumQoS);
        break;
      case RETAIN_AVAILABLE:
        p.retainAvailable = readFlag(r, id, p.retainAvailable);
        break;
      case USER_PROPERTY: {
        const name = r.string('user property name');
        const value = r.string('user property value');
        if (p.userProperties === undefined) p.userProperties = [[name, value]];
        else p.userProperties.push([name, value]);
        break;
      }
      case MAXIMUM_PACKET_SIZE:
        p.maximumPacketSize = readU32(r, id, p.maximumPacketSize);
        if (p.maximumPacketSize === 0) throw protocolError('maximum packet size 0 [3.1.2.11.4]');
        break;
      case WILDCARD_SUBSCRIPTION_AVAILABLE:
        p.wildcardSubscriptionAvailable = readFlag(r, id, p.wildcardSubscriptionAvailable);
        break;
      case SUBSCRIPTION_IDENTIFIERS_AVAILABLE:
        p.subscriptionIdentifiersAvailable = readFlag(r, id, p.subscriptionIdentifiersAvailable);
        break;
      case SHARED_SUBSCRIPTION_AVAILABLE:
        p.sharedSubscriptionAvailable = readFlag(r, id, p.sharedSubscriptionAvailable);
        break;
      default:
        // Unreachable: every id with a non-zero mask has a case above.
        throw malformed(`property identifier 0x${id.toString(16)} is not supported`);
    }
  }
  r.end = outerEnd;
  return p;
}
