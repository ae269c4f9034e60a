/**
 * Trace event kinds and how they appear in query results: the managed service's Action,
 * ActionCode and ActionInfo strings (reference §4.2 "Trace enums", §6.2). Events are stored as
 * one small integer; the strings are only made when a query returns them.
 */
import { ReasonCode as RC } from '../../protocol/reason-codes.js';
import { CloseCause, DropCause } from '../../broker/tracer.js';

export interface TraceKind {
  readonly action: string;
  readonly actionCode: string;
  readonly actionInfo: string;
}

/** Event codes as stored. Device events are below MESSAGE_EVENT_BASE, message events from it. */
export const TraceCode = {
  ConnectAccepted: 1,
  ConnectNotAuthorized: 2,
  ConnectInvalidParam: 3,
  CloseClientIdConflict: 4,
  CloseResourceAuthFailed: 5,
  CloseNoHeart: 6,
  CloseByClient: 7,
  DisconnectByClient: 8,
  CloseInvalidParam: 9,
  CloseSocketError: 10,
  /** Ferry's own: shutdown, kick (CloseConnection), stuck output. Not in the managed service enum. */
  CloseByServer: 11,
  PubMqtt: 32,
  PubMq: 33,
  Sub: 34,
  PushOffline: 35,
  // Ferry's own message events (not in the managed service enum): the rule hop and offline drops.
  /** An outbound rule's target acknowledged the message. */
  RuleOut: 36,
  /** An outbound rule's target failed for the message; it is sent again. */
  RuleRetry: 37,
  /** An outbound rule gave the message up (refused, or out of attempts): it is in the rule's dead letters. */
  RuleDead: 38,
  /** A message queued for an offline client was dropped: the session's queue cap. */
  DropSessionCap: 40,
  /** ... the instance's offline-message cap (oldest first over all its sessions). */
  DropInstanceCap: 41,
  /** ... its expiry passed (MQTT 5 Message Expiry Interval) or the offline retention. */
  DropExpired: 42,
  /** ... the session's byte cap. */
  DropSessionBytes: 43,
  /** ... the instance's byte cap. */
  DropInstanceBytes: 44,
} as const;
export type TraceCode = (typeof TraceCode)[keyof typeof TraceCode];

export const MESSAGE_EVENT_BASE = 32;

const connect = (info: string): TraceKind => ({ action: 'connect', actionCode: 'mqtt.trace.action.connect', actionInfo: info });
const close = (info: string): TraceKind => ({ action: 'close', actionCode: 'mqtt.trace.action.close', actionInfo: info });
const rule = (action: string, info: string): TraceKind => ({ action, actionCode: `mqtt.trace.action.msg.${action.replace('_', '.')}`, actionInfo: info });
const drop = (info: string): TraceKind => ({ action: 'drop_offline', actionCode: 'mqtt.trace.action.msg.drop.offline', actionInfo: `Offline Msg Dropped: ${info}` });

export const TRACE_KINDS: ReadonlyMap<number, TraceKind> = new Map<number, TraceKind>([
  [TraceCode.ConnectAccepted, connect('accepted')],
  [TraceCode.ConnectNotAuthorized, connect('not authorized')],
  [TraceCode.ConnectInvalidParam, connect('invalid param')],
  [TraceCode.CloseClientIdConflict, close('clientId conflict')],
  [TraceCode.CloseResourceAuthFailed, close('resource auth failed')],
  [TraceCode.CloseNoHeart, close('no heart')],
  [TraceCode.CloseByClient, close('closed by client')],
  [TraceCode.DisconnectByClient, { action: 'disconnect', actionCode: 'mqtt.trace.action.disconnect', actionInfo: 'disconnected by client' }],
  [TraceCode.CloseInvalidParam, close('invalid param')],
  [TraceCode.CloseSocketError, close('Socket IOException')],
  [TraceCode.CloseByServer, close('closed by server')],
  [TraceCode.PubMqtt, { action: 'pub_mqtt', actionCode: 'mqtt.trace.action.msg.pub.mqtt', actionInfo: 'Pub From Mqtt Client' }],
  [TraceCode.PubMq, { action: 'pub_mq', actionCode: 'mqtt.trace.action.msg.pub.mq', actionInfo: 'Pub From MQ' }],
  [TraceCode.Sub, { action: 'sub', actionCode: 'mqtt.trace.action.msg.sub', actionInfo: 'Push To Mqtt Client' }],
  [TraceCode.PushOffline, {
    action: 'push_offline',
    actionCode: 'mqtt.trace.action.msg.push.offline',
    actionInfo: 'Push Offline Msg To Mqtt Client',
  }],
  // Ferry's own; a rule event's record adds the rule to ActionInfo (`Push To Rule Target (rule <id>, redis)`).
  [TraceCode.RuleOut, rule('rule_out', 'Push To Rule Target')],
  [TraceCode.RuleRetry, rule('rule_retry', 'Rule Target Failed, Retrying')],
  [TraceCode.RuleDead, rule('rule_dead', 'Dead-Lettered By Rule')],
  [TraceCode.DropSessionCap, drop('session queue full')],
  [TraceCode.DropInstanceCap, drop('instance queue full')],
  [TraceCode.DropExpired, drop('expired')],
  [TraceCode.DropSessionBytes, drop('session queue bytes full')],
  [TraceCode.DropInstanceBytes, drop('instance queue bytes full')],
]);

/** Where a message went, per receiver (QueryMqttTraceMessageSubscribe): deliveries, rule hops, drops. */
export const DELIVERY_CODES: readonly number[] = [
  TraceCode.Sub,
  TraceCode.PushOffline,
  TraceCode.RuleOut,
  TraceCode.RuleRetry,
  TraceCode.RuleDead,
  TraceCode.DropSessionCap,
  TraceCode.DropInstanceCap,
  TraceCode.DropExpired,
  TraceCode.DropSessionBytes,
  TraceCode.DropInstanceBytes,
];

const UNKNOWN: TraceKind = { action: 'unknown', actionCode: 'mqtt.trace.action.unknown', actionInfo: '' };

export function traceKind(code: number): TraceKind {
  return TRACE_KINDS.get(code) ?? UNKNOWN;
}

/** A refused CONNECT: authentication and authorization failures vs malformed requests. */
export function refusedCode(reasonCode: number): TraceCode {
  switch (reasonCode) {
    case RC.MalformedPacket:
    case RC.ProtocolError:
    case RC.UnsupportedProtocolVersion:
    case RC.ClientIdentifierNotValid:
    case RC.PacketTooLarge:
      return TraceCode.ConnectInvalidParam;
    default:
      return TraceCode.ConnectNotAuthorized;
  }
}

/** A closed connection, from the reason code the server used or a CloseCause. */
export function closeCode(cause: number): TraceCode {
  switch (cause) {
    case CloseCause.ClientDisconnect:
      return TraceCode.DisconnectByClient;
    case CloseCause.PeerClosed:
      return TraceCode.CloseByClient;
    case CloseCause.SocketError:
      return TraceCode.CloseSocketError;
    case CloseCause.Server:
    case RC.ServerShuttingDown:
    case RC.AdministrativeAction:
    case RC.ServerBusy:
    case RC.UnspecifiedError:
      return TraceCode.CloseByServer;
    case RC.SessionTakenOver:
      return TraceCode.CloseClientIdConflict;
    case RC.KeepAliveTimeout:
      return TraceCode.CloseNoHeart;
    case RC.NotAuthorized:
    case RC.TopicNameInvalid:
    case RC.TopicFilterInvalid:
      return TraceCode.CloseResourceAuthFailed;
    default:
      return TraceCode.CloseInvalidParam;
  }
}

/** A dropped offline message, from its DropCause. */
export function dropCode(cause: number): TraceCode {
  switch (cause) {
    case DropCause.InstanceCap:
      return TraceCode.DropInstanceCap;
    case DropCause.Expired:
      return TraceCode.DropExpired;
    case DropCause.SessionBytes:
      return TraceCode.DropSessionBytes;
    case DropCause.InstanceBytes:
      return TraceCode.DropInstanceBytes;
    default:
      return TraceCode.DropSessionCap;
  }
}
