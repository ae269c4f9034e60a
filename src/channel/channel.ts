/**
 * Per-client MQTT state machine (emqx_channel's job). It knows the protocol: what a packet means
 * in the current state, which reason code answers a fault, what is sent when. It does no socket
 * I/O itself: everything leaves through ChannelOutput (the connection), which makes the channel
 * testable without sockets and leaves batching and backpressure to the connection layer.
 *
 * Lifecycle:  awaiting-connect ─CONNECT→ authenticating ─ok→ connected ─close→ closed
 *
 * Each packet type has its own handler in handlers/; this file holds the dispatch, the
 * error → reason code table and the outbound side of the SessionLink.
 */
import type { Logger } from 'pino';
import type { Packet, ProtocolVersion } from '../protocol/packets.js';
import type { PeerInfo } from '../transport/types.js';
import type { Delivery, Session, SessionLink } from '../session/session.js';
import type { Broker } from '../broker/broker.js';
import type { ClientHandle } from '../broker/hooks.js';
import type { Tenant } from '../broker/tenant.js';
import { Message } from '../session/message.js';
import { handleConnect } from './handlers/connect.js';
import { handlePublish } from './handlers/publish.js';
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from './handlers/acks.js';
import { handleSubscribe } from './handlers/subscribe.js';
import { handleUnsubscribe } from './handlers/unsubscribe.js';
import { handleDisconnect } from './handlers/disconnect.js';
import { RC, v3ConnackCode } from './reason.js';
import { CloseCause } from '../broker/tracer.js';
import type { ConnectionErrorReason } from '../broker/counters.js';

/** What a channel needs from its connection. */
export interface ChannelOutput {
  /** The version set by setProtocolVersion or seen in the CONNECT; undefined before that. */
  readonly protocolVersion: ProtocolVersion | undefined;
  /** The client's address and the listener it came through. */
  readonly peer: PeerInfo;
  /** True while the socket's output buffer is above the configured ceiling. */
  readonly congested: boolean;
  write(data: Buffer): void;
  writePacket(packet: Packet): void;
  setProtocolVersion(version: ProtocolVersion): void;
  /** Lowers the largest packet accepted from now on (a limit of the client's instance). */
  limitPacketSize(bytes: number): void;
  pauseReading(): void;
  resumeProcessing(): void;
  /** Flush and close the network connection. */
  close(): void;
}

export type ChannelState = 'awaiting-connect' | 'authenticating' | 'connected' | 'closed';

/**
 * What few connections use, made on the first need (idle connections are counted in bytes, and a
 * field on Channel costs every connection 8 bytes): the will, MQTT 5 client limits, topic
 * aliases, the per-client child logger and rare flags.
 */
class ChannelExtras {
  will: Message | null = null;
  /** MQTT 5 Will Delay Interval, seconds. */
  willDelay = 0;
  /** The client sent DISCONNECT with a reason that discards the will [MQTT-3.1.2-10]. */
  willDiscarded = false;
  /** The client sent DISCONNECT (status events tell `disconnect` from a dropped connection). */
  disconnectReceived = false;
  /** Client limits announced in its CONNECT (MQTT 5); 0 = none. */
  clientMaxPacketSize = 0;
  clientTopicAliasMax = 0;
  requestProblemInfo = true;
  /** Topic aliases: client → server (alias → topic) and server → client (topic → alias). */
  inboundAliases: Map<number, string> | null = null;
  outboundAliases: Map<string, number> | null = null;
  /** Memory the aliases pin (2 bytes per topic character), each direction, against maxTopicAliasBytes. */
  inboundAliasBytes = 0;
  outboundAliasBytes = 0;
  /** An unexpected error was reported for this connection (logged and counted once). */
  faulted = false;
  /** The per-client child logger, made on first use. */
  childLog: Logger | null = null;
  childLogFor = '';
  acks: AckQueue | null = null;
}

/**
 * Acknowledgements waiting for the store commit that makes them true, in order, and steps to run
 * once the acks before them went out. Made on the first ack that has to wait: idle clients never ack.
 */
class AckQueue {
  readonly entries: Array<Packet | (() => void)> = [];
  queued = 0;
  flushed = 0;
  wait: Promise<void> | null = null;
  /**
   * How far the callback on `wait` flushes. Acks queued behind the same promise (one commit's
   * acks of this client) share one callback that flushes them all: one promise reaction per
   * commit and connection, not one per PUBACK.
   */
  waitUpTo: { upTo: number } | null = null;
  /** PUBACKs waiting for their commit: the client counts them against our Receive Maximum. */
  pendingPubacks = 0;
  /**
   * `wait` includes other nodes' answers (a cluster hold), which may come after a later commit:
   * an ack that waits only for a commit must then wait for `wait` too, or it would flush the held
   * acks before them.
   */
  waitHeld = false;
}

const NO_EXTRAS: Readonly<ChannelExtras> = Object.freeze(new ChannelExtras());

/** Channel.holds bits. */
const HELD = 1;
const FLOW = 2;

export class Channel implements SessionLink, ClientHandle {
  state: ChannelState = 'awaiting-connect';
  /**
   * Why this client's packets are not read (bits; 0 = read): HELD while a decision is pending
   * (CONNECT authentication, an authorization callback: hold.ts), FLOW while flow control waits
   * for a subscriber (src/flow). Reading resumes only once every reason is gone.
   */
  private holds = 0;
  clientId = '';
  username: string | undefined = undefined;
  /** The instance's tenant, decided by authentication (its instanceId is the client's). */
  tenant: Tenant | null = null;
  /** What the authenticator attached to this connection. */
  principal: unknown = undefined;
  session: Session | null = null;
  /** Keepalive in seconds after any server cap; 0 = none. */
  keepalive = 0;
  /** This connection's number in traces (its ChannelId), set by the tracer; 0 = not traced. */
  traceChannel = 0;
  /** Rarely set state (ChannelExtras); null until something needs it. */
  private x: ChannelExtras | null = null;

  constructor(
    readonly out: ChannelOutput,
    readonly broker: Broker,
  ) {}

  /** True while packets wait in the decoder (held for a decision or by flow control). */
  get paused(): boolean {
    return this.holds !== 0;
  }
  /** Holds or lets go of the input for a pending decision (CONNECT, hold.ts). */
  set paused(on: boolean) {
    this.holds = on ? this.holds | HELD : this.holds & ~HELD;
  }

  /** Flow control (src/flow): stop reading until resumeInput(); writes go on. */
  pauseInput(): void {
    if (this.state === 'closed') return;
    this.holds |= FLOW;
    this.out.pauseReading();
  }

  resumeInput(): void {
    if ((this.holds & FLOW) === 0) return;
    this.holds &= ~FLOW;
    if (this.holds === 0 && this.state !== 'closed') this.out.resumeProcessing();
  }

  /** Paused by flow control: not read, so its keepalive is not held against it. */
  get flowPaused(): boolean {
    return (this.holds & FLOW) !== 0;
  }

  /** The MQTT version of the CONNECT (4 before one arrived); the connection's decoder keeps it. */
  get protocolVersion(): ProtocolVersion {
    return this.out.protocolVersion ?? 4;
  }

  /** Who is connected (the transport's view); the connection keeps it. */
  get peer(): PeerInfo {
    return this.out.peer;
  }

  private get logger(): Logger {
    return this.broker.logger;
  }

  /** Instance (tenant) the client belongs to, decided by authentication; '' before that. */
  get instanceId(): string {
    return this.tenant === null ? '' : this.tenant.instanceId;
  }

  /** Acks waiting for their commit (AckQueue), in the extras: only clients that publish QoS 1/2 or subscribe have them. */
  private get acks(): AckQueue | null {
    return this.x === null ? null : this.x.acks;
  }
  private set acks(acks: AckQueue | null) {
    if (acks !== null || this.x !== null) this.own.acks = acks;
  }

  /** The rare state, read-only view: shared defaults while none was made. */
  private get extras(): Readonly<ChannelExtras> {
    return this.x ?? NO_EXTRAS;
  }

  private get own(): ChannelExtras {
    return (this.x ??= new ChannelExtras());
  }

  get will(): Message | null {
    return this.extras.will;
  }
  set will(will: Message | null) {
    if (will !== null || this.x !== null) this.own.will = will;
  }
  get willDelay(): number {
    return this.extras.willDelay;
  }
  set willDelay(seconds: number) {
    if (seconds !== 0 || this.x !== null) this.own.willDelay = seconds;
  }
  get willDiscarded(): boolean {
    return this.extras.willDiscarded;
  }
  set willDiscarded(discarded: boolean) {
    if (discarded || this.x !== null) this.own.willDiscarded = discarded;
  }
  get disconnectReceived(): boolean {
    return this.extras.disconnectReceived;
  }
  set disconnectReceived(received: boolean) {
    if (received || this.x !== null) this.own.disconnectReceived = received;
  }
  /** Client limits announced in its CONNECT (MQTT 5); 0 = none. */
  get clientMaxPacketSize(): number {
    return this.extras.clientMaxPacketSize;
  }
  set clientMaxPacketSize(bytes: number) {
    if (bytes !== 0 || this.x !== null) this.own.clientMaxPacketSize = bytes;
  }
  get clientTopicAliasMax(): number {
    return this.extras.clientTopicAliasMax;
  }
  set clientTopicAliasMax(max: number) {
    if (max !== 0 || this.x !== null) this.own.clientTopicAliasMax = max;
  }
  get requestProblemInfo(): boolean {
    return this.extras.requestProblemInfo;
  }
  set requestProblemInfo(on: boolean) {
    if (!on || this.x !== null) this.own.requestProblemInfo = on;
  }
  /** Topic aliases client → server (handlers/publish.ts); made with the first alias. */
  get inboundAliases(): Map<number, string> | null {
    return this.extras.inboundAliases;
  }
  set inboundAliases(aliases: Map<number, string> | null) {
    if (aliases !== null || this.x !== null) this.own.inboundAliases = aliases;
  }
  get inboundAliasBytes(): number {
    return this.extras.inboundAliasBytes;
  }
  set inboundAliasBytes(bytes: number) {
    if (bytes !== 0 || this.x !== null) this.own.inboundAliasBytes = bytes;
  }
  /** PUBACKs waiting for their commit: the client counts them against our Receive Maximum. */
  get pendingPubacks(): number {
    return this.acks?.pendingPubacks ?? 0;
  }

  /** The per-client child logger, made on first use: idle connections never pay for one. */
  get log(): Logger {
    if (this.clientId === '') return this.logger;
    const x = this.own;
    if (x.childLog === null || x.childLogFor !== this.clientId) {
      x.childLogFor = this.clientId;
      x.childLog = this.logger.child({ clientId: this.clientId, instanceId: this.instanceId });
    }
    return x.childLog;
  }

  /**
   * An info line about something this client can repeat at will (a refused publish, a protocol
   * error): written once per cause per client per interval, the repeats counted
   * (src/observability/log-limits.ts). Before CONNECT the client is its address.
   */
  note(cause: string, fields: Record<string, unknown>, msg: string): void {
    const client = this.clientId === '' ? `@${this.peer.remoteAddress}` : `${this.instanceId}/${this.clientId}`;
    this.broker.notes.note(cause, client, this.log, fields, msg);
  }

  /** Checked before building log lines on paths every client takes (connect, close). */
  logs(level: 'debug' | 'info'): boolean {
    return this.logger.isLevelEnabled(level);
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  // ClientHandle, for hooks.

  get connected(): boolean {
    return this.state === 'connected';
  }

  notify(topic: string, payload: Buffer, qos: 0 | 1 | 2 = 0): void {
    if (this.state !== 'connected') return;
    const message = new Message(topic, payload, qos, false, undefined, 0, null);
    this.session!.deliver({ message, qos, retain: false, subscriptionIds: undefined, shared: null });
  }

  disconnect(reasonCode: number): void {
    this.terminate(reasonCode);
  }

  handle(packet: Packet): void {
    const faults = this.broker.faults;
    if (faults !== null) faults.beforePacket?.(this, packet.type);
    if (this.state === 'awaiting-connect') {
      if (packet.type === 'connect') {
        // Undefined when answered in this turn (a throw then is the handler's, Connection.onData).
        handleConnect(this, packet)?.catch((error: unknown) => this.internalError(error, 'continuation', 'connect'));
        return;
      }
      // [MQTT-3.1.0-1] the first packet must be CONNECT; anything else closes the connection.
      this.logProtocolError(`first packet was ${packet.type}, not connect`);
      this.terminate();
      return;
    }
    if (this.state !== 'connected') return;
    switch (packet.type) {
      case 'publish':
        handlePublish(this, packet);
        return;
      case 'puback':
        handlePuback(this, packet);
        return;
      case 'pubrec':
        handlePubrec(this, packet);
        return;
      case 'pubrel':
        handlePubrel(this, packet);
        return;
      case 'pubcomp':
        handlePubcomp(this, packet);
        return;
      case 'subscribe':
        handleSubscribe(this, packet);
        return;
      case 'unsubscribe':
        handleUnsubscribe(this, packet);
        return;
      case 'pingreq':
        this.out.writePacket({ type: 'pingresp' });
        return;
      case 'disconnect':
        handleDisconnect(this, packet);
        return;
      case 'connect':
        // [MQTT-3.1.0-2] a second CONNECT is a protocol violation.
        this.protocolError(RC.ProtocolError, 'second CONNECT');
        return;
      case 'auth':
        // No enhanced authentication method was negotiated, so AUTH is unexpected [MQTT-4.12.0-1].
        this.protocolError(RC.ProtocolError, 'AUTH without an authentication method');
        return;
      default:
        // CONNACK, SUBACK, UNSUBACK, PINGRESP only flow server → client.
        this.protocolError(RC.ProtocolError, `unexpected ${packet.type} from client`);
    }
  }

  /**
   * A malformed packet or a protocol violation: the reason code goes back as CONNACK (before
   * CONNECT completed) or DISCONNECT (MQTT 5), then the connection closes. 3.x just closes,
   * except for the CONNACK return codes 3.1.1 defines [MQTT-3.2.2-4].
   */
  protocolError(reasonCode: number, message: string): void {
    if (this.state === 'closed') return;
    this.logProtocolError(message, reasonCode);
    if (this.state === 'awaiting-connect' || this.state === 'authenticating') {
      this.refuseConnect(reasonCode);
      return;
    }
    this.terminate(reasonCode);
  }

  /**
   * An unexpected error (a bug, or a dependency failing in a way nothing handles) while serving
   * this connection: it closes this connection only, like Mosquitto's packet handler, never the
   * process. MQTT 5 clients get DISCONNECT 0x80 Unspecified error (CONNACK 0x80 before CONNECT
   * completed); 3.x clients are just closed (3.1.1 has no server DISCONNECT nor a code for it). One
   * error log line with the client and the packet, and ferry_connection_errors_total{reason}.
   * Called by the connection for throws out of packet handling and by async continuations.
   */
  internalError(error: unknown, reason: ConnectionErrorReason, packetType?: string): void {
    if (!this.extras.faulted) {
      this.own.faulted = true;
      this.broker.counters.connectionErrors[reason]++;
      this.log.error(
        { err: error, clientId: this.clientId || undefined, packetType, reason, state: this.state, remote: this.peer.remoteAddress },
        'unexpected error while serving a connection: closing this connection only',
      );
    }
    if (this.state === 'closed') return;
    try {
      if (this.state === 'connected') this.terminate(RC.UnspecifiedError);
      else this.refuseConnect(RC.UnspecifiedError);
    } catch (closeError) {
      // Closing politely failed too (e.g. the encoder): drop the socket without a word.
      this.log.error({ err: closeError }, 'closing after an unexpected error failed; destroying the connection');
      this.out.close();
      if (!this.isClosed) this.finish(RC.UnspecifiedError);
    }
  }

  /** Answers a CONNECT with a failure and closes [MQTT-3.2.2-5]. */
  refuseConnect(reasonCode: number): void {
    if (this.protocolVersion === 5) {
      this.out.writePacket({ type: 'connack', sessionPresent: false, reasonCode });
    } else {
      const code = v3ConnackCode(reasonCode);
      if (code !== undefined) this.out.writePacket({ type: 'connack', sessionPresent: false, reasonCode: code });
    }
    this.terminate();
  }

  /**
   * Sends an acknowledgement to the client (PUBACK, PUBREC, PUBCOMP, SUBACK) once the store has
   * made durable everything recorded so far: an ack is a promise that nothing it covers will be
   * lost. Acks keep their order, so one that needs no commit still waits behind earlier ones.
   * When the commit fails the ack is refused instead (refuseAck), never sent as a success.
   */
  ack(packet: Packet): void {
    this.afterCommit(packet);
  }

  /** Runs `step` once every ack queued before it went out (at once when none waits). */
  afterAcks(step: () => void): void {
    if (this.acks === null || this.acks.wait === null) step();
    else this.afterCommit(step);
  }

  private afterCommit(entry: Packet | (() => void)): void {
    let wait = this.broker.persistence?.whenDurable() ?? null;
    const held = this.broker.takeAckHold();
    const waiting = this.acks?.wait ?? null;
    let waitHeld = this.acks?.waitHeld ?? false;
    if (held !== null) {
      // Other nodes must accept the message too (src/cluster). Their answer may come before an
      // earlier ack's commit: this ack also waits for the acks queued before it, so order holds.
      wait = Promise.all([wait, held, waiting]).then(() => undefined);
      waitHeld = true;
    } else if (wait !== null && waitHeld && waiting !== null && wait !== waiting) {
      // Only a commit here, but an earlier ack waits for other nodes: its answer may come after
      // this commit, whose callback would otherwise flush that earlier ack too.
      wait = Promise.all([wait, waiting]).then(() => undefined);
    }
    if (wait === null) {
      if (waiting === null) {
        if (typeof entry === 'function') entry();
        else this.out.writePacket(entry);
        return;
      }
      wait = waiting;
    }
    const acks = (this.acks ??= new AckQueue());
    acks.entries.push(entry);
    if (typeof entry !== 'function' && entry.type === 'puback') acks.pendingPubacks++;
    const target = ++acks.queued;
    if (wait === acks.wait && acks.waitUpTo !== null) {
      // Its callback has not run (it clears `wait`): it now flushes this ack too.
      acks.waitUpTo.upTo = target;
      return;
    }
    const until = { upTo: target };
    acks.wait = wait;
    acks.waitUpTo = until;
    acks.waitHeld = waitHeld;
    // Both callbacks catch their own errors (no third promise per ack on this path).
    wait.then(
      () => this.flushAcksSafely(until, false, entry),
      () => this.flushAcksSafely(until, true, entry),
    );
  }

  /** flushAcks as a commit callback: an unexpected throw closes this connection (internalError). */
  private flushAcksSafely(until: { upTo: number }, refused: boolean, entry: Packet | (() => void)): void {
    const acks = this.acks;
    // Later acks go behind a new callback, even if they wait for the same promise.
    if (acks !== null && acks.waitUpTo === until) acks.waitUpTo = null;
    try {
      this.flushAcks(until.upTo, refused);
    } catch (error) {
      this.internalError(error, 'continuation', typeof entry === 'function' ? 'after-commit step' : entry.type);
    }
  }

  private flushAcks(upTo: number, refused: boolean): void {
    const acks = this.acks;
    if (acks === null) return;
    const queue = acks.entries;
    while (acks.flushed < upTo && this.state !== 'closed') {
      const entry = queue.shift();
      if (entry === undefined) break;
      acks.flushed++;
      if (typeof entry === 'function') {
        if (!refused) entry();
        continue;
      }
      if (entry.type === 'puback') acks.pendingPubacks--;
      if (!refused) this.out.writePacket(entry);
      else if (!this.refuseAck(entry)) return;
    }
    if (queue.length === 0) {
      acks.wait = null;
      acks.waitUpTo = null;
      acks.waitHeld = false;
    }
  }

  /**
   * The store could not make durable what this ack promised. MQTT 5 says so in the PUBACK /
   * PUBREC (0x97 when the disk is full, else 0x80) and SUBACK (0x80 per filter); MQTT 3.1.1 has
   * a failure code only in SUBACK, so a refused PUBACK/PUBREC closes the connection, as the
   * spec allows: the client sends the message again on a new connection. Returns false when
   * the connection was closed.
   */
  private refuseAck(packet: Packet): boolean {
    const code = this.broker.persistence?.store.health.ok === false && this.broker.persistence.store.health.code === 'SQLITE_FULL'
      ? RC.QuotaExceeded
      : RC.UnspecifiedError;
    this.broker.counters.refusedUnstored++;
    if (packet.type === 'suback') {
      this.out.writePacket({ ...packet, reasonCodes: packet.reasonCodes.map((rc) => (rc < 0x80 ? RC.UnspecifiedError : rc)) });
      return true;
    }
    if (this.protocolVersion === 5 && (packet.type === 'puback' || packet.type === 'pubrec')) {
      // A PUBREC with a failure code ends the QoS 2 flow: the packet id is free again (MQTT 5 §4.3.3).
      if (packet.type === 'pubrec') this.session?.removeInboundQos2(packet.packetId);
      this.out.writePacket({ ...packet, reasonCode: code });
      return true;
    }
    this.terminate(RC.UnspecifiedError);
    return false;
  }

  /** Server-initiated close, with a DISCONNECT reason for MQTT 5 clients when given. */
  terminate(reasonCode?: number): void {
    if (this.state === 'closed') return;
    if (reasonCode !== undefined && this.state === 'connected' && this.protocolVersion === 5) {
      this.out.writePacket({ type: 'disconnect', reasonCode });
    }
    this.out.close();
    this.finish(reasonCode ?? CloseCause.Server);
  }

  /** The client sent DISCONNECT: close without answering [MQTT-3.14.4-1]. */
  closeByClient(): void {
    if (this.state === 'closed') return;
    this.out.close();
    this.finish(CloseCause.ClientDisconnect);
  }

  /** The socket closed (for any reason). */
  onConnectionLost(error?: Error): void {
    if (this.state === 'closed') return;
    if (error !== undefined && this.logs('debug')) this.log.debug({ err: error.message }, 'connection error');
    this.finish(error === undefined ? CloseCause.PeerClosed : CloseCause.SocketError);
  }

  /** The client's output buffer drained: the session may resume sending. */
  onDrain(): void {
    this.session?.drain();
  }

  /** `cause`: the reason code the server closed with, or a CloseCause (for traces). */
  private finish(cause: number): void {
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    if (!wasConnected) return;
    this.broker.tracer?.closed(this, cause);
    this.broker.channelClosed(this);
  }

  private logProtocolError(message: string, reasonCode?: number): void {
    // The child logger carries clientId once the client has one; before that, the address says who.
    this.note('protocol-error', { reasonCode, remote: this.peer.remoteAddress }, `protocol error: ${message}`);
  }

  // SessionLink: the outbound side.

  sendPublish(delivery: Delivery, packetId: number, dup: boolean): boolean {
    if (delivery.qos === 0 && this.out.congested) return false;
    const message = delivery.message;
    const x = this.x;
    let alias = 0;
    let aliasOnly = false;
    if (x !== null && x.clientTopicAliasMax > 0) {
      const aliases = (x.outboundAliases ??= new Map());
      const known = aliases.get(message.topic);
      if (known !== undefined) {
        alias = known;
        aliasOnly = true;
      } else if (aliases.size < x.clientTopicAliasMax && x.outboundAliasBytes + message.topic.length * 2 <= this.broker.options.maxTopicAliasBytes) {
        // Past the byte budget a topic goes out in full: an alias would pin its string.
        alias = aliases.size + 1;
        aliases.set(message.topic, alias);
        x.outboundAliasBytes += message.topic.length * 2;
      }
    }
    const data = message.encodeFor(
      this.protocolVersion,
      delivery.qos,
      delivery.retain,
      packetId,
      dup,
      delivery.subscriptionIds,
      alias,
      aliasOnly,
      message.expiresAt === 0 ? 0 : Date.now(),
    );
    // [MQTT-3.1.2-25] never send a packet larger than the client's Maximum Packet Size.
    if (x !== null && x.clientMaxPacketSize > 0 && data.length > x.clientMaxPacketSize) {
      if (alias !== 0 && !aliasOnly) {
        x.outboundAliases!.delete(message.topic);
        x.outboundAliasBytes -= message.topic.length * 2;
      }
      return false;
    }
    this.out.write(data);
    this.broker.counters.messagesOut++;
    const tenant = this.tenant!;
    tenant.messagesOut++;
    tenant.bytesOut += data.length;
    const stats = message.topicStats;
    if (stats !== null) stats.out++;
    const tracer = this.broker.tracer;
    if (tracer !== null) tracer.delivered(this, delivery);
    return true;
  }

  sendPubrel(packetId: number): void {
    this.out.writePacket({ type: 'pubrel', packetId });
  }
}
