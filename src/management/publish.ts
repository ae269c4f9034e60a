/** Publishing from a backend into an instance, as the server. */
import { randomBytes } from 'node:crypto';
import type { Properties, QoS } from '../protocol/packets.js';
import { isValidTopicName } from '../protocol/topic.js';
import { Message } from '../session/message.js';
import type { ManagementDeps } from './deps.js';
import { FacadeError, invalid } from './errors.js';
import type { InstanceCheck } from './instance-check.js';

export interface PublishInput {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos?: QoS;
  readonly retain?: boolean;
  /** Forwardable MQTT 5 properties (payloadFormatIndicator, contentType, responseTopic, correlationData, userProperties). */
  readonly properties?: Properties;
  /** Message Expiry Interval, seconds; 0 or absent = never. */
  readonly messageExpiryInterval?: number;
}

/**
 * A random MsgId (32 lower-case hex characters, the form trace records use), for when tracing is
 * off and no trace will ever name the message.
 */
export function newMsgId(): string {
  return randomBytes(16).toString('hex');
}

const FORWARDED_PROPERTIES = ['payloadFormatIndicator', 'contentType', 'responseTopic', 'correlationData', 'userProperties'] as const;

export class Publisher {
  constructor(
    private readonly deps: Pick<ManagementDeps, 'broker' | 'tenancy' | 'msgIdOf'>,
    private readonly check: InstanceCheck,
    private readonly now: () => number,
  ) {}

  /**
   * Publishes a message into an instance as the server (no client, so no ACL; no No Local
   * origin). The topic must be a valid topic name accepted by the instance (strict instances
   * need its parent topic); payload size is checked against the instance and broker limits.
   * Returns the message's MsgId.
   */
  publish(instanceId: string, input: PublishInput, field: { topic: string; payload: string } = { topic: 'topic', payload: 'payload' }): string {
    this.check.require(instanceId);
    const { broker, tenancy } = this.deps;
    const { topic } = input;
    if (!isValidTopicName(topic) || topic.length === 0) throw invalid(field.topic, `"${topic}" is not a valid topic name`);
    if (topic.startsWith('$')) throw invalid(field.topic, 'a backend cannot publish to $ topics');
    const qos = input.qos ?? 1;
    if (qos !== 0 && qos !== 1 && qos !== 2) throw invalid('qos', 'qos must be 0, 1 or 2');
    const instance = tenancy?.get(instanceId);
    if (tenancy !== undefined) {
      const refused = tenancy.admitTopic(instanceId, topic, false);
      if (refused !== null) throw invalid(field.topic, refused.message);
    }
    const maxPayload = instance?.limits.maxPayloadBytes ?? 0;
    if (maxPayload > 0 && input.payload.length > maxPayload) {
      throw new FacadeError('PayloadTooLarge', `payload is ${input.payload.length} bytes, the instance allows ${maxPayload}`, field.payload);
    }
    if (input.payload.length > broker.options.maxPacketSize - topic.length - 16) {
      throw new FacadeError('PayloadTooLarge', `payload is larger than the broker's maxPacketSize`, field.payload);
    }
    let properties: Properties | undefined;
    if (input.properties !== undefined) {
      properties = {};
      for (const name of FORWARDED_PROPERTIES) {
        const value = input.properties[name];
        if (value !== undefined) (properties as Record<string, unknown>)[name] = value;
      }
    }
    const expiry = input.messageExpiryInterval ?? 0;
    if (!Number.isInteger(expiry) || expiry < 0 || expiry > 0xffffffff) throw invalid('messageExpiryInterval', 'must be an integer number of seconds');
    if (expiry > 0) properties = { ...properties, messageExpiryInterval: expiry };
    const message = new Message(topic, input.payload, qos, input.retain ?? false, properties, expiry > 0 ? this.now() + expiry * 1000 : 0, null);
    broker.publish(broker.tenant(instanceId), message);
    return this.deps.msgIdOf?.(message) ?? newMsgId();
  }
}
