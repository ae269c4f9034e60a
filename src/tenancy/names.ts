/**
 * Naming rules of the resource model (reference §1.1–§1.4). Each check returns null when the
 * name is valid, else a message saying what is wrong (shown to API callers, logged at connect).
 *
 *   instance id     DNS label (it is also the first label of `<instanceId>.<domain>`): 3–63 of
 *                   [a-z0-9-], starting and ending with a letter or digit, e.g. mqtt-cn-0pp1
 *   instance name   3–64 of [0-9A-Za-z_-]
 *   parent topic    strict: 3–64 of [0-9A-Za-z_-]; relaxed: 1–128 characters, no '/', '+', '#',
 *                   not starting with '$'; created on first use in relaxed: the first level of
 *                   the topic as it is (empty included)
 *   topic           strict: 3–64 characters in total of [0-9A-Za-z_-] and '/', plus '+'/'#' in
 *                   filters; `<parent>/p2p/<clientId>` is checked on its parent only
 *   Group ID        GID_ or GID- then [0-9A-Za-z_-], 7–64 characters in total
 *   client id       strict: <GroupID>@@@<DeviceID>, ≤ 64 characters, [0-9A-Za-z_-] besides '@@@'
 */
import type { InstanceLimits, InstanceMode } from './limits.js';

export const CLIENT_ID_SEPARATOR = '@@@';
const P2P_LEVEL = '/p2p/';

const INSTANCE_ID = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const NAME = /^[0-9A-Za-z_-]{3,64}$/;
const STRICT_PARENT = /^[0-9A-Za-z_-]{3,64}$/;
const STRICT_TOPIC_CHARS = /^[0-9A-Za-z_\-/]+$/;
const STRICT_FILTER_CHARS = /^[0-9A-Za-z_\-/+#]+$/;
const GROUP_ID = /^GID[_-][0-9A-Za-z_-]{3,60}$/;
const DEVICE_ID = /^[0-9A-Za-z_-]+$/;

export function checkInstanceId(id: string): string | null {
  return INSTANCE_ID.test(id)
    ? null
    : 'instance id must be 3-63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit';
}

export function checkInstanceName(name: string): string | null {
  return NAME.test(name) ? null : 'instance name must be 3-64 characters of 0-9, A-Z, a-z, "_" and "-"';
}

export function checkGroupId(groupId: string): string | null {
  return GROUP_ID.test(groupId)
    ? null
    : 'Group ID must start with "GID_" or "GID-", use only 0-9, A-Z, a-z, "_" and "-", and be 7-64 characters long';
}

/**
 * `auto`: the first level of a topic a client used in a relaxed instance, created on that use.
 * Relaxed instances accept every topic MQTT accepts, so such a parent is taken as it is: empty
 * (`/TopicA`), long, any characters. A parent created through the APIs keeps the 1-128 rule.
 */
export function checkParentTopic(mode: InstanceMode, name: string, auto = false): string | null {
  if (mode === 'strict') {
    return STRICT_PARENT.test(name) ? null : 'parent topic must be 3-64 characters of 0-9, A-Z, a-z, "_" and "-"';
  }
  if (auto) return /[/+#]/.test(name) ? 'parent topic must not contain "/", "+" or "#"' : null;
  if (name.length === 0 || name.length > 128) return 'parent topic must be 1-128 characters';
  if (/[/+#]/.test(name) || name.includes('\u0000') || name.startsWith('$')) return 'parent topic must not contain "/", "+", "#" nor start with "$"';
  return null;
}

/** `GID_x@@@dev1` → { groupId: 'GID_x', deviceId: 'dev1' }; null when the id has no '@@@'. */
export function parseClientId(clientId: string): { groupId: string; deviceId: string } | null {
  const at = clientId.indexOf(CLIENT_ID_SEPARATOR);
  if (at < 0) return null;
  return { groupId: clientId.slice(0, at), deviceId: clientId.slice(at + CLIENT_ID_SEPARATOR.length) };
}

/**
 * Client id rules of an instance. Strict: `<GroupID>@@@<DeviceID>` with a valid Group ID, a
 * non-empty device id, ≤ maxClientIdLength. Relaxed: any id MQTT accepts (≤ maxClientIdLength
 * when set); a `GID_…@@@…` id still has its Group ID checked, since that group is auto-created.
 */
export function checkClientId(mode: InstanceMode, limits: InstanceLimits, clientId: string): string | null {
  if (limits.maxClientIdLength > 0 && clientId.length > limits.maxClientIdLength) {
    return `client id longer than ${limits.maxClientIdLength} characters`;
  }
  const parts = parseClientId(clientId);
  if (mode === 'strict') {
    if (parts === null) return 'client id must be <GroupID>@@@<DeviceID>';
    const group = checkGroupId(parts.groupId);
    if (group !== null) return group;
    if (!DEVICE_ID.test(parts.deviceId)) return 'device id must be 1 or more characters of 0-9, A-Z, a-z, "_" and "-"';
    return null;
  }
  if (parts !== null && parts.groupId.startsWith('GID')) return checkGroupId(parts.groupId);
  return null;
}

/** `<parent>/p2p/<clientId>` → the target client id; null for any other topic. */
export function p2pTarget(topic: string): string | null {
  const at = topic.indexOf(P2P_LEVEL);
  if (at <= 0 || topic.indexOf('/') !== at) return null;
  const target = topic.slice(at + P2P_LEVEL.length);
  return target.length === 0 ? null : target;
}

/**
 * Topic (publish) or filter (subscribe) rules of an instance beyond MQTT's own: length bounds and,
 * in strict mode, the character set. A P2P topic is checked on its parent only (the client id
 * part has '@@@' and may be 64 characters on its own).
 */
export function checkTopic(mode: InstanceMode, limits: InstanceLimits, topic: string, filter: boolean): string | null {
  const p2p = filter ? null : p2pTarget(topic);
  const checked = p2p === null ? topic : topic.slice(0, topic.indexOf('/'));
  if (p2p !== null) {
    if (mode === 'strict' && !STRICT_PARENT.test(checked)) return 'parent topic of a P2P topic is not valid';
    return null;
  }
  if (limits.minTopicLength > 0 && checked.length < limits.minTopicLength) {
    return `topic shorter than ${limits.minTopicLength} characters`;
  }
  if (limits.maxTopicLength > 0 && checked.length > limits.maxTopicLength) {
    return `topic longer than ${limits.maxTopicLength} characters`;
  }
  if (mode === 'strict' && !(filter ? STRICT_FILTER_CHARS : STRICT_TOPIC_CHARS).test(checked)) {
    return 'topic may only use 0-9, A-Z, a-z, "_", "-" and "/"';
  }
  return null;
}
