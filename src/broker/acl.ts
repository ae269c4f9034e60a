/**
 * Config-driven topic ACL for clients (the authorization hook point until tenant permissions
 * arrive): rules are checked in order and the first match wins; no rules means allow all.
 * A subscribe filter is allowed only if the rule's filter covers it entirely.
 */
import type { AclRule } from './options.js';
import type { AccessDecision, Authorizer, ClientHandle } from './hooks.js';

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

/**
 * True if every topic matched by `inner` (a topic or a filter) is also matched by `outer`.
 * '+' in `inner` is covered only by '+' or '#'; '#' only by '#'.
 */
export function filterCovers(outer: string, inner: string): boolean {
  const o = outer.split('/');
  const i = inner.split('/');
  for (let k = 0; k < o.length; k++) {
    const level = o[k]!;
    if (level === '#') return !(k === 0 && i[0]?.startsWith('$'));
    const other = i[k];
    if (other === undefined) return false;
    if (level === '+') {
      if (other === '#') return false;
      if (k === 0 && other.startsWith('$')) return false;
      continue;
    }
    if (level !== other) return false;
  }
  return o.length === i.length;
}
