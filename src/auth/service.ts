/**
 * The authentication and authorization service the broker runs with (its hooks, broker/hooks.ts):
 * it picks the instance of a connecting client, verifies its credentials in the mode its
 * username selects, and answers every PUBLISH and SUBSCRIBE for the principal it attached to the
 * connection. It also owns the live side of tokens (notices, upload, revocation) and cuts
 * connections whose credentials are revoked, deleted or blacklisted.
 *
 * CONNECT, as named steps:
 *   2. mode          `Signature|AK|Inst`, `Token|AK|Inst`, `DeviceCredential|DAK|Inst`,
 *                    a custom identity's username, or none (anonymous)  → 0x86
 *   3. instance      username > listener binding > SNI/Host > default (tenancy/resolve.ts)
 *   1. rate limit    failed logins per IP / username                → 0x8A Banned (3.x: 5)
 *                    (after the parsing, which is cheap, so the refusal counts on its instance)
 *   4. client id     the instance's rules; strict: existing Group ID   → 0x85
 *   5. blacklist     client id blacklisted on the instance            → 0x8A
 *   6. credentials   the mode's check                                  → 0x86 (counted as a failure)
 *   7. quota         connections of the instance                        → 0x97 (3.x: 3)
 *
 * PUBLISH / SUBSCRIBE: the principal's grant (policy, tokens, custom permissions), then the
 * instance's topic rules (parent topic exists or is auto-created, length, characters), then
 * quotas (subscriptions per client and per instance, messages per second). What a refused
 * client sees is in docs/authentication.md ("What a refused client sees").
 */
import type { Logger } from 'pino';
import { AclAuthorizer } from '../broker/acl.js';
import type { AclRule } from '../broker/options.js';
import type { AccessDecision, Authenticator, AuthVerdict, Authorizer, ClientEvents, ClientHandle, SystemTopicHandler } from '../broker/hooks.js';
import type { ConnectPacket } from '../protocol/packets.js';
import { ReasonCode as RC } from '../protocol/reason-codes.js';
import type { Store } from '../store/types.js';
import { parseClientId } from '../tenancy/names.js';
import { Tenancy, type TenancyOptions } from '../tenancy/registry.js';
import { resolveInstance } from '../tenancy/resolve.js';
import type { PeerInfo } from '../transport/types.js';
import { AccessKeys } from './access-keys.js';
import { systemClock, type Clock } from './clock.js';
import type { SecretBox } from './crypto.js';
import { CustomAuth, type CustomIdentity } from './custom-auth.js';
import { DeviceCredentials } from './device-credentials.js';
import { MQ_ACTIONS } from './policy.js';
import { DEFAULT_LOGIN_LIMITS, InstanceQuotas, LoginLimiter, type LoginLimits } from './quotas.js';
import {
  checkGrant,
  expireNotice,
  invalidNotice,
  parseTokenPassword,
  parseUpload,
  TOKEN_CODE,
  TOKEN_EXPIRE_NOTICE_TOPIC,
  TOKEN_INVALID_NOTICE_TOPIC,
  TOKEN_UPLOAD_TOPIC,
  TokenGrant,
  TokenService,
  type TokenClaims,
  type TokenCode,
  type TokenType,
} from './tokens.js';

export type AuthMode = 'anonymous' | 'signature' | 'token' | 'device' | 'custom';

/** What authentication attached to a connection (ClientHandle.principal). */
export type Principal =
  | { readonly mode: 'anonymous'; readonly instanceId: string }
  | { readonly mode: 'signature'; readonly instanceId: string; readonly accessKeyId: string }
  | {
      readonly mode: 'token';
      readonly instanceId: string;
      readonly accessKeyId: string;
      /** Tokens presented at CONNECT; the live set is `grant` once connected. */
      readonly initial: readonly TokenClaims[];
      grant: TokenGrant | null;
    }
  | { readonly mode: 'device'; readonly instanceId: string; readonly deviceAccessKeyId: string }
  | { readonly mode: 'custom'; readonly instanceId: string; readonly identity: CustomIdentity };

/** A refusal of a PUBLISH or SUBSCRIBE: the reason code (MQTT 5) and whether to disconnect. */
export interface Denial {
  readonly reasonCode: number;
  readonly disconnect: boolean;
  /** For logs and traces: 'resource auth failed', 'invalid param', 'quota exceeded'. */
  readonly why: string;
  /** Token clients: the `$SYS/tokenInvalidNotice` code to send before the disconnect. */
  readonly tokenCode?: TokenCode;
}

/** What the service needs to know about the broker's live state. */
export interface BrokerView {
  connections(instanceId: string): number;
  clientOnline(instanceId: string, clientId: string): boolean;
  /** Subscriptions of one client, and whether it already has `filter`. */
  clientSubscriptions(instanceId: string, clientId: string, filter: string): { count: number; has: boolean };
  instanceSubscriptions(instanceId: string): number;
  clients(instanceId?: string): Iterable<ClientHandle>;
}

export interface AuthServiceOptions {
  /** Anonymous clients (no username) may connect to the default instance. */
  readonly allowAnonymous: boolean;
  /** ACL of anonymous clients (config broker.acl). */
  readonly acl: readonly AclRule[];
  /** Listener name → instance id. */
  readonly listenerInstances: Readonly<Record<string, string>>;
  readonly loginLimits?: LoginLimits;
  readonly clock?: Clock;
  /** Called for every refused CONNECT with a short cause ('bad-signature', 'token-2', 'blacklisted', ...). */
  readonly onAuthFailure?: (instanceId: string, cause: string) => void;
}

export interface OpenAuthInput {
  readonly store: Store;
  /** Seals secrets; SecretBox over the data directory's master key (crypto.ts). */
  readonly box: SecretBox;
  readonly tenancy?: TenancyOptions;
  readonly options: AuthServiceOptions;
  readonly logger: Logger;
}

const ALLOW: AccessDecision = 'allow';
const ORDER_TOPIC = '$SYS/enableOrderMsg';
const OFFLINE_TOPIC = '$SYS/getOfflineMsg';

function principalOf(client: ClientHandle): Principal {
  return (client.principal as Principal | undefined) ?? { mode: 'anonymous', instanceId: client.instanceId };
}

function refuse(reasonCode: number): AuthVerdict {
  return { ok: false, reasonCode };
}

export class AuthService implements Authenticator, Authorizer, SystemTopicHandler, ClientEvents {
  readonly clock: Clock;
  readonly quotas: InstanceQuotas;
  readonly logins: LoginLimiter;
  private readonly anonymousAcl: AclAuthorizer;
  private view: BrokerView | null = null;
  /** Live connections by the credentials they hold, to cut them when those change. */
  private readonly byToken = new Map<string, Set<ClientHandle>>();
  private readonly byAccessKey = new Map<string, Set<ClientHandle>>();
  private readonly byClient = new Map<string, ClientHandle>();
  readonly counters = { authenticated: 0, refused: 0, tokenNotices: 0, revocationCuts: 0 };

  private constructor(
    readonly tenancy: Tenancy,
    readonly keys: AccessKeys,
    readonly tokens: TokenService,
    readonly devices: DeviceCredentials,
    readonly custom: CustomAuth,
    private readonly options: AuthServiceOptions,
    private readonly log: Logger,
  ) {
    this.clock = options.clock ?? systemClock;
    this.quotas = new InstanceQuotas(this.clock);
    this.logins = new LoginLimiter(this.clock, options.loginLimits ?? DEFAULT_LOGIN_LIMITS);
    this.anonymousAcl = new AclAuthorizer(options.acl);
    tokens.onRevoke((claims) => this.tokenRevoked(claims));
    keys.onChange((id) => this.accessKeyChanged(id));
    devices.onChange((instanceId, clientId) => this.cut(instanceId, clientId, 'device', 'device credential changed'));
    custom.onBlacklisted((instanceId, clientId) => this.cut(instanceId, clientId, null, 'client id blacklisted'));
    custom.onIdentityChanged((instanceId, username) => {
      for (const client of this.view?.clients(instanceId) ?? []) {
        const p = principalOf(client);
        if (p.mode === 'custom' && p.identity.username === username) this.disconnect(client, RC.NotAuthorized, 'custom identity changed');
      }
    });
    tenancy.onInstanceDeleted((instanceId) => {
      for (const client of [...(this.view?.clients(instanceId) ?? [])]) this.disconnect(client, RC.AdministrativeAction, 'instance deleted');
      this.quotas.forget(instanceId);
      void devices.dropInstance(instanceId);
      void custom.dropInstance(instanceId);
    });
  }

  static async open(input: OpenAuthInput): Promise<AuthService> {
    const clock = input.options.clock ?? systemClock;
    const now = (): number => clock.now();
    const tenancy = await Tenancy.open(input.store, { now, ...input.tenancy });
    const keys = await AccessKeys.open(input.store, input.box, now);
    const tokens = await TokenService.open(input.store, input.box, keys, tenancy, clock);
    const devices = new DeviceCredentials(input.store, input.box, tenancy, now);
    const custom = await CustomAuth.open(input.store, input.box, tenancy);
    return new AuthService(tenancy, keys, tokens, devices, custom, input.options, input.logger);
  }

  /** Connects the service to the broker's live state (after both exist). */
  attach(view: BrokerView): void {
    this.view = view;
  }

  // Authenticator.

  async authenticate(connect: ConnectPacket, peer: PeerInfo): Promise<AuthVerdict> {
    const verdict = await this.authenticateSteps(connect, peer);
    if (verdict.ok) this.counters.authenticated++;
    else this.counters.refused++;
    return verdict;
  }

  private async authenticateSteps(connect: ConnectPacket, peer: PeerInfo): Promise<AuthVerdict> {
    const ip = peer.remoteAddress;
    const username = connect.username === '' ? undefined : connect.username;
    const clientId = connect.clientId;
    const password = connect.password?.toString('utf8') ?? '';
    let instanceId = this.tenancy.defaultInstanceId;
    const log = (cause: string, reason: string, extra: Record<string, unknown> = {}): void => {
      this.log.info({ clientId, username, remote: ip, instanceId, cause, reason, ...extra }, 'authentication refused');
      this.options.onAuthFailure?.(instanceId, cause);
    };

    const failed = (cause: string, reason: string, code: number = RC.BadUserNameOrPassword): AuthVerdict => {
      this.logins.failed(ip, username);
      log(cause, reason);
      return refuse(code);
    };

    // 2. Mode.
    let mode: AuthMode;
    let keyId = '';
    let named: string | undefined;
    if (username === undefined) {
      mode = 'anonymous';
    } else if (username.includes('|')) {
      const parts = username.split('|');
      const kind = parts[0];
      if (parts.length !== 3 || parts[1] === '' || parts[2] === '') return failed('bad-username', 'malformed username');
      if (kind === 'Signature') mode = 'signature';
      else if (kind === 'Token') mode = 'token';
      else if (kind === 'DeviceCredential') mode = 'device';
      else return failed('bad-username', `unknown authentication mode "${kind ?? ''}"`);
      keyId = parts[1]!;
      named = parts[2]!;
    } else {
      mode = 'custom';
    }

    // 3. Instance.
    const resolution = resolveInstance(
      { usernameInstanceId: named, listener: peer.listener, serverName: peer.serverName },
      { defaultInstanceId: this.tenancy.defaultInstanceId, listenerInstances: this.options.listenerInstances, exists: (id) => this.tenancy.get(id) !== undefined },
    );
    if (!resolution.ok) {
      return resolution.reason === 'unknown-instance'
        ? failed('unknown-instance', resolution.message)
        : failed('wrong-instance', resolution.message, RC.NotAuthorized);
    }
    instanceId = resolution.instanceId;
    const instance = this.tenancy.get(instanceId)!;

    // 1. Rate limit (after the cheap parsing, so the refusal is counted on the right instance).
    if (this.logins.blocked(ip, username)) {
      this.quotas.count(instanceId).loginsRateLimited++;
      log('rate-limited', 'too many failed logins');
      return refuse(RC.Banned);
    }

    // 4. Client id. An empty id (3.1.1 clean session, MQTT 5) is assigned later by the broker:
    // only anonymous and custom USER clients of a relaxed instance may leave it empty.
    if (clientId.length === 0) {
      if (instance.mode === 'strict' || mode === 'signature' || mode === 'token' || mode === 'device') {
        log('client-id', 'empty client id');
        return refuse(RC.ClientIdentifierNotValid);
      }
    } else {
      const refusal = this.tenancy.admitClient(instanceId, clientId);
      if (refusal !== null) {
        log(refusal.kind === 'quota' ? 'group-quota' : 'client-id', refusal.message);
        return refuse(refusal.kind === 'quota' ? RC.QuotaExceeded : RC.ClientIdentifierNotValid);
      }
    }

    // 5. Blacklist.
    if (this.custom.isBlacklisted(instanceId, clientId)) {
      log('blacklisted', 'client id blacklisted');
      return refuse(RC.Banned);
    }

    // 6. Credentials.
    let principal: Principal;
    switch (mode) {
      case 'anonymous':
        if (!this.options.allowAnonymous || instanceId !== this.tenancy.defaultInstanceId) {
          log('anonymous', 'anonymous access not allowed');
          return refuse(RC.NotAuthorized);
        }
        principal = { mode, instanceId };
        break;
      case 'signature': {
        if (!this.keys.verifySignature(keyId, clientId, password)) return failed('bad-signature', 'signature does not verify');
        const policy = this.keys.policy(keyId);
        if (policy === undefined || !policy.allows(MQ_ACTIONS.instanceAccess, { type: 'instance', instanceId })) {
          log('no-instance-access', 'AccessKey may not access the instance (mq:MqttInstanceAccess)');
          return refuse(RC.NotAuthorized);
        }
        principal = { mode, instanceId, accessKeyId: keyId };
        break;
      }
      case 'token': {
        const presented = parseTokenPassword(password);
        if (presented === null) return failed('token-malformed', 'malformed token password');
        const initial: TokenClaims[] = [];
        for (const [type, token] of presented) {
          const check = this.tokens.verify(token, keyId, instanceId);
          if (!check.ok) return failed(`token-${check.code}`, `token invalid (code ${check.code})`);
          if (check.claims.a !== type) return failed(`token-${TOKEN_CODE.typeMismatch}`, `token invalid (code ${TOKEN_CODE.typeMismatch})`);
          initial.push(check.claims);
        }
        principal = { mode, instanceId, accessKeyId: keyId, initial, grant: null };
        break;
      }
      case 'device':
        if (!(await this.devices.verify(keyId, instanceId, clientId, password))) return failed('bad-device-credential', 'device credential does not verify');
        principal = { mode, instanceId, deviceAccessKeyId: keyId };
        break;
      case 'custom': {
        const name = username!;
        if (!this.custom.hasUsername(instanceId, name, clientId)) {
          // Not an identity of this instance: an anonymous client that happens to send a username.
          if (this.options.allowAnonymous && instanceId === this.tenancy.defaultInstanceId) {
            principal = { mode: 'anonymous', instanceId };
            break;
          }
          return failed('unknown-username', 'unknown username');
        }
        const identity = this.custom.authenticate(instanceId, name, clientId, password);
        if (identity === null) return failed('bad-custom-password', 'custom identity password does not verify');
        principal = { mode, instanceId, identity };
        break;
      }
    }

    // 7. Connection quota (a client taking over its own session does not add one).
    const max = instance.limits.maxConnections;
    if (max > 0 && this.view !== null && this.view.connections(instanceId) >= max && !this.view.clientOnline(instanceId, clientId)) {
      this.quotas.count(instanceId).connectionsRefused++;
      log('connection-quota', 'instance connection quota reached', { max });
      return refuse(RC.QuotaExceeded);
    }
    this.logins.succeeded(username);
    return { ok: true, instanceId, principal };
  }

  // Authorizer.

  authorizePublish(client: ClientHandle, topic: string, payloadBytes = 0): AccessDecision {
    const denial = this.checkPublish(client, topic, payloadBytes);
    return denial === null ? ALLOW : this.decide(client, topic, denial);
  }

  authorizeSubscribe(client: ClientHandle, filter: string): AccessDecision {
    const denial = this.checkSubscribe(client, filter);
    return denial === null ? ALLOW : this.decide(client, filter, denial);
  }

  authorizeWill(client: ClientHandle, topic: string): boolean {
    const p = principalOf(client);
    // The will goes out after the connection, token notices cannot reach the client: check quietly.
    if (p.mode === 'token') {
      return checkGrant(p.initial, 'publish', topic, this.clock.now()) === null && this.tenancy.admitTopic(p.instanceId, topic, false) === null;
    }
    return this.grantDenial(client, p, 'publish', topic, false) === null && this.tenancy.admitTopic(p.instanceId, topic, false) === null;
  }

  /** The denial of a PUBLISH, or null when it may go through. Exposed for tests and the API. */
  checkPublish(client: ClientHandle, topic: string, payloadBytes: number): Denial | null {
    const p = principalOf(client);
    if (topic.startsWith('$')) {
      if (topic === TOKEN_UPLOAD_TOPIC && p.mode === 'token') return null;
      if ((topic === ORDER_TOPIC || topic === OFFLINE_TOPIC) && p.mode !== 'anonymous') return null;
    }
    const grant = this.grantDenial(client, p, 'publish', topic, true);
    if (grant !== null) return grant;
    const instance = this.tenancy.get(p.instanceId);
    if (instance === undefined) return { reasonCode: RC.NotAuthorized, disconnect: true, why: 'instance deleted' };
    if (instance.limits.maxPayloadBytes > 0 && payloadBytes > instance.limits.maxPayloadBytes) {
      return { reasonCode: RC.PacketTooLarge, disconnect: true, why: 'invalid param' };
    }
    const refusal = this.tenancy.admitTopic(p.instanceId, topic, false);
    if (refusal !== null) return this.admission(client, refusal.kind, RC.TopicNameInvalid);
    if (!this.quotas.takeMessage(p.instanceId, instance.limits.maxMessagesPerSecond, instance.limits.messageBurst)) {
      return { reasonCode: RC.QuotaExceeded, disconnect: false, why: 'message rate quota exceeded' };
    }
    return null;
  }

  /** The denial of one SUBSCRIBE filter (without any `$share/<group>/` prefix), or null. */
  checkSubscribe(client: ClientHandle, filter: string): Denial | null {
    const p = principalOf(client);
    const grant = this.grantDenial(client, p, 'subscribe', filter, true);
    if (grant !== null) return grant;
    const instance = this.tenancy.get(p.instanceId);
    if (instance === undefined) return { reasonCode: RC.NotAuthorized, disconnect: true, why: 'instance deleted' };
    const refusal = this.tenancy.admitTopic(p.instanceId, filter, true);
    if (refusal !== null) return this.admission(client, refusal.kind, RC.TopicFilterInvalid);
    const { maxSubscriptionsPerClient, maxSubscriptions } = instance.limits;
    if (this.view !== null && (maxSubscriptionsPerClient > 0 || maxSubscriptions > 0)) {
      const mine = this.view.clientSubscriptions(p.instanceId, client.clientId, filter);
      const over =
        (!mine.has && maxSubscriptionsPerClient > 0 && mine.count >= maxSubscriptionsPerClient) ||
        (!mine.has && maxSubscriptions > 0 && this.view.instanceSubscriptions(p.instanceId) >= maxSubscriptions);
      if (over) {
        this.quotas.count(p.instanceId).subscriptionsRefused++;
        return { reasonCode: RC.QuotaExceeded, disconnect: false, why: 'subscription quota exceeded' };
      }
    }
    return null;
  }

  /** A topic the instance's rules refuse: 'invalid param' (3.x: disconnect, as the managed service). */
  private admission(client: ClientHandle, kind: 'invalid' | 'quota', code: number): Denial {
    if (kind === 'quota') return { reasonCode: RC.QuotaExceeded, disconnect: false, why: 'parent topic quota exceeded' };
    return { reasonCode: code, disconnect: client.protocolVersion !== 5, why: 'invalid param' };
  }

  /**
   * The principal's own grant. Authenticated 3.x clients are disconnected on a topic outside
   * their grant (`resource auth failed`, as the managed service); MQTT 5 clients get the reason
   * code. Token clients always get `$SYS/tokenInvalidNotice` and a disconnect (reference §2.7).
   */
  private grantDenial(client: ClientHandle, p: Principal, action: 'publish' | 'subscribe', topic: string, live: boolean): Denial | null {
    const resourceAuthFailed: Denial = { reasonCode: RC.NotAuthorized, disconnect: client.protocolVersion !== 5, why: 'resource auth failed' };
    if (topic.startsWith('$') && p.mode !== 'anonymous') return resourceAuthFailed;
    switch (p.mode) {
      case 'anonymous': {
        const decision = action === 'publish' ? this.anonymousAcl.authorizePublish(client, topic) : this.anonymousAcl.authorizeSubscribe(client, topic);
        return decision === 'allow' ? null : { reasonCode: RC.NotAuthorized, disconnect: false, why: 'not allowed by the ACL' };
      }
      case 'signature': {
        const policy = this.keys.policy(p.accessKeyId);
        if (policy === undefined) return { reasonCode: RC.NotAuthorized, disconnect: true, why: 'AccessKey gone or inactive' };
        const act = action === 'publish' ? MQ_ACTIONS.pub : MQ_ACTIONS.sub;
        if (!policy.allows(act, { type: 'topic', instanceId: p.instanceId, topic })) return resourceAuthFailed;
        if (action === 'subscribe') {
          // Subscribing also acts on the client's group (mq:SUB on groupId/<instance>/<gid>):
          // an explicit Deny refuses; a strict instance also wants an Allow.
          const groupId = parseClientId(client.clientId)?.groupId;
          if (groupId !== undefined) {
            const decision = policy.evaluate(act, { type: 'groupId', instanceId: p.instanceId, groupId });
            const strict = this.tenancy.get(p.instanceId)?.mode === 'strict';
            if (decision === 'deny' || (strict && decision !== 'allow')) return resourceAuthFailed;
          }
        }
        return null;
      }
      case 'token': {
        const code = checkGrant(live && p.grant !== null ? p.grant.claims : p.initial, action, topic, this.clock.now());
        if (code === null) return null;
        return { reasonCode: RC.NotAuthorized, disconnect: true, why: `token code ${code}`, tokenCode: code };
      }
      case 'device':
        return null;
      case 'custom':
        return this.custom.check(p.instanceId, p.identity, action, topic) === 'allow' ? null : resourceAuthFailed;
    }
  }

  /** Turns a denial into the broker's decision, telling token clients why first. */
  private decide(client: ClientHandle, topic: string, denial: Denial): AccessDecision {
    const code = denial.tokenCode;
    const p = principalOf(client);
    if (code !== undefined && p.mode === 'token') {
      this.notifyInvalid(client, code, this.noticeType(p, topic));
    }
    this.log.info({ clientId: client.clientId, instanceId: client.instanceId, topic, why: denial.why, reasonCode: denial.reasonCode }, 'access denied');
    return { deny: denial.reasonCode, disconnect: denial.disconnect };
  }

  private noticeType(p: Principal & { mode: 'token' }, _topic: string): TokenType | undefined {
    const held = p.grant === null ? p.initial : [...p.grant.claims];
    return held.length === 1 ? held[0]!.a : held.find((c) => c.a === 'RW')?.a;
  }

  // System topics.

  onSystemPublish(client: ClientHandle, topic: string, payload: Buffer): 'handled' | 'continue' {
    if (topic === ORDER_TOPIC || topic === OFFLINE_TOPIC) {
      // Ferry keeps each client's upstream order and pushes offline messages at connect already.
      return principalOf(client).mode === 'anonymous' ? 'continue' : 'handled';
    }
    if (topic !== TOKEN_UPLOAD_TOPIC) return 'continue';
    const p = principalOf(client);
    if (p.mode !== 'token') return 'continue';
    const upload = parseUpload(payload);
    if (upload === null) {
      this.notifyInvalid(client, TOKEN_CODE.forged, undefined);
      this.disconnect(client, RC.NotAuthorized, 'unparsable token upload');
      return 'handled';
    }
    const check = this.tokens.verify(upload.token, p.accessKeyId, p.instanceId);
    const code = !check.ok ? check.code : check.claims.a !== upload.type ? TOKEN_CODE.typeMismatch : null;
    if (code !== null || !check.ok) {
      this.notifyInvalid(client, code ?? TOKEN_CODE.forged, upload.type);
      this.disconnect(client, RC.NotAuthorized, `uploaded token invalid (code ${String(code)})`);
      return 'handled';
    }
    const grant = p.grant;
    if (grant !== null) {
      for (const old of grant.claims) if (old.a === check.claims.a) this.unindex(this.byToken, old.id, client);
      grant.set(check.claims);
      this.index(this.byToken, check.claims.id, client);
    }
    return 'handled';
  }

  // Client events.

  connected(client: ClientHandle): void {
    const p = principalOf(client);
    switch (p.mode) {
      case 'token': {
        const grant = new TokenGrant(this.clock, {
          expireSoon: (claims) => {
            this.counters.tokenNotices++;
            client.notify(TOKEN_EXPIRE_NOTICE_TOPIC, expireNotice(claims));
          },
          expired: (claims) => {
            this.notifyInvalid(client, TOKEN_CODE.expired, claims.a);
            this.disconnect(client, RC.NotAuthorized, 'token expired');
          },
        });
        p.grant = grant;
        this.index(this.byAccessKey, p.accessKeyId, client);
        for (const claims of p.initial) {
          // A revocation between CONNECT and now is caught here.
          const standing = this.tokens.standing(claims);
          if (!standing.ok) {
            this.notifyInvalid(client, standing.code, claims.a);
            this.disconnect(client, RC.NotAuthorized, `token invalid (code ${standing.code})`);
            return;
          }
          grant.set(claims);
          this.index(this.byToken, claims.id, client);
        }
        break;
      }
      case 'signature':
        this.index(this.byAccessKey, p.accessKeyId, client);
        break;
      case 'device':
        this.byClient.set(p.instanceId + '\u001f' + client.clientId, client);
        break;
      default:
        break;
    }
  }

  disconnected(client: ClientHandle): void {
    const p = principalOf(client);
    if (p.mode === 'token') {
      if (p.grant !== null) for (const claims of p.grant.claims) this.unindex(this.byToken, claims.id, client);
      for (const claims of p.initial) this.unindex(this.byToken, claims.id, client);
      p.grant?.close();
      this.unindex(this.byAccessKey, p.accessKeyId, client);
    } else if (p.mode === 'signature') {
      this.unindex(this.byAccessKey, p.accessKeyId, client);
    } else if (p.mode === 'device') {
      const key = p.instanceId + '\u001f' + client.clientId;
      if (this.byClient.get(key) === client) this.byClient.delete(key);
    }
  }

  // Reactions to credential changes.

  private tokenRevoked(claims: TokenClaims): void {
    for (const client of [...(this.byToken.get(claims.id) ?? [])]) {
      this.counters.revocationCuts++;
      this.notifyInvalid(client, TOKEN_CODE.revoked, claims.a);
      this.disconnect(client, RC.NotAuthorized, 'token revoked');
    }
  }

  private accessKeyChanged(id: string): void {
    const policy = this.keys.policy(id);
    for (const client of [...(this.byAccessKey.get(id) ?? [])]) {
      const p = principalOf(client);
      if (p.mode === 'signature') {
        if (policy === undefined || !policy.allows(MQ_ACTIONS.instanceAccess, { type: 'instance', instanceId: p.instanceId })) {
          this.disconnect(client, RC.NotAuthorized, 'AccessKey deleted, inactive or without instance access');
        }
      } else if (p.mode === 'token' && p.grant !== null) {
        for (const claims of p.grant.claims) {
          const standing = this.tokens.standing(claims);
          if (!standing.ok) {
            this.notifyInvalid(client, standing.code, claims.a);
            this.disconnect(client, RC.NotAuthorized, `token invalid (code ${standing.code})`);
            break;
          }
        }
      }
    }
  }

  /** Cuts the live connection of a client id (optionally only if it used `mode`). */
  private cut(instanceId: string, clientId: string, mode: AuthMode | null, why: string): void {
    for (const client of [...(this.view?.clients(instanceId) ?? [])]) {
      if (client.clientId !== clientId) continue;
      if (mode !== null && principalOf(client).mode !== mode) continue;
      this.disconnect(client, RC.NotAuthorized, why);
    }
  }

  private notifyInvalid(client: ClientHandle, code: TokenCode, type: TokenType | undefined): void {
    this.counters.tokenNotices++;
    client.notify(TOKEN_INVALID_NOTICE_TOPIC, invalidNotice(code, type));
  }

  private disconnect(client: ClientHandle, reasonCode: number, why: string): void {
    if (!client.connected) return;
    this.log.info({ clientId: client.clientId, instanceId: client.instanceId, why }, 'connection closed by auth');
    client.disconnect(reasonCode);
  }

  private index(map: Map<string, Set<ClientHandle>>, key: string, client: ClientHandle): void {
    let set = map.get(key);
    if (set === undefined) map.set(key, (set = new Set()));
    set.add(client);
  }

  private unindex(map: Map<string, Set<ClientHandle>>, key: string, client: ClientHandle): void {
    const set = map.get(key);
    if (set === undefined) return;
    set.delete(client);
    if (set.size === 0) map.delete(key);
  }

  /** Periodic housekeeping: forget revocations of tokens that expired since. */
  housekeeping(): void {
    this.tokens.purgeRevoked();
  }
}
