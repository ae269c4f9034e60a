/**
 * Start-up loading, one keyset page per request (store thread): sessions with subscriptions,
 * in-flight window and inbound QoS 2 ids (client id order), retained messages (topic order),
 * wills (client id order). The main thread asks for the next page after the last key it got.
 */
import type {
  InflightRecord,
  LoadedSession,
  MessageRecord,
  RetainedRecord,
  StoreQoS,
  SubscriptionRecord,
  WillRecord,
} from '../types.js';
import type { Messages } from './messages.js';
import { decodeIds, messageFromRow, sessionFromRow, type InflightRow, type MessageRow, type SessionRow } from './rows.js';
import type { SessionIndex } from './session-index.js';
import type { Statements } from './statements.js';

export const LOAD_PAGE = 256;

export class Loader {
  constructor(
    private readonly s: Statements,
    private readonly index: SessionIndex,
    private readonly messages: Messages,
  ) {}

  sessions(after: string): LoadedSession[] {
    this.messages.applyPending(false);
    const rows = this.s.pageSessions.all(after, LOAD_PAGE) as SessionRow[];
    return rows.map((row) => {
      const session = sessionFromRow(row);
      const subscriptions = (this.s.subsOf.all(row.sid) as Array<Record<string, unknown>>).map(
        (sub): SubscriptionRecord => ({
          clientId: row.client_id,
          key: sub.key as string,
          qos: sub.qos as StoreQoS,
          noLocal: sub.no_local === 1,
          retainAsPublished: sub.retain_as_published === 1,
          retainHandling: sub.retain_handling as 0 | 1 | 2,
          subscriptionId: sub.subscription_id as number,
          shareGroup: sub.share_group as string | null,
          filter: sub.filter as string,
        }),
      );
      const inflight = (this.s.inflightOf.all(row.sid) as InflightRow[]).map((entry): InflightRecord => {
        let message: MessageRecord | null = null;
        if (entry.message_id !== null) {
          const m = this.s.getMessage.get(entry.message_id) as MessageRow | undefined;
          if (m !== undefined) message = messageFromRow(m);
        }
        return {
          clientId: row.client_id,
          packetId: entry.packet_id,
          seq: entry.seq,
          qos: entry.qos as StoreQoS,
          retain: entry.retain === 1,
          subscriptionIds: decodeIds(entry.sub_ids),
          shareGroup: entry.share_group,
          shareFilter: entry.share_filter,
          released: entry.released === 1,
          message,
        };
      });
      const inboundQos2 = (this.s.inboundOf.all(row.sid) as Array<{ packet_id: number }>).map((r) => r.packet_id);
      return {
        session,
        subscriptions,
        inflight,
        inboundQos2,
        queueDepth: this.index.bySid.get(row.sid)?.depth ?? 0,
      };
    });
  }

  retained(after: string): RetainedRecord[] {
    this.messages.applyPending(false);
    const rows = this.s.pageRetained.all(after, LOAD_PAGE) as Array<MessageRow & { rtopic: string }>;
    return rows.map((row) => ({ topic: row.rtopic, message: messageFromRow(row) }));
  }

  wills(after: string): WillRecord[] {
    const rows = this.s.pageWills.all(after, LOAD_PAGE) as Array<{
      client_id: string;
      topic: string;
      payload: Buffer;
      qos: number;
      retain: number;
      properties: Buffer | null;
      expires_at: number;
      publish_at: number;
    }>;
    return rows.map((row) => ({
      clientId: row.client_id,
      topic: row.topic,
      payload: row.payload,
      qos: row.qos as StoreQoS,
      retain: row.retain === 1,
      properties: row.properties,
      expiresAt: row.expires_at,
      publishAt: row.publish_at,
    }));
  }
}
