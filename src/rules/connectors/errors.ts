/**
 * Errors of the connector layer. `ConnectorUrlError` is a bad target/source URL (the API answers
 * 400 InvalidParameter with `field`); `InboundMessageError` is a source message that cannot become
 * an MQTT publish (the caller dead-letters it with `code` and the message). Neither ever carries
 * a credential: messages quote URLs through redactUrl().
 */

export class ConnectorUrlError extends Error {
  override readonly name = 'ConnectorUrlError';
  /** Same code the management facade uses for bad request fields. */
  readonly code = 'InvalidParameter';

  constructor(
    message: string,
    /** The URL part at fault: `scheme`, `host`, a query parameter name, ... */
    readonly part: string,
  ) {
    super(message);
  }
}

export const INBOUND_ERROR_CODES = [
  /** mqttSecondTopic / mqttRealTopic does not make a valid MQTT topic name. */
  'InvalidTopic',
  /** qoslevel is not 0, 1 or 2. */
  'InvalidQos',
  /** cleansessionflag is not true/false. */
  'InvalidCleanSession',
  /** mqtt5UserProperty is not a JSON array of {key, value} strings (or over 8 KB). */
  'InvalidUserProperty',
  /** mqtt5MsgExpireInterval is not an integer in 0..4294967295. */
  'InvalidExpiryInterval',
  /** The message could not be read at all (a parser failure nobody foresaw). */
  'Unreadable',
] as const;

export type InboundErrorCode = (typeof INBOUND_ERROR_CODES)[number];

export class InboundMessageError extends Error {
  override readonly name = 'InboundMessageError';

  constructor(
    readonly code: InboundErrorCode,
    /** The property at fault. */
    readonly property: string,
    message: string,
  ) {
    super(message);
  }
}
