/**
 * What the APIs need from message and device traces (src/observability owns recording them).
 * The four QueryMqttTrace* actions and the REST trace routes call these; until observability
 * provides an implementation, the facade answers NotImplemented (501).
 *
 * Records use the managed service's field names and values (reference §4.2, §6.2): Time as
 * `YYYY-MM-DD hh:mm:ss.SSS`, MsgId 32 hex characters, Action/ActionCode/ActionInfo from its enums.
 */

import type { DeviceTraceRecord, MessageTraceRecord } from '../observability/traces/query.js';

export type { DeviceTraceRecord, MessageTraceRecord };

export interface TraceRange {
  readonly instanceId: string;
  /** ms since the epoch, inclusive */
  readonly beginTime: number;
  readonly endTime: number;
}

export interface TracePaging {
  /** From 1. */
  readonly currentPage: number;
  /** 1-100. */
  readonly pageSize: number;
  /** Newest first. */
  readonly reverse: boolean;
}

export interface TracePage<T> {
  readonly total: number;
  readonly items: T[];
}

export interface TraceQueries {
  /** QueryMqttTraceDevice: connect/close/disconnect events of one client. */
  deviceEvents(q: TraceRange & TracePaging & { readonly clientId: string }): Promise<TracePage<DeviceTraceRecord>>;
  /** QueryMqttTraceMessageOfClient: messages one client sent or received. */
  messagesOfClient(q: TraceRange & TracePaging & { readonly clientId: string }): Promise<TracePage<MessageTraceRecord>>;
  /** QueryMqttTraceMessagePublish: how a message came in. */
  messagePublish(q: TraceRange & { readonly msgId: string }): Promise<MessageTraceRecord[]>;
  /** QueryMqttTraceMessageSubscribe: who a message was delivered to. */
  messageSubscribe(q: TraceRange & TracePaging & { readonly msgId: string; readonly clientId?: string }): Promise<TracePage<MessageTraceRecord>>;
}
