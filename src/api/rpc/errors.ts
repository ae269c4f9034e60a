/**
 * Errors of the compatible RPC endpoint, in the managed service's shape:
 *
 *   HTTP 400/403/404/...  {"RequestId":"…","HostId":"…","Code":"SignatureDoesNotMatch","Message":"…","Recommend":"…"}
 *
 * The common (gateway) codes are Alibaba Cloud's; business codes come from the facade
 * (`ManagementError` codes such as `GroupIdAlreadyExsited`, sic, are passed through unchanged).
 * The statuses are the catalogue's (src/errors.ts, rpcStatus); this table holds only the
 * gateway's message texts. docs/errors.md lists every code with its status.
 */
import { rpcStatus, type ErrorCode } from '../../errors.js';

export const RPC_ERRORS = {
  MissingParameter: { message: (p = '') => `The input parameter "${p}" that is mandatory for processing this request is not supplied.` },
  InvalidParameter: { message: (p = '') => `The specified parameter "${p}" is not valid.` },
  SignatureDoesNotMatch: { message: () => 'Specified signature is not matched with our calculation.' },
  IncompleteSignature: { message: (p = '') => `The request signature does not conform to Aliyun standards. ${p}`.trim() },
  'InvalidTimeStamp.Format': { message: () => 'Specified time stamp or date value is not well formatted.' },
  'InvalidTimeStamp.Expired': { message: () => 'Specified time stamp or date value is expired.' },
  SignatureNonceUsed: { message: () => 'Specified signature nonce was used already.' },
  'InvalidAccessKeyId.NotFound': { message: () => 'Specified access key is not found.' },
  'InvalidAccessKeyId.Inactive': { message: () => 'Specified access key is disabled.' },
  'InvalidAction.NotFound': { message: (p = '') => `Specified api ${p} is not found, please check your url and method.`.replace('  ', ' ') },
  InvalidVersion: { message: () => 'Specified parameter Version is not valid.' },
  UnsupportedHTTPMethod: { message: () => 'This http method is not supported.' },
  'Forbidden.RAM': { message: (p = '') => `User not authorized to operate on the specified resource. ${p}`.trim() },
  Throttling: { message: () => 'Request was denied due to request throttling.' },
  NotImplemented: { message: (p = '') => p },
  ServiceUnavailable: { message: (p = '') => `The request has failed due to a temporary failure of the server. ${p}`.trim() },
  InternalError: { message: () => 'The request processing has failed due to some unknown error, exception or failure.' },
} as const satisfies { readonly [C in ErrorCode]?: { message: (detail?: string) => string } };

export type RpcErrorCode = keyof typeof RPC_ERRORS;

/** An error answered to an RPC caller; `code` may also be a business code of the facade. */
export class RpcError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  static of(code: RpcErrorCode, detail?: string): RpcError {
    return new RpcError(code, rpcStatus(code)!, RPC_ERRORS[code].message(detail));
  }
}
