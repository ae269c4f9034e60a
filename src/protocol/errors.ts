/**
 * Codec errors. DecodeError is the only thing the decoder ever throws; it carries the MQTT 5
 * reason code the broker should answer with (CONNACK before a session exists, DISCONNECT after),
 * and is always fatal: the connection must be closed [MQTT-4.13.1-1].
 */
export class DecodeError extends Error {
  /** MQTT 5 reason code (0x81 malformed, 0x82 protocol error, 0x95 packet too large, ...). */
  readonly reasonCode: number;
  /** Every decode error ends the connection; the stream position is lost. */
  readonly fatal = true as const;

  constructor(message: string, reasonCode: number) {
    super(message);
    this.name = 'DecodeError';
    this.reasonCode = reasonCode;
  }
}

/** Thrown by the encoder for a packet that cannot be represented on the wire. */
export class EncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncodeError';
  }
}
