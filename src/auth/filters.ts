/**
 * Topic filter relations used by permission checks (MQTT 4.7): does a filter match a topic, does
 * one filter cover everything another matches, can two filters match a common topic. Wildcards at
 * the first level never match topics that start with '$' [MQTT-4.7.2-1].
 */

/** True if `filter` matches the topic name `topic`. */
export function topicMatches(filter: string, topic: string): boolean {
  return filterCovers(filter, topic);
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
    if (level === '#') return !(k === 0 && i[0]!.startsWith('$'));
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

/** True if some topic name is matched by both filters (a DENY on one touches the other). */
export function filtersOverlap(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  const dollar = (s: string | undefined): boolean => s !== undefined && s.startsWith('$');
  for (let k = 0; ; k++) {
    const p = x[k];
    const q = y[k];
    if (p === undefined && q === undefined) return true;
    if (p === '#' || q === '#') {
      // '#' also matches the parent level; at level 0 it cannot reach '$' topics.
      if (k === 0 && ((p === '#' && dollar(q)) || (q === '#' && dollar(p)))) return false;
      return true;
    }
    if (p === undefined || q === undefined) return false;
    if (p === '+' || q === '+') {
      if (k === 0 && ((p === '+' && dollar(q)) || (q === '+' && dollar(p)))) return false;
      continue;
    }
    if (p !== q) return false;
  }
}

/** The first level of a topic or filter (the managed service's parent topic). */
export function parentOf(topic: string): string {
  const slash = topic.indexOf('/');
  return slash < 0 ? topic : topic.slice(0, slash);
}
