/**
 * An inbound rule: messages read from a source become MQTT publishes under the rule's parent
 * topic (P2P ones go to their client only), and the source is acknowledged only once the publish
 * is durable for its persistent subscribers. A malformed message (no topic, bad `qoslevel`, ...)
 * is dead-lettered with the reason and acknowledged, never retried forever and never a crash.
 */
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import type { Properties } from '../protocol/packets.js';
import { Message } from '../session/message.js';
import type { Store } from '../store/types.js';
import type { InboundItem, SourceConnector } from './connectors/index.js';
import type { DispatchStats } from './dispatcher.js';

export class InboundRule {
  readonly stats: DispatchStats = { delivered: 0, failed: 0, retried: 0, deadLettered: 0, lastError: null, lastErrorAt: null };

  constructor(
    private readonly ruleId: string,
    private readonly instanceId: string,
    readonly source: SourceConnector,
    private readonly broker: Broker,
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly deadLog: string,
  ) {}

  async start(): Promise<void> {
    await this.source.start();
    this.source.consume((item) => this.handle(item));
  }

  async stop(): Promise<void> {
    await this.source.stop();
  }

  private async handle(item: InboundItem): Promise<void> {
    if (!item.ok) {
      const at = Date.now();
      const meta = { v: 1, t: 'i', id: item.record.id, properties: item.record.properties, error: item.error.message };
      this.store.appendLog(this.deadLog, JSON.stringify({ v: 1, item: JSON.stringify(meta), reason: item.error.message, attempts: 1, at }), item.record.payload, at);
      this.stats.deadLettered++;
      this.stats.lastError = item.error.message;
      this.stats.lastErrorAt = at;
      await this.store.whenDurable();
      return;
    }
    const m = item.message;
    const now = Date.now();
    let properties: Properties | undefined;
    if (m.userProperties !== undefined || m.contentType !== undefined || m.messageExpiryInterval !== undefined) {
      properties = {};
      if (m.userProperties !== undefined) properties.userProperties = m.userProperties.map((p) => [p.key, p.value] as [string, string]);
      if (m.contentType !== undefined) properties.contentType = m.contentType;
      if (m.messageExpiryInterval !== undefined && m.messageExpiryInterval > 0) properties.messageExpiryInterval = m.messageExpiryInterval;
    }
    const expiresAt = m.messageExpiryInterval !== undefined && m.messageExpiryInterval > 0 ? now + m.messageExpiryInterval * 1000 : 0;
    const message = new Message(m.topic, m.payload, m.qos, false, properties, expiresAt, null);
    try {
      if (m.p2pClientId !== undefined) this.broker.deliverTo(this.instanceId, m.p2pClientId, message);
      else this.broker.publish(this.broker.tenant(this.instanceId), message);
      // Acknowledge the source only once the publish is durable for persistent subscribers.
      await this.broker.persistence?.whenDurable();
      this.stats.delivered++;
    } catch (error) {
      // Not durable (the store cannot write): the source keeps the message and offers it again.
      this.stats.failed++;
      this.stats.retried++;
      this.stats.lastError = (error as Error).message;
      this.stats.lastErrorAt = Date.now();
      this.logger.debug({ rule: this.ruleId, err: error }, 'inbound publish not durable; the source will offer it again');
      throw error;
    }
  }
}
