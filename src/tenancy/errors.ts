/**
 * Errors of tenancy and auth management operations. `code` is the managed service's error code
 * where it has one (reference §1.3, §4.2, e.g. `GroupIdAlreadyExsited`, sic), so the compatible
 * API can answer with it unchanged; `status` is the HTTP status the API layer should use.
 */
import { statusTable } from '../errors.js';

/** The codes tenancy and auth throw; their statuses are the catalogue's (src/errors.ts). */
export const MANAGEMENT_ERRORS = statusTable([
  'InstanceNotFound',
  'InstanceAlreadyExists',
  'DefaultInstanceProtected',
  'ParameterFieldCheckFailed',
  'GroupIdAlreadyExsited',
  'GroupIdNotFound',
  'TopicAlreadyExists',
  'TopicNotFound',
  'QuotaExceeded',
  'PermissionCheckFailed',
  'AccessKeyNotFound',
  'AccessKeyAlreadyExists',
  'PolicyInvalid',
  'TokenInvalid',
  'DeviceCredentialNotFound',
  'CustomAuthIdentityNotFound',
  'Customauth.over.capacity',
  'CertificateInvalid',
  'CaCertificateAlreadyExists',
  'CaCertificateNotFound',
  'DeviceCertificateNotFound',
  'SniDomainInUse',
  // DisasterDowngrade / DisasterRecovery on an instance without disaster recovery (all of Ferry's).
  'DisasterRecoveryNotEnabled',
  // A request field that is not valid (rules); `field` names it.
  'InvalidParameter',
  'RuleNotFound',
  'RuleAlreadyExists',
  // A capability whose module is not running in this Ferry (e.g. the built-in queues).
  'NotImplemented',
]);

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
