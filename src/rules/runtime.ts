/**
 * What the management surface needs from the rule runtime (workers, durable outbox, dead letters)
 * and from the built-in queues (`queue://NAME`), as two narrow interfaces. The runtime implements
 * them; until it runs, the stubs below answer: empty stats and no dead letters for rules, and
 * NotImplemented (501) for the queues, so the rules API works before delivery does.
 *
 *   REST / CLI ──▶ Management ──▶ RuleRegistry (model, persistence)      ◀── runtime subscribes (onChange)
 *                              ├─▶ RuleRuntime  (stats, dead letters)    ◀── implemented by the runtime
 *                              └─▶ QueueService (append, receive, ack)   ◀── implemented by the queue storage
 */
import { ManagementError } from '../tenancy/errors.js';
import type { Rule } from './model.js';

export interface RuleStats {
  readonly ruleId: string;
  readonly enabled: boolean;
  /** Worker state, e.g. `running`, `paused`, `failing`, `stopped`; `not-running` without a runtime. */
  readonly state: string;
  readonly delivered: number;
  readonly failed: number;
  readonly retried: number;
  readonly deadLettered: number;
  readonly dropped: number;
  readonly outboxDepth: number;
  readonly outboxBytes: number;
  readonly outboxOldestAgeMs: number;
  readonly lastError: string | null;
  readonly lastErrorAt: number | null;
  /** The connector (URL redacted) and its state; null when no connector runs. */
  readonly target: { readonly url: string; readonly state: string; readonly lastError?: string } | null;
}

export interface DeadLetter {
  readonly id: string;
  readonly ruleId: string;
  /** When it was dead-lettered, ms since the epoch. */
  readonly at: number;
  readonly attempts: number;
  readonly reason: string;
  /** The message or status event, payload base64. */
  readonly item: unknown;
}

export interface RuleRuntime {
  stats(instanceId: string, ruleId: string): RuleStats;
  /** A page of dead letters; in a cluster `missingNodes` names the nodes that did not answer (their dead letters are not in it). */
  deadLetters(instanceId: string, ruleId: string, page: { limit: number; after?: string }): Promise<{ items: DeadLetter[]; next?: string; missingNodes?: string[] }>;
  /** Puts dead letters (all when `ids` is absent) back into the outbox; answers how many. */
  replayDeadLetters(instanceId: string, ruleId: string, ids?: readonly string[]): Promise<number>;
  /** Deletes dead letters (all when `ids` is absent); answers how many. */
  purgeDeadLetters(instanceId: string, ruleId: string, ids?: readonly string[]): Promise<number>;
}

export interface QueueMessageInput {
  readonly payload: Buffer;
  readonly properties?: Record<string, string>;
}

export interface ReceivedQueueMessage {
  readonly id: string;
  /** Handle for ack/nack of this delivery; a redelivery gets a new one. */
  readonly receipt: string;
  readonly payload: Buffer;
  readonly properties: Record<string, string>;
  /** 1 on the first delivery. */
  readonly deliveries: number;
  /** Found in the store at start: it may have been delivered before a restart or crash. */
  readonly recovered?: boolean;
  readonly enqueuedAt: number;
}

export interface QueueInfo {
  readonly name: string;
  readonly depth: number;
  readonly inFlight: number;
  readonly oldestAgeMs: number;
}

export interface QueueService {
  /** Appends; resolves with the message ids once they are durable. */
  append(instanceId: string, queue: string, messages: ReadonlyArray<QueueMessageInput>): Promise<string[]>;
  /** Long-polls up to `waitMs` for up to `max` messages, invisible to others for `visibilityTimeoutMs`. */
  receive(instanceId: string, queue: string, options: { max: number; visibilityTimeoutMs: number; waitMs: number }): Promise<ReceivedQueueMessage[]>;
  /** Deletes received messages; answers how many receipts were current. */
  ack(instanceId: string, queue: string, receipts: readonly string[]): Promise<number>;
  /** Makes received messages visible again (after `delayMs`); answers how many receipts were current. */
  nack(instanceId: string, queue: string, receipts: readonly string[], delayMs?: number): Promise<number>;
  /** The instance's queues (a cluster's read from JetStream: a promise). */
  list(instanceId: string): QueueInfo[] | Promise<QueueInfo[]>;
}

/** Rules as the stub runtime sees them (the registry). */
export interface RuleLookup {
  get(instanceId: string, ruleId: string): Rule | undefined;
}

/** Stats of a rule that runs nothing (yet): every counter 0, no connector. */
export function idleStats(ruleId: string, enabled: boolean, state: string): RuleStats {
  return {
    ruleId,
    enabled,
    state,
    delivered: 0,
    failed: 0,
    retried: 0,
    deadLettered: 0,
    dropped: 0,
    outboxDepth: 0,
    outboxBytes: 0,
    outboxOldestAgeMs: 0,
    lastError: null,
    lastErrorAt: null,
    target: null,
  };
}

/** The runtime before delivery exists: every counter 0, no dead letters. */
export class StubRuleRuntime implements RuleRuntime {
  constructor(private readonly rules: RuleLookup) {}

  stats(instanceId: string, ruleId: string): RuleStats {
    return idleStats(ruleId, this.rules.get(instanceId, ruleId)?.enabled ?? false, 'not-running');
  }

  async deadLetters(): Promise<{ items: DeadLetter[]; next?: string }> {
    return { items: [] };
  }

  async replayDeadLetters(): Promise<number> {
    return 0;
  }

  async purgeDeadLetters(): Promise<number> {
    return 0;
  }
}

/** The built-in queues before their storage exists: every call is NotImplemented (501). */
export class StubQueueService implements QueueService {
  private fail(): never {
    throw new ManagementError('NotImplemented', 'the built-in queues (queue://NAME) are not available in this Ferry yet');
  }

  async append(): Promise<string[]> {
    return this.fail();
  }

  async receive(): Promise<ReceivedQueueMessage[]> {
    return this.fail();
  }

  async ack(): Promise<number> {
    return this.fail();
  }

  async nack(): Promise<number> {
    return this.fail();
  }

  list(): QueueInfo[] {
    return this.fail();
  }
}

/**
 * The runtime and queue service the management surface uses, swappable while Ferry runs: the
 * composition root starts with the stubs and the rule runtime attaches itself here.
 */
export class RuleBackends {
  constructor(
    public runtime: RuleRuntime,
    public queues: QueueService,
  ) {}

  static stubs(rules: RuleLookup): RuleBackends {
    return new RuleBackends(new StubRuleRuntime(rules), new StubQueueService());
  }
}
