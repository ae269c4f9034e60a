/**
 * Starts the rule runtime of one Ferry process and attaches it to the management surface:
 * the built-in queues and the rule engine replace the stubs behind the rules API
 * (RuleBackends), every rule of the registry runs, and the registry's change events start,
 * restart and stop rules from then on. The connectors are imported on first use.
 */
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import type { Message } from '../session/message.js';
import type { Store } from '../store/types.js';
import type { Tenancy } from '../tenancy/registry.js';
import type { ConnectorLoader } from './endpoints.js';
import { RuleEngine, type EngineRule, type RuleStats } from './engine.js';
import type { ResolvedRule, Rule } from './model.js';
import { BuiltinQueues, queueFactory, type SharedQueues } from './queues.js';
import type { RuleRegistry } from './registry.js';
import type { RuleTracer } from './tracer.js';
import { idleStats, type RuleBackends, type RuleRuntime } from './runtime.js';

export interface RulesRuntime {
  readonly queues: BuiltinQueues;
  readonly engine: RuleEngine;
  /** Takes an entry of a dead cluster node's log (outbox, dead letters, queue) into this node's (src/cluster/log-adoption.ts). */
  adoptLogEntry(log: string, meta: string, payload: Buffer, createdAt: number): boolean;
  close(): Promise<void>;
}

/** The connector loader with the built-in queue's `queue://` slot registered on the registry it makes. */
export function withBuiltinQueues(load: ConnectorLoader): ConnectorLoader {
  let ready: Promise<Awaited<ReturnType<ConnectorLoader>>> | undefined;
  return () =>
    (ready ??= load().then((registry) => {
      registry.register('queue', queueFactory);
      return registry;
    }));
}

export async function startRules(deps: {
  broker: Broker;
  store: Store;
  logger: Logger;
  msgIdOf?: (message: Message) => string | undefined;
  /** The rule hop of message traces; null or absent when tracing is off. */
  tracer?: RuleTracer | null;
  registry: RuleRegistry;
  connectors: ConnectorLoader;
  backends: RuleBackends;
  tenancy: Tenancy;
  /** False while this node may not deliver its outboxes (cluster: its lease on its logs); absent: always. */
  mayDeliver?: () => boolean;
  /** The queues kept outside this node's store (a cluster's, in JetStream); absent: the store's own. */
  sharedQueues?: SharedQueues;
}): Promise<RulesRuntime> {
  const { registry, logger } = deps;
  const queues = new BuiltinQueues(deps.store);
  if (deps.sharedQueues === undefined) await queues.load();
  else queues.useShared(deps.sharedQueues);
  const engine = new RuleEngine({
    broker: deps.broker,
    store: deps.store,
    logger,
    connectors: deps.connectors,
    queues,
    tracer: deps.tracer ?? null,
    ...(deps.msgIdOf === undefined ? {} : { msgIdOf: deps.msgIdOf }),
    ...(deps.mayDeliver === undefined ? {} : { mayDeliver: deps.mayDeliver }),
  });
  deps.backends.runtime = runtimeOf(engine, registry);
  deps.backends.queues = deps.sharedQueues ?? queues;
  deps.tenancy.onInstanceDeleted((instanceId) => queues.dropInstance(instanceId));

  // One change at a time per rule, in order (a quick update after a create must not race it).
  // Each step's promise never rejects: a failure is logged.
  const chains = new Map<string, Promise<void>>();
  const enqueue = (ruleId: string, step: () => Promise<void>): Promise<void> => {
    const next = (chains.get(ruleId) ?? Promise.resolve()).then(step).catch((error: unknown) => {
      logger.error({ err: error, rule: ruleId }, 'rule could not be started');
    });
    chains.set(ruleId, next);
    return next;
  };
  // Resolves once the rule captures (or has failed to start): the API answers then, so the
  // message a client publishes right after "201 Created" is not missed.
  const apply = (rule: Rule): Promise<void> =>
    new Promise((resolve) => {
      enqueue(rule.id, () => engine.apply(engineRule(registry.resolved(rule)), resolve)).then(resolve, resolve);
    });
  registry.onChange(({ kind, rule }) => (kind === 'deleted' ? enqueue(rule.id, () => engine.remove(rule.id, true)) : apply(rule)));
  const initial = registry.all().map(apply);
  await Promise.all([...initial, ...chains.values()]);
  return {
    queues,
    engine,
    adoptLogEntry: (log, meta, payload, createdAt) =>
      log.startsWith('queue/') ? queues.adoptLogEntry(log, meta, payload, createdAt) : engine.adoptLogEntry(log, meta, payload, createdAt),
    close: async () => {
      await Promise.all(chains.values());
      await engine.close();
    },
  };
}

function engineRule(rule: ResolvedRule): EngineRule {
  return {
    id: rule.id,
    instanceId: rule.instanceId,
    type: rule.type,
    enabled: rule.enabled,
    topics: rule.topics ?? [],
    groups: rule.groups ?? [],
    target: rule.targetUrl ?? null,
    source: rule.sourceUrl ?? null,
    parentTopic: rule.parentTopic ?? null,
    secret: rule.secret ?? null,
    maxAttempts: rule.options.maxAttempts,
    outboxMaxMessages: rule.options.outboxMaxMessages,
    outboxMaxBytes: rule.options.outboxMaxBytes,
    overflow: rule.options.overflow,
  };
}

/** The management surface's view of the engine. */
function runtimeOf(engine: RuleEngine, registry: { get(instanceId: string, ruleId: string): Rule | undefined }): RuleRuntime {
  const known = (instanceId: string, ruleId: string): boolean => registry.get(instanceId, ruleId) !== undefined;
  return {
    stats(instanceId, ruleId): RuleStats {
      const stats = known(instanceId, ruleId) ? engine.statsNow(ruleId) : undefined;
      return stats ?? idleStats(ruleId, registry.get(instanceId, ruleId)?.enabled ?? false, 'starting');
    },
    deadLetters: (instanceId, ruleId, page) => (known(instanceId, ruleId) ? engine.deadLetters(ruleId, page) : Promise.resolve({ items: [] })),
    replayDeadLetters: (instanceId, ruleId, ids) => (known(instanceId, ruleId) ? engine.replayDeadLetters(ruleId, ids) : Promise.resolve(0)),
    purgeDeadLetters: (instanceId, ruleId, ids) => (known(instanceId, ruleId) ? engine.purgeDeadLetters(ruleId, ids) : Promise.resolve(0)),
  };
}
