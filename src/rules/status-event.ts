/**
 * The status event of a client's connection (reference §5.4), shared by status rules and the AMQP
 * endpoint's STATUS queue so both report the same `channelId` for the same TCP connection.
 */
import { randomBytes } from 'node:crypto';
import type { ClientHandle } from '../broker/hooks.js';
import type { StatusEvent, StatusEventType } from './connectors/index.js';

const channelIds = new WeakMap<ClientHandle, string>();

/** The group of a client id (`GID_x@@@device` → `GID_x`; no `@@@`: the client id itself). */
export function groupOf(clientId: string): string {
  const at = clientId.indexOf('@@@');
  return at < 0 ? clientId : clientId.slice(0, at);
}

export function statusEvent(client: ClientHandle, eventType: StatusEventType, time = Date.now()): StatusEvent {
  let channelId = channelIds.get(client);
  if (channelId === undefined) channelIds.set(client, (channelId = randomBytes(16).toString('hex')));
  const peer = client.peer;
  return { clientId: client.clientId, time, eventType, channelId, clientIp: `${peer.remoteAddress}:${peer.remotePort}` };
}
