/**
 * Where the JetStream store keeps what (docs/cluster.md, "JetStream state"): bucket and stream
 * names under the cluster's prefix, and the keys and subjects of records.
 *
 * Client ids, topics, collection and record keys may hold any UTF-8, while KV keys allow only
 * `[-/_=.A-Za-z0-9]` and subject tokens no `.`, `*`, `>` or white space: each such value becomes
 * one token, `k` + its base64url (never empty, one-to-one, valid in both places).
 */

/** A string as one KV key / subject token. */
export function token(value: string): string {
  return `k${Buffer.from(value, 'utf8').toString('base64url')}`;
}

/** The inverse of token(). */
export function untoken(tok: string): string {
  return Buffer.from(tok.slice(1), 'base64url').toString('utf8');
}

export class JetStreamLayout {
  constructor(
    readonly prefix: string,
    readonly nodeId: string,
  ) {}

  /** Session record + subscriptions + in-flight window + inbound QoS 2 ids, one value per session. */
  get sessionsBucket(): string {
    return `${this.prefix}_sessions`;
  }

  /** Outbound in-flight windows: one value per entry, `<client>.<generation>.<packet id>`. */
  get inflightBucket(): string {
    return `${this.prefix}_inflight`;
  }

  inflightKey(clientId: string, gen: string, packetId: number): string {
    return `${token(clientId)}.${gen}.${packetId}`;
  }

  /** The keys of one incarnation's window, as a KV filter. */
  inflightKeys(clientId: string, gen: string): string {
    return `${token(clientId)}.${gen}.*`;
  }

  /** The subjects of one incarnation's window in the bucket's stream (to purge them all at once). */
  inflightSubjects(clientId: string, gen: string): string {
    return `$KV.${this.inflightBucket}.${token(clientId)}.${gen}.>`;
  }

  parseInflightKey(key: string): { clientId: string; gen: string; packetId: number } {
    const [tok, gen, packetId] = key.split('.');
    return { clientId: untoken(tok!), gen: gen ?? '', packetId: Number(packetId) };
  }

  get retainedBucket(): string {
    return `${this.prefix}_retained`;
  }

  get willsBucket(): string {
    return `${this.prefix}_wills`;
  }

  /** Metadata (`m.<key>`) and keyed records (`r.<collection>.<key>`). */
  get metaBucket(): string {
    return `${this.prefix}_meta`;
  }

  /** Offline queues: one message per queued delivery. */
  get queuesStream(): string {
    return `${this.prefix}_queues`;
  }

  /** Durable logs (rule outboxes, dead letters, built-in queues) of every node, each under its node. */
  get logsStream(): string {
    return `${this.prefix}_logs`;
  }

  get queueSubjects(): string {
    return `${this.prefix}.q.>`;
  }

  get logSubjects(): string {
    return `${this.prefix}.l.>`;
  }

  /**
   * The queue of one incarnation of a session: `gen` is new each time the session is created, so
   * the entries of a deleted session (reclaimed by purgeExpired) never mix with its successor's.
   */
  queueSubject(clientId: string, gen: string): string {
    return `${this.prefix}.q.${token(clientId)}.${gen}`;
  }

  /** The client id and generation of a queue subject. */
  parseQueueSubject(subject: string): { clientId: string; gen: string } {
    const [tok, gen] = subject.slice(this.prefix.length + 3).split('.');
    return { clientId: untoken(tok!), gen: gen ?? '' };
  }

  /** This node's logs (a log belongs to the node that appends to it). */
  get ownLogSubjects(): string {
    return `${this.prefix}.l.${token(this.nodeId)}.>`;
  }

  logSubject(log: string): string {
    return `${this.prefix}.l.${token(this.nodeId)}.${token(log)}`;
  }

  /** Another node's logs (a dead node's, adopted by a live one). */
  nodeLogSubjects(nodeId: string): string {
    return `${this.prefix}.l.${token(nodeId)}.>`;
  }

  /** The node of a log subject (`<prefix>.l.<node>.<log>`; the prefix may hold dots). */
  logNodeOf(subject: string): string {
    const parts = subject.split('.');
    return untoken(parts[parts.length - 2]!);
  }

  /** Who may deliver each node's logs: one lease per node, gone by itself when not renewed. */
  get leasesBucket(): string {
    return `${this.prefix}_leases`;
  }

  /** Which nodes' logs were adopted by another node (read and cleared by the node when it starts). */
  get adoptionsBucket(): string {
    return `${this.prefix}_adoptions`;
  }

  leaseKey(nodeId: string): string {
    return token(nodeId);
  }

  sessionKey(clientId: string): string {
    return token(clientId);
  }

  retainedKey(topic: string): string {
    return token(topic);
  }

  willKey(clientId: string): string {
    return token(clientId);
  }

  metaKey(key: string): string {
    return `m.${token(key)}`;
  }

  recordKey(collection: string, key: string): string {
    return `r.${token(collection)}.${token(key)}`;
  }

  /** A value the nodes agree on (first create wins, JetStreamStore.readClaim): neither the mirror nor the change feed holds it. */
  claimKey(name: string): string {
    return `c.${token(name)}`;
  }

  /** What a key of the meta bucket names (null: none the mirror holds, e.g. a claim). */
  parseMetaKey(key: string): { meta: string } | { collection: string; key: string } | null {
    const parts = key.split('.');
    if (parts[0] === 'm' && parts.length === 2) return { meta: untoken(parts[1]!) };
    if (parts[0] === 'r' && parts.length === 3) return { collection: untoken(parts[1]!), key: untoken(parts[2]!) };
    return null;
  }
}
