/**
 * The built-in queues of an instance (`queue://NAME` rule targets, consumed over HTTP): names
 * and batch bounds are checked here, storage and delivery are the QueueService's (src/rules/runtime.ts).
 */
import type { QueueInfo, QueueMessageInput, QueueService, ReceivedQueueMessage } from '../rules/runtime.js';
import type { ManagementDeps } from './deps.js';
import { invalid, requireService } from './errors.js';
import type { InstanceCheck } from './instance-check.js';

export const QUEUE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Long-poll bound, seconds. */
export const MAX_QUEUE_WAIT_SECONDS = 20;

export class Queues {
  constructor(
    private readonly deps: Pick<ManagementDeps, 'ruleBackends'>,
    private readonly check: InstanceCheck,
  ) {}

  list(instanceId: string): QueueInfo[] | Promise<QueueInfo[]> {
    this.check.require(instanceId);
    return this.service().list(instanceId);
  }

  send(instanceId: string, queue: string, messages: readonly QueueMessageInput[]): Promise<string[]> {
    this.begin(instanceId, queue);
    if (messages.length === 0) throw invalid('body.messages', 'no message to append');
    return this.service().append(instanceId, queue, messages);
  }

  receive(instanceId: string, queue: string, options: { max: number; visibilityTimeoutMs: number; waitMs: number }): Promise<ReceivedQueueMessage[]> {
    this.begin(instanceId, queue);
    if (options.waitMs > MAX_QUEUE_WAIT_SECONDS * 1000) throw invalid('body.wait', `wait is at most ${MAX_QUEUE_WAIT_SECONDS} seconds`);
    return this.service().receive(instanceId, queue, options);
  }

  ack(instanceId: string, queue: string, receipts: readonly string[]): Promise<number> {
    this.begin(instanceId, queue);
    return this.service().ack(instanceId, queue, receipts);
  }

  nack(instanceId: string, queue: string, receipts: readonly string[], delayMs?: number): Promise<number> {
    this.begin(instanceId, queue);
    return this.service().nack(instanceId, queue, receipts, delayMs);
  }

  private begin(instanceId: string, queue: string): void {
    this.check.require(instanceId);
    if (!QUEUE_NAME_PATTERN.test(queue)) throw invalid('params.name', 'a queue name is 1-128 characters of A-Z, a-z, 0-9, "_", "." and "-", starting with a letter or digit');
  }

  private service(): QueueService {
    return requireService(this.deps.ruleBackends, 'the built-in queues').queues;
  }
}
