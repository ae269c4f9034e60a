/**
 * Topic names and filters (section 4.7) and shared subscriptions (section 4.8.2).
 * Lengths are UTF-8 byte lengths; both must fit a UTF-8 string field (65535 bytes).
 */
import { MAX_STRING_BYTES } from './constants.js';

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;

/** Cheap upper bound check first: a UTF-16 unit is at most 3 UTF-8 bytes. */
function fitsStringField(s: string): boolean {
  return s.length * 3 <= MAX_STRING_BYTES || Buffer.byteLength(s, 'utf8') <= MAX_STRING_BYTES;
}

/**
 * True when `c` at `i` is half of a surrogate pair without its other half: such a string has no
 * UTF-8 form, so MQTT cannot carry it [MQTT-1.5.4-1] (strings from JSON or URLs can hold one).
 */
function loneSurrogateAt(s: string, i: number, c: number): boolean {
  if (c < 0xd800 || c > 0xdfff) return false;
  if (c <= 0xdbff) {
    const next = s.charCodeAt(i + 1);
    return !(next >= 0xdc00 && next <= 0xdfff);
  }
  const prev = i === 0 ? 0 : s.charCodeAt(i - 1);
  return !(prev >= 0xd800 && prev <= 0xdbff);
}

/**
 * A Topic Name for PUBLISH: non-empty [MQTT-4.7.3-1], no wildcards [MQTT-3.3.2-2] [MQTT-4.7.0-1],
 * no U+0000 [MQTT-4.7.3-2], well-formed UTF-16 (so it has a UTF-8 form), at most 65535 bytes
 * [MQTT-4.7.3-3].
 */
export function isValidTopicName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === PLUS || c === HASH || c === 0 || loneSurrogateAt(s, i, c)) return false;
  }
  return fitsStringField(s);
}

/** Wildcards in PUBLISH topics only (emptiness/length are checked elsewhere by the decoder). */
export function hasWildcard(s: string): boolean {
  return s.indexOf('+') !== -1 || s.indexOf('#') !== -1;
}

/** Filter syntax without the shared-subscription prefix rules. */
function isValidPlainFilter(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || loneSurrogateAt(s, i, c)) return false;
    if (c === PLUS || c === HASH) {
      // A wildcard must occupy a whole level [MQTT-4.7.1-2] [MQTT-4.7.1-3].
      if (i > 0 && s.charCodeAt(i - 1) !== SLASH) return false;
      if (i + 1 < n && s.charCodeAt(i + 1) !== SLASH) return false;
      // '#' must be the last character [MQTT-4.7.1-2].
      if (c === HASH && i !== n - 1) return false;
    }
  }
  return true;
}

/**
 * A Topic Filter for SUBSCRIBE/UNSUBSCRIBE: non-empty, '#' alone in the last level, '+' alone in
 * its level, no U+0000, at most 65535 bytes. `$share/<group>/<filter>` and `$queue/<filter>` must
 * be well-formed shared subscriptions (see parseSharedSubscription).
 */
export function isValidTopicFilter(s: string): boolean {
  if (!fitsStringField(s)) return false;
  if (s.charCodeAt(0) === 0x24 /* $ */ && (s.startsWith('$share/') || s.startsWith('$queue/'))) {
    return parseSharedSubscription(s) !== null;
  }
  return isValidPlainFilter(s);
}

export interface SharedSubscription {
  /** Share Name; '$queue' for the `$queue/<filter>` form. */
  group: string;
  /** The filter after the group, matched against topic names. */
  filter: string;
}

/**
 * Splits `$share/<group>/<filter>` [MQTT-4.8.2-1] [MQTT-4.8.2-2] (group non-empty, without
 * '/', '+', '#'; filter a valid non-empty topic filter) and `$queue/<filter>` (group '$queue').
 * Returns null for anything else, including a malformed shared subscription.
 */
export function parseSharedSubscription(filter: string): SharedSubscription | null {
  if (filter.startsWith('$share/')) {
    const slash = filter.indexOf('/', 7);
    if (slash <= 7) return null; // no group, or no '/' after the group
    const group = filter.slice(7, slash);
    if (group.includes('+') || group.includes('#')) return null;
    const inner = filter.slice(slash + 1);
    return isValidPlainFilter(inner) ? { group, filter: inner } : null;
  }
  if (filter.startsWith('$queue/')) {
    const inner = filter.slice(7);
    return isValidPlainFilter(inner) ? { group: '$queue', filter: inner } : null;
  }
  return null;
}

/** Topic levels ('a//b' has an empty middle level; '/a' starts with an empty level). */
export function topicLevels(s: string): string[] {
  return s.split('/');
}

/**
 * Whether a topic name matches a (non-shared) topic filter. Filters starting with a wildcard
 * do not match names starting with '$' [MQTT-4.7.2-1].
 */
export function topicMatches(filter: string, name: string): boolean {
  const fn = filter.length;
  const nn = name.length;
  if (nn > 0 && name.charCodeAt(0) === 0x24 && fn > 0) {
    const f0 = filter.charCodeAt(0);
    if (f0 === PLUS || f0 === HASH) return false;
  }
  let fi = 0;
  let ni = 0;
  while (fi < fn) {
    const c = filter.charCodeAt(fi);
    if (c === HASH) return true; // matches the parent level and everything below
    if (c === PLUS) {
      // Consume one name level.
      while (ni < nn && name.charCodeAt(ni) !== SLASH) ni++;
      fi++;
    } else {
      // Compare one literal level.
      while (fi < fn && filter.charCodeAt(fi) !== SLASH) {
        if (ni >= nn || name.charCodeAt(ni) !== filter.charCodeAt(fi)) return false;
        fi++;
        ni++;
      }
      if (ni < nn && name.charCodeAt(ni) !== SLASH) return false;
    }
    // Both at a level boundary: either both end, or both have '/'.
    if (fi >= fn) return ni >= nn;
    // filter has '/'
    fi++;
    if (ni >= nn) {
      // Name ended: only a trailing "/#" still matches ('a/#' matches 'a').
      return fi < fn && filter.charCodeAt(fi) === HASH && fi + 1 === fn;
    }
    ni++; // name has '/'
  }
  return ni >= nn;
}
