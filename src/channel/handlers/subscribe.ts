/**
 * SUBSCRIBE → SUBACK, then the matching retained messages (MQTT 3.8.4). Each filter is checked
 * on its own: an invalid or unauthorized one fails alone, the others are granted.
 */
import { isValidTopicFilter, parseSharedSubscription } from '../../protocol/topic.js';
import type { QoS, SubscribePacket } from '../../protocol/packets.js';
import type { Message } from '../../session/message.js';
import type { SubscriptionOptions } from '../../session/session.js';
import { denialOf, type AccessDecision } from '../../broker/hooks.js';
import { holdWhile } from '../hold.js';
import type { Channel } from '../channel.js';
import { RC } from '../reason.js';

const MAX_QOS: QoS = 2;

export function handleSubscribe(ch: Channel, packet: SubscribePacket): void {
  const broker = ch.broker;
  // First every filter's validity and authorization (a decision may be pending on a callback).
  const checks: Check[] = [];
  let pending = false;
  for (const request of packet.subscriptions) {
    const shared = parseSharedSubscription(request.topicFilter);
    const filter = shared === null ? request.topicFilter : shared.filter;
    if ((shared === null && request.topicFilter.startsWith('$share/')) || !isValidTopicFilter(filter)) {
      checks.push({ request, shared, filter, decision: 'invalid' });
      continue;
    }
    if (shared !== null && request.noLocal) {
      // [MQTT-3.8.3-4] No Local on a shared subscription is a protocol error.
      ch.protocolError(RC.ProtocolError, 'no local on a shared subscription');
      return;
    }
    const decision = broker.authorizeSubscribe(ch, filter);
    if (decision instanceof Promise) pending = true;
    checks.push({ request, shared, filter, decision });
  }
  if (!pending) {
    subscribeChecked(ch, packet, checks as Settled[]);
    return;
  }
  const all = Promise.all(checks.map(async (c) => ({ ...c, decision: await c.decision })));
  holdWhile(ch, all, (settled) => subscribeChecked(ch, packet, settled));
}

type Request = SubscribePacket['subscriptions'][number];
interface Check {
  readonly request: Request;
  readonly shared: ReturnType<typeof parseSharedSubscription>;
  readonly filter: string;
  readonly decision: AccessDecision | Promise<AccessDecision> | 'invalid';
}
type Settled = Check & { readonly decision: AccessDecision | 'invalid' };

function subscribeChecked(ch: Channel, packet: SubscribePacket, checks: readonly Settled[]): void {
  const session = ch.session!;
  const broker = ch.broker;
  const v5 = ch.protocolVersion === 5;
  const subscriptionId = packet.properties?.subscriptionIdentifiers?.[0] ?? 0;
  const reasonCodes: number[] = [];
  const retained: Array<{ message: Message; qos: QoS }> = [];
  const now = Date.now();

  for (const { request, shared, filter, decision } of checks) {
    if (decision === 'invalid') {
      reasonCodes.push(v5 ? RC.TopicFilterInvalid : RC.UnspecifiedError);
      continue;
    }
    if (decision !== 'allow') {
      const denial = denialOf(decision);
      ch.note(`subscribe-denied:${denial.why}`, { filter: request.topicFilter, why: denial.why, reasonCode: denial.reasonCode }, 'subscribe not authorized');
      if (denial.disconnect) {
        ch.terminate(denial.reasonCode);
        return;
      }
      reasonCodes.push(v5 ? denial.reasonCode : RC.UnspecifiedError);
      continue;
    }
    const granted = (request.qos < MAX_QOS ? request.qos : MAX_QOS) as QoS;
    const options: SubscriptionOptions = {
      qos: granted,
      noLocal: request.noLocal,
      retainAsPublished: request.retainAsPublished,
      retainHandling: request.retainHandling,
      subscriptionId,
      shareGroup: shared === null ? null : shared.group,
      filter,
    };
    const existed = broker.subscribe(session, request.topicFilter, options);
    reasonCodes.push(granted);
    // Retained messages are not sent for shared subscriptions (MQTT 4.8.2) nor when Retain
    // Handling says not to [MQTT-3.3.1-9..11].
    if (shared === null && (request.retainHandling === 0 || (request.retainHandling === 1 && !existed))) {
      for (const message of ch.tenant!.retained.match(filter, now)) {
        retained.push({ message, qos: (message.qos < granted ? message.qos : granted) as QoS });
      }
    }
  }

  // For a persistent session the SUBACK waits for the commit that holds the subscription.
  ch.ack({ type: 'suback', packetId: packet.packetId, reasonCodes });
  if (retained.length === 0) return;
  const subscriptionIds = subscriptionId === 0 ? undefined : [subscriptionId];
  ch.afterAcks(() => {
    for (const { message, qos } of retained) {
      session.deliver({ message, qos, retain: true, subscriptionIds, shared: null });
    }
  });
}
