/** Client DISCONNECT: decides the will and, in MQTT 5, may change the session expiry. */
import type { DisconnectPacket } from '../../protocol/packets.js';
import type { Channel } from '../channel.js';
import { RC } from '../reason.js';

/** MQTT 5 reason 0x04: "Disconnect with Will Message". */
const DISCONNECT_WITH_WILL = 0x04;

export function handleDisconnect(ch: Channel, packet: DisconnectPacket): void {
  const session = ch.session!;
  const expiry = packet.properties?.sessionExpiryInterval;
  if (expiry !== undefined) {
    // [MQTT-3.14.2-2] a session opened with expiry 0 cannot be extended at DISCONNECT.
    if (session.expiryInterval === 0 && expiry !== 0) {
      ch.protocolError(RC.ProtocolError, 'session expiry set at DISCONNECT after 0 at CONNECT');
      return;
    }
    session.expiryInterval = Math.min(expiry, ch.broker.options.maxSessionExpiry);
  }
  // [MQTT-3.14.4-3] a normal DISCONNECT discards the will.
  if ((packet.reasonCode ?? 0) !== DISCONNECT_WITH_WILL) ch.willDiscarded = true;
  ch.disconnectReceived = true;
  ch.closeByClient();
}
