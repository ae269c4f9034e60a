/**
 * CONNECT username and password for every authentication mode of the managed service
 * (reference §3, docs/authentication.md). The username's first segment picks the mode:
 *
 *   signature          Signature|<AccessKeyId>|<InstanceId>         Base64(HMAC-SHA1(AccessKeySecret, clientId))
 *   token              Token|<AccessKeyId>|<InstanceId>             R|<token>|W|<token>  (one per type)
 *   device-credential  DeviceCredential|<DeviceAccessKeyId>|<Inst>  Base64(HMAC-SHA1(DeviceAccessKeySecret, clientId))
 *   custom             <username>                                   ORIGIN: the secret; SIGNED: Base64(HMAC-SHA1(secret, clientId))
 *   anonymous          (none)                                       (none)
 *   x509               (none: the TLS client certificate, whose CN is the client id; connect.ts
 *                      reads the files into mqtt.js's key/cert/ca)
 *
 * The HMAC is Ferry's own (src/auth/crypto.ts), so the SDK and the broker cannot drift apart.
 */
import { hmacSha1Base64 } from '../../auth/crypto.js';
import { formatTokenPassword, type TokenType } from '../../auth/token-wire.js';
import { FerryInputError } from '../errors.js';

/** A token a device holds: its type and, when known, its expiry (ms since the epoch). */
export interface TokenGrant {
  readonly type: TokenType;
  readonly token: string;
  readonly expireTime?: number;
}

export type DeviceAuth =
  | { readonly mode: 'signature'; readonly accessKeyId: string; readonly accessKeySecret: string; readonly instanceId: string }
  | { readonly mode: 'token'; readonly accessKeyId: string; readonly instanceId: string; readonly tokens: readonly TokenGrant[] }
  | { readonly mode: 'device-credential'; readonly deviceAccessKeyId: string; readonly deviceAccessKeySecret: string; readonly instanceId: string }
  | { readonly mode: 'custom'; readonly username: string; readonly secret: string; readonly signMode: 'ORIGIN' | 'SIGNED' }
  | { readonly mode: 'anonymous' }
  /** A device certificate issued by a CA registered on the instance (mutual TLS, `mqtts://` or `wss://`). */
  | { readonly mode: 'x509'; readonly certFile: string; readonly keyFile: string; readonly caFile?: string };

export interface MqttCredentials {
  readonly username?: string;
  readonly password?: string;
}

function need(value: string, what: string): string {
  if (value === '' || value.includes('|')) throw new FerryInputError(`${what} must be non-empty and must not contain "|"`);
  return value;
}

/** The password of a Token-mode connection for the given tokens (at most one per type). */
export function tokenPassword(tokens: readonly TokenGrant[]): string {
  const byType = new Map<TokenType, string>();
  for (const t of tokens) {
    if (byType.has(t.type)) throw new FerryInputError(`two ${t.type} tokens: a connection holds at most one token per type`);
    byType.set(t.type, need(t.token, `the ${t.type} token`));
  }
  if (byType.size === 0) throw new FerryInputError('Token mode needs at least one token');
  return formatTokenPassword(byType);
}

/** Username and password for `clientId` under `auth`. */
export function credentials(auth: DeviceAuth, clientId: string): MqttCredentials {
  switch (auth.mode) {
    case 'signature':
      return {
        username: `Signature|${need(auth.accessKeyId, 'accessKeyId')}|${need(auth.instanceId, 'instanceId')}`,
        password: hmacSha1Base64(auth.accessKeySecret, clientId),
      };
    case 'token':
      return { username: `Token|${need(auth.accessKeyId, 'accessKeyId')}|${need(auth.instanceId, 'instanceId')}`, password: tokenPassword(auth.tokens) };
    case 'device-credential':
      return {
        username: `DeviceCredential|${need(auth.deviceAccessKeyId, 'deviceAccessKeyId')}|${need(auth.instanceId, 'instanceId')}`,
        password: hmacSha1Base64(auth.deviceAccessKeySecret, clientId),
      };
    case 'custom':
      if (auth.username === '' || auth.username.includes('|')) throw new FerryInputError('a custom identity\'s username must be non-empty and without "|"');
      return { username: auth.username, password: auth.signMode === 'SIGNED' ? hmacSha1Base64(auth.secret, clientId) : auth.secret };
    case 'anonymous':
    case 'x509':
      return {};
  }
}
