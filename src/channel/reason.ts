/**
 * How the channel answers 3.x clients: MQTT 5 reasons that have a 3.1.1 CONNACK return code
 * get it (MQTT 3.1.1 table 3.1); anything else (malformed packet, protocol error) just closes
 * the connection [MQTT-3.1.4-1]. Reason codes themselves live in protocol/reason-codes.ts.
 */
import { ReasonCode, connackReturnCodeV3 } from '../protocol/reason-codes.js';

export { ReasonCode as RC } from '../protocol/reason-codes.js';

const HAS_V3_RETURN_CODE = new Set<number>([
  ReasonCode.UnsupportedProtocolVersion,
  ReasonCode.ClientIdentifierNotValid,
  ReasonCode.ServerUnavailable,
  ReasonCode.ServerBusy,
  ReasonCode.ServerShuttingDown,
  ReasonCode.BadUserNameOrPassword,
  ReasonCode.NotAuthorized,
  ReasonCode.Banned,
  ReasonCode.QuotaExceeded,
  ReasonCode.ConnectionRateExceeded,
]);

/** 3.1.1 CONNACK return code for an MQTT 5 reason, or undefined when 3.1.1 just closes. */
export function v3ConnackCode(reasonCode: number): number | undefined {
  return HAS_V3_RETURN_CODE.has(reasonCode) ? connackReturnCodeV3(reasonCode) : undefined;
}
