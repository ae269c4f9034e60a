/**
 * Errors of the compatible RPC endpoint, in the managed service's shape:
 *
 *   HTTP 400/403/404/...  {"RequestId":"…","HostId":"…","Code":"SignatureDoesNotMatch","Message":"…","Recommend":"…"}
 *
 * The common (gateway) codes are Alibaba Cloud's; business codes come from the facade
 * (`ManagementError` codes such as `GroupIdAlreadyExsited`, sic, are passed through unchanged).
 * docs/api.md lists every code with its status.
 */
export const RPC_ERRORS = {
  MissingParameter: { status: 400, message: (p = '') => `The input parameter "${p}" that is mandatory for processing this request is not supplied.` },
  InvalidParameter: { status: 400, message: (p = '') => `The specified parameter "${p}" is not valid.` },
  SignatureDoesNotMatch: { status: 400, message: () => 'Specified signature is not matched with our calculation.' },
  IncompleteSignature: { status: 400, message: (p = '') => `The request signature does not conform to Aliyun standards. ${p}`.trim() },
  'InvalidTimeStamp.Format': { status: 400, message: () => 'Specified time stamp or date value is not well formatted.' },
  'InvalidTimeStamp.Expired': { status: 400, message: () => 'Specified time stamp or date value is expired.' },
  SignatureNonceUsed: { status: 400, message: () => 'Specified signature nonce was used already.' },
  'InvalidAccessKeyId.NotFound': { status: 404, message: () => 'Specified access key is not found.' },
  'InvalidAccessKeyId.Inactive': { status: 400, message: () => 'Specified access key is disabled.' },
  'InvalidAction.NotFound': { status: 404, message: (p = '') => `Specified api ${p} is not found, please check your url and method.`.replace('  ', ' ') },
  InvalidVersion: { status: 400, message: () => 'Specified parameter Version is not valid.' },
  UnsupportedHTTPMethod: { status: 400, message: () => 'This http method is not supported.' },
  'Forbidden.RAM': { status: 403, message: (p = '') => `User not authorized to operate on the specified resource. ${p}`.trim() },
  Throttling: { status: 400, message: () => 'Request was denied due to request throttling.' },
  NotImplemented: { status: 501, message: (p = '') => p },
  ServiceUnavailable: { status: 503, message: (p = '') => `The request has failed due to a temporary failure of the server. ${p}`.trim() },
  InternalError: { status: 500, message: () => 'The request processing has failed due to some unknown error, exception or failure.' },
} as const satisfies Record<string, { status: number; message: (detail?: string) => string }>;

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
    const entry = RPC_ERRORS[code];
    return new RpcError(code, entry.status, entry.message(detail));
  }
}
