/** Public surface of the MQTT codec. Everything here is pure: no I/O, no state beyond a Decoder. */
export type * from './packets.js';
export { DecodeError, EncodeError } from './errors.js';
export { Decoder, decodeAll, type DecoderOptions } from './decoder.js';
export { encode, encodedLength, setPacketId } from './encoder.js';
export {
  ReasonCode,
  ConnackReturnCode,
  SUBACK_FAILURE_V3,
  VALID_REASON_CODES,
  connackReturnCodeV3,
  isFailure,
  type ReasonCodeName,
} from './reason-codes.js';
export {
  PacketCode,
  PROPERTY_TABLE,
  PROPERTY_BY_ID,
  PROPERTY_ID,
  MAX_PACKET_SIZE,
  MAX_REMAINING_LENGTH,
  MAX_STRING_BYTES,
  type PropertyInfo,
  type PropertyDataType,
  type PropertyName,
} from './constants.js';
export {
  isValidTopicName,
  isValidTopicFilter,
  parseSharedSubscription,
  topicLevels,
  topicMatches,
  type SharedSubscription,
} from './topic.js';
