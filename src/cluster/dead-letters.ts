/**
 * The dead letters of a rule across the cluster (docs/cluster.md, "Dead letters across nodes"):
 * each node keeps the dead letters of the deliveries it made (its own durable log; a dead node's
 * move to the node adopting its logs), and the API of any node lists, replays and purges them all.
 * This wraps the node's rule runtime: its own answers locally, every other live node's over NATS
 * request/reply on `<prefix>.dl.<node>`.
 *
 *   list   ─▶ every live node: one page each after its cursor ─▶ merged by time, `limit` kept;
 *             the cursor holds each node's own (opaque: base64url JSON)
 *   replay / purge (all) ─▶ every live node, counts summed
 *   replay / purge (ids) ─▶ an id is `<base64url(node)>@<id there>`: to that node only
 *
 * A node that does not answer within clusterAckTimeoutMs is left out (logged): a list names it in
 * `missingNodes` and pages on without it; a replay or purge counts nothing for it.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { DeadLetter, RuleRuntime, RuleStats } from '../rules/runtime.js';
import { token, untoken } from '../store/jetstream/layout.js';

/** Separates the node from its own dead-letter id. */
const AT = '@';

type Request =
  | { op: 'list'; instanceId: string; ruleId: string; limit: number; after?: string }
  | { op: 'replay' | 'purge'; instanceId: string; ruleId: string; ids?: string[] };

type Page = { items: DeadLetter[]; next?: string; missingNodes?: string[] };

export class ClusterDeadLetters implements RuleRuntime {
  private live: readonly string[] = [];
  private readonly subscription: Subscription;

  constructor(
    private readonly local: RuleRuntime,
    private readonly connection: NatsConnection,
    private readonly prefix: string,
    private readonly nodeId: string,
    /** How long another node may take to answer, ms (clusterAckTimeoutMs). */
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {
    this.subscription = connection.subscribe(this.subject(nodeId), {
      callback: (err, msg) => {
        if (err !== null) return;
        this.serve(msg.data).then(
          (answer) => msg.respond(JSON.stringify(answer)),
          (e: unknown) => msg.respond(JSON.stringify({ error: (e as Error).message })),
        );
      },
    });
  }

  /** The live nodes, from each heartbeat. */
  setLive(nodes: ReadonlySet<string>): void {
    this.live = [...nodes].sort();
  }

  stats(instanceId: string, ruleId: string): RuleStats {
    return this.local.stats(instanceId, ruleId);
  }

  async deadLetters(instanceId: string, ruleId: string, page: { limit: number; after?: string }): Promise<Page> {
    const limit = Math.max(1, Math.min(page.limit, 1000));
    const cursors = page.after === undefined ? {} : decodeCursor(page.after);
    // Nodes finished in an earlier page are not asked again; a node that joined since is, from its start.
    const asked = this.nodes().filter((node) => cursors[node] !== null);
    const answers = await Promise.all(
      asked.map(async (node) => {
        const after = cursors[node];
        const request: Request = { op: 'list', instanceId, ruleId, limit, ...(typeof after === 'string' ? { after } : {}) };
        return { node, answer: (await this.ask(node, request)) as { items: DeadLetter[]; next?: string } | null };
      }),
    );
    const missing = answers.filter((a) => a.answer === null).map((a) => a.node);
    // A k-way merge by time: each node's letters stay in its own order, so what is taken of a node is a prefix of its page.
    const heads = answers.flatMap(({ node, answer }) => (answer === null || answer.items.length === 0 ? [] : [{ node, items: answer.items, i: 0 }]));
    const taken: Array<{ node: string; letter: DeadLetter }> = [];
    while (taken.length < limit && heads.length > 0) {
      let best = 0;
      for (let h = 1; h < heads.length; h++) if (heads[h]!.items[heads[h]!.i]!.at < heads[best]!.items[heads[best]!.i]!.at) best = h;
      const head = heads[best]!;
      taken.push({ node: head.node, letter: head.items[head.i++]! });
      if (head.i === head.items.length) heads.splice(best, 1);
    }
    const next: Record<string, string | null> = { ...cursors };
    for (const { node, answer } of answers) {
      if (answer === null) {
        next[node] = null; // left out of this listing (named in missingNodes)
        continue;
      }
      const mine = taken.filter((t) => t.node === node);
      const all = answer.items.length === mine.length;
      if (mine.length > 0) next[node] = mine[mine.length - 1]!.letter.id;
      if (all && answer.next === undefined) next[node] = null;
    }
    const more = this.nodes().some((node) => next[node] !== null);
    return {
      items: taken.map(({ node, letter }) => (node === this.nodeId ? letter : { ...letter, id: `${token(node)}${AT}${letter.id}` })),
      ...(more ? { next: encodeCursor(next) } : {}),
      ...(missing.length > 0 ? { missingNodes: missing } : {}),
    };
  }

  replayDeadLetters(instanceId: string, ruleId: string, ids?: readonly string[]): Promise<number> {
    return this.everywhere({ op: 'replay', instanceId, ruleId }, ids);
  }

  purgeDeadLetters(instanceId: string, ruleId: string, ids?: readonly string[]): Promise<number> {
    return this.everywhere({ op: 'purge', instanceId, ruleId }, ids);
  }

  close(): void {
    this.subscription.unsubscribe();
  }

  /** Every node (all, `ids` absent) or the nodes the ids name; the counts summed. */
  private async everywhere(request: { op: 'replay' | 'purge'; instanceId: string; ruleId: string }, ids: readonly string[] | undefined): Promise<number> {
    const byNode = new Map<string, string[] | undefined>();
    if (ids === undefined) for (const node of this.nodes()) byNode.set(node, undefined);
    else {
      for (const id of ids) {
        const at = id.indexOf(AT);
        const node = at < 0 ? this.nodeId : untoken(id.slice(0, at));
        byNode.set(node, [...(byNode.get(node) ?? []), at < 0 ? id : id.slice(at + 1)]);
      }
    }
    const counts = await Promise.all(
      [...byNode].map(async ([node, theirs]) => {
        const answer = (await this.ask(node, { ...request, ...(theirs === undefined ? {} : { ids: theirs }) })) as { n?: number } | null;
        return typeof answer?.n === 'number' ? answer.n : 0;
      }),
    );
    return counts.reduce((sum, n) => sum + n, 0);
  }

  /** This node and the live others. */
  private nodes(): string[] {
    return this.live.includes(this.nodeId) ? [...this.live] : [this.nodeId, ...this.live];
  }

  /** Answered here for this node, over NATS for another; null (logged) when it does not answer. */
  private async ask(node: string, request: Request): Promise<unknown> {
    if (node === this.nodeId) return this.answer(request);
    try {
      const reply = await this.connection.request(this.subject(node), JSON.stringify(request), { timeout: this.timeoutMs });
      const answer = JSON.parse(Buffer.from(reply.data).toString('utf8')) as { error?: string };
      if (typeof answer.error === 'string') throw new Error(answer.error);
      return answer;
    } catch (err) {
      this.logger.warn({ node, op: request.op, rule: request.ruleId, err: (err as Error).message }, 'dead letters: another node did not answer (left out)');
      return null;
    }
  }

  private async answer(request: Request): Promise<unknown> {
    const { instanceId, ruleId } = request;
    if (request.op === 'list') return this.local.deadLetters(instanceId, ruleId, { limit: request.limit, ...(request.after === undefined ? {} : { after: request.after }) });
    if (request.op === 'replay') return { n: await this.local.replayDeadLetters(instanceId, ruleId, request.ids) };
    return { n: await this.local.purgeDeadLetters(instanceId, ruleId, request.ids) };
  }

  private async serve(data: Uint8Array): Promise<unknown> {
    return this.answer(JSON.parse(Buffer.from(data).toString('utf8')) as Request);
  }

  private subject(nodeId: string): string {
    return `${this.prefix}.dl.${token(nodeId)}`;
  }
}

/** Each node's cursor: its own `after`, absent to start, null when it has nothing more. */
function encodeCursor(cursors: Record<string, string | null>): string {
  return Buffer.from(JSON.stringify(cursors), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): Record<string, string | null> {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, string | null>;
  } catch {
    // not one of ours
  }
  return {};
}
