/** UNSUBSCRIBE → UNSUBACK, one reason code per filter in MQTT 5 (3.11.3). */
import type { UnsubscribePacket } from '../../protocol/packets.js';
import type { Channel } from '../channel.js';
import { RC } from '../reason.js';

export function handleUnsubscribe(ch: Channel, packet: UnsubscribePacket): void {
  const session = ch.session!;
  const reasonCodes: number[] = [];
  for (const filter of packet.topicFilters) {
    const existed = ch.broker.unsubscribe(session, filter);
    reasonCodes.push(existed ? RC.Success : RC.NoSubscriptionExisted);
  }
  ch.out.writePacket({
    type: 'unsuback',
    packetId: packet.packetId,
    reasonCodes: ch.protocolVersion === 5 ? reasonCodes : [],
  });
}
