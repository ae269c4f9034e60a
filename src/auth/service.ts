/**
 * The authentication and authorization service the broker runs with (its hooks, broker/hooks.ts):
 * it picks the instance of a connecting client, verifies its credentials in the mode its
 * username selects, and answers every PUBLISH and SUBSCRIBE for the principal it attached to the
 * connection. It also owns the live side of tokens (notices, upload, revocation) and cuts
 * connections whose credentials are revoked, deleted or blacklisted.
 *
 * This class composes; each job is its own module:
 *
 *   connect.ts           CONNECT, as named steps:
 *                          2. mode  3. instance  1. rate limit  4. client id  5. blacklist
 *                          6. credentials  7. connection quota
 *   connect-modes.ts     the modes (Signature, Token, DeviceCredential, custom, anonymous)
 *   authorize.ts         PUBLISH / SUBSCRIBE / will: grant, topic rules, quotas
 *   grants.ts            what each principal's own credentials allow
 *   system-topics.ts     $SYS/uploadToken, $SYS/enableOrderMsg, $SYS/getOfflineMsg
 *   live-connections.ts  connections by credential; cuts them when credentials change
 *   client-actions.ts    token notices and disconnects sent to a live client
 *   principal.ts         what authentication attaches to a connection
 *   ../x509/             registered CAs, device certificates, SetSniConfig domains
 *   ../external-auth/    per-instance JWT and HTTP callbacks
 *
 * What a refused client sees is in docs/authentication.md ("What a refused client sees").
 */
import type { Logger } from 'pino';
import type { AccessDecision, Authenticator, AuthVerdict, Authorizer, ClientEvents, ClientHandle, SystemTopicHandler } from '../broker/hooks.js';
import type { ConnectPacket } from '../protocol/packets.js';
import type { Store } from '../store/types.js';
import { Tenancy, type TenancyOptions } from '../tenancy/registry.js';
import type { PeerInfo } from '../transport/types.js';
import { AccessKeys } from './access-keys.js';
import { AccessChecks } from './authorize.js';
import { ClientActions } from './client-actions.js';
import { systemClock, type Clock } from './clock.js';
import { ConnectAuthenticator } from './connect.js';
import { CredentialModes } from './connect-modes.js';
import type { SecretBox } from './crypto.js';
import { CustomAuth } from './custom-auth.js';
import { DeviceCredentials } from './device-credentials.js';
import { Grants, type Denial } from './grants.js';
import { LiveConnections } from './live-connections.js';
import { DEFAULT_LOGIN_LIMITS, InstanceQuotas, LoginLimiter } from './quotas.js';
import type { AuthServiceOptions, BrokerView } from './service-types.js';
import { SystemTopics } from './system-topics.js';
import { TokenService } from './tokens.js';
import { ExternalAuth } from '../external-auth/index.js';
import { CertificateRegistry } from '../x509/registry.js';
import { SniDomains } from '../x509/sni-config.js';

export type { AuthMode, Principal } from './principal.js';
export type { Denial } from './grants.js';
export type { AuthServiceOptions, BrokerView } from './service-types.js';

export interface OpenAuthInput {
  readonly store: Store;
  /** Seals secrets; SecretBox over the data directory's master key (crypto.ts). */
  readonly box: SecretBox;
  readonly tenancy?: TenancyOptions;
  readonly options: AuthServiceOptions;
  readonly logger: Logger;
}

export class AuthService implements Authenticator, Authorizer, SystemTopicHandler, ClientEvents {
  readonly clock: Clock;
  readonly quotas: InstanceQuotas;
  readonly logins: LoginLimiter;
  readonly counters = { authenticated: 0, refused: 0, tokenNotices: 0, revocationCuts: 0 };
  private view: BrokerView | null = null;
  private readonly connect: ConnectAuthenticator;
  private readonly access: AccessChecks;
  private readonly systemTopics: SystemTopics;
  private readonly live: LiveConnections;

  private constructor(
    readonly tenancy: Tenancy,
    readonly keys: AccessKeys,
    readonly tokens: TokenService,
    readonly devices: DeviceCredentials,
    readonly custom: CustomAuth,
    readonly certificates: CertificateRegistry,
    readonly sni: SniDomains,
    options: AuthServiceOptions,
    log: Logger,
  ) {
    this.clock = options.clock ?? systemClock;
    this.quotas = new InstanceQuotas(this.clock);
    this.logins = new LoginLimiter(this.clock, options.loginLimits ?? DEFAULT_LOGIN_LIMITS);
    const view = (): BrokerView | null => this.view;
    const act = new ClientActions(this.counters, log);
    const external = options.external ?? ExternalAuth.none();
    const modes = new CredentialModes(tenancy, keys, tokens, devices, custom, certificates, options.allowAnonymous, external);
    this.connect = new ConnectAuthenticator(tenancy, custom, modes, this.logins, this.quotas, options, view, log, certificates, sni);
    const grants = new Grants(tenancy, keys, custom, this.clock, options.acl);
    this.access = new AccessChecks(tenancy, grants, this.quotas, this.clock, act, view, log, external);
    this.live = new LiveConnections(this.clock, keys, tokens, this.counters, act, view);
    this.systemTopics = new SystemTopics(tokens, this.live, act);

    tokens.onRevoke((tokenId) => this.live.tokenRevoked(tokenId));
    keys.onChange((id) => this.live.accessKeyChanged(id));
    devices.onChange((instanceId, clientId) => this.live.cut(instanceId, clientId, 'device', 'device credential changed'));
    custom.onBlacklisted((instanceId, clientId) => this.live.cut(instanceId, clientId, null, 'client id blacklisted'));
    custom.onIdentityChanged((instanceId, username) => this.live.identityChanged(instanceId, username));
    certificates.onChange((change) => this.live.certificateChanged(change));
    tenancy.onInstanceDeleted((instanceId) => {
      this.live.instanceDeleted(instanceId);
      this.quotas.forget(instanceId);
      // The instance is gone already; a store failure here leaves orphaned records that nothing
      // can reach (they name a deleted instance), so it is logged, not propagated.
      const dropFailed = (what: string) => (err: unknown): void => log.error({ err, instanceId }, `dropping the ${what} of a deleted instance failed`);
      devices.dropInstance(instanceId).catch(dropFailed('device credentials'));
      custom.dropInstance(instanceId).catch(dropFailed('custom-auth records'));
      certificates.dropInstance(instanceId).catch(dropFailed('device certificates'));
      sni.dropInstance(instanceId).catch(dropFailed('SNI settings'));
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
    // Certificate validity is wall-clock time, whatever clock drives tokens and rate limits.
    const certificates = await CertificateRegistry.open(input.store, tenancy);
    const sni = await SniDomains.open(input.store, tenancy);
    return new AuthService(tenancy, keys, tokens, devices, custom, certificates, sni, input.options, input.logger);
  }

  /** Connects the service to the broker's live state (after both exist). */
  attach(view: BrokerView): void {
    this.view = view;
  }

  // Authenticator (connect.ts).

  /** In this turn when the credential check answers in it (ConnectAuthenticator.authenticate). */
  authenticate(connect: ConnectPacket, peer: PeerInfo): AuthVerdict | Promise<AuthVerdict> {
    const verdict = this.connect.authenticate(connect, peer);
    return verdict instanceof Promise ? verdict.then((v) => this.count(v)) : this.count(verdict);
  }

  private count(verdict: AuthVerdict): AuthVerdict {
    if (verdict.ok) this.counters.authenticated++;
    else this.counters.refused++;
    return verdict;
  }

  // Authorizer (authorize.ts).

  authorizePublish(client: ClientHandle, topic: string, payloadBytes = 0): AccessDecision | Promise<AccessDecision> {
    return this.access.authorizePublish(client, topic, payloadBytes);
  }

  authorizeSubscribe(client: ClientHandle, filter: string): AccessDecision | Promise<AccessDecision> {
    return this.access.authorizeSubscribe(client, filter);
  }

  authorizeWill(client: ClientHandle, topic: string): boolean {
    return this.access.authorizeWill(client, topic);
  }

  /** The denial of a PUBLISH, or null when it may go through. Exposed for tests and the API. */
  checkPublish(client: ClientHandle, topic: string, payloadBytes: number): Denial | null {
    return this.access.checkPublish(client, topic, payloadBytes);
  }

  /** The denial of one SUBSCRIBE filter (without any `$share/<group>/` prefix), or null. */
  checkSubscribe(client: ClientHandle, filter: string): Denial | null {
    return this.access.checkSubscribe(client, filter);
  }

  // System topics (system-topics.ts).

  onSystemPublish(client: ClientHandle, topic: string, payload: Buffer): 'handled' | 'continue' {
    return this.systemTopics.onSystemPublish(client, topic, payload);
  }

  // Client events (live-connections.ts).

  connected(client: ClientHandle): void {
    this.live.connected(client);
  }

  disconnected(client: ClientHandle): void {
    this.live.disconnected(client);
  }

  /** Periodic housekeeping: forget revocations of tokens that expired since. */
  housekeeping(): void {
    this.tokens.purgeRevoked();
  }
}
