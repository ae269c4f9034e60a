/**
 * Rules: devices ↔ backends (docs/rules.md). This module holds the rule model and registry
 * (what rules exist, persisted), the runtime interfaces the management surface uses, and the
 * connectors (connectors/). Delivery itself (outbox, workers) attaches through RuleRegistry.onChange
 * and RuleBackends.
 */
export * from './model.js';
export { RuleRegistry, type RuleChange, type RuleChangeKind, type RuleChangeListener, type RuleRecord, type RuleRegistryOptions } from './registry.js';
export * from './runtime.js';
export { connectorEndpoints, connectorLoader, type ConnectorLoader } from './endpoints.js';
export { startRules, withBuiltinQueues, type RulesRuntime } from './runtime-start.js';
export { RuleEngine, type EngineRule } from './engine.js';
export { BuiltinQueues } from './queues.js';
export type { RuleHop, RuleTracer } from './tracer.js';
