/**
 * Messages between nodes on core NATS.
 *
 * Out: every message this node routes (client PUBLISHes, wills, API and rule publishes) is
 * published once on its topic's subject (subjects.ts); NATS hands it to each node with a
 * matching filter. A P2P message whose target has no session here goes to the target's P2P
 * subject, which only the node holding that session subscribes to. Retained messages also go to
 * every node, with their versions (retained-sync.ts).
 *
 * QoS 1/2 from a client: the publisher's PUBACK/PUBREC waits until every other node with a
 * matching filter (interest.ts) has accepted the message: routed it to its subscribers and made
 * durable what its persistent sessions queued — the promise a single node gives its publisher.
 * A node that does not answer within clusterAckTimeoutMs, or cannot store, makes the ack a
 * refusal (MQTT 5: 0x80; 3.1.1: the connection closes and the client sends again): never
 * acknowledged and then lost, duplicates only as QoS 1 allows.
 *
 * In: a node may hold several subscriptions matching one subject and NATS then delivers one copy
 * per subscription; a node's messages arrive in the order it sent them, so the highest sequence
 * seen per origin drops the extra copies. The message is routed through the local subscription
 * index, which applies the exact MQTT rules (`$` topics, No Local, shared groups).
 */
import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import type { Publisher } from '../broker/extensions.js';
import { Message } from '../session/message.js';
import { decodeEnvelope, encodeEnvelope, type Envelope } from './envelope.js';
import type { Interest, SharedTarget } from './interest.js';
import type { Subjects } from './subjects.js';

/** Second topic level that marks a point-to-point message (as src/broker/router.ts). */
const P2P_LEVEL = '/p2p/';
/** Messages held at most while sessions move here (past it they go unanswered). */
const MAX_HELD = 100_000;
/** Origins remembered for duplicate detection (restarted nodes come back under a new origin). */
const MAX_ORIGINS = 1024;

interface PendingAck {
  readonly waiting: Set<string>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface Ack {
  readonly seq: number;
  readonly from: string;
  readonly verdict: string;
}

export class ClusterAckError extends Error {
  override readonly name = 'ClusterAckError';
}

export interface RoutingStats {
  sent: number;
  received: number;
  duplicates: number;
  acksRefused: number;
  unreadable: number;
}

export class ClusterRouting {
  /** This process's origin: node id plus a boot nonce, so a restarted node's sequence starts afresh. */
  readonly origin: string;
  private seq = 0;
  private readonly lastSeq = new Map<string, number>();
  private readonly pending = new Map<number, PendingAck>();
  private connection: NatsConnection | null = null;
  /** While sessions move here (hold/release), messages from other nodes wait in `held`, in order. */
  private holding = 0;
  private held: Array<[string, Uint8Array, string | undefined, SharedTarget | null]> = [];
  readonly stats: RoutingStats = { sent: 0, received: 0, duplicates: 0, acksRefused: 0, unreadable: 0 };

  constructor(
    private readonly broker: Broker,
    private readonly subjects: Subjects,
    private readonly interest: Interest,
    private readonly nodeId: string,
    private readonly ackTimeoutMs: number,
    private readonly logger: Logger,
  ) {
    this.origin = `${nodeId}#${randomBytes(4).toString('hex')}`;
  }

  attach(connection: NatsConnection): void {
    this.connection = connection;
    connection.subscribe(this.subjects.acks(this.nodeId), { callback: (err, msg) => void (err === null && this.onAck(msg.data)) });
  }

  /** The broker's messagePublished listener: sends the message to the nodes that want it. */
  published(instanceId: string, message: Message, publisher: Publisher | null): void {
    const connection = this.connection;
    if (connection === null || connection.isClosed()) {
      // Cut off from the other nodes: QoS 0 stays local; a client's QoS 1/2 is refused if
      // another node is known to want it (it could not be told).
      this.sharedLocally(instanceId, message);
      if (message.qos > 0 && publisher !== null && this.interest.nodesFor(instanceId, message.topic).size > 0) {
        this.broker.holdAck(Promise.reject(new ClusterAckError('not connected to NATS')));
      }
      return;
    }
    const topic = message.topic;
    const p2p = topic.indexOf(P2P_LEVEL);
    if (p2p > 0 && topic.indexOf('/') === p2p) {
      this.sendP2p(connection, instanceId, message, topic.slice(p2p + P2P_LEVEL.length), publisher);
      return;
    }
    const nodes = this.interest.nodesFor(instanceId, topic);
    const groups = this.interest.groupsFor(instanceId, topic);
    // No other node wants it (their announcements travel as fast as their NATS subscriptions):
    // nothing to encode or send, so traffic that stays on one node costs one index lookup.
    if (nodes.size === 0 && groups.size === 0) return;
    const wantsAck = message.qos > 0 && publisher !== null;
    const seq = ++this.seq;
    if (wantsAck) {
      const waiting = nodes;
      for (const group of groups) waiting.add(`g:${group}`);
      // A node that left with sessions nobody has taken over yet cannot accept it (interest.ts).
      const orphan = this.interest.orphanIn(nodes);
      if (orphan !== null) this.broker.holdAck(this.counted(Promise.reject(new ClusterAckError(`node ${orphan} left the cluster; its sessions are not taken over yet`))));
      else this.broker.holdAck(this.awaitAcks(seq, waiting));
    }
    const reply = wantsAck ? { reply: this.subjects.acks(this.nodeId) } : undefined;
    const data = this.envelope(message, wantsAck, topic, seq);
    connection.publish(this.subjects.topic(instanceId, topic), data, reply);
    // One copy for all share groups: NATS gives it to one node of each group's queue (this one too).
    if (groups.size > 0) connection.publish(this.subjects.sharedTopic(instanceId, topic), data, reply);
    this.stats.sent++;
  }

  /** Cut off from NATS: the share groups with members here get the message from here (the others cannot be told). */
  private sharedLocally(instanceId: string, message: Message): void {
    for (const key of this.interest.groupsFor(instanceId, message.topic)) {
      const at = key.indexOf('\u001f');
      this.broker.deliverToShared(instanceId, key.slice(0, at), key.slice(at + 1), message);
    }
  }

  private sendP2p(connection: NatsConnection, instanceId: string, message: Message, clientId: string, publisher: Publisher | null): void {
    if (this.broker.registry.session(instanceId, clientId) !== undefined) return; // delivered here
    const subject = this.subjects.p2p(instanceId, clientId);
    const data = this.envelope(message, message.qos > 0 && publisher !== null, message.topic, ++this.seq);
    this.stats.sent++;
    if (message.qos === 0 || publisher === null) {
      connection.publish(subject, data);
      return;
    }
    // One node at most holds the session: its answer is the acceptance. No responders = no
    // session anywhere, acknowledged as a single node does (the message had no receiver).
    const request = connection.request(subject, data, { timeout: this.ackTimeoutMs }).then(
      (reply) => {
        if (reply.string() !== 'ok') throw new ClusterAckError(`node refused the message: ${reply.string()}`);
      },
      (err: Error) => {
        if (/no responders/i.test(err.message) || (err as { code?: string }).code === '503') {
          // Unless the session may be one of a node that left, which nobody has taken over yet.
          const orphan = this.interest.orphanIn(this.interest.orphaned);
          if (orphan === null) return;
          throw new ClusterAckError(`no node holds ${clientId}'s session now; node ${orphan} left and its sessions are not taken over yet`);
        }
        throw new ClusterAckError(`P2P target did not accept the message: ${err.message}`);
      },
    );
    this.broker.holdAck(this.counted(request));
  }

  private envelope(message: Message, wantsAck: boolean, topic: string, seq = 0): Uint8Array {
    const e: Envelope = {
      origin: this.origin,
      seq,
      topic,
      qos: message.qos,
      retain: message.retain,
      wantsAck,
      expiresAt: message.expiresAt,
      properties: message.properties,
      payload: message.payload,
    };
    return encodeEnvelope(e);
  }

  private awaitAcks(seq: number, waiting: Set<string>): Promise<void> {
    return this.counted(
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending.delete(seq);
          reject(new ClusterAckError(`no acceptance within ${this.ackTimeoutMs} ms from ${[...waiting].join(', ')}`));
        }, this.ackTimeoutMs);
        timer.unref();
        this.pending.set(seq, { waiting, resolve, reject, timer });
      }),
    );
  }

  private counted(wait: Promise<void>): Promise<void> {
    return wait.catch((err: unknown) => {
      this.stats.acksRefused++;
      this.logger.warn({ err: (err as Error).message }, 'QoS 1/2 message not accepted by the cluster; its acknowledgement is refused');
      throw err;
    });
  }

  /**
   * `{"seq", "from", "verdict"}` from a node that accepted ("ok") or refused a message of ours;
   * `from` is the node id, or `g:<group>\x1f<filter>` for a share group's delivery.
   */
  private onAck(data: Uint8Array): void {
    let ack: Ack;
    try {
      ack = JSON.parse(Buffer.from(data).toString('utf8')) as Ack;
    } catch {
      this.stats.unreadable++;
      return;
    }
    const pending = this.pending.get(ack.seq);
    if (pending === undefined || !pending.waiting.has(ack.from)) return;
    if (ack.verdict !== 'ok') {
      this.settle(ack.seq, pending, new ClusterAckError(`${ack.from} refused the message: ${ack.verdict}`));
      return;
    }
    pending.waiting.delete(ack.from);
    if (pending.waiting.size === 0) this.settle(ack.seq, pending, null);
  }

  private settle(seq: number, pending: PendingAck, error: Error | null): void {
    clearTimeout(pending.timer);
    this.pending.delete(seq);
    if (error === null) pending.resolve();
    else pending.reject(error);
  }

  /**
   * A node left the cluster before accepting: what waited for it is refused at once (its
   * persistent sessions may come back with it, without the message), not acknowledged.
   */
  nodeLeft(nodeId: string): void {
    for (const [seq, pending] of this.pending) {
      if (pending.waiting.has(nodeId)) this.settle(seq, pending, new ClusterAckError(`node ${nodeId} left the cluster before accepting the message`));
    }
  }

  /**
   * A message from another node, on a topic subject (interest.ts), a P2P subject (registry), or
   * the shared subject of one of this node's share groups (`shared`; this node's own messages too).
   */
  received(subject: string, data: Uint8Array, reply: string | undefined, shared: SharedTarget | null = null): void {
    if (this.holding > 0) {
      // Unanswered past the cap: its publisher is refused after clusterAckTimeoutMs, never acknowledged.
      if (this.held.length < MAX_HELD) this.held.push([subject, data, reply, shared]);
      return;
    }
    let e: Envelope;
    try {
      e = decodeEnvelope(data);
    } catch (err) {
      this.stats.unreadable++;
      this.logger.warn({ subject, err: (err as Error).message }, 'unreadable message from another node dropped');
      return;
    }
    if (shared !== null) {
      this.receivedShared(e, shared, reply);
      return;
    }
    if (e.origin === this.origin) return;
    const isP2p = subject.startsWith(`${this.subjects.prefix}.p.`);
    if (!isP2p) {
      const last = this.lastSeq.get(e.origin) ?? 0;
      if (e.seq <= last) {
        this.stats.duplicates++;
        return;
      }
      if (!this.lastSeq.has(e.origin) && this.lastSeq.size >= MAX_ORIGINS) this.lastSeq.delete(this.lastSeq.keys().next().value!);
      this.lastSeq.set(e.origin, e.seq);
    }
    this.stats.received++;
    const instanceId = subject.split('.')[2]!; // <prefix>.m|p.<instanceId>.…
    const message = this.messageOf(e);
    this.broker.deliverFromPeer(instanceId, message);
    this.answer(reply, e, isP2p ? null : this.nodeId, true);
  }

  /** A session is moving here (handover.ts): messages from other nodes wait until it is here. */
  hold(): void {
    this.holding++;
  }

  /** The session is here (or did not come): what waited is routed now, in order. */
  release(): void {
    if (this.holding === 0 || --this.holding > 0) return;
    const held = this.held;
    this.held = [];
    for (const [subject, data, reply, shared] of held) this.received(subject, data, reply, shared);
  }

  /** One delivery to one member of this node's share group, chosen by NATS among the group's nodes. */
  private receivedShared(e: Envelope, shared: SharedTarget, reply: string | undefined): void {
    if (e.origin !== this.origin) this.stats.received++;
    const delivered = this.broker.deliverToShared(shared.instanceId, shared.group, shared.filter, this.messageOf(e));
    this.answer(reply, e, `g:${shared.group}\u001f${shared.filter}`, delivered);
  }

  /**
   * Tells the publishing node that this node accepted the message, once what it queued is durable.
   * `from` null: a P2P request, answered with the bare verdict.
   */
  private answer(reply: string | undefined, e: Envelope, from: string | null, accepted: boolean): void {
    if (reply === undefined || reply === '' || !e.wantsAck) return; // the NATS client gives '' for "no reply"
    const send = (verdict: string): void => {
      const connection = this.connection;
      if (connection === null || connection.isClosed()) return;
      try {
        connection.publish(reply, from === null ? verdict : JSON.stringify({ seq: e.seq, from, verdict } satisfies Ack));
      } catch (err) {
        this.logger.warn({ reply, err: (err as Error).message }, 'could not answer another node');
      }
    };
    if (!accepted) {
      send('no member of the share group here');
      return;
    }
    const durable = this.broker.persistence?.whenDurable() ?? null;
    if (durable === null) send('ok');
    else durable.then(() => send('ok'), (err: Error) => send(`store: ${err.message}`));
  }

  private messageOf(e: Envelope): Message {
    // Never seen by this node's publish path (Broker.deliverFromPeer), so never sent on again.
    return new Message(e.topic, e.payload as Buffer, e.qos, e.retain, e.properties, e.expiresAt, null);
  }

  close(): void {
    for (const [seq, pending] of this.pending) this.settle(seq, pending, new ClusterAckError('node stopping'));
    this.connection = null;
  }
}
