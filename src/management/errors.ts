/**
 * Errors of the management facade. Both APIs and the CLI turn them into answers: `code` is a
 * stable name (the managed service's where it has one), `status` the HTTP status, `field` the
 * request field at fault when there is one. Tenancy/auth errors (`ManagementError`, src/tenancy)
 * carry the same `code`/`status` pair and are passed through as they are.
 */
import { httpStatus, statusTable } from '../errors.js';
import { StoreUnavailableError } from '../store/errors.js';
import { ManagementError } from '../tenancy/errors.js';

/** The codes the facade throws; their statuses are the catalogue's (src/errors.ts). */
export const FACADE_ERRORS = statusTable([
  'InvalidParameter',
  'InstanceNotFound',
  'ClientNotFound',
  'SessionNotFound',
  'RetainedMessageNotFound',
  'TagNotFound',
  'Tag.LimitExceeded',
  'PayloadTooLarge',
  'PermissionCheckFailed',
  // The operation needs the client disconnected (clearing its session).
  'ClientConnected',
  // A feature whose module is not part of this build or not running (e.g. traces).
  'NotImplemented',
  // The module exists but was not started (e.g. no auth services in an embedded broker).
  'ServiceUnavailable',
]);

export type FacadeErrorCode = keyof typeof FACADE_ERRORS;

export class FacadeError extends Error {
  readonly status: number;

  constructor(
    readonly code: FacadeErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'FacadeError';
    this.status = FACADE_ERRORS[code];
  }
}

export function invalid(field: string, message: string): FacadeError {
  return new FacadeError('InvalidParameter', message, field);
}

/** A tenancy/auth service the call needs; ServiceUnavailable (503) when it is not running. */
export function requireService<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new FacadeError('ServiceUnavailable', `${name} is not running in this Ferry`);
  return value;
}

/** The code/status/message of any error the facade may throw; unknown errors are internal (500). */
export function describeError(err: unknown): { code: string; status: number; message: string; field?: string; internal: boolean } {
  if (err instanceof FacadeError) {
    return { code: err.code, status: err.status, message: err.message, ...(err.field === undefined ? {} : { field: err.field }), internal: false };
  }
  if (err instanceof ManagementError) {
    return { code: err.code, status: err.status, message: err.message, ...(err.field === undefined ? {} : { field: err.field }), internal: false };
  }
  if (err instanceof StoreUnavailableError) {
    // The write was not made durable (disk full, I/O error): refused, never acknowledged.
    return { code: 'ServiceUnavailable', status: httpStatus('ServiceUnavailable'), message: `the store cannot write, retry later: ${err.message}`, internal: false };
  }
  return { code: 'InternalError', status: httpStatus('InternalError'), message: 'internal error', internal: true };
}
