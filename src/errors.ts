/**
 * The one error catalogue: every error code Ferry answers with — on the compatible RPC endpoint,
 * the REST API, the CLI (which prints the API's code) — with its HTTP status, whether the
 * managed service has the same code, and the MQTT reason code when the same refusal reaches an
 * MQTT client. The per-module tables (FACADE_ERRORS, MANAGEMENT_ERRORS, RPC_ERRORS) are views of
 * this one and define no status of their own. docs/errors.md lists exactly these codes
 * (test/unit/errors.test.ts checks it); MQTT reason codes are protocol/reason-codes.ts, CLI exit
 * codes cli/exit-codes.ts, both listed there too. AMQP reply codes
 * (the AMQP endpoint's connection.close / channel.close / basic.return) are AMQP_REPLY_CODES below.
 *
 *   status     HTTP status on the REST API and the facade
 *   rpcStatus  on the RPC endpoint when it differs: the managed service answers business
 *              conflicts with 400 (not 409) and its gateway refusals with 400/404
 *   managed    the managed service answers with this code too (reference §4); false = Ferry's own
 *   mqtt       the reason code an MQTT 5 client gets for the same refusal, when there is one
 */
import { ReasonCode as RC } from './protocol/reason-codes.js';

export interface ErrorEntry {
  readonly status: number;
  readonly rpcStatus?: number;
  readonly managed: boolean;
  readonly mqtt?: number;
}

export const ERRORS = {
  // Gateway (signature, parameters) of the RPC endpoint; the REST API's own auth codes below.
  MissingParameter: { status: 400, managed: true },
  InvalidParameter: { status: 400, managed: true },
  IncompleteSignature: { status: 400, managed: true },
  SignatureDoesNotMatch: { status: 401, rpcStatus: 400, managed: true },
  'InvalidTimeStamp.Format': { status: 400, managed: true },
  'InvalidTimeStamp.Expired': { status: 400, managed: true },
  SignatureNonceUsed: { status: 400, managed: true },
  'InvalidAccessKeyId.NotFound': { status: 404, managed: true },
  'InvalidAccessKeyId.Inactive': { status: 400, managed: true },
  'InvalidAction.NotFound': { status: 404, managed: true },
  InvalidVersion: { status: 400, managed: true },
  UnsupportedHTTPMethod: { status: 400, managed: true },
  'Forbidden.RAM': { status: 403, managed: true, mqtt: RC.NotAuthorized },
  Throttling: { status: 400, managed: true },
  NotImplemented: { status: 501, managed: false },
  ServiceUnavailable: { status: 503, managed: true },
  InternalError: { status: 500, managed: true },
  // REST API authentication (401 = who are you?).
  Unauthenticated: { status: 401, managed: false },
  InvalidToken: { status: 401, managed: false },
  RequestExpired: { status: 401, managed: false },
  InvalidAccessKeyId: { status: 401, managed: false },
  NonceUsed: { status: 401, managed: false },
  Throttled: { status: 429, managed: false },
  InvalidNonce: { status: 401, managed: false },
  NotFound: { status: 404, managed: false },
  // Console sessions (cookie-based REST calls of the web console).
  SessionExpired: { status: 401, managed: false },
  InvalidCsrfToken: { status: 403, managed: false },
  InvalidJson: { status: 400, managed: false },
  BadRequest: { status: 400, managed: false },
  // Resources (facade, tenancy, auth, certificates).
  InstanceNotFound: { status: 404, managed: true },
  InstanceAlreadyExists: { status: 409, managed: false },
  DefaultInstanceProtected: { status: 409, managed: false },
  ParameterFieldCheckFailed: { status: 400, managed: true, mqtt: RC.TopicNameInvalid },
  GroupIdAlreadyExsited: { status: 409, managed: true },
  GroupIdNotFound: { status: 404, managed: true, mqtt: RC.ClientIdentifierNotValid },
  TopicAlreadyExists: { status: 409, managed: true },
  TopicNotFound: { status: 404, managed: true, mqtt: RC.TopicNameInvalid },
  QuotaExceeded: { status: 409, managed: true, mqtt: RC.QuotaExceeded },
  PermissionCheckFailed: { status: 403, managed: true, mqtt: RC.NotAuthorized },
  AccessKeyNotFound: { status: 404, managed: false },
  AccessKeyAlreadyExists: { status: 409, managed: false },
  PolicyInvalid: { status: 400, managed: false },
  TokenInvalid: { status: 400, managed: true, mqtt: RC.NotAuthorized },
  DeviceCredentialNotFound: { status: 404, managed: true },
  CustomAuthIdentityNotFound: { status: 404, managed: true },
  'Customauth.over.capacity': { status: 409, managed: true },
  CertificateInvalid: { status: 400, managed: false },
  CaCertificateAlreadyExists: { status: 409, managed: false },
  CaCertificateNotFound: { status: 404, managed: false },
  DeviceCertificateNotFound: { status: 404, managed: false },
  SniDomainInUse: { status: 409, managed: false },
  DisasterRecoveryNotEnabled: { status: 400, managed: false },
  ClientNotFound: { status: 404, managed: false },
  SessionNotFound: { status: 404, managed: false },
  RetainedMessageNotFound: { status: 404, managed: false },
  TagNotFound: { status: 404, managed: false },
  'Tag.LimitExceeded': { status: 400, managed: false },
  PayloadTooLarge: { status: 400, managed: false, mqtt: RC.PacketTooLarge },
  ClientConnected: { status: 409, managed: false },
  // Rules.
  RuleNotFound: { status: 404, managed: false },
  RuleAlreadyExists: { status: 409, managed: false },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof ERRORS;

/** HTTP status of a code on the REST API / facade. */
export function httpStatus(code: ErrorCode): number {
  return ERRORS[code].status;
}

/** HTTP status of a code on the RPC endpoint (business conflicts are 400 there). */
export function rpcStatus(code: string): number | undefined {
  const entry = (ERRORS as Record<string, ErrorEntry>)[code];
  if (entry === undefined) return undefined;
  return entry.rpcStatus ?? (entry.status === 409 ? 400 : entry.status);
}

/** A view of the catalogue: `codes` with their statuses (for the modules' own tables). */
export function statusTable<const C extends ErrorCode>(codes: readonly C[]): { readonly [K in C]: number } {
  return Object.fromEntries(codes.map((c) => [c, ERRORS[c].status])) as { [K in C]: number };
}

/**
 * AMQP 0-9-1 reply codes the AMQP endpoint (src/amqp) closes connections and channels with, or
 * returns unroutable messages with; names as in the 0-9-1 spec. `scope`: what the code closes.
 */
export const AMQP_REPLY_CODES = {
  200: { name: 'REPLY_SUCCESS', scope: 'connection or channel' },
  311: { name: 'CONTENT_TOO_LARGE', scope: 'basic.return' },
  312: { name: 'NO_ROUTE', scope: 'basic.return' },
  320: { name: 'CONNECTION_FORCED', scope: 'connection' },
  403: { name: 'ACCESS_REFUSED', scope: 'connection or channel' },
  404: { name: 'NOT_FOUND', scope: 'channel' },
  406: { name: 'PRECONDITION_FAILED', scope: 'channel' },
  501: { name: 'FRAME_ERROR', scope: 'connection' },
  502: { name: 'SYNTAX_ERROR', scope: 'connection' },
  503: { name: 'COMMAND_INVALID', scope: 'connection' },
  504: { name: 'CHANNEL_ERROR', scope: 'connection' },
  505: { name: 'UNEXPECTED_FRAME', scope: 'connection' },
  530: { name: 'NOT_ALLOWED', scope: 'connection' },
  540: { name: 'NOT_IMPLEMENTED', scope: 'connection' },
  541: { name: 'INTERNAL_ERROR', scope: 'connection' },
} as const;

export type AmqpReplyCode = keyof typeof AMQP_REPLY_CODES;
