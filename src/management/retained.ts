/** Retained messages of an instance: list by filter, read, delete (without publishing). */
import type { Properties, QoS } from '../protocol/packets.js';
import { isValidTopicFilter } from '../protocol/topic.js';
import type { Message } from '../session/message.js';
import type { ManagementDeps } from './deps.js';
import { FacadeError, invalid } from './errors.js';
import type { InstanceCheck } from './instance-check.js';
import { byKey, paginate, type Page, type PageQuery } from './paging.js';

export interface RetainedView {
  readonly topic: string;
  readonly qos: QoS;
  readonly payload: Buffer;
  readonly properties?: Properties;
  /** ms since the epoch, 0 = never */
  readonly expiresAt: number;
}

function retainedView(m: Message): RetainedView {
  return { topic: m.topic, qos: m.qos, payload: m.payload, ...(m.properties === undefined ? {} : { properties: m.properties }), expiresAt: m.expiresAt };
}

export class Retained {
  constructor(
    private readonly deps: Pick<ManagementDeps, 'broker'>,
    private readonly check: InstanceCheck,
    private readonly now: () => number,
  ) {}

  list(instanceId: string, topicFilter = '#', page: PageQuery = {}): Page<RetainedView> {
    this.check.require(instanceId);
    if (!isValidTopicFilter(topicFilter)) throw invalid('filter', `"${topicFilter}" is not a valid topic filter`);
    const tenant = this.deps.broker.tenants.get(instanceId);
    const messages = tenant === undefined ? [] : tenant.retained.match(topicFilter, this.now());
    return paginate(messages.map(retainedView).sort(byKey((m) => m.topic)), (m) => m.topic, page);
  }

  get(instanceId: string, topic: string): RetainedView {
    this.check.require(instanceId);
    const message = this.deps.broker.tenants.get(instanceId)?.retained.get(topic);
    if (message === undefined || message.isExpired(this.now())) {
      throw new FacadeError('RetainedMessageNotFound', `no retained message on ${topic}`, 'topic');
    }
    return retainedView(message);
  }

  /** Deletes a retained message without publishing anything to subscribers. */
  delete(instanceId: string, topic: string): void {
    this.check.require(instanceId);
    if (!this.deps.broker.deleteRetained(instanceId, topic)) {
      throw new FacadeError('RetainedMessageNotFound', `no retained message on ${topic}`, 'topic');
    }
  }
}
