/**
 * What a principal's own credentials let it do: the anonymous ACL, the AccessKey's policy, the
 * tokens it holds, or its custom permissions. Authenticated 3.x clients are disconnected on a
 * topic outside their grant (`resource auth failed`, as the managed service); MQTT 5 clients get
 * the reason code. Token clients always get `$SYS/tokenInvalidNotice` and a disconnect
 * (reference §2.7).
 */
import { AclAuthorizer } from '../broker/acl.js';
import { aclAllows } from '../external-auth/acl.js';
import type { AclRule } from '../broker/options.js';
import type { ClientHandle } from '../broker/hooks.js';
import { ReasonCode as RC } from '../protocol/reason-codes.js';
import { parseClientId } from '../tenancy/names.js';
import type { Tenancy } from '../tenancy/registry.js';
import type { AccessKeys } from './access-keys.js';
import type { Clock } from './clock.js';
import type { CustomAuth } from './custom-auth.js';
import { MQ_ACTIONS } from './policy.js';
import type { Principal } from './principal.js';
import { checkGrant, type TokenCode } from './tokens.js';

/** A refusal of a PUBLISH or SUBSCRIBE: the reason code (MQTT 5) and whether to disconnect. */
export interface Denial {
  readonly reasonCode: number;
  readonly disconnect: boolean;
  /** For logs and traces: 'resource auth failed', 'invalid param', 'quota exceeded'. */
  readonly why: string;
  /** Token clients: the `$SYS/tokenInvalidNotice` code to send before the disconnect. */
  readonly tokenCode?: TokenCode;
}

export class Grants {
  private readonly anonymousAcl: AclAuthorizer;

  constructor(
    private readonly tenancy: Tenancy,
    private readonly keys: AccessKeys,
    private readonly custom: CustomAuth,
    private readonly clock: Clock,
    acl: readonly AclRule[],
  ) {
    this.anonymousAcl = new AclAuthorizer(acl);
  }

  /** The denial of `action` on `topic` by the principal's grant, or null. `live`: token clients' current grant rather than their CONNECT tokens. */
  denial(client: ClientHandle, p: Principal, action: 'publish' | 'subscribe', topic: string, live: boolean): Denial | null {
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
      case 'certificate':
        return null;
      case 'external':
        return p.acl === null || aclAllows(p.acl, action, topic, { clientId: client.clientId, username: client.username }) ? null : resourceAuthFailed;
      case 'custom':
        return this.custom.check(p.instanceId, p.identity, action, topic) === 'allow' ? null : resourceAuthFailed;
    }
  }
}
