/**
 * Broker-thread side of the rule delivery thread (delivery-worker.ts): one worker thread runs the
 * target connectors of every outbound and status rule, and — for those targets — each rule's
 * dispatcher too (lane.ts, fed from the outbox by feeder.ts: no round waits for a broker-thread
 * turn). A RemoteTarget is such a connector as the broker thread sees it: `openLane` attaches its
 * rule's feeder, which is the only way entries reach it.
 *
 * A thread that dies is restarted (log line `rule delivery thread exited unexpectedly`, metric
 * ferry_rule_thread_restarts_total): its targets are started again, every open lane is told
 * (LaneHandle.restarted: its feeder opens it again and feeds it from the outbox's start; rounds
 * that were in flight may have reached the target: at least once). feeder.ts counts crashes per
 * entry, so a batch that crashes the thread ends in the dead letters after maxAttempts instead of
 * crashing it forever. Nothing is lost: entries leave the outbox only on an outcome that says
 * delivered or dead-lettered.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ConnectorHealth, DeliveryOutcome, TargetConnector, TargetItem } from '../connectors/types.js';
import { redactUrl } from '../connectors/url.js';
import type { LaneMessage, LaneOutcomes, ThreadReply, ThreadRequest } from './protocol.js';

const RESTART_FIRST_MS = 50;
const RESTART_MAX_MS = 5_000;
/** A thread that lived this long resets the restart backoff. */
const STABLE_MS = 10_000;

type Request = ThreadRequest extends infer R ? (R extends { n: number } ? Omit<R, 'n'> : never) : never;

interface Pending {
  readonly request: Request;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

/** The broker-thread end of a lane (feeder.ts): what the delivery thread tells it. */
export interface LaneHandle {
  /** What left the lane: delivered seqs, dead letters, counters. */
  outcomes(outcomes: LaneOutcomes): void;
  /** The thread was restarted: the lane is gone, open it again and feed it from the outbox's start. */
  restarted(): void;
}

/** A lane (the rule's dispatcher on the delivery thread, lane.ts) as the broker thread drives it. */
export interface LaneLink {
  /** Fire and forget; dropped while the thread restarts (restarted() follows). */
  post(message: DistributiveOmit<LaneMessage, 't'>, transfer?: ArrayBuffer[]): void;
  /** No new rounds; resolves once the rounds in flight are reported (or the thread is gone). */
  close(): Promise<void>;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A target connector that runs on the delivery thread; its rule's entries reach it only through its lane. */
export interface PackedTarget extends TargetConnector {
  /** The target's lane: its rule's dispatcher runs on the thread, fed by `handle`'s owner. */
  openLane(handle: LaneHandle): LaneLink;
}

export function isPackedTarget(target: TargetConnector): target is PackedTarget {
  return typeof (target as Partial<PackedTarget>).openLane === 'function';
}

export class DeliveryThread {
  /** Unexpected exits of the thread since start (each restarted). */
  restarts = 0;
  private worker!: Worker;
  private ready!: Promise<void>;
  private startedAt = 0;
  private restartDelayMs = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private nextN = 1;
  private nextT = 1;
  /** Targets started and not stopped: started again on a new thread. */
  private readonly targets = new Map<number, { url: string; secret?: string }>();
  private readonly pending = new Map<number, Pending>();
  /** Open lanes by target: outcomes go to them, and they are opened again on a new thread. */
  private readonly lanes = new Map<number, LaneHandle>();

  constructor(private readonly logger: Logger) {
    this.spawn();
  }

  /** A connector for `url` on the thread (not started yet). */
  target(url: string, secret?: string): PackedTarget {
    return new RemoteTarget(this, this.nextT++, url, secret);
  }

  /** Stops the thread (its targets should be stopped first). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.restartTimer !== null) clearTimeout(this.restartTimer);
      await this.worker.terminate();
      for (const p of this.pending.values()) p.reject(new Error('the rule delivery thread is closed'));
      this.pending.clear();
    })();
    return this.closing;
  }

  /** @internal Ends the thread as a crash would (tests): it is restarted like after one. */
  async crashForTests(): Promise<void> {
    await this.worker.terminate();
  }

  /** @internal RemoteTarget's way in. */
  send(request: Request): Promise<unknown> {
    if (this.closing !== null) return Promise.reject(new Error('the rule delivery thread is closed'));
    if (request.type === 'start') this.targets.set(request.t, request.secret === undefined ? { url: request.url } : { url: request.url, secret: request.secret });
    if (request.type === 'stop') this.targets.delete(request.t);
    return new Promise((resolve, reject) => {
      const n = this.nextN++;
      this.pending.set(n, { request, resolve, reject });
      // While the thread restarts, requests wait; the new thread gets them in order.
      if (this.restartTimer === null) this.post(n, this.pending.get(n)!);
    });
  }

  /** @internal A lane's way in (RemoteTarget.openLane). */
  attachLane(t: number, handle: LaneHandle | null): void {
    if (handle === null) this.lanes.delete(t);
    else this.lanes.set(t, handle);
  }

  /** @internal Fire and forget to a lane; nothing while the thread restarts or is closed. */
  postLane(message: LaneMessage, transfer?: ArrayBuffer[]): void {
    if (this.closing !== null || this.restartTimer !== null) return;
    this.worker.postMessage(message, transfer ?? []);
  }

  private post(n: number, p: Pending): void {
    this.worker.postMessage({ ...p.request, n } as ThreadRequest);
  }

  private spawn(): void {
    const worker = new Worker(new URL('./delivery-worker.js', import.meta.url), { name: 'ferry-rules' });
    this.worker = worker;
    this.startedAt = Date.now();
    // The broker's sockets and timers keep the process alive; this thread alone must not.
    worker.unref();
    worker.on('message', (reply: ThreadReply) => this.onReply(reply));
    worker.on('error', (error) => this.logger.error({ err: error }, 'rule delivery thread failed'));
    worker.on('exit', (code) => {
      if (this.closing !== null || worker !== this.worker) return;
      this.crashed(code);
    });
  }

  private onReply(reply: ThreadReply): void {
    if (reply.type === 'ready') return;
    if (reply.type === 'log') {
      this.logger[reply.level]({ ...reply.obj, thread: 'rules' }, reply.msg);
      return;
    }
    if (reply.type === 'outcomes') {
      this.lanes.get(reply.t)?.outcomes(reply.outcomes);
      return;
    }
    const p = this.pending.get(reply.n);
    if (p === undefined) return;
    this.pending.delete(reply.n);
    if (reply.ok) p.resolve(reply.value);
    else p.reject(new Error(reply.error));
  }

  /** The thread died: start another, start the targets again, resend the starts it had in hand. */
  private crashed(code: number): void {
    this.restarts++;
    const lived = Date.now() - this.startedAt;
    this.restartDelayMs = lived >= STABLE_MS || this.restartDelayMs === 0 ? RESTART_FIRST_MS : Math.min(this.restartDelayMs * 2, RESTART_MAX_MS);
    this.logger.error(
      { code, restarts: this.restarts, inHand: this.pending.size, restartInMs: this.restartDelayMs },
      'rule delivery thread exited unexpectedly; restarting it (undelivered entries stay in the outboxes)',
    );
    for (const [n, p] of [...this.pending]) {
      // Answered at once: a health check says the thread restarts, a stop has nothing left to
      // stop. A start waits in `pending` for the new thread (close() rejects it).
      // A lane's close has nothing left to close: its rounds died with the thread.
      if (p.request.type === 'start') continue;
      this.pending.delete(n);
      if (p.request.type === 'health') p.resolve({ state: 'connecting', lastError: `the rule delivery thread was restarted (exit code ${code})` } satisfies ConnectorHealth);
      else p.resolve(undefined);
    }
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.spawn();
      // In request order: what was in hand and what came while the thread was down.
      const queued = [...this.pending].sort(([a], [b]) => a - b);
      // The targets that were running start first (a worker receives messages in order).
      const starting = new Set(queued.flatMap(([, p]) => (p.request.type === 'start' ? [p.request.t] : [])));
      for (const [t, target] of this.targets) {
        if (starting.has(t)) continue;
        const request: Request = { type: 'start', t, url: target.url, ...(target.secret === undefined ? {} : { secret: target.secret }) };
        const n = this.nextN++;
        const failed = (error: Error): void => this.logger.warn({ err: error, url: redactUrl(target.url) }, 'rule target did not start again on the new delivery thread');
        this.pending.set(n, { request, resolve: () => {}, reject: failed });
        this.post(n, this.pending.get(n)!);
      }
      for (const [n, p] of queued) this.post(n, p);
      // Then the lanes, after their targets: each opens again and is fed from its outbox's start.
      for (const lane of [...this.lanes.values()]) lane.restarted();
    }, this.restartDelayMs);
  }
}

class RemoteTarget implements PackedTarget {
  readonly url: string;

  constructor(
    private readonly thread: DeliveryThread,
    private readonly t: number,
    private readonly rawUrl: string,
    private readonly secret: string | undefined,
  ) {
    this.url = redactUrl(rawUrl);
  }

  async start(): Promise<void> {
    await this.thread.send({ type: 'start', t: this.t, url: this.rawUrl, ...(this.secret === undefined ? {} : { secret: this.secret }) });
  }

  async stop(): Promise<void> {
    await this.thread.send({ type: 'stop', t: this.t }).catch(() => undefined);
  }

  async health(): Promise<ConnectorHealth> {
    try {
      return (await this.thread.send({ type: 'health', t: this.t })) as ConnectorHealth;
    } catch (error) {
      return { state: 'disconnected', lastError: (error as Error).message };
    }
  }

  /** Never called: the engine gives a target on the thread a LaneDispatcher, which feeds its lane. */
  deliver(_batch: readonly TargetItem[]): Promise<DeliveryOutcome[]> {
    return Promise.reject(new Error('a rule target on the delivery thread takes entries through its lane only'));
  }

  openLane(handle: LaneHandle): LaneLink {
    const { thread, t } = this;
    thread.attachLane(t, handle);
    return {
      post: (message, transfer) => thread.postLane({ ...message, t } as LaneMessage, transfer),
      close: async () => {
        await thread.send({ type: 'close', t }).catch(() => undefined);
        thread.attachLane(t, null);
      },
    };
  }
}
