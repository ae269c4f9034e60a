/**
 * Topic permissions carried by an external provider's answer: a JWT claim or the HTTP
 * callback's `acl` field, in EMQX's shape
 *
 *   {"pub": ["up/${clientid}/#"], "sub": ["down/${clientid}"], "all": ["shared/#"]}
 *
 * `${clientid}` and `${username}` are replaced by the connection's own. A request is allowed
 * when a filter of its action (or of `all`) covers it: the topic of a PUBLISH, the whole filter
 * of a SUBSCRIBE.
 */
import { filterCovers } from '../topic/filter.js';

export interface TopicAcl {
  readonly pub: readonly string[];
  readonly sub: readonly string[];
  readonly all: readonly string[];
}

/** Reads an ACL object; null when `value` is absent, an error message when it is malformed. */
export function parseAcl(value: unknown): TopicAcl | null | string {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) return 'acl must be an object {"pub":[…],"sub":[…],"all":[…]}';
  const out: Record<'pub' | 'sub' | 'all', string[]> = { pub: [], sub: [], all: [] };
  for (const [key, list] of Object.entries(value as Record<string, unknown>)) {
    if (key !== 'pub' && key !== 'sub' && key !== 'all') return `acl: unknown field "${key}"`;
    if (!Array.isArray(list) || !list.every((f) => typeof f === 'string' && f.length > 0)) return `acl.${key} must be an array of topic filters`;
    out[key] = list as string[];
  }
  return out;
}

export function aclAllows(acl: TopicAcl, action: 'publish' | 'subscribe', topic: string, vars: { clientId: string; username: string | undefined }): boolean {
  const filters = [...(action === 'publish' ? acl.pub : acl.sub), ...acl.all];
  for (const raw of filters) {
    const filter = raw.replaceAll('${clientid}', vars.clientId).replaceAll('${username}', vars.username ?? '');
    if (filterCovers(filter, topic)) return true;
  }
  return false;
}
