/**
 * Client ids of the managed service (reference §1.4): `<GroupID>@@@<DeviceID>`, ≤ 64 characters,
 * [0-9A-Za-z_-] besides the separator; Group IDs `GID_`/`GID-` + 3–60 more (§1.3). The rules are
 * Ferry's own (src/tenancy/names.ts, strict mode), so a client id the SDK accepts is one a strict
 * instance accepts.
 */
import { checkClientId as checkForMode, checkGroupId, CLIENT_ID_SEPARATOR, p2pTarget, parseClientId as split } from '../tenancy/names.js';
import { STRICT_LIMITS } from '../tenancy/limits.js';
import { FerryInputError } from './errors.js';

export { CLIENT_ID_SEPARATOR };

export interface ClientIdParts {
  readonly groupId: string;
  readonly deviceId: string;
}

/** Why `clientId` is not a valid `GroupID@@@DeviceID` (strict instance rules), or null when it is. */
export function checkClientId(clientId: string): string | null {
  return checkForMode('strict', STRICT_LIMITS, clientId);
}

/** Why `groupId` is not a valid Group ID, or null when it is. */
export function checkGroup(groupId: string): string | null {
  return checkGroupId(groupId);
}

/** `GID_car@@@dev1` → `{ groupId: 'GID_car', deviceId: 'dev1' }`; null when not a valid client id. */
export function parseClientId(clientId: string): ClientIdParts | null {
  return checkClientId(clientId) === null ? split(clientId) : null;
}

/** `clientId('GID_car', 'dev1')` → `GID_car@@@dev1`; throws FerryInputError when the result is not valid. */
export function clientId(groupId: string, deviceId: string): string {
  const id = `${groupId}${CLIENT_ID_SEPARATOR}${deviceId}`;
  const reason = checkClientId(id);
  if (reason !== null) throw new FerryInputError(`client id "${id}": ${reason}`);
  return id;
}

/** The P2P topic of a client: `<parentTopic>/p2p/<clientId>` (reference §2.5). */
export function p2pTopic(parentTopic: string, targetClientId: string): string {
  if (parentTopic === '' || /[/+#]/.test(parentTopic)) throw new FerryInputError(`parent topic "${parentTopic}" must be one non-empty topic level without wildcards`);
  if (targetClientId === '' || /[/+#]/.test(targetClientId)) throw new FerryInputError(`client id "${targetClientId}" cannot be a P2P target`);
  return `${parentTopic}/p2p/${targetClientId}`;
}

/** The target client id of a P2P topic, or null when `topic` is not one. */
export function p2pTargetOf(topic: string): string | null {
  return p2pTarget(topic);
}
