/**
 * Errors of tenancy and auth management operations. `code` is the managed service's error code
 * where it has one (reference §1.3, §4.2, e.g. `GroupIdAlreadyExsited`, sic), so the compatible
 * API can answer with it unchanged; `status` is the HTTP status the API layer should use.
 */
export const MANAGEMENT_ERRORS = {
  InstanceNotFound: 404,
  InstanceAlreadyExists: 409,
  DefaultInstanceProtected: 409,
  ParameterFieldCheckFailed: 400,
  GroupIdAlreadyExsited: 409,
  GroupIdNotFound: 404,
  TopicAlreadyExists: 409,
  TopicNotFound: 404,
  QuotaExceeded: 409,
  PermissionCheckFailed: 403,
  AccessKeyNotFound: 404,
  AccessKeyAlreadyExists: 409,
  PolicyInvalid: 400,
  TokenInvalid: 400,
  DeviceCredentialNotFound: 404,
  CustomAuthIdentityNotFound: 404,
  'Customauth.over.capacity': 409,
  CertificateInvalid: 400,
  CaCertificateAlreadyExists: 409,
  CaCertificateNotFound: 404,
  DeviceCertificateNotFound: 404,
  SniDomainInUse: 409,
  /** DisasterDowngrade / DisasterRecovery on an instance without disaster recovery (all of Ferry's). */
  DisasterRecoveryNotEnabled: 400,
  /** A request field that is not valid (rules); `field` names it. */
  InvalidParameter: 400,
  RuleNotFound: 404,
  RuleAlreadyExists: 409,
  /** A capability whose module is not running in this Ferry (e.g. the built-in queues). */
  NotImplemented: 501,
} as const;

export type ManagementErrorCode = keyof typeof MANAGEMENT_ERRORS;

export class ManagementError extends Error {
  readonly status: number;
  /** The request field at fault, when there is one (`body.target`). */
  readonly field?: string;

  constructor(
    readonly code: ManagementErrorCode,
    message: string,
    options?: ErrorOptions & { field?: string },
  ) {
    super(message, options);
    this.name = 'ManagementError';
    this.status = MANAGEMENT_ERRORS[code];
    if (options?.field !== undefined) this.field = options.field;
  }
}
