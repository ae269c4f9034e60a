/**
 * Topic filter relations used by permission checks (MQTT 4.7): does a filter match a topic, does
 * one filter cover everything another matches, can two filters match a common topic. Wildcards at
 * the first level never match topics that start with '$' [MQTT-4.7.2-1].
 */

import { filterCovers } from '../topic/filter.js';

export { filterCovers };

/** True if `filter` matches the topic name `topic`. */
export function topicMatches(filter: string, topic: string): boolean {
  return filterCovers(filter, topic);
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
