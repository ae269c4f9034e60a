/**
 * Bridges the in-memory broker state and the durable Store (src/store). The broker stays the
 * source of truth while running; every change to state that must survive a restart is
 * recorded here synchronously, and the store group-commits it. Acknowledgements that promise
 * durability wait for that commit (see Channel.ack).
 *
 * What is persisted: sessions that outlive their connection (expiry > 0) with their
 * subscriptions, queue, outbound in-flight window and inbound QoS 2 ids; retained messages;
 * wills waiting for their delay. Clean sessions live in memory only: they end with their
 * connection, so there is nothing to restore.
 */
import type { Logger } from 'pino';
import { encodeProperties, decodeProperties } from '../store/properties.js';
import type { DeliveryInfo, InflightRecord, MessageRecord, QueueEntryMaker, Store, StoredQueuePage, StoreQoS, WillRecord } from '../store/types.js';
import { Message } from '../session/message.js';
import type { Delivery, DeliveryPage, Session, SessionJournal, SubscriptionOptions } from '../session/session.js';
import type { ProtocolVersion } from '../protocol/packets.js';
import { storeKey } from './tenant.js';

export class Persistence implements SessionJournal {
  /** True while mutations wait for their commit. */
  private dirty = false;
  private durable: Promise<void> | null = null;
  /** The store's promise that `wrapped` (the last `durable` made) waits for. */
  private storeWait: Promise<void> | null = null;
  private wrapped: Promise<void> | null = null;

  /** The first store message id of this process run (trace numbers of older ones mean nothing now). */
  private firstStoredId = Number.MAX_SAFE_INTEGER;

  /** Finds a session by its store key (set by the broker; for drops over the instance cap). */
  sessionByKey: ((key: string) => Session | undefined) | null = null;

  constructor(
    readonly store: Store,
    private readonly logger: Logger,
  ) {
    store.onDrop((dropped) => {
      for (const entry of dropped) {
        // The oldest entry of a session or, over the instance cap, of another one; or one purged
        // by expiry or retention (housekeeping).
        const traceId = traceOfThisRun(entry.messageId, entry.traceId ?? 0, this.firstStoredId);
        const cause = entry.reason === 'expired' || entry.reason === 'retention' ? null : entry.reason;
        this.sessionByKey?.(entry.clientId)?.storeDropped(entry.seq, cause, traceId);
      }
    });
  }

  /** False while the store cannot write (degraded): persistent work is refused, not acknowledged. */
  get writable(): boolean {
    return this.store.health.ok;
  }

  /**
   * Resolves once everything recorded so far is durable; null when nothing is pending. Rejects
   * when the commit failed: the caller refuses what it was about to acknowledge. (The store
   * reports the failure once, through its health; nothing is logged here per message.)
   */
  whenDurable(): Promise<void> | null {
    if (!this.dirty) return null;
    if (this.durable === null) {
      const storeWait = this.store.whenDurable();
      // The store's promise of its open batch, as for the previous waiter: it covers this
      // caller's work too (the contract: it resolves when everything recorded so far is durable),
      // so the same wrapper serves, not one more promise and reaction per acknowledgement.
      if (storeWait === this.storeWait && this.wrapped !== null) {
        this.durable = this.wrapped;
        return this.durable;
      }
      const durable = storeWait.then(
        () => {
          if (this.durable === durable) {
            this.dirty = false;
            this.durable = null;
          }
        },
        (error: unknown) => {
          if (this.durable === durable) {
            // Settled (as failed): later acknowledgements do not wait on it.
            this.dirty = false;
            this.durable = null;
          }
          this.logger.debug({ err: error }, 'store commit failed; acknowledgement refused');
          throw error;
        },
      );
      this.durable = durable;
      this.storeWait = storeWait;
      this.wrapped = durable;
    }
    return this.durable;
  }

  /**
   * Another module (rules) recorded something in the store in this turn that the next
   * acknowledgement must wait for (e.g. a rule's outbox entry for the PUBLISH being acked).
   */
  recordedElsewhere(): void {
    this.touched();
  }

  private touched(): void {
    this.dirty = true;
    // A commit already awaited covers only what was recorded before it; a new wait is needed.
    this.durable = null;
  }

  // Messages.

  private stored(message: Message): number {
    if (message.storeId === 0) {
      message.storeId = this.store.addMessage({
        topic: message.topic,
        payload: message.payload,
        qos: message.qos,
        retain: message.retain,
        properties: encodeProperties(message.properties),
        expiresAt: message.expiresAt,
        createdAt: Date.now(),
        traceId: message.traceId,
      });
      if (message.storeId < this.firstStoredId) this.firstStoredId = message.storeId;
    }
    return message.storeId;
  }

  private info(delivery: Delivery): DeliveryInfo {
    return {
      messageId: this.stored(delivery.message),
      qos: delivery.qos,
      retain: delivery.retain,
      subscriptionIds: delivery.subscriptionIds ?? null,
      shareGroup: delivery.shared?.group ?? null,
      shareFilter: delivery.shared?.filter ?? null,
    };
  }

  // Sessions.

  sessionOpened(session: Session, protocolVersion: ProtocolVersion): void {
    this.store.putSession({
      clientId: sessionKey(session),
      instanceId: session.instanceId,
      protocolVersion,
      expiryInterval: session.expiryInterval,
      disconnectedAt: null,
    });
    session.journal = this;
    this.touched();
  }

  sessionDisconnected(session: Session): void {
    this.store.setDisconnectedAt(sessionKey(session), Date.now());
    this.touched();
  }

  sessionEnded(session: Session): void {
    if (session.journal === null) return;
    session.journal = null;
    this.store.deleteSession(sessionKey(session));
    this.touched();
  }

  subscribed(session: Session, key: string, options: SubscriptionOptions): void {
    if (session.journal === null) return;
    this.store.putSubscription({
      clientId: sessionKey(session),
      key,
      qos: options.qos,
      noLocal: options.noLocal,
      retainAsPublished: options.retainAsPublished,
      retainHandling: options.retainHandling,
      subscriptionId: options.subscriptionId,
      shareGroup: options.shareGroup,
      filter: options.filter,
    });
    this.touched();
  }

  unsubscribed(session: Session, key: string): void {
    if (session.journal === null) return;
    this.store.deleteSubscription(sessionKey(session), key);
    this.touched();
  }

  // SessionJournal: delivery state of persistent sessions.

  enqueued(session: Session, delivery: Delivery): void {
    delivery.seq = this.store.enqueue(sessionKey(session), this.info(delivery));
    this.touched();
  }

  async readQueue(session: Session, afterSeq: number, limit: number): Promise<DeliveryPage> {
    const page = await this.store.readQueuePage(sessionKey(session), afterSeq, limit);
    return new StoredDeliveries(page, this.firstStoredId);
  }

  unqueued(session: Session, delivery: Delivery): void {
    if (delivery.seq !== undefined && delivery.seq !== 0) {
      this.store.removeQueued(sessionKey(session), delivery.seq);
      delivery.seq = 0;
      this.touched();
    }
  }

  sent(session: Session, delivery: Delivery, packetId: number): void {
    if (delivery.seq !== undefined && delivery.seq !== 0) {
      this.store.moveToInflight(sessionKey(session), delivery.seq, packetId);
      delivery.seq = 0;
      // The store may hold a move back to pair it with its completion (a QoS 1 redelivered under
      // a new packet id after a crash is still at least once). QoS 2 must keep its packet id:
      // its move is written with this turn's batch. A failed commit is reported by store health.
      if (delivery.qos === 2) this.store.whenDurable().catch(() => undefined);
    } else {
      this.store.addInflight(sessionKey(session), packetId, this.info(delivery));
    }
    this.touched();
  }

  released(session: Session, packetId: number): void {
    this.store.releaseInflight(sessionKey(session), packetId);
    this.touched();
  }

  completed(session: Session, packetId: number): void {
    this.store.removeInflight(sessionKey(session), packetId);
    this.touched();
  }

  inboundQos2Added(session: Session, packetId: number): void {
    this.store.addInboundQos2(sessionKey(session), packetId);
    this.touched();
  }

  inboundQos2Removed(session: Session, packetId: number): void {
    this.store.removeInboundQos2(sessionKey(session), packetId);
    this.touched();
  }

  // Retained messages and wills.

  retained(instanceId: string, message: Message): void {
    const topic = storeKey(instanceId, message.topic);
    if (message.payload.length === 0) this.store.deleteRetained(topic);
    else this.store.setRetained(topic, this.stored(message));
    this.touched();
  }

  willScheduled(session: Session, will: Message, publishAt: number): void {
    this.store.putWill({ ...willRecord(session, will), publishAt });
    this.touched();
  }

  /** The will of a connected client, kept in case its node dies (Broker.keepWillsOfConnected). */
  willArmed(session: Session, will: Message, delayMs: number): void {
    this.store.putWill({ ...willRecord(session, will), publishAt: 0, delayMs });
    this.touched();
  }

  willCleared(session: Session): void {
    if (this.store.deleteWill(sessionKey(session))) this.touched();
  }

  // Restoring.

  /** Rebuilds a Message from its record, sharing one object per stored id. */
  messageFrom(record: MessageRecord, cache: Map<number, Message>): Message {
    let message = cache.get(record.id);
    if (message === undefined) {
      message = this.messageOf(record);
      cache.set(record.id, message);
    }
    return message;
  }

  /** A Message of its own from a record. */
  private messageOf(record: MessageRecord): Message {
    const message = messageOfRecord(record);
    message.storeId = record.id;
    message.traceId = traceOfThisRun(record.id, record.traceId ?? 0, this.firstStoredId);
    return message;
  }

  deliveryFrom(info: DeliveryInfo | InflightRecord, message: Message): Delivery {
    return {
      message,
      qos: info.qos,
      retain: info.retain,
      subscriptionIds: info.subscriptionIds === null ? undefined : [...info.subscriptionIds],
      shared: shareOf(info.shareGroup, info.shareFilter),
    };
  }

  willFrom(record: WillRecord): Message {
    return messageOfRecord(record);
  }
}

/**
 * A stored message's trace number (0: none) when it was stored in this process run, else 0: trace
 * numbers restart at 0 with each run, so an older one would name another message. A message paged
 * back in during the run that stored it keeps its MsgId in its traces (push_offline).
 */
function traceOfThisRun(messageId: number, traceId: number, firstStoredId: number): number {
  return traceId !== 0 && messageId >= firstStoredId ? traceId : 0;
}

/** A delivery's shared-subscription origin from its stored group and filter (null: not shared). */
function shareOf(group: string | null, filter: string | null): Delivery['shared'] {
  return group === null ? null : { group, filter: filter ?? '' };
}

/** A Message from the fields a stored message and a stored will share. */
function messageOfRecord(record: MessageRecord | WillRecord): Message {
  return new Message(record.topic, record.payload, record.qos, record.retain, decodeProperties(record.properties), record.expiresAt, null);
}

/**
 * A stored page as a session takes it: each entry becomes its Message and Delivery only when
 * taken, so a page read ahead holds nothing per entry (the store's page stays columnar) and what
 * is taken is sent and dies young. They are made here in one step from the page's fields (`make`),
 * not through a record, a Message and a Delivery made by three functions: on a drain's first run
 * V8 compiles that path while it runs (bench/RESULTS.md issue 15 §34, §37).
 */
export class StoredDeliveries implements DeliveryPage, QueueEntryMaker<Delivery> {
  private next = 0;

  constructor(
    private readonly page: StoredQueuePage,
    /** Persistence's first store id of this process run when the page was read. */
    private readonly firstStoredId: number,
  ) {}

  get left(): number {
    return this.page.length - this.next;
  }

  get bytes(): number {
    return this.page.bytes;
  }

  get lastSeq(): number {
    return this.page.length === 0 ? 0 : this.page.seq(this.page.length - 1);
  }

  nextSeq(): number {
    return this.page.seq(this.next);
  }

  take(): Delivery | undefined {
    if (this.next >= this.page.length) return undefined;
    return this.page.take(this.next++, this);
  }

  /**
   * The Delivery of a queued entry, of the same shapes as a live publish's (Message's constructor,
   * the router's literal, `seq` set after), so the send path meets one map of each.
   */
  make(
    seq: number,
    messageId: number,
    qos: StoreQoS,
    retain: boolean,
    subscriptionIds: number[] | null,
    shareGroup: string | null,
    shareFilter: string | null,
    topic: string,
    payload: Buffer,
    messageQos: StoreQoS,
    messageRetain: boolean,
    properties: Buffer | null,
    expiresAt: number,
    _createdAt: number,
    traceId: number,
  ): Delivery {
    const message = new Message(topic, payload, messageQos, messageRetain, decodeProperties(properties), expiresAt, null);
    message.storeId = messageId;
    message.traceId = traceOfThisRun(messageId, traceId, this.firstStoredId);
    const delivery: Delivery = {
      message,
      qos,
      retain,
      subscriptionIds: subscriptionIds ?? undefined,
      shared: shareOf(shareGroup, shareFilter),
    };
    delivery.seq = seq;
    return delivery;
  }
}

/**
 * The last key made, by its parts: a draining session names itself in every delivery op (a move,
 * a completion), and a key concatenated anew is a new string that each of the store's Map lookups
 * flattens and hashes again (bench/RESULTS.md issue 15 §31). Strings only: no session is kept alive.
 */
let lastInstanceId = '';
let lastClientId = '';
let lastKey = storeKey('', '');

/** Sessions of all instances share the store: their records are keyed by instance too. */
function sessionKey(session: Session): string {
  const { instanceId, clientId } = session;
  if (clientId !== lastClientId || instanceId !== lastInstanceId) {
    lastInstanceId = instanceId;
    lastClientId = clientId;
    lastKey = storeKey(instanceId, clientId);
  }
  return lastKey;
}

/** A will as the store keeps it, without its timing. */
function willRecord(session: Session, will: Message): Omit<WillRecord, 'publishAt'> {
  return {
    clientId: sessionKey(session),
    topic: will.topic,
    payload: will.payload,
    qos: will.qos,
    retain: will.retain,
    properties: encodeProperties(will.properties),
    expiresAt: will.expiresAt,
  };
}
