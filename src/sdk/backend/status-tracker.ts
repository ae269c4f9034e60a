/**
 * Online/offline from client status events (reference §5.4; docs/rules.md "Message
 * properties"): `{"clientId","time","eventType","channelId","clientIp"}` with eventType
 * `connect`, `disconnect` or `tcpclean`. Events come at least once, possibly duplicated and out
 * of order, so the tracker follows the reference's rule instead of the last event:
 *
 *   - each channelId (one TCP connection) is open from its `connect` until its `disconnect` or
 *     `tcpclean`; an offline event only closes the channel with the same channelId
 *   - a channel closed before its `connect` arrives (reordered) stays closed: closing is final
 *   - a client is online iff one of its channels is open
 *
 * So a reconnect's `connect` (new channel) followed by the old connection's late `tcpclean` (old
 * channel) leaves the client online, which "the last event wins" gets wrong. Closed channels are
 * remembered for `closedChannelTtlMs` of event time (default 1 hour) so a late duplicate
 * `connect` cannot reopen them; older ones are forgotten to bound memory. For the truth at one
 * moment ask Ferry (RestClient.client, RpcClient.querySessionByClientId).
 */
import { EventEmitter } from 'node:events';
import { FerryInputError } from '../errors.js';

export type StatusEventType = 'connect' | 'disconnect' | 'tcpclean';

export interface StatusEvent {
  readonly clientId: string;
  readonly time: number;
  readonly eventType: StatusEventType;
  readonly channelId: string;
  readonly clientIp?: string;
  readonly certificateChainSn?: string;
}

const TYPES: readonly string[] = ['connect', 'disconnect', 'tcpclean'];

/** A status event from its JSON body (a queue message, an AMQP/NATS/Redis/webhook body). */
export function parseStatusEvent(body: string | Buffer | object): StatusEvent {
  let value: unknown = body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      value = JSON.parse(body.toString());
    } catch {
      throw new FerryInputError('a status event must be JSON');
    }
  }
  const e = value as Record<string, unknown>;
  if (typeof e['clientId'] !== 'string' || typeof e['channelId'] !== 'string' || typeof e['time'] !== 'number' || !TYPES.includes(e['eventType'] as string)) {
    throw new FerryInputError('a status event needs clientId, channelId (strings), time (a number) and eventType connect|disconnect|tcpclean');
  }
  return e as unknown as StatusEvent;
}

interface Channel {
  open: boolean;
  /** Event time of the latest event seen for the channel. */
  time: number;
}

export interface StatusTrackerEvents {
  online: [clientId: string, event: StatusEvent];
  offline: [clientId: string, event: StatusEvent];
}

export class StatusTracker extends EventEmitter<StatusTrackerEvents> {
  private readonly clients = new Map<string, Map<string, Channel>>();
  private readonly ttlMs: number;
  private latest = 0;

  constructor(options: { closedChannelTtlMs?: number } = {}) {
    super();
    this.ttlMs = options.closedChannelTtlMs ?? 60 * 60 * 1000;
  }

  /** Applies one event (idempotent); true when the client's online state changed. */
  apply(input: StatusEvent | string | Buffer): boolean {
    const event = typeof input === 'string' || Buffer.isBuffer(input) ? parseStatusEvent(input) : input;
    this.latest = Math.max(this.latest, event.time);
    const before = this.isOnline(event.clientId);
    let channels = this.clients.get(event.clientId);
    if (channels === undefined) {
      channels = new Map();
      this.clients.set(event.clientId, channels);
    }
    const channel = channels.get(event.channelId);
    if (event.eventType === 'connect') {
      if (channel === undefined) channels.set(event.channelId, { open: true, time: event.time });
      // A duplicate connect, or one that arrives after its channel closed: nothing changes.
    } else if (channel === undefined) {
      channels.set(event.channelId, { open: false, time: event.time });
    } else {
      channel.open = false;
      channel.time = Math.max(channel.time, event.time);
    }
    this.forgetOld(event.clientId, channels);
    const after = this.isOnline(event.clientId);
    if (before !== after) this.emit(after ? 'online' : 'offline', event.clientId, event);
    return before !== after;
  }

  isOnline(clientId: string): boolean {
    const channels = this.clients.get(clientId);
    if (channels === undefined) return false;
    for (const channel of channels.values()) if (channel.open) return true;
    return false;
  }

  /** The clients online now, sorted. */
  online(): string[] {
    return [...this.clients.keys()].filter((id) => this.isOnline(id)).sort();
  }

  /** The channels of a client that are open now. */
  openChannels(clientId: string): string[] {
    return [...(this.clients.get(clientId) ?? new Map<string, Channel>())].filter(([, c]) => c.open).map(([id]) => id);
  }

  private forgetOld(clientId: string, channels: Map<string, Channel>): void {
    for (const [id, channel] of channels) if (!channel.open && this.latest - channel.time > this.ttlMs) channels.delete(id);
    if (channels.size === 0) this.clients.delete(clientId);
  }
}
