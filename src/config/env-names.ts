/**
 * Which `FERRY_*` environment variables `ferry start` reads, and what it says about the others.
 *
 * Unknown names only warn: Kubernetes injects "service link" variables for every Service in the
 * namespace (`FERRY_SERVICE_HOST`, `FERRY_SERVICE_PORT`, `FERRY_PORT=tcp://10.0.0.1:1883`,
 * `FERRY_PORT_1883_TCP_ADDR`, ... for a Service named `ferry`), and refusing them would make Ferry
 * unable to start in the most common deployment. A typo of a real setting gets a warning naming the
 * closest known variable. Malformed values of known variables still refuse start (load.ts).
 *
 * One collision is real: a Service named `ferry-mqtt` (or `ferry-http`, `ferry-ws`, `ferry-tls`,
 * `ferry-wss`) makes Kubernetes set `FERRY_MQTT_PORT=tcp://<ip>:<port>`, the name of a real port
 * setting. A port is never written `tcp://…`, so such a value is recognised as a service link and
 * ignored with a warning instead of being refused (see serviceLinkValue).
 */

/** Variables the `ferry` client commands read (docs: `ferry <command> --help`); `ferry start` ignores them quietly. */
export const CLIENT_ENV_NAMES: readonly string[] = [
  'FERRY_ENDPOINT',
  'FERRY_INSTANCE',
  'FERRY_ACCESS_KEY_ID',
  'FERRY_ACCESS_KEY_SECRET',
  'FERRY_TOKEN',
  'FERRY_MQTT_URL',
];

/**
 * Names Kubernetes derives from a Service name S (upper-cased, '-' → '_'):
 *   S_SERVICE_HOST, S_SERVICE_PORT, S_SERVICE_PORT_<PORTNAME>, S_PORT, S_PORT_<N>_<PROTO>[_PROTO|_PORT|_ADDR]
 * (kubernetes pkg/kubelet/envvars). Only the shape is checked; S is any FERRY_… prefix.
 */
const SERVICE_LINK_ALWAYS = [
  /^FERRY(_[A-Z0-9_]+)?_SERVICE_HOST$/,
  /^FERRY(_[A-Z0-9_]+)?_SERVICE_PORT(_[A-Z0-9_]+)?$/,
  /^FERRY(_[A-Z0-9_]+)?_PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?$/,
];
/** `S_PORT`: a service link only with a `tcp://…` value (see isServiceLink). */
const SERVICE_LINK_PORT = /^FERRY(_[A-Z0-9_]+)?_PORT$/;

/** The value Kubernetes gives `S_PORT`: `tcp://10.0.0.1:1883` (also udp, sctp). */
const SERVICE_LINK_PORT_VALUE = /^(tcp|udp|sctp):\/\/[^\s/]+:\d+$/;

/**
 * True for a variable Kubernetes sets for a Service. A bare `…_PORT` counts only with a `tcp://`
 * value, so a typo such as `FERRY_MQQT_PORT=1884` is still reported as a typo.
 */
export function isServiceLink(name: string, value: string): boolean {
  if (SERVICE_LINK_ALWAYS.some((shape) => shape.test(name))) return true;
  return SERVICE_LINK_PORT.test(name) && serviceLinkValue(value);
}

/** True when a port setting's value is a Kubernetes service link (`tcp://host:port`), not a port. */
export function serviceLinkValue(value: string): boolean {
  return SERVICE_LINK_PORT_VALUE.test(value.trim());
}

/** Levenshtein distance, for "did you mean" (names are short; O(n·m) is nothing). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The known name closest to `name` (ties: the first in `known`). */
export function closestName(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
