/**
 * What fills the AMQP endpoint's queues, through the broker's extension points:
 *
 *   MQTT client PUBLISH  <parent>/...  ─▶ built-in queue <parent>          (if it exists)
 *   client connect / DISCONNECT / close ─▶ built-in queue STATUS.<groupId>  (if it exists)
 *
 * A queue exists once a backend declared or consumed it (the declaration is kept in the store, so
 * the queue keeps filling across restarts while no backend is connected, and in a cluster reaches
 * every node through the store's change feed) or once anything was
 * appended to it through the REST API. Appends run in the broker's turn and join the group
 * commit of the PUBLISH's PUBACK: an acknowledged device message is in the queue.
 * Only messages from MQTT clients are queued (reference §6.1), never server-made ones.
 */
import type { Broker } from '../broker/broker.js';
import type { Message } from '../session/message.js';
import type { Store } from '../store/types.js';
import { pages } from '../tenancy/registry.js';
import { messageProperties, statusBody } from '../rules/connectors/properties.js';
import type { StatusEventType } from '../rules/connectors/index.js';
import type { BuiltinQueueAccess } from '../rules/queues.js';
import { groupOf, statusEvent } from '../rules/status-event.js';
import type { ClientHandle } from '../broker/hooks.js';

const COLLECTION = 'amqp.queues';
/** The built-in queue behind `basic.consume(queue="STATUS", {GROUP_ID})`. */
export function statusQueueName(groupId: string): string {
  return `STATUS.${groupId}`;
}

export class AmqpIngest {
  private readonly detach: Array<() => void> = [];
  /** Messages queued for backends (metrics). */
  queued = 0;

  constructor(
    private readonly broker: Broker,
    private readonly store: Store,
    private readonly queues: BuiltinQueueAccess,
    private readonly msgIdOf: (message: Message) => string | undefined,
  ) {}

  /**
   * Re-declares the queues backends declared before the restart, then starts listening. In a
   * cluster a queue declared through another node's AMQP endpoint is declared here too as soon as
   * its record arrives (docs/cluster.md, "Built-in queues across nodes"), so devices publishing on
   * this node feed it without a restart.
   */
  async start(): Promise<void> {
    this.detach.push(
      this.store.onRecordChanged?.(COLLECTION, (key, value) => {
        // A deleted declaration: only an instance deletion removes them, and that drops the instance's queues on every node itself.
        if (value !== undefined) this.redeclare(key);
      }) ?? (() => undefined),
    );
    for await (const { key } of pages(this.store, COLLECTION)) this.redeclare(key);
    const ext = this.broker.extensions;
    this.detach.push(
      ext.onMessagePublished((instanceId, message, publisher) => {
        // No queue in the instance (no backend declared one): nothing to find, not even the parent topic.
        if (publisher === null || !this.queues.hasAny(instanceId)) return;
        const slash = message.topic.indexOf('/');
        const parent = slash < 0 ? message.topic : message.topic.slice(0, slash); // as splitTopic, without its object: this runs per message
        if (!this.queues.has(instanceId, parent)) return;
        const props = message.properties;
        const now = Date.now();
        const properties = messageProperties({
          clientId: publisher.clientId,
          topic: message.topic,
          qos: message.qos,
          cleanSession: publisher.expiryInterval === 0,
          bornTime: now,
          msgId: this.msgIdOf(message) ?? '',
          payload: message.payload,
          ...(props?.userProperties === undefined ? {} : { userProperties: props.userProperties.map(([key, value]) => ({ key, value })) }),
          ...(props?.contentType === undefined ? {} : { contentType: props.contentType }),
          ...(message.expiresAt === 0 ? {} : { messageExpiryInterval: Math.max(0, Math.round((message.expiresAt - now) / 1000)) }),
        });
        this.queues.appendNoWait(instanceId, parent, { payload: message.payload, properties });
        this.queued++;
        // The PUBACK of this message waits for the commit that holds the queue entry.
        this.broker.persistence?.recordedElsewhere();
      }),
      ext.onClientConnected((client) => this.status(client, 'connect')),
      ext.onClientClosed((client, disconnectPacket) => {
        if (disconnectPacket) this.status(client, 'disconnect');
        this.status(client, 'tcpclean');
      }),
    );
  }

  /** Makes the queue exist and remembers that it does (durable once the store commits). */
  declare(instanceId: string, name: string): void {
    if (this.queues.has(instanceId, name)) return;
    this.queues.declare(instanceId, name);
    this.store.putRecord(COLLECTION, `${instanceId}\u001f${name}`, { at: Date.now() });
  }

  /** A declaration read from the store (this node's before a restart, or another node's). */
  private redeclare(key: string): void {
    const [instanceId, name] = key.split('\u001f') as [string, string];
    this.queues.declare(instanceId, name);
  }

  /** Forgets the declarations of a deleted instance (its queues are dropped by the rules runtime). */
  dropInstance(instanceId: string): void {
    (async () => {
      for await (const { key } of pages(this.store, COLLECTION, `${instanceId}\u001f`)) this.store.deleteRecord(COLLECTION, key);
    })().catch(() => undefined); // only when the store is closing; a stale record re-creates an empty queue
  }

  close(): void {
    for (const off of this.detach.splice(0)) off();
  }

  private status(client: ClientHandle, eventType: StatusEventType): void {
    const name = statusQueueName(groupOf(client.clientId));
    if (!this.queues.has(client.instanceId, name)) return;
    const event = statusEvent(client, eventType);
    this.queues.appendNoWait(client.instanceId, name, { payload: statusBody(event), properties: { eventType, clientId: client.clientId } });
    this.queued++;
  }
}
