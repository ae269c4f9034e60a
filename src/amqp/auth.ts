/**
 * Who an AMQP connection is (reference §6.1): the managed service's server SDK logs in with
 *
 *   username  Base64("0:<instanceId>:<accessKeyId>")   (or "...:<stsToken>", refused: no STS here)
 *   password  Base64(HmacSHA1(accessKeySecret, signKey))
 *   client property signKey = "<ms timestamp>", customAuth = true for custom identities
 *
 * A signKey more than 15 minutes from Ferry's clock is stale; a (key, signKey, password) seen
 * before within that window is a replay — both are refused, so a captured login cannot be reused.
 * With customAuth the middle part names a custom-auth USER identity of the instance and the
 * password is HMAC-SHA1 of the signKey with the identity's secret (SIGNED) or the secret (ORIGIN).
 */
import type { AccessKeys } from '../auth/access-keys.js';
import type { CustomAuth, CustomIdentity } from '../auth/custom-auth.js';
import { MQ_ACTIONS, type CompiledPolicy } from '../auth/policy.js';
import type { Tenancy } from '../tenancy/registry.js';

/** How far a signKey may be from Ferry's clock (either way). */
export const SIGN_KEY_WINDOW_MS = 15 * 60 * 1000;

export type AmqpPrincipal =
  | { readonly kind: 'accessKey'; readonly instanceId: string; readonly accessKeyId: string; readonly policy: () => CompiledPolicy | undefined }
  | { readonly kind: 'custom'; readonly instanceId: string; readonly identity: CustomIdentity };

export interface AmqpLogin {
  readonly username: string;
  readonly password: string;
  /** Client properties of connection.start-ok. */
  readonly clientProperties: Record<string, unknown>;
}

export class AmqpAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AmqpAuthError';
  }
}

export interface AmqpAuthDeps {
  readonly keys: AccessKeys;
  readonly custom: CustomAuth;
  readonly tenancy: Tenancy;
  readonly now: () => number;
}

export class AmqpAuthenticator {
  /** Logins seen within the window (replay refusal): key → when it stops mattering. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly deps: AmqpAuthDeps) {}

  /** The principal of a login; throws AmqpAuthError with the reason (sent in 403 ACCESS_REFUSED). */
  authenticate(login: AmqpLogin): AmqpPrincipal {
    const parts = Buffer.from(login.username, 'base64').toString('utf8').split(':');
    if (parts.length < 3 || parts[0] !== '0') throw new AmqpAuthError('username must be Base64("0:<instanceId>:<accessKeyId>")');
    if (parts.length > 4) throw new AmqpAuthError('username has too many ":"-separated parts');
    const [, instanceId, id] = parts as [string, string, string];
    if (parts.length === 4) throw new AmqpAuthError('STS tokens ("0:<instanceId>:<accessKeyId>:<stsToken>") are not supported by Ferry; use an AccessKey');
    if (this.deps.tenancy.get(instanceId) === undefined) throw new AmqpAuthError(`instance ${instanceId} does not exist`);
    const signKey = propertyText(login.clientProperties['signKey']);
    if (signKey === undefined || !/^\d{1,16}$/.test(signKey)) throw new AmqpAuthError('client property signKey (ms timestamp) is missing');
    const now = this.deps.now();
    if (Math.abs(now - Number(signKey)) > SIGN_KEY_WINDOW_MS) throw new AmqpAuthError('signKey is more than 15 minutes from the server clock');
    const custom = propertyText(login.clientProperties['customAuth']) === 'true';

    let principal: AmqpPrincipal;
    if (custom) {
      // A USER identity: the signKey stands where a CONNECT's client id would be signed.
      const identity = this.deps.custom.authenticate(instanceId, id, signKey, login.password);
      if (identity === null || identity.identityType !== 'USER') throw new AmqpAuthError('custom identity or password is wrong');
      principal = { kind: 'custom', instanceId, identity };
    } else {
      if (!this.deps.keys.verifySignature(id, signKey, login.password)) throw new AmqpAuthError('AccessKey or password is wrong');
      const policy = (): CompiledPolicy | undefined => this.deps.keys.policy(id);
      if (policy()?.allows(MQ_ACTIONS.instanceAccess, { type: 'instance', instanceId }) !== true) {
        throw new AmqpAuthError(`AccessKey ${id} may not access instance ${instanceId}`);
      }
      principal = { kind: 'accessKey', instanceId, accessKeyId: id, policy };
    }
    this.refuseReplay(`${login.username}\u001f${signKey}\u001f${login.password}`, now);
    return principal;
  }

  private refuseReplay(key: string, now: number): void {
    for (const [k, until] of this.seen) {
      if (until > now) break; // insertion order = expiry order
      this.seen.delete(k);
    }
    if (this.seen.has(key)) throw new AmqpAuthError('this signKey and password were already used (replay)');
    this.seen.set(key, now + 2 * SIGN_KEY_WINDOW_MS);
  }
}

/** May the principal consume messages published under this parent topic? */
export function maySubscribe(principal: AmqpPrincipal, custom: CustomAuth, parentTopic: string): boolean {
  const filter = `${parentTopic}/#`;
  if (principal.kind === 'custom') return custom.check(principal.instanceId, principal.identity, 'subscribe', filter) === 'allow';
  return principal.policy()?.allows(MQ_ACTIONS.sub, { type: 'topic', instanceId: principal.instanceId, topic: parentTopic }) === true;
}

/** May the principal send to this topic? */
export function mayPublish(principal: AmqpPrincipal, custom: CustomAuth, topic: string): boolean {
  if (principal.kind === 'custom') return custom.check(principal.instanceId, principal.identity, 'publish', topic) === 'allow';
  return principal.policy()?.allows(MQ_ACTIONS.pub, { type: 'topic', instanceId: principal.instanceId, topic }) === true;
}

/** May the principal see status events of this group? */
export function mayWatchGroup(principal: AmqpPrincipal, groupId: string): boolean {
  if (principal.kind === 'custom') return false;
  return principal.policy()?.allows(MQ_ACTIONS.sub, { type: 'groupId', instanceId: principal.instanceId, groupId }) === true;
}

function propertyText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}
