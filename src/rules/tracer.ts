/**
 * Where the rule runtime reports the rule hop of message traces (docs/observability.md): the
 * implementation is the trace recorder (src/observability/traces), absent when tracing is off.
 * Like the broker's Tracer, every call only records the event; nothing here does I/O.
 */

/** The trace events of one running outbound rule, by the MsgId its items carry. */
export interface RuleHop {
  /** The target acknowledged the message (rule_out). */
  delivered(msgId: string): void;
  /** The target failed for it; it is sent again (rule_retry). */
  retried(msgId: string): void;
  /** Given up: refused by the target or out of attempts, now a dead letter (rule_dead). */
  deadLettered(msgId: string): void;
}

export interface RuleTracer {
  /** The events of one rule of `instanceId`, delivering to a target of `scheme` (`redis`, `amqp`, ...). */
  ruleHop(instanceId: string, ruleId: string, scheme: string): RuleHop;
}
