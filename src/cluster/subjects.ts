/**
 * MQTT topics and filters as NATS subjects, and the other subjects of a cluster.
 *
 *   topic    sensors/a b/temp      →  <prefix>.m.<instance>.sensors.a~20b.temp
 *   filter   sensors/+/temp        →  <prefix>.m.<instance>.sensors.*.temp
 *   filter   sensors/#             →  <prefix>.m.<instance>.sensors.>  and  …sensors
 *                                     (MQTT `a/#` also matches `a` itself [MQTT-4.7.1-2])
 *
 * Each topic level is one subject token. NATS tokens cannot hold `.`, `*`, `>` or white space and
 * cannot be empty, while an MQTT level may hold any UTF-8 and be empty; so a level keeps its
 * letters, digits, `-` and `_`, every other byte becomes `~XX` (hex of its UTF-8 bytes), and an
 * empty level becomes `~`. The mapping is one-to-one: a `~` is always an escape, and the only
 * token that is a lone `~` is the empty level. `+` and `#` are wildcards only as whole levels of a
 * filter, which is the only place they become `*` and `>`.
 */

const PLAIN = /^[A-Za-z0-9_-]+$/;

/** One topic level as a subject token. */
export function levelToken(level: string): string {
  if (level.length === 0) return '~';
  if (PLAIN.test(level)) return level;
  let out = '';
  for (const byte of Buffer.from(level, 'utf8')) {
    const plain = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte === 0x2d || byte === 0x5f;
    out += plain ? String.fromCharCode(byte) : `~${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The inverse of levelToken. */
export function tokenLevel(token: string): string {
  if (token === '~') return '';
  if (!token.includes('~')) return token;
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '~') {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Subjects of one cluster, all under its prefix (clusterSubjectPrefix). */
export class Subjects {
  constructor(readonly prefix: string) {}

  /** Where a message on `topic` of `instanceId` is published. */
  topic(instanceId: string, topic: string): string {
    return `${this.prefix}.m.${instanceId}.${topic.split('/').map(levelToken).join('.')}`;
  }

  /** The subjects a node subscribes to for one MQTT filter (one, or two for a trailing `#`). */
  filter(instanceId: string, filter: string): string[] {
    const levels = filter.split('/');
    const base = `${this.prefix}.m.${instanceId}`;
    const tokens = levels.map((level) => (level === '+' ? '*' : level === '#' ? '>' : levelToken(level)));
    const subject = `${base}.${tokens.join('.')}`;
    if (levels.length > 1 && levels[levels.length - 1] === '#') return [subject, `${base}.${tokens.slice(0, -1).join('.')}`];
    return [subject];
  }

  /** Where a message is also published for the share groups of the cluster (one delivery per group, NATS queue groups). */
  sharedTopic(instanceId: string, topic: string): string {
    return `${this.prefix}.s.${instanceId}.${topic.split('/').map(levelToken).join('.')}`;
  }

  /** The subjects of a shared subscription's filter. */
  sharedFilter(instanceId: string, filter: string): string[] {
    const prefix = `${this.prefix}.m.${instanceId}.`;
    return this.filter(instanceId, filter).map((subject) => `${this.prefix}.s.${instanceId}.${subject.slice(prefix.length)}`);
  }

  /** The NATS queue group of a share group: one member node per message. */
  queue(group: string, filter: string): string {
    return `${levelToken(group)}~~${levelToken(filter)}`; // levelToken never makes "~~"
  }

  /** The topic of a message subject (inverse of topic()). */
  topicOf(subject: string): { instanceId: string; topic: string } | null {
    const parts = subject.split('.');
    if (parts.length < 4 || parts[1] !== 'm') return null;
    return { instanceId: parts[2]!, topic: parts.slice(3).map(tokenLevel).join('/') };
  }

  /** Point-to-point messages to one client id, received by the node holding its session. */
  p2p(instanceId: string, clientId: string): string {
    return `${this.prefix}.p.${instanceId}.${levelToken(clientId)}`;
  }

  /** Every retained message set or cleared, received by every node. */
  retained(): string {
    return `${this.prefix}.r`;
  }

  /** Requests for the whole retained set by a node catching up (retained-sync.ts); its answers go to an inbox below it. */
  retainedSync(): string {
    return `${this.prefix}.r.sync`;
  }

  /** "A client with this id is connecting at node X": the other holders let go (takeover). */
  claims(): string {
    return `${this.prefix}.c`;
  }

  /** Interest announcements (filters per node) and requests for a node's full list. */
  interest(): string {
    return `${this.prefix}.i`;
  }

  interestSync(): string {
    return `${this.prefix}.isync`;
  }

  /** Acceptances of QoS 1/2 messages, to their publishing node. */
  acks(nodeId: string): string {
    return `${this.prefix}.a.${levelToken(nodeId)}`;
  }

  /** A node answers here that it is alive, asked when its presence record went old (presence.ts). */
  live(nodeId: string): string {
    return `${this.prefix}.live.${levelToken(nodeId)}`;
  }

  /** KV bucket of node presence (bucket names: letters, digits, `-`, `_`). */
  presenceBucket(): string {
    return `${this.prefix}_nodes`;
  }
}
