/**
 * The reason codes the channel sends, and how an MQTT 5 CONNACK reason maps onto the 3.1.1
 * CONNACK return codes (MQTT 3.1.1 table 3.1). Names follow the MQTT 5 specification, 2.4.
 */
export const RC = {
  Success: 0x00,
  NoSubscriptionExisted: 0x11,
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
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  QuotaExceeded: 0x97,
  ServerShuttingDown: 0x8b,
  SharedSubscriptionsNotSupported: 0x9e,
} as const;

/** 3.1.1 CONNACK return code for an MQTT 5 reason, or undefined when 3.1.1 just closes. */
export function v3ConnackCode(reasonCode: number): number | undefined {
  switch (reasonCode) {
    case RC.UnsupportedProtocolVersion:
      return 0x01;
    case RC.ClientIdentifierNotValid:
      return 0x02;
    case RC.ServerUnavailable:
    case RC.ServerBusy:
    case RC.ServerShuttingDown:
      return 0x03;
    case RC.BadUserNameOrPassword:
      return 0x04;
    case RC.NotAuthorized:
      return 0x05;
    default:
      return undefined;
  }
}
