/**
 * PUBLISH / SUBSCRIBE authorization: the principal's grant (grants.ts), then the instance's topic
 * rules (parent topic exists or is auto-created, length, characters), then quotas (subscriptions
 * per client and per instance, messages per second). What a refused client sees is in
 * docs/authentication.md ("What a refused client sees").
 */
import type { Logger } from 'pino';
import type { AccessDecision, ClientHandle } from '../broker/hooks.js';
import { ReasonCode as RC } from '../protocol/reason-codes.js';
import type { Tenancy } from '../tenancy/registry.js';
import type { ClientActions } from './client-actions.js';
import type { Clock } from './clock.js';
import type { Denial, Grants } from './grants.js';
import { principalOf, type Principal } from './principal.js';
import type { InstanceQuotas } from './quotas.js';
import type { BrokerViewRef } from './service-types.js';
import { OFFLINE_TOPIC, ORDER_TOPIC } from './system-topics.js';
import { checkGrant, TOKEN_UPLOAD_TOPIC, type TokenType } from './tokens.js';
import { ExternalAuth } from '../external-auth/index.js';

const ALLOW: AccessDecision = 'allow';

export class AccessChecks {
  constructor(
    private readonly tenancy: Tenancy,
    private readonly grants: Grants,
    private readonly quotas: InstanceQuotas,
    private readonly clock: Clock,
    private readonly act: ClientActions,
    private readonly view: BrokerViewRef,
    private readonly log: Logger,
    private readonly external: ExternalAuth = ExternalAuth.none(),
  ) {}

  authorizePublish(client: ClientHandle, topic: string, payloadBytes = 0): AccessDecision | Promise<AccessDecision> {
    const denial = this.checkPublish(client, topic, payloadBytes);
    return denial === null ? this.callback(client, 'publish', topic) : this.decide(client, topic, denial);
  }

  authorizeSubscribe(client: ClientHandle, filter: string): AccessDecision | Promise<AccessDecision> {
    const denial = this.checkSubscribe(client, filter);
    return denial === null ? this.callback(client, 'subscribe', filter) : this.decide(client, filter, denial);
  }

  /**
   * Clients let in by an instance's JWT or HTTP callback are also asked of its authorization
   * callback, when there is one: from the cache at once, else a promise the channel waits for.
   */
  private callback(client: ClientHandle, action: 'publish' | 'subscribe', topic: string): AccessDecision | Promise<AccessDecision> {
    const p = principalOf(client);
    if (p.mode !== 'external') return ALLOW;
    const http = this.external.http(p.instanceId);
    if (http === null || !http.authorizes || topic.startsWith('$')) return ALLOW;
    const refused: Denial = { reasonCode: RC.NotAuthorized, disconnect: client.protocolVersion !== 5, why: 'refused by the authorization callback' };
    const cached = http.cachedAuthorization(client.clientId, client.username, p.instanceId, action, topic);
    if (cached !== undefined) return cached ? ALLOW : this.decide(client, topic, refused);
    return http.authorize(client.clientId, client.username, p.instanceId, action, topic).then(
      (allowed) => (allowed ? ALLOW : this.decide(client, topic, refused)),
      () => this.decide(client, topic, refused),
    );
  }

  authorizeWill(client: ClientHandle, topic: string): boolean {
    const p = principalOf(client);
    // The will goes out after the connection, token notices cannot reach the client: check quietly.
    if (p.mode === 'token') {
      return checkGrant(p.initial, 'publish', topic, this.clock.now()) === null && this.tenancy.admitTopic(p.instanceId, topic, false) === null;
    }
    return this.grants.denial(client, p, 'publish', topic, false) === null && this.tenancy.admitTopic(p.instanceId, topic, false) === null;
  }

  /** The denial of a PUBLISH, or null when it may go through. */
  checkPublish(client: ClientHandle, topic: string, payloadBytes: number): Denial | null {
    const p = principalOf(client);
    if (topic.startsWith('$')) {
      if (topic === TOKEN_UPLOAD_TOPIC && p.mode === 'token') return null;
      if ((topic === ORDER_TOPIC || topic === OFFLINE_TOPIC) && p.mode !== 'anonymous') return null;
    }
    const grant = this.grants.denial(client, p, 'publish', topic, true);
    if (grant !== null) return grant;
    const instance = this.tenancy.get(p.instanceId);
    if (instance === undefined) return { reasonCode: RC.NotAuthorized, disconnect: true, why: 'instance deleted' };
    if (instance.limits.maxPayloadBytes > 0 && payloadBytes > instance.limits.maxPayloadBytes) {
      return { reasonCode: RC.PacketTooLarge, disconnect: true, why: 'invalid param' };
    }
    const refusal = this.tenancy.admitTopic(p.instanceId, topic, false);
    if (refusal !== null) return admission(client, refusal.kind, RC.TopicNameInvalid);
    if (!this.quotas.takeMessage(p.instanceId, instance.limits.maxMessagesPerSecond, instance.limits.messageBurst)) {
      return { reasonCode: RC.QuotaExceeded, disconnect: false, why: 'message rate quota exceeded' };
    }
    return null;
  }

  /** The denial of one SUBSCRIBE filter (without any `$share/<group>/` prefix), or null. */
  checkSubscribe(client: ClientHandle, filter: string): Denial | null {
    const p = principalOf(client);
    const grant = this.grants.denial(client, p, 'subscribe', filter, true);
    if (grant !== null) return grant;
    const instance = this.tenancy.get(p.instanceId);
    if (instance === undefined) return { reasonCode: RC.NotAuthorized, disconnect: true, why: 'instance deleted' };
    const refusal = this.tenancy.admitTopic(p.instanceId, filter, true);
    if (refusal !== null) return admission(client, refusal.kind, RC.TopicFilterInvalid);
    const { maxSubscriptionsPerClient, maxSubscriptions } = instance.limits;
    const view = this.view();
    if (view !== null && (maxSubscriptionsPerClient > 0 || maxSubscriptions > 0)) {
      const mine = view.clientSubscriptions(p.instanceId, client.clientId, filter);
      const over =
        (!mine.has && maxSubscriptionsPerClient > 0 && mine.count >= maxSubscriptionsPerClient) ||
        (!mine.has && maxSubscriptions > 0 && view.instanceSubscriptions(p.instanceId) >= maxSubscriptions);
      if (over) {
        this.quotas.count(p.instanceId).subscriptionsRefused++;
        return { reasonCode: RC.QuotaExceeded, disconnect: false, why: 'subscription quota exceeded' };
      }
    }
    return null;
  }

  /** Turns a denial into the broker's decision, telling token clients why first. */
  private decide(client: ClientHandle, topic: string, denial: Denial): AccessDecision {
    const code = denial.tokenCode;
    const p = principalOf(client);
    if (code !== undefined && p.mode === 'token') {
      this.act.notifyInvalid(client, code, noticeType(p));
    }
    // Not logged here: the channel logs the refusal once per cause per client per interval
    // (src/observability/log-limits.ts), so a client cannot make one log line per PUBLISH.
    return { deny: denial.reasonCode, disconnect: denial.disconnect, why: denial.why };
  }
}

/** A topic the instance's rules refuse: 'invalid param' (3.x: disconnect, as the managed service). */
function admission(client: ClientHandle, kind: 'invalid' | 'quota', code: number): Denial {
  if (kind === 'quota') return { reasonCode: RC.QuotaExceeded, disconnect: false, why: 'parent topic quota exceeded' };
  return { reasonCode: code, disconnect: client.protocolVersion !== 5, why: 'invalid param' };
}

/** The token type a notice names: the only token held, else the RW one (undefined if none). */
function noticeType(p: Principal & { mode: 'token' }): TokenType | undefined {
  const held = p.grant === null ? p.initial : [...p.grant.claims];
  return held.length === 1 ? held[0]!.a : held.find((c) => c.a === 'RW')?.a;
}
