/**
 * The wire format of Token mode (reference §2.7, §3.2) that both Ferry and the SDK
 * (src/sdk/device) speak: token types, the `$SYS` topics, the notice codes and the password.
 * Node built-ins only, so the SDK can import it without the server.
 */
export type TokenType = 'R' | 'W' | 'RW';
export const TOKEN_TYPES: readonly TokenType[] = ['R', 'W', 'RW'];

export const TOKEN_CODE = {
  forged: 1,
  expired: 2,
  revoked: 3,
  resourceMismatch: 4,
  typeMismatch: 5,
  badSignature: 8,
  accountInvalid: -1,
} as const;
export type TokenCode = (typeof TOKEN_CODE)[keyof typeof TOKEN_CODE];

export const TOKEN_UPLOAD_TOPIC = '$SYS/uploadToken';
export const TOKEN_EXPIRE_NOTICE_TOPIC = '$SYS/tokenExpireNotice';
export const TOKEN_INVALID_NOTICE_TOPIC = '$SYS/tokenInvalidNotice';
/** The expiry notice goes out this long before a token expires. */
export const EXPIRE_NOTICE_LEAD_MS = 5 * 60 * 1000;


/** The password for several tokens: `R|abc|W|def` (at most one token per type). */
export function formatTokenPassword(tokens: ReadonlyMap<TokenType, string> | Partial<Record<TokenType, string>>): string {
  const entries = tokens instanceof Map ? [...tokens] : Object.entries(tokens);
  return entries.filter(([, token]) => token !== undefined && token !== '').map(([type, token]) => `${type}|${token}`).join('|');
}

/**
 * The password of a Token-mode connection: `<type>|<token>` pairs joined by '|', at most one per
 * type, e.g. `R|abc` or `R|abc|W|def`. Null if malformed (the whole set is rejected).
 */
export function parseTokenPassword(password: string): Map<TokenType, string> | null {
  const parts = password.split('|');
  if (parts.length < 2 || parts.length % 2 !== 0) return null;
  const out = new Map<TokenType, string>();
  for (let i = 0; i < parts.length; i += 2) {
    const type = parts[i] as TokenType;
    const token = parts[i + 1]!;
    if (!TOKEN_TYPES.includes(type) || token.length === 0 || out.has(type)) return null;
    out.set(type, token);
  }
  return out;
}

