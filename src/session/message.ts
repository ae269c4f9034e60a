/**
 * An application message as routed inside Ferry: stored once, referenced by every session queue
 * and in-flight slot that holds it (like Mosquitto's msg_store). Its wire forms are encoded
 * lazily and cached, so a PUBLISH fanned out to many subscribers is encoded once per distinct
 * form (protocol family × QoS × RETAIN flag) and the same Buffer is written to every socket.
 * QoS 1/2 forms carry a placeholder packet id that is patched into a copy per delivery.
 */
import { encode, setPacketId } from '../protocol/encoder.js';
import type { Properties, ProtocolVersion, PublishPacket, QoS } from '../protocol/packets.js';

/** Per-parent-topic counters a message carries to its deliveries (kept by the tenant). */
export interface TopicStats {
  /** Messages published to the parent topic (ReceiveTpsPerTopic: produced). */
  in: number;
  /** Deliveries written to subscribers (SendTpsPerTopic: consumed). */
  out: number;
}

/**
 * Payload bytes fit to be kept: a view into a much larger buffer (a socket read of many packets)
 * is copied, so that what is kept pins its own bytes, not the read. A view into a buffer no larger
 * than Node's pool slab is kept as it is: a small copy lands in such a slab too, so it would pin
 * just as much, at the cost of one more buffer per message (the read path hands out pool slices:
 * transport/shared-read.ts; bench/RESULTS.md issue 15 §32). Nor is a payload that is at least half
 * of its buffer copied.
 */
export function keepable(payload: Buffer): Buffer {
  const backing = payload.buffer.byteLength;
  return backing <= Buffer.poolSize || payload.byteLength * 2 >= backing ? payload : Buffer.from(payload);
}

export class Message {
  /** Cached encodings indexed by slot (see encodeFor); allocated on first delivery. */
  private wire: Array<Buffer | undefined> | null = null;
  /** Id in the durable store once the message is stored there; 0 until then. */
  storeId = 0;
  /** Trace sequence (the MsgId of traces), assigned once when tracing is on; 0 = none. */
  traceId = 0;
  /** Counters of the message's parent topic, set when it is routed (per-topic metrics). */
  topicStats: TopicStats | null = null;

  constructor(
    readonly topic: string,
    readonly payload: Buffer,
    readonly qos: QoS,
    readonly retain: boolean,
    /** Forwardable MQTT 5 properties (never topicAlias or subscriptionIdentifiers). */
    readonly properties: Properties | undefined,
    /** Absolute expiry in ms since the epoch, 0 = never (MQTT 5 Message Expiry Interval). */
    readonly expiresAt: number,
    /** Opaque identity of the publishing session, for No Local; null for server-made messages. */
    readonly origin: object | null,
  ) {}

  /**
   * Gives the payload bytes of its own when it is a view into a much larger buffer (a socket
   * read of many packets, decoder.ts is zero-copy), before the message is held for long (an
   * offline session's window, offline-window.ts): holding it then pins its own bytes, not the
   * read. Small payloads are copied into Node's shared pool (8 KiB slabs), which is never copied again.
   */
  ownPayload(): void {
    const payload = this.payload;
    const own = keepable(payload);
    if (own !== payload) (this as { payload: Buffer }).payload = own;
  }

  isExpired(now: number): boolean {
    return this.expiresAt !== 0 && now >= this.expiresAt;
  }

  /**
   * The PUBLISH bytes for one delivery. Forms that are the same for every subscriber come from
   * the cache; per-subscriber forms (subscription ids, topic alias, remaining expiry) are
   * encoded on their own.
   */
  encodeFor(
    version: ProtocolVersion,
    qos: QoS,
    retain: boolean,
    packetId: number,
    dup: boolean,
    subscriptionIds: readonly number[] | undefined,
    topicAlias: number,
    aliasOnly: boolean,
    now: number,
  ): Buffer {
    const v5 = version === 5;
    if (v5 && (subscriptionIds !== undefined || topicAlias !== 0 || this.expiresAt !== 0)) {
      return encode(this.packetFor(qos, retain, dup, packetId, subscriptionIds, topicAlias, aliasOnly, now), 5);
    }
    const slot = (v5 ? 6 : 0) + qos * 2 + (retain ? 1 : 0);
    // Only as long as this slot needs (a later, higher slot grows it): most messages go out in one
    // form, often slot 0, and 12 slots were ~90 of the ~2,200 bytes allocated per message at 10k
    // msg/s (young-generation GC pauses are part of the latency tail: bench/RESULTS.md issue 15 §13).
    this.wire ??= new Array<Buffer | undefined>(slot + 1);
    let shared: Buffer | undefined = this.wire[slot];
    if (shared === undefined) {
      // The first delivery of a form is encoded with its own packet id and is both cached and
      // written: most QoS 1/2 messages have one subscriber, whose copy (setPacketId) was one more
      // buffer per message (bench/RESULTS.md issue 15 §15b). Later deliveries copy it and patch the
      // id; setPacketId never writes into the cached buffer, so the bytes given out stay as they are.
      shared = encode(this.packetFor(qos, retain, false, qos === 0 ? 0 : packetId, undefined, 0, false, now), version);
      this.wire[slot] = shared;
      if (qos === 0 || !dup) return shared;
    }
    return qos === 0 ? shared : setPacketId(shared, packetId, dup);
  }

  private packetFor(
    qos: QoS,
    retain: boolean,
    dup: boolean,
    packetId: number,
    subscriptionIds: readonly number[] | undefined,
    topicAlias: number,
    aliasOnly: boolean,
    now: number,
  ): PublishPacket {
    const packet: PublishPacket = {
      type: 'publish',
      topic: aliasOnly ? '' : this.topic,
      payload: this.payload,
      qos,
      retain,
      dup,
    };
    if (qos > 0) packet.packetId = packetId;
    let properties = this.properties;
    if (subscriptionIds !== undefined || topicAlias !== 0 || this.expiresAt !== 0) {
      properties = { ...properties };
      if (subscriptionIds !== undefined) properties.subscriptionIdentifiers = [...subscriptionIds];
      if (topicAlias !== 0) properties.topicAlias = topicAlias;
      // [MQTT-3.3.2-6] forward the remaining lifetime, not the original interval.
      if (this.expiresAt !== 0) {
        properties.messageExpiryInterval = Math.max(0, Math.ceil((this.expiresAt - now) / 1000));
      }
    }
    if (properties !== undefined) packet.properties = properties;
    return packet;
  }
}
