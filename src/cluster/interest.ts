/**
 * Routing interest, both ways.
 *
 * Local: each filter this node's sessions subscribe to is refcounted per instance; the first
 * subscription to a filter subscribes the node to its NATS subjects (subjects.ts), the last
 * unsubscribe drops them. NATS then carries a message to every node whose filters match it.
 *
 * Remote: every node also announces its filters on `<prefix>.i` (a delta per change, numbered;
 * its full list on request or after a gap), so a publishing node knows which nodes must accept a
 * QoS 1/2 message before its publisher is acknowledged (routing.ts). A node that leaves (clean
 * stop, or gone from presence) loses its entries — with sessions in JetStream only once another
 * node has taken its sessions over (orphans below), so nothing is acknowledged for them meanwhile.
 *
 * A filter's NATS subjects stay subscribed for a grace period after its last unsubscribe, so a
 * node that still counts this one as interested (its delta is in flight) gets an answer.
 *
 * Share groups: a node with members of group G on filter F joins the NATS queue group of (G, F)
 * on F's `<prefix>.s.…` subjects, so NATS hands each message to one node per group; the node then
 * picks one of its members (Broker.deliverToShared). Their queue subscriptions go at once with the
 * last member (no grace: another node of the group must get the next message). Every node knows
 * every group of the cluster (its own and the announced ones), to publish on the shared subject
 * only when a group matches and to know which groups must accept a QoS 1/2 message.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { SubscriptionTrie, type MatchVisitor } from '../topic/trie.js';
import type { Subjects } from './subjects.js';

const UNSUBSCRIBE_GRACE_MS = 2000;

/** `group` is '' for a plain subscription. */
type Announcement =
  | { readonly node: string; readonly v: number; readonly op: 'add' | 'remove'; readonly instanceId: string; readonly filter: string; readonly group: string }
  | { readonly node: string; readonly v: number; readonly op: 'full'; readonly filters: ReadonlyArray<readonly [string, string, string]> }
  | { readonly node: string; readonly v: number; readonly op: 'bye' }
  | { readonly node: string; readonly v: number; readonly op: 'adopted'; readonly of: string };

interface RemoteNode {
  v: number;
  readonly filters: Set<string>;
}

const SEP = '\u001f';

/** Who gets a message from a node's NATS subscription: a share group of this node, or null for its plain subscribers. */
export interface SharedTarget {
  readonly instanceId: string;
  readonly group: string;
  readonly filter: string;
}

export type MessageHandler = (subject: string, data: Uint8Array, reply: string | undefined, shared: SharedTarget | null) => void;

function keyOf(instanceId: string, group: string, filter: string): string {
  return instanceId + SEP + group + SEP + filter;
}

function splitKey(key: string): [instanceId: string, group: string, filter: string] {
  const a = key.indexOf(SEP);
  const b = key.indexOf(SEP, a + 1);
  return [key.slice(0, a), key.slice(a + 1, b), key.slice(b + 1)];
}

export class Interest {
  /** `<instanceId>\x1f<group>\x1f<filter>` → subscriptions of this node. */
  private readonly local = new Map<string, number>();
  /** `<subject> <queue>` → [subscription, filters using it]. */
  private readonly subjects = new Map<string, { sub: Subscription; users: number; timer: NodeJS.Timeout | null }>();
  private readonly remote = new Map<string, RemoteNode>();
  private readonly remoteTries = new Map<string, SubscriptionTrie<string, true>>();
  /** Share groups of the whole cluster per instance: `<group>\x1f<filter>` subscribers, with how many nodes have it. */
  private readonly groupTries = new Map<string, SubscriptionTrie<string, true>>();
  private readonly groupNodes = new Map<string, number>();
  private version = 0;
  /**
   * Nodes that left while their sessions live on in JetStream and nobody has taken them over yet:
   * their filters are kept, and a QoS 1/2 message matching them is refused (routing.ts) until the
   * node taking them over says so ('adopted'), or the node is back (its full list).
   */
  private readonly orphans = new Set<string>();
  /** Set when sessions outlive their node (clusterStore jetstream): a node that leaves leaves orphans. */
  keepsOrphans = false;
  private connection: NatsConnection | null = null;
  /** Waiting for another node's announcements to reach a version (whenHeard). */
  private heardWaiters: Array<{ readonly node: string; readonly v: number; readonly done: (heard: boolean) => void }> = [];
  private readonly visitor: MatchVisitor<string, true>;
  private matched: Set<string> | null = null;

  constructor(
    private readonly subjectsOf: Subjects,
    private readonly nodeId: string,
    private readonly onMessage: MessageHandler,
    private readonly logger: Logger,
  ) {
    this.visitor = {
      subscriber: (node) => this.matched!.add(node),
      sharedGroup: () => {},
    };
  }

  /** Starts on a (re)opened connection: subscribes every local filter, announces and asks for the others' lists. */
  attach(connection: NatsConnection): void {
    this.connection = connection;
    for (const entry of this.subjects.values()) entry.sub.unsubscribe();
    this.subjects.clear();
    for (const key of this.local.keys()) this.subscribeFilter(...splitKey(key));
    connection.subscribe(this.subjectsOf.interest(), { callback: (err, msg) => void (err === null && this.onAnnouncement(msg.data)) });
    connection.subscribe(this.subjectsOf.interestSync(), {
      callback: (err, msg) => {
        if (err !== null) return;
        const target = msg.string();
        if (target === '*' || target === this.nodeId) this.announceFull();
      },
    });
    this.announceFull();
    connection.publish(this.subjectsOf.interestSync(), '*');
  }

  /** After a reconnect: the others may have dropped this node meanwhile; tell them again and ask them. */
  resync(): void {
    this.announceFull();
    this.connection?.publish(this.subjectsOf.interestSync(), '*');
  }

  /** The version of this node's announcements (written into its presence record). */
  get announced(): number {
    return this.version;
  }

  /** Asks one node for its whole list (it answers on `<prefix>.i`, to everyone). */
  requestFull(nodeId: string): void {
    const connection = this.connection;
    if (connection === null || connection.isClosed()) return;
    connection.publish(this.subjectsOf.interestSync(), nodeId);
  }

  /**
   * The interest digest, each heartbeat: every node in presence must be known here at least at
   * the version its record carries. A node that is unknown (never heard, or dropped while
   * presence could not be read) or behind (a lost delta) is asked for its whole list.
   */
  reconcile(nodes: ReadonlyMap<string, { readonly interest?: number }>): void {
    for (const [nodeId, record] of nodes) {
      if (nodeId === this.nodeId) continue;
      const known = this.remote.get(nodeId);
      if (known === undefined || (record.interest !== undefined && known.v < record.interest)) this.requestFull(nodeId);
    }
  }

  /**
   * Resolves true once this node knows `nodeId`'s interest at `version` or later; false after
   * `timeoutMs`. A node taking a session over announces the session's filters on `<prefix>.i`
   * and then asks the old owner to let go on another subject and connection, so the request may
   * overtake the announcement: the old owner waits for it before letting go (handover.ts), or it
   * would acknowledge messages for the session to nobody. A late announcement is asked for again.
   */
  whenHeard(nodeId: string, version: number, timeoutMs: number): Promise<boolean> {
    if (this.heard(nodeId, version)) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const ask = setTimeout(() => this.requestFull(nodeId), Math.min(100, timeoutMs / 4)).unref();
      const timer = setTimeout(() => finish(false), timeoutMs).unref();
      const waiter = { node: nodeId, v: version, done: (heard: boolean) => finish(heard) };
      const finish = (heard: boolean): void => {
        clearTimeout(ask);
        clearTimeout(timer);
        this.heardWaiters = this.heardWaiters.filter((w) => w !== waiter);
        resolve(heard);
      };
      this.heardWaiters.push(waiter);
    });
  }

  private heard(nodeId: string, version: number): boolean {
    return (this.remote.get(nodeId)?.v ?? -1) >= version;
  }

  /** Nodes of `nodes` (other than this one) whose interest this node has not received. */
  unknownOf(nodes: Iterable<string>): string[] {
    return [...nodes].filter((id) => id !== this.nodeId && !this.remote.has(id));
  }

  /** A subscription to `filter` (in share group `shareGroup`, or null) was added (or removed) on this node. */
  changed(instanceId: string, filter: string, added: boolean, shareGroup: string | null): void {
    const group = shareGroup ?? '';
    const key = keyOf(instanceId, group, filter);
    const count = (this.local.get(key) ?? 0) + (added ? 1 : -1);
    if (count > 0) {
      this.local.set(key, count);
      if (count === 1 && added) {
        this.subscribeFilter(instanceId, group, filter);
        if (group !== '') this.groupAdded(key);
        this.announce({ node: this.nodeId, v: ++this.version, op: 'add', instanceId, filter, group });
      }
      return;
    }
    if (!this.local.delete(key)) return;
    this.announce({ node: this.nodeId, v: ++this.version, op: 'remove', instanceId, filter, group });
    if (group !== '') this.groupRemoved(key);
    for (const [subject, queue] of this.subjectsFor(instanceId, group, filter)) this.release(subject, queue);
  }

  /** Share groups anywhere in the cluster matching `topic`, as `<group>\x1f<filter>`. */
  groupsFor(instanceId: string, topic: string): Set<string> {
    const matched = new Set<string>();
    const trie = this.groupTries.get(instanceId);
    if (trie === undefined) return matched;
    trie.match(topic, {
      subscriber: () => {},
      sharedGroup: (g) => {
        for (const member of g.order) matched.add(member);
      },
    });
    return matched;
  }

  /** [subject, queue] pairs of a subscription ('' = no queue). */
  private subjectsFor(instanceId: string, group: string, filter: string): Array<[string, string]> {
    if (group === '') return this.subjectsOf.filter(instanceId, filter).map((s) => [s, '']);
    const queue = this.subjectsOf.queue(group, filter);
    return this.subjectsOf.sharedFilter(instanceId, filter).map((s) => [s, queue]);
  }

  private groupAdded(key: string): void {
    const n = (this.groupNodes.get(key) ?? 0) + 1;
    this.groupNodes.set(key, n);
    if (n > 1) return;
    const [instanceId, group, filter] = splitKey(key);
    let trie = this.groupTries.get(instanceId);
    if (trie === undefined) {
      trie = new SubscriptionTrie();
      this.groupTries.set(instanceId, trie);
    }
    trie.addShared('g', filter, group + SEP + filter, true);
  }

  private groupRemoved(key: string): void {
    const n = (this.groupNodes.get(key) ?? 0) - 1;
    if (n > 0) {
      this.groupNodes.set(key, n);
      return;
    }
    this.groupNodes.delete(key);
    const [instanceId, group, filter] = splitKey(key);
    this.groupTries.get(instanceId)?.removeShared('g', filter, group + SEP + filter);
  }

  /** Other nodes with a filter matching `topic` in `instanceId` (this node excluded). */
  nodesFor(instanceId: string, topic: string): Set<string> {
    const matched = new Set<string>();
    const trie = this.remoteTries.get(instanceId);
    if (trie === undefined) return matched;
    this.matched = matched;
    trie.match(topic, this.visitor);
    this.matched = null;
    return matched;
  }

  /**
   * A node left the cluster: with keepsOrphans its filters stay until its sessions are taken
   * over (adopted); otherwise they go at once.
   */
  nodeLeft(nodeId: string): void {
    if (this.keepsOrphans && this.remote.has(nodeId)) this.orphans.add(nodeId);
    else this.dropNode(nodeId);
  }

  /** Nodes that left and whose sessions nobody has taken over yet. */
  get orphaned(): ReadonlySet<string> {
    return this.orphans;
  }

  /** One of `nodes` that left with sessions nobody has taken over yet; null when none. */
  orphanIn(nodes: Iterable<string>): string | null {
    if (this.orphans.size === 0) return null;
    for (const node of nodes) if (this.orphans.has(node)) return node;
    return null;
  }

  /**
   * This node took over the sessions of `nodeId` (their filters are announced as this node's):
   * everyone forgets that node's filters.
   */
  adopted(nodeId: string): void {
    this.dropNode(nodeId);
    this.announce({ node: this.nodeId, v: this.version, op: 'adopted', of: nodeId });
  }

  /** Forgets a node that left the cluster. */
  dropNode(nodeId: string): void {
    this.orphans.delete(nodeId);
    const node = this.remote.get(nodeId);
    if (node === undefined) return;
    for (const key of node.filters) this.removeRemote(nodeId, key);
    this.remote.delete(nodeId);
  }

  get remoteNodes(): IterableIterator<string> {
    return this.remote.keys();
  }

  /** Filters this node is subscribed to (distinct per instance). */
  get localFilters(): number {
    return this.local.size;
  }

  /** A clean stop: the others forget this node's filters at once. */
  leave(): void {
    this.announce({ node: this.nodeId, v: ++this.version, op: 'bye' });
  }

  close(): void {
    for (const waiter of this.heardWaiters) waiter.done(false);
    for (const entry of this.subjects.values()) {
      if (entry.timer !== null) clearTimeout(entry.timer);
    }
    this.subjects.clear();
    this.connection = null;
  }

  private subscribeFilter(instanceId: string, group: string, filter: string): void {
    const connection = this.connection;
    const target: SharedTarget | null = group === '' ? null : { instanceId, group, filter };
    for (const [subject, queue] of this.subjectsFor(instanceId, group, filter)) {
      const entry = this.subjects.get(`${subject} ${queue}`);
      if (entry !== undefined) {
        entry.users++;
        if (entry.timer !== null) {
          clearTimeout(entry.timer);
          entry.timer = null;
        }
        continue;
      }
      if (connection === null) continue; // subscribed by attach() once connected
      const sub = connection.subscribe(subject, {
        ...(queue === '' ? {} : { queue }),
        callback: (err, msg) => void (err === null && this.onMessage(msg.subject, msg.data, msg.reply, target)),
      });
      this.subjects.set(`${subject} ${queue}`, { sub, users: 1, timer: null });
    }
  }

  private release(subject: string, queue: string): void {
    const id = `${subject} ${queue}`;
    const entry = this.subjects.get(id);
    if (entry === undefined || --entry.users > 0) return;
    if (queue !== '') {
      this.subjects.delete(id);
      entry.sub.unsubscribe();
      return;
    }
    entry.timer = setTimeout(() => {
      if (this.subjects.get(id) === entry && entry.users === 0) {
        this.subjects.delete(id);
        entry.sub.unsubscribe();
      }
    }, UNSUBSCRIBE_GRACE_MS);
    entry.timer.unref();
  }

  private announce(a: Announcement): void {
    const connection = this.connection;
    if (connection === null || connection.isClosed()) return; // the full list goes out on (re)attach
    connection.publish(this.subjectsOf.interest(), JSON.stringify(a));
  }

  private announceFull(): void {
    const filters = [...this.local.keys()].map((key) => {
      const [instanceId, group, filter] = splitKey(key);
      return [instanceId, filter, group] as const;
    });
    this.announce({ node: this.nodeId, v: this.version, op: 'full', filters });
  }

  private onAnnouncement(data: Uint8Array): void {
    this.applyAnnouncement(data);
    for (const waiter of this.heardWaiters) if (this.heard(waiter.node, waiter.v)) waiter.done(true);
  }

  private applyAnnouncement(data: Uint8Array): void {
    let a: Announcement;
    try {
      a = JSON.parse(Buffer.from(data).toString('utf8')) as Announcement;
    } catch {
      this.logger.warn('unreadable cluster interest announcement ignored');
      return;
    }
    if (a.node === this.nodeId) return;
    if (a.op === 'bye') {
      // Stopped cleanly: with sessions in JetStream they wait for another node to take them over.
      this.nodeLeft(a.node);
      return;
    }
    if (a.op === 'adopted') {
      if (a.of !== this.nodeId) this.dropNode(a.of);
      return;
    }
    if (a.op === 'full') {
      this.dropNode(a.node);
      const node: RemoteNode = { v: a.v, filters: new Set() };
      this.remote.set(a.node, node);
      for (const [instanceId, filter, group] of a.filters) this.addRemote(a.node, node, keyOf(instanceId, group, filter));
      return;
    }
    const node = this.remote.get(a.node);
    if (node === undefined || a.v !== node.v + 1) {
      // Unknown node or a missed delta: ask that node for its whole list.
      this.connection?.publish(this.subjectsOf.interestSync(), a.node);
      if (node === undefined) return;
    }
    node.v = Math.max(node.v, a.v);
    const key = keyOf(a.instanceId, a.group, a.filter);
    if (a.op === 'add') {
      if (!node.filters.has(key)) this.addRemote(a.node, node, key);
    } else if (node.filters.delete(key)) this.removeRemote(a.node, key);
  }

  private addRemote(nodeId: string, node: RemoteNode, key: string): void {
    node.filters.add(key);
    const [instanceId, group, filter] = splitKey(key);
    if (group !== '') {
      this.groupAdded(key);
      return;
    }
    let trie = this.remoteTries.get(instanceId);
    if (trie === undefined) {
      trie = new SubscriptionTrie();
      this.remoteTries.set(instanceId, trie);
    }
    trie.add(filter, nodeId, true);
  }

  private removeRemote(nodeId: string, key: string): void {
    const [instanceId, group, filter] = splitKey(key);
    if (group !== '') {
      this.groupRemoved(key);
      return;
    }
    this.remoteTries.get(instanceId)?.remove(filter, nodeId);
  }
}
