/**
 * Errors the SDK throws. Answers of Ferry keep the code of the one catalogue (src/errors.ts,
 * docs/errors.md) in `code`; failures the SDK finds itself (a malformed client id, a token it
 * could not renew) say what is wrong in the message and name the cause.
 */

/** A REST call answered with an error: `{"error": {"code", "message", "field"?}, "requestId"}`. */
export class FerryApiError extends Error {
  override readonly name = 'FerryApiError';
  constructor(
    readonly status: number,
    /** The catalogue code (docs/errors.md), e.g. `InvalidParameter`, `PermissionCheckFailed`. */
    readonly code: string,
    message: string,
    readonly field: string | undefined,
    readonly requestId: string | undefined,
  ) {
    super(`${code}: ${message}${field === undefined ? '' : ` (${field})`}`);
  }
}

/** An RPC action answered with an error: `{"Code", "Message", "RequestId"}` (the managed service's shape). */
export class FerryRpcError extends Error {
  override readonly name = 'FerryRpcError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | undefined,
  ) {
    super(`${code}: ${message}`);
  }
}

/** Bad input to an SDK helper (client id, credentials, options), found before anything is sent. */
export class FerryInputError extends Error {
  override readonly name = 'FerryInputError';
}

/** A token the refresher could not renew or upload; `cause` holds the underlying error. */
export class TokenRefreshError extends Error {
  override readonly name = 'TokenRefreshError';
}
