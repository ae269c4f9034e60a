/**
 * Live connections by the credentials they hold (token ids, AccessKeys, device client ids), so
 * auth can cut them when those change: a token revoked or expired, an AccessKey deleted or
 * denied the instance, a device credential changed, a client id blacklisted, a custom identity
 * changed, an instance deleted. Token clients also get their live grant here (expiry notices).
 */
import type { ClientHandle } from '../broker/hooks.js';
import { ReasonCode as RC } from '../protocol/reason-codes.js';
import type { CertificateChange } from '../x509/registry.js';
import type { AccessKeys } from './access-keys.js';
import type { ClientActions } from './client-actions.js';
import type { Clock } from './clock.js';
import { MQ_ACTIONS } from './policy.js';
import { principalOf, type AuthMode } from './principal.js';
import type { AuthCounters, BrokerViewRef } from './service-types.js';
import { TOKEN_CODE, TokenGrant, type TokenClaims, type TokenService } from './tokens.js';

export class LiveConnections {
  private readonly byToken = new Map<string, Set<ClientHandle>>();
  private readonly byAccessKey = new Map<string, Set<ClientHandle>>();
  private readonly byClient = new Map<string, ClientHandle>();
  /** JWT clients: the timer that closes the connection when the token expires. */
  private readonly expiries = new Map<ClientHandle, NodeJS.Timeout>();

  constructor(
    private readonly clock: Clock,
    private readonly keys: AccessKeys,
    private readonly tokens: TokenService,
    private readonly counters: AuthCounters,
    private readonly act: ClientActions,
    private readonly view: BrokerViewRef,
  ) {}

  connected(client: ClientHandle): void {
    const p = principalOf(client);
    switch (p.mode) {
      case 'token': {
        const grant = new TokenGrant(this.clock, {
          expireSoon: (claims) => this.act.notifyExpiring(client, claims),
          expired: (claims) => {
            this.act.notifyInvalid(client, TOKEN_CODE.expired, claims.a);
            this.act.disconnect(client, RC.NotAuthorized, 'token expired');
          },
        });
        p.grant = grant;
        index(this.byAccessKey, p.accessKeyId, client);
        for (const claims of p.initial) {
          // A revocation between CONNECT and now is caught here.
          const standing = this.tokens.standing(claims);
          if (!standing.ok) {
            this.act.notifyInvalid(client, standing.code, claims.a);
            this.act.disconnect(client, RC.NotAuthorized, `token invalid (code ${standing.code})`);
            return;
          }
          grant.set(claims);
          index(this.byToken, claims.id, client);
        }
        break;
      }
      case 'signature':
        index(this.byAccessKey, p.accessKeyId, client);
        break;
      case 'device':
        this.byClient.set(p.instanceId + '\u001f' + client.clientId, client);
        break;
      case 'external':
        if (p.expiresAt !== undefined) {
          const timer = setTimeout(() => this.act.disconnect(client, RC.NotAuthorized, 'token expired'), Math.max(0, p.expiresAt - Date.now()));
          timer.unref();
          this.expiries.set(client, timer);
        }
        break;
      default:
        break;
    }
  }

  disconnected(client: ClientHandle): void {
    const p = principalOf(client);
    const expiry = this.expiries.get(client);
    if (expiry !== undefined) {
      clearTimeout(expiry);
      this.expiries.delete(client);
    }
    if (p.mode === 'token') {
      if (p.grant !== null) for (const claims of p.grant.claims) unindex(this.byToken, claims.id, client);
      for (const claims of p.initial) unindex(this.byToken, claims.id, client);
      p.grant?.close();
      unindex(this.byAccessKey, p.accessKeyId, client);
    } else if (p.mode === 'signature') {
      unindex(this.byAccessKey, p.accessKeyId, client);
    } else if (p.mode === 'device') {
      const key = p.instanceId + '\u001f' + client.clientId;
      if (this.byClient.get(key) === client) this.byClient.delete(key);
    }
  }

  /** A token client uploaded a valid token: it replaces the one of the same type in its grant. */
  replaceToken(client: ClientHandle, grant: TokenGrant, claims: TokenClaims): void {
    const replaced = [...grant.claims].filter((old) => old.a === claims.a);
    grant.set(claims);
    // One RW token may fill several slots (`R|tok|W|tok`): keep its index while any slot holds it.
    const held = new Set([...grant.claims].map((c) => c.id));
    for (const old of replaced) if (!held.has(old.id)) unindex(this.byToken, old.id, client);
    index(this.byToken, claims.id, client);
  }

  // Reactions to credential changes.

  tokenRevoked(tokenId: string): void {
    for (const client of [...(this.byToken.get(tokenId) ?? [])]) {
      this.counters.revocationCuts++;
      // The notice names the type the connection holds the token as.
      const p = principalOf(client);
      const held = p.mode === 'token' ? [...(p.grant?.claims ?? []), ...p.initial].find((c) => c.id === tokenId) : undefined;
      this.act.notifyInvalid(client, TOKEN_CODE.revoked, held?.a);
      this.act.disconnect(client, RC.NotAuthorized, 'token revoked');
    }
  }

  accessKeyChanged(id: string): void {
    const policy = this.keys.policy(id);
    for (const client of [...(this.byAccessKey.get(id) ?? [])]) {
      const p = principalOf(client);
      if (p.mode === 'signature') {
        if (policy === undefined || !policy.allows(MQ_ACTIONS.instanceAccess, { type: 'instance', instanceId: p.instanceId })) {
          this.act.disconnect(client, RC.NotAuthorized, 'AccessKey deleted, inactive or without instance access');
        }
      } else if (p.mode === 'token' && p.grant !== null) {
        for (const claims of p.grant.claims) {
          const standing = this.tokens.standing(claims);
          if (!standing.ok) {
            this.act.notifyInvalid(client, standing.code, claims.a);
            this.act.disconnect(client, RC.NotAuthorized, `token invalid (code ${standing.code})`);
            break;
          }
        }
      }
    }
  }

  /** Cuts the live connection of a client id (optionally only if it used `mode`). */
  cut(instanceId: string, clientId: string, mode: AuthMode | null, why: string): void {
    for (const client of [...(this.view()?.clients(instanceId) ?? [])]) {
      if (client.clientId !== clientId) continue;
      if (mode !== null && principalOf(client).mode !== mode) continue;
      this.act.disconnect(client, RC.NotAuthorized, why);
    }
  }

  /** Cuts the clients authenticated as a custom identity that changed. */
  identityChanged(instanceId: string, username: string): void {
    for (const client of this.view()?.clients(instanceId) ?? []) {
      const p = principalOf(client);
      if (p.mode === 'custom' && p.identity.username === username) this.act.disconnect(client, RC.NotAuthorized, 'custom identity changed');
    }
  }

  /** Cuts the devices whose CA or device certificate was inactivated or deleted. */
  certificateChanged(change: CertificateChange): void {
    for (const client of [...(this.view()?.clients(change.instanceId) ?? [])]) {
      const p = principalOf(client);
      if (p.mode !== 'certificate' || p.caSn !== change.caSn) continue;
      if (change.kind === 'device' && p.deviceSn !== change.deviceSn) continue;
      this.act.disconnect(client, RC.NotAuthorized, change.kind === 'ca' ? 'CA certificate inactivated or deleted' : 'device certificate inactivated or deleted');
    }
  }

  /** Cuts every client of a deleted instance (Administrative action). */
  instanceDeleted(instanceId: string): void {
    for (const client of [...(this.view()?.clients(instanceId) ?? [])]) this.act.disconnect(client, RC.AdministrativeAction, 'instance deleted');
  }
}

function index(map: Map<string, Set<ClientHandle>>, key: string, client: ClientHandle): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(client);
}

function unindex(map: Map<string, Set<ClientHandle>>, key: string, client: ClientHandle): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(client);
  if (set.size === 0) map.delete(key);
}
