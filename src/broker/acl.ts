/**
 * Config-driven topic ACL for clients (the authorization hook point until tenant permissions
 * arrive): rules are checked in order and the first match wins; no rules means allow all.
 * A subscribe filter is allowed only if the rule's filter covers it entirely.
 */
import type { AclRule } from './options.js';
import type { AccessDecision, Authorizer, ClientHandle } from './hooks.js';
import { filterCovers } from '../topic/filter.js';

export class AclAuthorizer implements Authorizer {
  constructor(private readonly rules: readonly AclRule[]) {}

  authorizePublish(_client: ClientHandle, topic: string): AccessDecision {
    return this.check('publish', topic) ? 'allow' : 'deny';
  }

  authorizeSubscribe(_client: ClientHandle, filter: string): AccessDecision {
    return this.check('subscribe', filter) ? 'allow' : 'deny';
  }

  authorizeWill(_client: ClientHandle, topic: string): boolean {
    return this.check('publish', topic);
  }

  private check(action: 'publish' | 'subscribe', topic: string): boolean {
    for (const rule of this.rules) {
      if (rule.action !== 'all' && rule.action !== action) continue;
      if (filterCovers(rule.topic, topic)) return rule.permission === 'allow';
    }
    return this.rules.length === 0;
  }
}
