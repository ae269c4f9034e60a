/**
 * Converts between Ferry's packet objects and mqtt-packet v9's (cmd, messageId, returnCode,
 * granted, userProperties as an object, byte flags as booleans, subscriptionIdentifier that is
 * a number or an array). Used only by the cross-checking tests.
 */
import * as mqtt from 'mqtt-packet';
import type {
  AckPacket,
  AuthPacket,
  ConnectPacket,
  DisconnectPacket,
  Packet,
  Properties,
  ProtocolVersion,
  PublishPacket,
  QoS,
  Subscription,
} from '../../../src/protocol/packets.js';

export interface MP {
  cmd: string;
  [key: string]: unknown;
}
type MPProps = Record<string, unknown>;

/** mqtt-packet types these as booleans ('byte'); maximumQoS is a number ('int8'). */
const BOOLEAN_PROPS = new Set([
  'payloadFormatIndicator',
  'requestProblemInformation',
  'requestResponseInformation',
  'retainAvailable',
  'wildcardSubscriptionAvailable',
  'subscriptionIdentifiersAvailable',
  'sharedSubscriptionAvailable',
]);

export function propsToMP(p: Properties | undefined): MPProps | undefined {
  if (p === undefined) return undefined;
  const out: MPProps = {};
  for (const [k, v] of Object.entries(p) as [string, unknown][]) {
    if (k === 'userProperties') {
      const obj: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
      for (const [name, value] of v as [string, string][]) {
        const prev = obj[name];
        if (prev === undefined) obj[name] = value;
        else if (Array.isArray(prev)) prev.push(value);
        else obj[name] = [prev, value];
      }
      out.userProperties = obj;
    } else if (k === 'subscriptionIdentifiers') {
      const ids = v as number[];
      out.subscriptionIdentifier = ids.length === 1 ? ids[0] : ids;
    } else if (BOOLEAN_PROPS.has(k)) {
      out[k] = v === 1;
    } else {
      out[k] = v;
    }
  }
  return out;
}

export function propsFromMP(p: unknown): Properties | undefined {
  if (p === undefined || p === null) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p as MPProps)) {
    if (k === 'userProperties') {
      const pairs: [string, string][] = [];
      for (const [name, value] of Object.entries(v as Record<string, string | string[]>)) {
        if (Array.isArray(value)) for (const x of value) pairs.push([name, x]);
        else pairs.push([name, value]);
      }
      out.userProperties = pairs;
    } else if (k === 'subscriptionIdentifier') {
      out.subscriptionIdentifiers = Array.isArray(v) ? v : [v];
    } else if (BOOLEAN_PROPS.has(k)) {
      out[k] = v === true ? 1 : 0;
    } else {
      out[k] = v;
    }
  }
  return Object.keys(out).length === 0 ? undefined : (out as Properties);
}

function withProps<T extends object>(o: T, props: Properties | undefined): T {
  const mp = propsToMP(props);
  if (mp !== undefined) (o as Record<string, unknown>).properties = mp;
  return o;
}

export function toMP(p: Packet, version: ProtocolVersion): MP {
  switch (p.type) {
    case 'connect': {
      const o: MP = {
        cmd: 'connect',
        protocolId: p.protocolName,
        protocolVersion: p.protocolVersion,
        clean: p.clean,
        keepalive: p.keepalive,
        clientId: p.clientId,
      };
      if (p.will) o.will = withProps({ topic: p.will.topic, payload: p.will.payload, qos: p.will.qos, retain: p.will.retain }, p.will.properties);
      if (p.username !== undefined) o.username = p.username;
      if (p.password !== undefined) o.password = p.password;
      return withProps(o, p.properties);
    }
    case 'connack':
      return version === 5
        ? withProps({ cmd: 'connack', sessionPresent: p.sessionPresent, reasonCode: p.reasonCode }, p.properties)
        : { cmd: 'connack', sessionPresent: p.sessionPresent, returnCode: p.reasonCode };
    case 'publish': {
      const o: MP = { cmd: 'publish', topic: p.topic, payload: p.payload, qos: p.qos, retain: p.retain, dup: p.dup };
      if (p.packetId !== undefined) o.messageId = p.packetId;
      return withProps(o, p.properties);
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return withProps({ cmd: p.type, messageId: p.packetId, reasonCode: p.reasonCode ?? 0 }, p.properties);
    case 'subscribe':
      return withProps(
        {
          cmd: 'subscribe',
          messageId: p.packetId,
          subscriptions: p.subscriptions.map((s) =>
            version === 5 ? { topic: s.topicFilter, qos: s.qos, nl: s.noLocal, rap: s.retainAsPublished, rh: s.retainHandling } : { topic: s.topicFilter, qos: s.qos },
          ),
        },
        p.properties,
      );
    case 'suback':
      return withProps({ cmd: 'suback', messageId: p.packetId, granted: p.reasonCodes }, p.properties);
    case 'unsubscribe':
      return withProps({ cmd: 'unsubscribe', messageId: p.packetId, unsubscriptions: p.topicFilters }, p.properties);
    case 'unsuback':
      return withProps({ cmd: 'unsuback', messageId: p.packetId, granted: p.reasonCodes }, p.properties);
    case 'pingreq':
    case 'pingresp':
      return { cmd: p.type };
    case 'disconnect':
    case 'auth':
      return withProps({ cmd: p.type, reasonCode: p.reasonCode ?? 0 }, p.properties);
  }
}

function setProps<T extends object>(o: T, mp: MP | Record<string, unknown>): T {
  const props = propsFromMP(mp.properties);
  if (props !== undefined) (o as { properties?: Properties }).properties = props;
  return o;
}

const num = (v: unknown): number => v as number;

export function fromMP(m: MP, version: ProtocolVersion): Packet {
  switch (m.cmd) {
    case 'connect': {
      const p: ConnectPacket = {
        type: 'connect',
        protocolName: m.protocolId as string,
        protocolVersion: m.protocolVersion as ProtocolVersion,
        clean: m.clean as boolean,
        keepalive: num(m.keepalive),
        clientId: m.clientId as string,
      };
      if (m.will) {
        const w = m.will as Record<string, unknown>;
        p.will = setProps({ topic: w.topic as string, payload: w.payload as Buffer, qos: w.qos as QoS, retain: w.retain as boolean }, w);
      }
      if (m.username !== undefined) p.username = m.username as string;
      if (m.password !== undefined) p.password = m.password as Buffer;
      return setProps(p, m);
    }
    case 'connack':
      return version === 5
        ? setProps({ type: 'connack', sessionPresent: m.sessionPresent as boolean, reasonCode: num(m.reasonCode) }, m)
        : { type: 'connack', sessionPresent: m.sessionPresent as boolean, reasonCode: num(m.returnCode) };
    case 'publish': {
      const qos = m.qos as QoS;
      const p: PublishPacket = { type: 'publish', topic: m.topic as string, payload: m.payload as Buffer, qos, retain: m.retain as boolean, dup: m.dup as boolean };
      if (qos > 0) p.packetId = num(m.messageId);
      return setProps(p, m);
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp': {
      const p: AckPacket<'puback' | 'pubrec' | 'pubrel' | 'pubcomp'> = { type: m.cmd, packetId: num(m.messageId) };
      if (version === 5 && num(m.reasonCode) !== 0) p.reasonCode = num(m.reasonCode);
      return setProps(p, m);
    }
    case 'subscribe': {
      const subs = (m.subscriptions as Record<string, unknown>[]).map(
        (s): Subscription => ({
          topicFilter: s.topic as string,
          qos: s.qos as QoS,
          noLocal: version === 5 ? (s.nl as boolean) : false,
          retainAsPublished: version === 5 ? (s.rap as boolean) : false,
          retainHandling: version === 5 ? (s.rh as 0 | 1 | 2) : 0,
        }),
      );
      return setProps({ type: 'subscribe', packetId: num(m.messageId), subscriptions: subs }, m);
    }
    case 'suback':
      return setProps({ type: 'suback', packetId: num(m.messageId), reasonCodes: m.granted as number[] }, m);
    case 'unsubscribe':
      return setProps({ type: 'unsubscribe', packetId: num(m.messageId), topicFilters: m.unsubscriptions as string[] }, m);
    case 'unsuback':
      return setProps({ type: 'unsuback', packetId: num(m.messageId), reasonCodes: version === 5 ? (m.granted as number[]) : [] }, m);
    case 'pingreq':
    case 'pingresp':
      return { type: m.cmd };
    case 'disconnect':
    case 'auth': {
      const p: DisconnectPacket | AuthPacket = { type: m.cmd };
      if (version === 5 && num(m.reasonCode) !== 0) p.reasonCode = num(m.reasonCode);
      return setProps(p, m);
    }
    default:
      throw new Error(`unknown cmd ${m.cmd}`);
  }
}

/** Parses one buffer with mqtt-packet; throws its error, if any. */
export function mpParse(buf: Buffer, version: ProtocolVersion): MP[] {
  const parser = mqtt.parser({ protocolVersion: version });
  const out: MP[] = [];
  let error: Error | null = null;
  parser.on('packet', (p: unknown) => out.push(p as MP));
  parser.on('error', (e: Error) => {
    error = e;
  });
  parser.parse(buf);
  if (error !== null) throw error;
  return out;
}

export function mpGenerate(m: MP, version: ProtocolVersion): Buffer {
  return mqtt.generate(m as unknown as mqtt.Packet, { protocolVersion: version });
}

/**
 * Canonical form for comparison: user properties grouped by name (mqtt-packet keeps them in an
 * object, so only the order of values per name survives), names sorted.
 */
export function canonical(p: Packet): Packet {
  const fixProps = (props: Properties | undefined): Properties | undefined => {
    if (props?.userProperties === undefined) return props;
    const groups = new Map<string, string[]>();
    for (const [k, v] of props.userProperties) {
      const g = groups.get(k);
      if (g) g.push(v);
      else groups.set(k, [v]);
    }
    const sorted: [string, string][] = [];
    for (const k of [...groups.keys()].sort()) for (const v of groups.get(k) as string[]) sorted.push([k, v]);
    return { ...props, userProperties: sorted };
  };
  const copy = { ...p } as Packet & { properties?: Properties };
  const fixed = fixProps(copy.properties);
  if (fixed !== undefined) copy.properties = fixed;
  if (copy.type === 'connect' && copy.will) {
    const will = { ...copy.will };
    const wp = fixProps(will.properties);
    if (wp !== undefined) will.properties = wp;
    copy.will = will;
  }
  return copy;
}
