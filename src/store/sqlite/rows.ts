/** Row shapes of the SQLite tables and their mapping to and from the Store records. */
import {
  SESSION_NEVER_EXPIRES,
  type MessageRecord,
  type SessionRecord,
  type StoreQoS,
  type StoredProtocolVersion,
} from '../types.js';

export interface SessionRow {
  client_id: string;
  sid: number;
  instance_id: string;
  protocol_version: number;
  expiry_interval: number;
  disconnected_at: number | null;
}

export interface MessageRow {
  id: number;
  topic: string;
  payload: Buffer;
  qos: number;
  retain: number;
  properties: Buffer | null;
  expires_at: number;
  created_at: number;
  /** Selected where a reader needs it (queue paging): NewMessage.traceId. */
  trace_id?: number;
}

export interface QueueRow extends MessageRow {
  seq: number;
  message_id: number;
  dqos: number;
  dretain: number;
  sub_ids: string | null;
  share_group: string | null;
  share_filter: string | null;
}

export interface InflightRow {
  packet_id: number;
  seq: number;
  message_id: number | null;
  qos: number;
  retain: number;
  sub_ids: string | null;
  share_group: string | null;
  share_filter: string | null;
  released: number;
}

export function sessionExpiresAt(session: SessionRecord): number | null {
  if (session.disconnectedAt === null || session.expiryInterval === SESSION_NEVER_EXPIRES) return null;
  return session.disconnectedAt + session.expiryInterval * 1000;
}

export function sessionFromRow(row: SessionRow): SessionRecord {
  return {
    clientId: row.client_id,
    instanceId: row.instance_id,
    protocolVersion: row.protocol_version as StoredProtocolVersion,
    expiryInterval: row.expiry_interval,
    disconnectedAt: row.disconnected_at,
  };
}

export function messageFromRow(row: MessageRow): MessageRecord {
  return {
    id: row.id,
    topic: row.topic,
    payload: row.payload,
    qos: row.qos as StoreQoS,
    retain: row.retain === 1,
    properties: row.properties,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    ...(row.trace_id !== undefined && row.trace_id !== 0 ? { traceId: row.trace_id } : {}),
  };
}

export function encodeIds(ids: readonly number[] | null): string | null {
  return ids === null || ids.length === 0 ? null : ids.join(',');
}

export function decodeIds(text: string | null): number[] | null {
  return text === null || text === '' ? null : text.split(',').map(Number);
}
