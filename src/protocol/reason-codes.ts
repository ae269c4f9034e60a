/**
 * MQTT 5 reason codes (section 2.4, Table 2-6) and MQTT 3.1.1 CONNACK return codes (Table 3.1).
 */

export const ReasonCode = {
  Success: 0x00,
  NormalDisconnection: 0x00,
  GrantedQoS0: 0x00,
  GrantedQoS1: 0x01,
  GrantedQoS2: 0x02,
  DisconnectWithWillMessage: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  ContinueAuthentication: 0x18,
  ReAuthenticate: 0x19,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  Banned: 0x8a,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QoSNotSupported: 0x9b,
  UseAnotherServer: 0x9c,
  ServerMoved: 0x9d,
  SharedSubscriptionsNotSupported: 0x9e,
  ConnectionRateExceeded: 0x9f,
  MaximumConnectTime: 0xa0,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;
export type ReasonCodeName = keyof typeof ReasonCode;

/** MQTT 3.1 / 3.1.1 CONNACK return codes (section 3.2.2.3). */
export const ConnackReturnCode = {
  Accepted: 0,
  UnacceptableProtocolVersion: 1,
  IdentifierRejected: 2,
  ServerUnavailable: 3,
  BadUserNameOrPassword: 4,
  NotAuthorized: 5,
} as const;

/** 3.x SUBACK failure return code [MQTT-3.9.3-2]. */
export const SUBACK_FAILURE_V3 = 0x80;

const RC = ReasonCode;

/** Reason codes each MQTT 5 packet type may carry (Table 2-6). */
export const VALID_REASON_CODES = {
  connack: new Set<number>([
    RC.Success,
    RC.UnspecifiedError,
    RC.MalformedPacket,
    RC.ProtocolError,
    RC.ImplementationSpecificError,
    RC.UnsupportedProtocolVersion,
    RC.ClientIdentifierNotValid,
    RC.BadUserNameOrPassword,
    RC.NotAuthorized,
    RC.ServerUnavailable,
    RC.ServerBusy,
    RC.Banned,
    RC.BadAuthenticationMethod,
    RC.TopicNameInvalid,
    RC.PacketTooLarge,
    RC.QuotaExceeded,
    RC.PayloadFormatInvalid,
    RC.RetainNotSupported,
    RC.QoSNotSupported,
    RC.UseAnotherServer,
    RC.ServerMoved,
    RC.ConnectionRateExceeded,
  ]),
  puback: new Set<number>([
    RC.Success,
    RC.NoMatchingSubscribers,
    RC.UnspecifiedError,
    RC.ImplementationSpecificError,
    RC.NotAuthorized,
    RC.TopicNameInvalid,
    RC.PacketIdentifierInUse,
    RC.QuotaExceeded,
    RC.PayloadFormatInvalid,
  ]),
  pubrel: new Set<number>([RC.Success, RC.PacketIdentifierNotFound]),
  suback: new Set<number>([
    RC.GrantedQoS0,
    RC.GrantedQoS1,
    RC.GrantedQoS2,
    RC.UnspecifiedError,
    RC.ImplementationSpecificError,
    RC.NotAuthorized,
    RC.TopicFilterInvalid,
    RC.PacketIdentifierInUse,
    RC.QuotaExceeded,
    RC.SharedSubscriptionsNotSupported,
    RC.SubscriptionIdentifiersNotSupported,
    RC.WildcardSubscriptionsNotSupported,
  ]),
  unsuback: new Set<number>([
    RC.Success,
    RC.NoSubscriptionExisted,
    RC.UnspecifiedError,
    RC.ImplementationSpecificError,
    RC.NotAuthorized,
    RC.TopicFilterInvalid,
    RC.PacketIdentifierInUse,
  ]),
  disconnect: new Set<number>([
    RC.NormalDisconnection,
    RC.DisconnectWithWillMessage,
    RC.UnspecifiedError,
    RC.MalformedPacket,
    RC.ProtocolError,
    RC.ImplementationSpecificError,
    RC.NotAuthorized,
    RC.ServerBusy,
    RC.ServerShuttingDown,
    RC.KeepAliveTimeout,
    RC.SessionTakenOver,
    RC.TopicFilterInvalid,
    RC.TopicNameInvalid,
    RC.ReceiveMaximumExceeded,
    RC.TopicAliasInvalid,
    RC.PacketTooLarge,
    RC.MessageRateTooHigh,
    RC.QuotaExceeded,
    RC.AdministrativeAction,
    RC.PayloadFormatInvalid,
    RC.RetainNotSupported,
    RC.QoSNotSupported,
    RC.UseAnotherServer,
    RC.ServerMoved,
    RC.SharedSubscriptionsNotSupported,
    RC.ConnectionRateExceeded,
    RC.MaximumConnectTime,
    RC.SubscriptionIdentifiersNotSupported,
    RC.WildcardSubscriptionsNotSupported,
  ]),
  auth: new Set<number>([RC.Success, RC.ContinueAuthentication, RC.ReAuthenticate]),
} as const;
// PUBREC shares PUBACK's set, PUBCOMP shares PUBREL's.
export const VALID_PUBREC_CODES = VALID_REASON_CODES.puback;
export const VALID_PUBCOMP_CODES = VALID_REASON_CODES.pubrel;

/**
 * Nearest MQTT 3.1.1 CONNACK return code for an MQTT 5 CONNACK reason code, for answering a
 * 3.x client with a decision made in v5 terms. Anything without a close match becomes
 * "server unavailable" (3).
 */
export function connackReturnCodeV3(reasonCodeV5: number): number {
  switch (reasonCodeV5) {
    case RC.Success:
      return ConnackReturnCode.Accepted;
    case RC.UnsupportedProtocolVersion:
      return ConnackReturnCode.UnacceptableProtocolVersion;
    case RC.ClientIdentifierNotValid:
      return ConnackReturnCode.IdentifierRejected;
    case RC.ServerUnavailable:
    case RC.ServerBusy:
      return ConnackReturnCode.ServerUnavailable;
    case RC.BadUserNameOrPassword:
      return ConnackReturnCode.BadUserNameOrPassword;
    case RC.NotAuthorized:
    case RC.Banned:
      return ConnackReturnCode.NotAuthorized;
    default:
      return ConnackReturnCode.ServerUnavailable;
  }
}

/** Whether a v5 reason code signals failure (>= 0x80) [section 2.4]. */
export function isFailure(reasonCode: number): boolean {
  return reasonCode >= 0x80;
}
