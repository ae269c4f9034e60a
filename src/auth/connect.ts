/**
 * CONNECT authentication, as named steps (the modes' own checks are in connect-modes.ts):
 *
 *   2. mode          `Signature|AK|Inst`, `Token|AK|Inst`, `DeviceCredential|DAK|Inst`,
 *                    a custom identity's username, or none (anonymous)  → 0x86;
 *                    a TLS client certificate and no mode: X.509 device identity
 *   3. instance      username > listener binding > SNI/Host (SetSniConfig domains first) >
 *                    for a device certificate the one instance whose CA issued it > default
 *   1. rate limit    failed logins per IP / username                → 0x8A Banned (3.x: 5)
 *                    (after the parsing, which is cheap, so the refusal counts on its instance)
 *   4. client id     the instance's rules; strict: existing Group ID   → 0x85
 *   5. blacklist     client id blacklisted on the instance            → 0x8A
 *   6. credentials   the mode's check                                  → 0x86 (counted as a failure)
 *   7. quota         connections of the instance                        → 0x97 (3.x: 3)
 */
import type { Logger } from 'pino';
import { shownUsername } from '../observability/logger.js';
import type { AuthVerdict } from '../broker/hooks.js';
import type { ConnectPacket } from '../protocol/packets.js';
import { ReasonCode as RC } from '../protocol/reason-codes.js';
import type { Instance, Tenancy } from '../tenancy/registry.js';
import { resolveInstance, type ResolveContext } from '../tenancy/resolve.js';
import type { PeerInfo } from '../transport/types.js';
import { chooseMode, type CredentialCheck, type CredentialModes } from './connect-modes.js';
import type { CustomAuth } from './custom-auth.js';
import type { CertificateRegistry } from '../x509/registry.js';
import type { SniDomains } from '../x509/sni-config.js';
import type { InstanceQuotas, LoginLimiter } from './quotas.js';
import type { AuthServiceOptions, BrokerViewRef } from './service-types.js';

function refuse(reasonCode: number): AuthVerdict {
  return { ok: false, reasonCode };
}

export class ConnectAuthenticator {
  constructor(
    private readonly tenancy: Tenancy,
    private readonly custom: CustomAuth,
    private readonly modes: CredentialModes,
    private readonly logins: LoginLimiter,
    private readonly quotas: InstanceQuotas,
    private readonly options: Pick<AuthServiceOptions, 'listenerInstances' | 'onAuthFailure' | 'logThrottle'>,
    private readonly view: BrokerViewRef,
    private readonly log: Logger,
    private readonly certificateRegistry: CertificateRegistry,
    private readonly sni: SniDomains,
  ) {
    this.resolveContext = makeResolveContext(tenancy, options, sni);
  }

  /**
   * Where instances are looked up (step 3): made once, not per CONNECT. Getters, so that a default
   * instance or listener binding changed at run time is seen.
   */
  private readonly resolveContext: ResolveContext;

  /**
   * A verdict in this turn unless the credential check waits (a device credential, a certificate,
   * an external callback): most connects then cost no promise and no microtask hop (issue 15 §16),
   * and no closure either (§18): the steps below are methods given what they need.
   */
  authenticate(connect: ConnectPacket, peer: PeerInfo): AuthVerdict | Promise<AuthVerdict> {
    const ip = peer.remoteAddress;
    const username = connect.username === '' ? undefined : connect.username;
    const clientId = connect.clientId;
    const password = connect.password?.toString('utf8') ?? '';

    // 2. Mode.
    const certificates = peer.clientCertificates;
    const choice = chooseMode(username, certificates !== undefined && certificates.length > 0);
    if (!choice.ok) return this.failed(ip, username, clientId, this.tenancy.defaultInstanceId, 'bad-username', choice.reason);
    const { mode, keyId, named } = choice;

    // 3. Instance.
    const resolution = resolveInstance({ usernameInstanceId: named, listener: peer.listener, serverName: peer.serverName }, this.resolveContext);
    if (!resolution.ok) {
      const instanceId = this.tenancy.defaultInstanceId;
      return resolution.reason === 'unknown-instance'
        ? this.failed(ip, username, clientId, instanceId, 'unknown-instance', resolution.message)
        : this.failed(ip, username, clientId, instanceId, 'wrong-instance', resolution.message, RC.NotAuthorized);
    }
    let instanceId = resolution.instanceId;
    if (mode === 'certificate' && resolution.source === 'default' && certificates !== undefined) {
      // Nothing else names the instance: the one whose registered CA issued the certificate.
      const issuers = this.certificateRegistry.instancesFor(certificates);
      if (issuers.length > 1 && !issuers.includes(instanceId)) {
        return this.failed(ip, username, clientId, instanceId, 'ambiguous-instance', 'the issuing CA is registered on several instances; connect through a listener, SNI domain or host name of one');
      }
      if (issuers.length === 1) instanceId = issuers[0]!;
    }
    const instance = this.tenancy.get(instanceId)!;

    // 1. Rate limit (after the cheap parsing, so the refusal is counted on the right instance).
    if (this.logins.blocked(ip, username)) {
      this.quotas.count(instanceId).loginsRateLimited++;
      this.refusal(ip, username, clientId, instanceId, 'rate-limited', 'too many failed logins');
      return refuse(RC.Banned);
    }

    // 4. Client id. An empty id (3.1.1 clean session, MQTT 5) is assigned later by the broker:
    // only anonymous and custom USER clients of a relaxed instance may leave it empty.
    if (clientId.length === 0) {
      if (instance.mode === 'strict' || mode === 'signature' || mode === 'token' || mode === 'device' || mode === 'certificate') {
        this.refusal(ip, username, clientId, instanceId, 'client-id', 'empty client id');
        return refuse(RC.ClientIdentifierNotValid);
      }
    } else {
      const refusal = this.tenancy.admitClient(instanceId, clientId);
      if (refusal !== null) {
        this.refusal(ip, username, clientId, instanceId, refusal.kind === 'quota' ? 'group-quota' : 'client-id', refusal.message);
        return refuse(refusal.kind === 'quota' ? RC.QuotaExceeded : RC.ClientIdentifierNotValid);
      }
    }

    // 5. Blacklist.
    if (this.custom.isBlacklisted(instanceId, clientId)) {
      this.refusal(ip, username, clientId, instanceId, 'blacklisted', 'client id blacklisted');
      return refuse(RC.Banned);
    }

    // 6. Credentials (only a device credential check waits; the others answer in this turn).
    const pending = this.modes.verify({
      mode,
      keyId,
      instanceId,
      username,
      clientId,
      password,
      certificates,
      peer: { remoteAddress: ip, remotePort: peer.remotePort, listener: peer.listener, transport: peer.transport, protocolVersion: connect.protocolVersion },
    });
    if (pending instanceof Promise) return pending.then((checked) => this.decide(checked, connect, instance, instanceId, ip, username));
    return this.decide(pending, connect, instance, instanceId, ip, username);
  }

  /** 6. (the outcome) and 7. Connection quota: the verdict once the credentials were checked. */
  private decide(checked: CredentialCheck, connect: ConnectPacket, instance: Instance, instanceId: string, ip: string, username: string | undefined): AuthVerdict {
    const clientId = connect.clientId;
    if (!checked.ok) {
      if (checked.counts) return this.failed(ip, username, clientId, instanceId, checked.cause, checked.reason, checked.reasonCode);
      this.refusal(ip, username, clientId, instanceId, checked.cause, checked.reason);
      return refuse(checked.reasonCode);
    }

    // 7. Connection quota (a client taking over its own session does not add one).
    const view = this.view();
    const max = instance.limits.maxConnections;
    if (max > 0 && view !== null && view.connections(instanceId) >= max && !view.clientOnline(instanceId, clientId)) {
      this.quotas.count(instanceId).connectionsRefused++;
      this.refusal(ip, username, clientId, instanceId, 'connection-quota', 'instance connection quota reached', { max });
      return refuse(RC.QuotaExceeded);
    }
    this.logins.succeeded(ip, username);
    // The instance's MQTT 5 ceilings (strict: the managed service's 8 min keepalive, 128 KB packets).
    const { mqtt5MaxKeepaliveSeconds, mqtt5MaxPacketBytes } = instance.limits;
    if (connect.protocolVersion === 5 && (mqtt5MaxKeepaliveSeconds > 0 || mqtt5MaxPacketBytes > 0)) {
      return { ok: true, instanceId, principal: checked.principal, limits: { maxKeepalive: mqtt5MaxKeepaliveSeconds, maxPacketSize: mqtt5MaxPacketBytes } };
    }
    return { ok: true, instanceId, principal: checked.principal };
  }

  /** A refused login: counted against the address and username (the rate limit), logged. */
  private failed(ip: string, username: string | undefined, clientId: string, instanceId: string, cause: string, reason: string, code: number = RC.BadUserNameOrPassword): AuthVerdict {
    this.logins.failed(ip, username);
    this.refusal(ip, username, clientId, instanceId, cause, reason);
    return refuse(code);
  }

  /** Logs and reports a refusal. */
  private refusal(ip: string, username: string | undefined, clientId: string, instanceId: string, cause: string, reason: string, extra: Record<string, unknown> = {}): void {
    const fields = { clientId, username: shownUsername(username), remote: ip, instanceId, cause, reason, ...extra };
    // Refusals are as frequent as an attacker likes: one line per cause per address per interval.
    if (this.options.logThrottle !== undefined) this.options.logThrottle.note(`auth-refused:${cause}`, ip, this.log, fields, 'authentication refused');
    else this.log.info(fields, 'authentication refused');
    this.options.onAuthFailure?.(instanceId, cause);
  }
}

function makeResolveContext(tenancy: Tenancy, options: Pick<AuthServiceOptions, 'listenerInstances'>, sni: SniDomains): ResolveContext {
  return {
    get defaultInstanceId() {
      return tenancy.defaultInstanceId;
    },
    get listenerInstances() {
      return options.listenerInstances;
    },
    exists: (id) => tenancy.get(id) !== undefined,
    domainInstance: (name) => sni.instanceOf(name),
  };
}
