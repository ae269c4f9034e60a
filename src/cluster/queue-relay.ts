/**
 * The built-in queues (`queue://NAME`) from any node of a cluster (docs/cluster.md, "Built-in
 * queues across nodes"). Each node keeps the messages appended through it in its own durable
 * logs (a rule on that node, the HTTP API or the AMQP endpoint there); a receive on any node
 * also takes from the other live nodes' queue of the same name, over NATS request/reply on
 * `<prefix>.bq.<node>`. A message stays leased on the node that holds it, and its receipt names
 * that node, so ack and nack reach it from whichever node the backend calls:
 *
 *   receive(max) ─▶ this node's queue ─▶ each other live node's (in turn, until max)
 *                   └ nothing: waits on this node's queue up to POLL_MS, asks again, until `wait`
 *   ack / nack    ─▶ a receipt is `<node>@<receipt of that node>`: settled on that node
 *
 * A node that dies takes its leases with it: its messages move to the node that adopts its logs
 * (log-adoption.ts) and are visible there again (at least once). `list` (and /metrics) show this
 * node's share of each queue.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { BuiltinQueueAccess, BuiltinQueues } from '../rules/queues.js';
import type { QueueInfo, QueueMessageInput, ReceivedQueueMessage } from '../rules/runtime.js';
import { token, untoken } from '../store/jetstream/layout.js';

/** How long an empty long-poll waits on this node's queue before it asks the other nodes again. */
const POLL_MS = 500;
/** The long-poll bound of the queues (BuiltinQueues caps `wait` the same way). */
const MAX_WAIT_MS = 20_000;
/** Separates the holding node from its receipt (a node's own receipts are `<seq>.<hex>`). */
const AT = '@';

type Request =
  | { op: 'receive'; instanceId: string; queue: string; max: number; visibilityTimeoutMs: number }
  | { op: 'ack'; instanceId: string; queue: string; receipts: string[] }
  | { op: 'nack'; instanceId: string; queue: string; receipts: string[]; delayMs: number };

interface WireMessage {
  id: string;
  receipt: string;
  payload: string;
  properties: Record<string, string>;
  deliveries: number;
  recovered?: boolean;
  enqueuedAt: number;
}

export class ClusterQueues implements BuiltinQueueAccess {
  private others: readonly string[] = [];
  private turn = 0;
  private readonly subscription: Subscription;

  constructor(
    private readonly local: BuiltinQueues,
    private readonly connection: NatsConnection,
    private readonly prefix: string,
    private readonly nodeId: string,
    /** How long a request to another node may take, ms (clusterAckTimeoutMs). */
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

  /** The live nodes, from each heartbeat (this one left out). */
  setLive(nodes: ReadonlySet<string>): void {
    this.others = [...nodes].filter((n) => n !== this.nodeId).sort();
  }

  append(instanceId: string, queue: string, messages: readonly QueueMessageInput[]): Promise<string[]> {
    return this.local.append(instanceId, queue, messages);
  }

  list(instanceId: string): QueueInfo[] {
    return this.local.list(instanceId);
  }

  has(instanceId: string, queue: string): boolean {
    return this.local.has(instanceId, queue);
  }

  declare(instanceId: string, queue: string): void {
    this.local.declare(instanceId, queue);
  }

  appendNoWait(instanceId: string, queue: string, message: QueueMessageInput): void {
    this.local.appendNoWait(instanceId, queue, message);
  }

  async receive(instanceId: string, queue: string, options: { max: number; visibilityTimeoutMs: number; waitMs: number }): Promise<ReceivedQueueMessage[]> {
    const deadline = Date.now() + Math.max(0, Math.min(options.waitMs, MAX_WAIT_MS));
    for (;;) {
      const out = this.named(await this.local.receive(instanceId, queue, { ...options, waitMs: 0 }));
      // Start with another node each time, so no node's share waits behind another's.
      const others = this.others;
      const start = others.length === 0 ? 0 : this.turn++ % others.length;
      for (let i = 0; i < others.length && out.length < options.max; i++) {
        out.push(...(await this.remoteReceive(others[(start + i) % others.length]!, instanceId, queue, options.max - out.length, options.visibilityTimeoutMs)));
      }
      if (out.length > 0) return out;
      const left = deadline - Date.now();
      if (left <= 0) return [];
      // Woken at once by an append here; messages appended on another node are seen at the next ask.
      const here = await this.local.receive(instanceId, queue, { ...options, waitMs: Math.min(left, POLL_MS) });
      if (here.length > 0) return this.named(here);
    }
  }

  ack(instanceId: string, queue: string, receipts: readonly string[]): Promise<number> {
    return this.settle(receipts, (mine) => this.local.ack(instanceId, queue, mine), (node, theirs) => this.request(node, { op: 'ack', instanceId, queue, receipts: theirs }));
  }

  nack(instanceId: string, queue: string, receipts: readonly string[], delayMs = 0): Promise<number> {
    return this.settle(
      receipts,
      (mine) => this.local.nack(instanceId, queue, mine, delayMs),
      (node, theirs) => this.request(node, { op: 'nack', instanceId, queue, receipts: theirs, delayMs }),
    );
  }

  close(): void {
    this.subscription.unsubscribe();
  }

  /** This node's messages with receipts that name it: any node may settle them. */
  private named(messages: ReceivedQueueMessage[]): ReceivedQueueMessage[] {
    const tok = token(this.nodeId);
    return messages.map((m) => ({ ...m, receipt: `${tok}${AT}${m.receipt}` }));
  }

  private subject(nodeId: string): string {
    return `${this.prefix}.bq.${token(nodeId)}`;
  }

  /** Splits receipts by the node holding their message; answers how many were current. */
  private async settle(
    receipts: readonly string[],
    here: (receipts: string[]) => Promise<number>,
    there: (node: string, receipts: string[]) => Promise<unknown>,
  ): Promise<number> {
    const mine: string[] = [];
    const byNode = new Map<string, string[]>();
    for (const receipt of receipts) {
      const at = receipt.indexOf(AT);
      if (at < 0) {
        mine.push(receipt);
        continue;
      }
      const node = untoken(receipt.slice(0, at));
      const list = byNode.get(node) ?? [];
      list.push(receipt.slice(at + 1));
      byNode.set(node, list);
    }
    const counts = await Promise.all([
      mine.length === 0 ? 0 : here(mine),
      ...[...byNode].map(async ([node, theirs]) => {
        if (node === this.nodeId) return here(theirs);
        const answer = await there(node, theirs);
        return typeof (answer as { n?: unknown } | null)?.n === 'number' ? (answer as { n: number }).n : 0;
      }),
    ]);
    return counts.reduce((sum, n) => sum + n, 0);
  }

  private async remoteReceive(node: string, instanceId: string, queue: string, max: number, visibilityTimeoutMs: number): Promise<ReceivedQueueMessage[]> {
    const answer = (await this.request(node, { op: 'receive', instanceId, queue, max, visibilityTimeoutMs })) as { items?: WireMessage[] } | null;
    const tok = token(node);
    return (answer?.items ?? []).map((m) => ({
      id: `${node}/${m.id}`,
      receipt: `${tok}${AT}${m.receipt}`,
      payload: Buffer.from(m.payload, 'base64'),
      properties: m.properties,
      deliveries: m.deliveries,
      ...(m.recovered === true ? { recovered: true } : {}),
      enqueuedAt: m.enqueuedAt,
    }));
  }

  /** A request to another node; null (logged) when it does not answer: gone, or cut off. */
  private async request(node: string, request: Request): Promise<unknown> {
    try {
      const reply = await this.connection.request(this.subject(node), JSON.stringify(request), { timeout: this.timeoutMs });
      const answer = JSON.parse(Buffer.from(reply.data).toString('utf8')) as { error?: string };
      if (typeof answer.error === 'string') throw new Error(answer.error);
      return answer;
    } catch (err) {
      this.logger.warn({ node, op: request.op, queue: request.queue, err: (err as Error).message }, 'built-in queue: another node did not answer');
      return null;
    }
  }

  /** Another node's request for this node's share of a queue. */
  private async serve(data: Uint8Array): Promise<unknown> {
    const request = JSON.parse(Buffer.from(data).toString('utf8')) as Request;
    // A queue this node never had stays absent here (receive would make it exist, empty).
    if (!this.local.has(request.instanceId, request.queue)) return request.op === 'receive' ? { items: [] } : { n: 0 };
    if (request.op === 'ack') return { n: await this.local.ack(request.instanceId, request.queue, request.receipts) };
    if (request.op === 'nack') return { n: await this.local.nack(request.instanceId, request.queue, request.receipts, request.delayMs) };
    const items = await this.local.receive(request.instanceId, request.queue, { max: request.max, visibilityTimeoutMs: request.visibilityTimeoutMs, waitMs: 0 });
    return {
      items: items.map(
        (m): WireMessage => ({
          id: m.id,
          receipt: m.receipt,
          payload: m.payload.toString('base64'),
          properties: m.properties,
          deliveries: m.deliveries,
          ...(m.recovered === true ? { recovered: true } : {}),
          enqueuedAt: m.enqueuedAt,
        }),
      ),
    };
  }
}
