/**
 * Inbound PUBLISH: resolve the topic alias, enforce Receive Maximum and authorization, hand the
 * message to the router, and acknowledge (QoS 1: PUBACK; QoS 2: PUBREC, delivery once per
 * packet id until PUBREL — method B of MQTT 4.3.3).
 */
import type { PublishPacket } from '../../protocol/packets.js';
import { denialOf, type AccessDecision } from '../../broker/hooks.js';
import { Message, keepable } from '../../session/message.js';
import type { Channel } from '../channel.js';
import { RC } from '../reason.js';
import { expiresAt, forwardableProperties } from './connect.js';
import { holdWhile } from '../hold.js';

export function handlePublish(ch: Channel, packet: PublishPacket): void {
  const session = ch.session!;
  const broker = ch.broker;
  broker.counters.messagesIn++;

  let topic = packet.topic;
  const alias = packet.properties?.topicAlias;
  if (alias !== undefined) {
    // [MQTT-3.3.2-9] [MQTT-3.3.2-10] aliases are 1..Topic Alias Maximum.
    if (alias === 0 || alias > broker.options.topicAliasMaximum) {
      ch.protocolError(RC.TopicAliasInvalid, `topic alias ${alias} out of range`);
      return;
    }
    if (topic.length === 0) {
      const known = ch.inboundAliases?.get(alias);
      if (known === undefined) {
        ch.protocolError(RC.ProtocolError, `unknown topic alias ${alias}`);
        return;
      }
      topic = known;
    } else {
      const aliases = (ch.inboundAliases ??= new Map());
      // Each alias pins its topic for the life of the connection: bounded per connection.
      const bytes = ch.inboundAliasBytes - (aliases.get(alias)?.length ?? 0) * 2 + topic.length * 2;
      if (bytes > broker.options.maxTopicAliasBytes) {
        broker.counters.limitHits.hit('topic_alias_bytes');
        ch.protocolError(RC.QuotaExceeded, `topic aliases would hold ${bytes} bytes, more than maxTopicAliasBytes ${broker.options.maxTopicAliasBytes}`);
        return;
      }
      ch.inboundAliasBytes = bytes;
      aliases.set(alias, topic);
    }
  } else if (topic.length === 0) {
    ch.protocolError(RC.ProtocolError, 'empty topic without topic alias');
    return;
  }

  const qos = packet.qos;
  const packetId = packet.packetId ?? 0;
  if (qos === 2 && session.inboundQos2.has(packetId)) {
    // A resend of a message already received: acknowledge again, do not deliver twice.
    ch.ack({ type: 'pubrec', packetId });
    return;
  }
  if (qos > 0 && session.inboundQos2.size + ch.pendingPubacks >= broker.options.receiveMaximum) {
    // [MQTT-3.3.4-9] the client exceeded the Receive Maximum we announced: QoS 2 awaiting
    // PUBREL and QoS 1 whose PUBACK waits for its commit are both unacknowledged for it.
    ch.protocolError(RC.ReceiveMaximumExceeded, 'receive maximum exceeded');
    return;
  }

  const decision = broker.authorizePublish(ch, topic, packet.payload.length);
  if (decision instanceof Promise) {
    // An authorization callback is being asked: the client's next packets wait (order is kept).
    holdWhile(ch, decision, (settled) => publishAuthorized(ch, packet, topic, settled));
    return;
  }
  publishAuthorized(ch, packet, topic, decision);
}

function publishAuthorized(ch: Channel, packet: PublishPacket, topic: string, decision: AccessDecision): void {
  const session = ch.session!;
  const broker = ch.broker;
  const qos = packet.qos;
  const packetId = packet.packetId ?? 0;
  if (decision !== 'allow') {
    broker.counters.publishDenied++;
    const denial = denialOf(decision);
    ch.note(`publish-denied:${denial.why}`, { topic, why: denial.why, reasonCode: denial.reasonCode }, 'publish not authorized');
    if (denial.disconnect) {
      ch.terminate(denial.reasonCode);
      return;
    }
    // MQTT 5 says so in the ack; 3.x has no way to, so the message is acknowledged and dropped.
    const reasonCode = ch.protocolVersion === 5 ? denial.reasonCode : RC.Success;
    if (qos === 1) ch.ack({ type: 'puback', packetId, reasonCode });
    else if (qos === 2) ch.ack({ type: 'pubrec', packetId, reasonCode });
    return;
  }

  const props = packet.properties;
  // A payload that is a view into a large socket chunk is copied if it may be kept, so the
  // chunk can be freed (keepable: not when the chunk is a pool slice, as small reads are).
  const payload = qos > 0 || packet.retain ? keepable(packet.payload) : packet.payload;
  // Client requests on system topics ($SYS/uploadToken, ...) are answered, not routed. Any other
  // `$` topic is the broker's own [MQTT-4.7.2-1]: a client must not be able to forge
  // $SYS/tokenInvalidNotice or the like for the instance's subscribers.
  if (topic.charCodeAt(0) === 0x24 /* $ */) {
    if (broker.hooks.systemTopics?.onSystemPublish(ch, topic, payload) !== 'handled') {
      broker.counters.publishDenied++;
      broker.counters.limitHits.hit('sys_publish');
      ch.note('sys-publish', { topic }, 'publish to a $ topic refused: only the broker publishes there');
      const reasonCode = ch.protocolVersion === 5 ? RC.NotAuthorized : RC.Success;
      if (qos === 1) ch.ack({ type: 'puback', packetId, reasonCode });
      else if (qos === 2) ch.ack({ type: 'pubrec', packetId, reasonCode });
      return;
    }
    if (qos === 1) ch.ack({ type: 'puback', packetId });
    else if (qos === 2) {
      session.addInboundQos2(packetId);
      ch.ack({ type: 'pubrec', packetId });
    }
    return;
  }
  const message = new Message(
    topic,
    payload,
    qos,
    packet.retain,
    props === undefined ? undefined : forwardableProperties(props),
    props?.messageExpiryInterval === undefined ? 0 : expiresAt(props, Date.now()),
    session,
  );
  const tracer = broker.tracer;
  if (tracer !== null) tracer.published(ch, message);
  broker.publish(ch.tenant!, message);

  // Acks go out after the store commit that holds what they promise.
  if (qos === 1) {
    ch.ack({ type: 'puback', packetId });
  } else if (qos === 2) {
    session.addInboundQos2(packetId);
    ch.ack({ type: 'pubrec', packetId });
  }
}
