/** Subscriptions of the sessions of an instance. */
import type { QoS } from '../protocol/packets.js';
import type { ManagementDeps } from './deps.js';
import type { InstanceCheck } from './instance-check.js';
import { byKey, paginate, type Page, type PageQuery } from './paging.js';

export interface SubscriptionView {
  readonly clientId: string;
  readonly topicFilter: string;
  readonly shareGroup: string | null;
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: number;
  readonly subscriptionId: number;
}

export class Subscriptions {
  constructor(
    private readonly deps: Pick<ManagementDeps, 'broker'>,
    private readonly check: InstanceCheck,
  ) {}

  /** One session's subscriptions, by share group then filter ([] without a session). */
  ofSession(instanceId: string, clientId: string): SubscriptionView[] {
    const session = this.deps.broker.session(clientId, instanceId);
    if (session === undefined) return [];
    return [...session.subscriptions.values()]
      .map((s) => ({
        clientId,
        topicFilter: s.filter,
        shareGroup: s.shareGroup,
        qos: s.qos,
        noLocal: s.noLocal,
        retainAsPublished: s.retainAsPublished,
        retainHandling: s.retainHandling,
        subscriptionId: s.subscriptionId,
      }))
      .sort(byKey((s) => `${s.shareGroup ?? ''}\u0000${s.topicFilter}`));
  }

  /** Subscriptions of an instance, filtered by client id and/or exact topic filter. */
  list(instanceId: string, filter: { clientId?: string; topicFilter?: string } = {}, page: PageQuery = {}): Page<SubscriptionView> {
    this.check.require(instanceId);
    const out: SubscriptionView[] = [];
    const clientIds = filter.clientId !== undefined ? [filter.clientId] : [...this.deps.broker.registry.sessionIds(instanceId)].sort();
    for (const clientId of clientIds) {
      for (const s of this.ofSession(instanceId, clientId)) {
        if (filter.topicFilter !== undefined && s.topicFilter !== filter.topicFilter) continue;
        out.push(s);
      }
    }
    return paginate(out, (s) => `${s.clientId}\u0000${s.shareGroup ?? ''}\u0000${s.topicFilter}`, page);
  }
}
