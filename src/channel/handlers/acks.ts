/** PUBACK, PUBREC, PUBREL, PUBCOMP: the QoS 1 and QoS 2 acknowledgement flows (MQTT 4.3). */
import type { PubackPacket, PubcompPacket, PubrecPacket, PubrelPacket } from '../../protocol/packets.js';
import type { Channel } from '../channel.js';
import { RC } from '../reason.js';

export function handlePuback(ch: Channel, packet: PubackPacket): void {
  ch.session!.complete(packet.packetId);
}

export function handlePubrec(ch: Channel, packet: PubrecPacket): void {
  const outcome = ch.session!.received(packet.packetId, packet.reasonCode ?? 0);
  if (outcome === 'release') {
    ch.out.writePacket({ type: 'pubrel', packetId: packet.packetId });
  } else if (outcome === 'unknown') {
    // [MQTT-4.3.3-?] answer so the client can free the id; MQTT 5 says why.
    ch.out.writePacket(
      ch.protocolVersion === 5
        ? { type: 'pubrel', packetId: packet.packetId, reasonCode: RC.PacketIdentifierNotFound }
        : { type: 'pubrel', packetId: packet.packetId },
    );
  }
}

export function handlePubrel(ch: Channel, packet: PubrelPacket): void {
  const known = ch.session!.removeInboundQos2(packet.packetId);
  // PUBCOMP waits for the commit that forgets the id, or a crash could refuse a new message
  // that reuses it as a duplicate.
  ch.ack(
    known || ch.protocolVersion !== 5
      ? { type: 'pubcomp', packetId: packet.packetId }
      : { type: 'pubcomp', packetId: packet.packetId, reasonCode: RC.PacketIdentifierNotFound },
  );
}

export function handlePubcomp(ch: Channel, packet: PubcompPacket): void {
  ch.session!.complete(packet.packetId);
}
