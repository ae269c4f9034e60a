/**
 * The authentication modes of CONNECT: which one the username selects (step 2) and the mode's
 * credential check (step 6).
 *
 *   Signature|AK|Inst         HMAC of the client id with the AccessKey secret, + mq:MqttInstanceAccess
 *   Token|AK|Inst             the tokens in the password, each verified for the key and instance
 *   DeviceCredential|DAK|Inst the device credential of the client id
 *   <username>                a custom identity of the instance (or anonymous, see custom())
 *   none                      anonymous, default instance only, when allowed
 *   <username> / none, on an instance with externalAuth: its JWT, then its HTTP callback
 *                             (src/external-auth), before the custom/anonymous answer
 *   (TLS client certificate)  X.509 device identity: a device certificate issued by a CA
 *                             registered on the instance, bound to the client id by its subject
 *                             CN (src/x509); chosen when the username names no mode
 */
import { ReasonCode as RC } from '../protocol/reason-codes.js';
import type { Tenancy } from '../tenancy/registry.js';
import type { AccessKeys } from './access-keys.js';
import type { CustomAuth } from './custom-auth.js';
import type { DeviceCredentials } from './device-credentials.js';
import type { CertificateRegistry } from '../x509/registry.js';
import { ExternalAuth, type PeerFacts } from '../external-auth/index.js';
import { MQ_ACTIONS } from './policy.js';
import type { AuthMode, Principal } from './principal.js';
import { parseTokenPassword, presentAs, TOKEN_CODE, type TokenClaims, type TokenService } from './tokens.js';

/**
 * One frozen anonymous principal per instance, shared by its connections: it holds nothing about
 * the client, and an idle device should not pay for a copy (issue 15). Bounded by the instances.
 */
const anonymousPrincipals = new Map<string, Principal>();

function anonymousPrincipal(instanceId: string): Principal {
  let principal = anonymousPrincipals.get(instanceId);
  if (principal === undefined) {
    principal = Object.freeze({ mode: 'anonymous', instanceId });
    anonymousPrincipals.set(instanceId, principal);
  }
  return principal;
}

export type ModeChoice = { readonly ok: true; readonly mode: AuthMode; readonly keyId: string; readonly named: string | undefined } | { readonly ok: false; readonly reason: string };

// The choices that name nothing, shared: one object fewer per CONNECT (issue 15 §18).
const CERTIFICATE_MODE: ModeChoice = Object.freeze({ ok: true, mode: 'certificate', keyId: '', named: undefined });
const ANONYMOUS_MODE: ModeChoice = Object.freeze({ ok: true, mode: 'anonymous', keyId: '', named: undefined });
const CUSTOM_MODE: ModeChoice = Object.freeze({ ok: true, mode: 'custom', keyId: '', named: undefined });

/**
 * Step 2: the mode a username selects, with the key id and instance id it names. A client that
 * presented a certificate on a device-certificate listener and names no mode is a device.
 */
export function chooseMode(username: string | undefined, presentedCertificate = false): ModeChoice {
  if (presentedCertificate && (username === undefined || !username.includes('|'))) return CERTIFICATE_MODE;
  if (username === undefined) return ANONYMOUS_MODE;
  if (!username.includes('|')) return CUSTOM_MODE;
  const parts = username.split('|');
  const kind = parts[0];
  if (parts.length !== 3 || parts[1] === '' || parts[2] === '') return { ok: false, reason: 'malformed username' };
  let mode: AuthMode;
  if (kind === 'Signature') mode = 'signature';
  else if (kind === 'Token') mode = 'token';
  else if (kind === 'DeviceCredential') mode = 'device';
  else return { ok: false, reason: `unknown authentication mode "${kind ?? ''}"` };
  return { ok: true, mode, keyId: parts[1]!, named: parts[2]! };
}

/**
 * The outcome of a credential check. A refusal that `counts` is a failed login (the rate limit
 * sees it; 0x86 unless `reasonCode` says otherwise); the others are refused without counting.
 */
export type CredentialCheck =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly counts: boolean; readonly cause: string; readonly reason: string; readonly reasonCode: number };

export interface CredentialInput {
  readonly mode: AuthMode;
  readonly keyId: string;
  readonly instanceId: string;
  readonly username: string | undefined;
  readonly clientId: string;
  readonly password: string;
  /** The chain a 'certificate' client presented (PeerInfo.clientCertificates). */
  readonly certificates?: readonly Buffer[] | undefined;
  /** Where the client comes from (for the HTTP callback). */
  readonly peer?: PeerFacts;
}

function failed(cause: string, reason: string): CredentialCheck {
  return { ok: false, counts: true, cause, reason, reasonCode: RC.BadUserNameOrPassword };
}

function refused(cause: string, reason: string, reasonCode: number): CredentialCheck {
  return { ok: false, counts: false, cause, reason, reasonCode };
}

export class CredentialModes {
  constructor(
    private readonly tenancy: Tenancy,
    private readonly keys: AccessKeys,
    private readonly tokens: TokenService,
    private readonly devices: DeviceCredentials,
    private readonly custom: CustomAuth,
    private readonly certificates: CertificateRegistry,
    private readonly allowAnonymous: boolean,
    private readonly external: ExternalAuth = ExternalAuth.none(),
  ) {}

  /** Step 6. Device credentials and certificates are checked asynchronously; the other modes answer at once. */
  verify(input: CredentialInput): CredentialCheck | Promise<CredentialCheck> {
    const { instanceId } = input;
    switch (input.mode) {
      case 'anonymous':
        if (this.external.configured(instanceId)) return this.externalThen(input, () => this.anonymous(instanceId));
        return this.anonymous(instanceId);
      case 'signature':
        return this.signature(input);
      case 'token':
        return this.token(input);
      case 'device':
        return this.device(input);
      case 'custom':
        if (this.external.configured(instanceId) && !this.custom.hasUsername(instanceId, input.username!, input.clientId)) {
          return this.externalThen(input, () => this.customIdentity(input));
        }
        return this.customIdentity(input);
      case 'certificate':
        return this.certificate(input);
      case 'external':
        // Not a username mode: reached only through externalThen.
        return refused('bad-username', 'no such mode', RC.BadUserNameOrPassword);
    }
  }

  private async certificate({ instanceId, clientId, certificates }: CredentialInput): Promise<CredentialCheck> {
    const check = await this.certificates.verifyDevice(instanceId, certificates ?? []);
    if (!check.ok) return failed(check.cause, check.reason);
    const { identity } = check;
    // The device certificate is bound to one client id: its subject CN (docs/authentication.md).
    if (identity.deviceName !== clientId) {
      return failed('certificate-client-id', `the device certificate is issued to "${identity.deviceName ?? ''}", not to client id "${clientId}"`);
    }
    return { ok: true, principal: { mode: 'certificate', instanceId, caSn: identity.caSn, deviceSn: identity.deviceSn, chainSn: identity.chainSn } };
  }

  private anonymous(instanceId: string): CredentialCheck {
    if (!this.anonymousAllowed(instanceId)) return refused('anonymous', 'anonymous access not allowed', RC.NotAuthorized);
    return { ok: true, principal: anonymousPrincipal(instanceId) };
  }

  /** The instance's JWT / HTTP callback; when neither decides, `otherwise`. */
  private async externalThen(input: CredentialInput, otherwise: () => CredentialCheck): Promise<CredentialCheck> {
    const { instanceId, clientId, username, password } = input;
    const peer = input.peer ?? { remoteAddress: '', remotePort: 0, listener: '', transport: '', protocolVersion: 4 };
    const outcome = await this.external.authenticate({ instanceId, clientId, username, password }, peer);
    if (outcome.kind === 'ignore') return otherwise();
    if (outcome.kind === 'deny') return failed(outcome.cause, outcome.reason);
    const principal: Principal = {
      mode: 'external',
      instanceId,
      provider: outcome.provider,
      acl: outcome.acl,
      ...(outcome.expiresAt === undefined ? {} : { expiresAt: outcome.expiresAt }),
    };
    return { ok: true, principal };
  }

  private anonymousAllowed(instanceId: string): boolean {
    return this.allowAnonymous && instanceId === this.tenancy.defaultInstanceId;
  }

  private signature({ keyId, instanceId, clientId, password }: CredentialInput): CredentialCheck {
    if (!this.keys.verifySignature(keyId, clientId, password)) return failed('bad-signature', 'signature does not verify');
    const policy = this.keys.policy(keyId);
    if (policy === undefined || !policy.allows(MQ_ACTIONS.instanceAccess, { type: 'instance', instanceId })) {
      return refused('no-instance-access', 'AccessKey may not access the instance (mq:MqttInstanceAccess)', RC.NotAuthorized);
    }
    return { ok: true, principal: { mode: 'signature', instanceId, accessKeyId: keyId } };
  }

  private token({ keyId, instanceId, password }: CredentialInput): CredentialCheck {
    const presented = parseTokenPassword(password);
    if (presented === null) return failed('token-malformed', 'malformed token password');
    const initial: TokenClaims[] = [];
    for (const [type, token] of presented) {
      const check = this.tokens.verify(token, keyId, instanceId);
      if (!check.ok) return failed(`token-${check.code}`, `token invalid (code ${check.code})`);
      const held = presentAs(check.claims, type);
      if (held === null) return failed(`token-${TOKEN_CODE.typeMismatch}`, `token invalid (code ${TOKEN_CODE.typeMismatch})`);
      initial.push(held);
    }
    return { ok: true, principal: { mode: 'token', instanceId, accessKeyId: keyId, initial, grant: null } };
  }

  private async device({ keyId, instanceId, clientId, password }: CredentialInput): Promise<CredentialCheck> {
    if (!(await this.devices.verify(keyId, instanceId, clientId, password))) return failed('bad-device-credential', 'device credential does not verify');
    return { ok: true, principal: { mode: 'device', instanceId, deviceAccessKeyId: keyId } };
  }

  private customIdentity({ instanceId, username, clientId, password }: CredentialInput): CredentialCheck {
    const name = username!;
    if (!this.custom.hasUsername(instanceId, name, clientId)) {
      // Not an identity of this instance: an anonymous client that happens to send a username.
      if (this.anonymousAllowed(instanceId)) return { ok: true, principal: anonymousPrincipal(instanceId) };
      return failed('unknown-username', 'unknown username');
    }
    const identity = this.custom.authenticate(instanceId, name, clientId, password);
    if (identity === null) return failed('bad-custom-password', 'custom identity password does not verify');
    return { ok: true, principal: { mode: 'custom', instanceId, identity } };
  }
}
