/**
 * One AMQP 0-9-1 connection: the handshake, channel 0 and the channel table.
 *
 *   "AMQP\0\0\9\1" ─▶ connection.start ─▶ start-ok (PLAIN, signKey: auth) ─▶ tune ─▶ tune-ok
 *     (frame-max, heartbeat) ─▶ open (vhost MQTT) ─▶ open-ok ─▶ channels ... ─▶ close / close-ok
 *
 * Failures close with AMQP's reply codes and never throw out of here: a bad protocol header gets
 * the supported header back; wrong credentials get connection.close 403 ACCESS_REFUSED; a frame
 * that does not parse 501/502, a frame out of place 503/504/505, an unsupported method 540 naming
 * it; a channel-level mistake closes just that channel. After sending connection.close, Ferry
 * waits (briefly) for close-ok and then drops the socket.
 */
import type { Socket } from 'node:net';
import { AmqpAuthError, type AmqpPrincipal } from './auth.js';
import { AmqpChannel, ChannelError, type ChannelHost } from './channel.js';
import { AmqpProtocolError, decodeArgs, encodeMethod, FRAME_MIN_SIZE, FrameReader, HEARTBEAT_FRAME, M, methodName, PROTOCOL_HEADER, type Frame } from './codec.js';
import type { AmqpContext } from './context.js';

const HANDSHAKE_TIMEOUT_MS = 10_000;
const CLOSE_OK_TIMEOUT_MS = 1_000;
/** Publishes awaiting their confirm above which Ferry stops reading the socket (TCP back-pressure). */
const MAX_PENDING_CONFIRMS = 2_000;
const VIRTUAL_HOSTS = new Set(['MQTT', '/']);

type State = 'header' | 'start' | 'tune' | 'open' | 'running' | 'closing' | 'closed';

export class AmqpConnection implements ChannelHost {
  private state: State = 'header';
  private readonly reader = new FrameReader();
  private header = Buffer.alloc(0);
  private principalOf: AmqpPrincipal | null = null;
  frameMax = FRAME_MIN_SIZE;
  private channelMax: number;
  private readonly channels = new Map<number, AmqpChannel>();
  congested = false;
  private corked = false;
  private pending = 0;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private handshakeTimer: NodeJS.Timeout | null;
  private lastRead = Date.now();
  private lastWrite = Date.now();

  constructor(
    readonly socket: Socket,
    readonly ctx: AmqpContext,
  ) {
    this.channelMax = ctx.settings.channelMax;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.congested = false;
      for (const channel of this.channels.values()) channel.drained();
    });
    socket.on('error', (error) => ctx.logger.debug({ err: error }, 'amqp: socket error'));
    socket.on('close', () => this.onClosed());
    this.handshakeTimer = setTimeout(() => {
      ctx.logger.info({ peer: this.peer }, 'amqp: handshake not completed in time; dropping the connection');
      socket.destroy();
    }, HANDSHAKE_TIMEOUT_MS);
    ctx.stats.connections++;
    ctx.stats.connectionsTotal++;
  }

  get principal(): AmqpPrincipal {
    if (this.principalOf === null) throw new Error('no principal before the handshake');
    return this.principalOf;
  }

  private get peer(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? 0}`;
  }

  write(frames: Buffer | Buffer[]): void {
    if (this.state === 'closed' || this.socket.destroyed) return;
    this.lastWrite = Date.now();
    const data = Array.isArray(frames) ? (frames.length === 1 ? frames[0]! : Buffer.concat(frames)) : frames;
    // Everything written in this tick (a batch of deliveries, of confirms) leaves in one writev.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    if (!this.socket.write(data)) this.congested = true;
  }

  pendingConfirms(delta: number): void {
    this.pending += delta;
    if (delta > 0 && this.pending >= MAX_PENDING_CONFIRMS) this.socket.pause();
    else if (delta < 0 && this.pending < MAX_PENDING_CONFIRMS / 2 && this.socket.isPaused() && this.state === 'running') this.socket.resume();
  }

  /** Server-initiated close (Ferry stops): connection.close 320 CONNECTION_FORCED. */
  shutdown(): void {
    if (this.state === 'running') this.closeWith(new AmqpProtocolError(320, 'CONNECTION_FORCED - Ferry is shutting down'));
    else this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.lastRead = Date.now();
    try {
      if (this.state === 'header') {
        this.header = Buffer.concat([this.header, chunk]);
        if (this.header.length < 8) return;
        if (!this.header.subarray(0, 8).equals(PROTOCOL_HEADER)) {
          // Spec §4.2.2: answer with the protocol header Ferry supports, then close.
          this.state = 'closed';
          this.socket.end(PROTOCOL_HEADER);
          return;
        }
        chunk = this.header.subarray(8);
        this.header = Buffer.alloc(0);
        this.state = 'start';
        this.write(
          encodeMethod(M.ConnectionStart, 0, {
            versionMajor: 0,
            versionMinor: 9,
            serverProperties: {
              product: 'Ferry',
              platform: `Node.js ${process.version}`,
              information: 'MQTT broker; AMQP 0-9-1 endpoint for server-side SDKs (docs/amqp.md)',
              capabilities: {
                publisher_confirms: true,
                'basic.nack': true,
                consumer_cancel_notify: false,
                'connection.blocked': false,
                authentication_failure_close: true,
                per_consumer_qos: true,
                exchange_exchange_bindings: false,
              },
            },
            mechanisms: Buffer.from('PLAIN'),
            locales: Buffer.from('en_US'),
          }),
        );
        if (chunk.length === 0) return;
      }
      for (const frame of this.reader.push(chunk)) {
        if ((this.state as State) === 'closed') return;
        this.handle(frame);
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    if (error instanceof AmqpProtocolError) {
      this.ctx.stats.protocolErrors++;
      this.ctx.logger.info({ peer: this.peer, code: error.replyCode, reason: error.message }, 'amqp: closing the connection');
      this.closeWith(error);
      return;
    }
    this.ctx.logger.error({ err: error, peer: this.peer }, 'amqp: internal error; closing the connection');
    this.closeWith(new AmqpProtocolError(541, `INTERNAL_ERROR - ${(error as Error).message}`));
  }

  private closeWith(error: AmqpProtocolError): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const before = this.state;
    this.state = 'closing';
    this.releaseChannels();
    if (before === 'header') {
      this.socket.destroy();
      return;
    }
    this.write(encodeMethod(M.ConnectionClose, 0, { replyCode: error.replyCode, replyText: error.message.slice(0, 255), classId: error.classId, methodId: error.methodId }));
    setTimeout(() => this.socket.destroy(), CLOSE_OK_TIMEOUT_MS).unref();
  }

  private handle(frame: Frame): void {
    if (frame.type === 'heartbeat') return;
    if (this.state === 'closing') {
      // Only the close handshake matters now (spec §4.2.4); the rest is discarded.
      if (frame.type === 'method' && frame.channel === 0 && (frame.id === M.ConnectionCloseOk || frame.id === M.ConnectionClose)) {
        if (frame.id === M.ConnectionClose) this.write(encodeMethod(M.ConnectionCloseOk, 0, {}));
        this.state = 'closed';
        this.socket.end();
      }
      return;
    }
    if (frame.channel === 0) {
      if (frame.type !== 'method') throw new AmqpProtocolError(504, 'CHANNEL_ERROR - content frame on channel 0');
      this.connectionMethod(frame.id, frame.args);
      return;
    }
    if (this.state !== 'running') throw new AmqpProtocolError(504, `CHANNEL_ERROR - frame on channel ${frame.channel} before connection.open`);
    const channel = this.channels.get(frame.channel);
    if (frame.type === 'method' && frame.id === M.ChannelOpen) {
      if (channel !== undefined) throw new AmqpProtocolError(504, `CHANNEL_ERROR - channel ${frame.channel} is already open`, 20, 10);
      if (frame.channel > this.channelMax) throw new AmqpProtocolError(504, `CHANNEL_ERROR - channel ${frame.channel} is above channel-max ${this.channelMax}`, 20, 10);
      this.channels.set(frame.channel, new AmqpChannel(frame.channel, this));
      this.write(encodeMethod(M.ChannelOpenOk, frame.channel, {}));
      return;
    }
    if (channel === undefined) throw new AmqpProtocolError(504, `CHANNEL_ERROR - channel ${frame.channel} is not open`);
    if (channel.state === 'closing') {
      if (frame.type === 'method' && (frame.id === M.ChannelCloseOk || frame.id === M.ChannelClose)) {
        if (frame.id === M.ChannelClose) this.write(encodeMethod(M.ChannelCloseOk, frame.channel, {}));
        this.channels.delete(frame.channel);
      }
      return;
    }
    if (frame.type === 'method' && frame.id === M.ChannelClose) {
      channel.release();
      this.channels.delete(frame.channel);
      this.write(encodeMethod(M.ChannelCloseOk, frame.channel, {}));
      return;
    }
    if (frame.type === 'method' && frame.id === M.ChannelCloseOk) return;
    try {
      channel.handle(frame);
    } catch (error) {
      if (!(error instanceof ChannelError)) throw error;
      this.ctx.logger.debug({ peer: this.peer, channel: frame.channel, code: error.replyCode, reason: error.message }, 'amqp: closing a channel');
      channel.release();
      const methodId = frame.type === 'method' ? frame.id : 0;
      this.write(encodeMethod(M.ChannelClose, frame.channel, { replyCode: error.replyCode, replyText: error.message.slice(0, 255), classId: methodId >>> 16, methodId: methodId & 0xffff }));
    }
  }

  private connectionMethod(id: number, args: Buffer): void {
    const expected = this.state === 'start' ? M.ConnectionStartOk : this.state === 'tune' ? M.ConnectionTuneOk : this.state === 'open' ? M.ConnectionOpen : null;
    if (expected !== null && id !== expected) {
      throw new AmqpProtocolError(503, `COMMAND_INVALID - expected ${methodName(expected)}, got ${methodName(id)}`, id >>> 16, id & 0xffff);
    }
    switch (id) {
      case M.ConnectionStartOk:
        return this.startOk(decodeArgs(id, args));
      case M.ConnectionTuneOk: {
        const tune = decodeArgs<{ channelMax: number; frameMax: number; heartbeat: number }>(id, args);
        const frameMax = tune.frameMax === 0 ? this.ctx.settings.frameMax : Math.min(tune.frameMax, this.ctx.settings.frameMax);
        if (frameMax < FRAME_MIN_SIZE) throw new AmqpProtocolError(530, `NOT_ALLOWED - frame-max ${tune.frameMax} is below ${FRAME_MIN_SIZE}`, 10, 31);
        this.frameMax = frameMax;
        this.reader.frameMax = frameMax;
        if (tune.channelMax !== 0) this.channelMax = Math.min(this.channelMax, tune.channelMax);
        this.startHeartbeat(tune.heartbeat);
        this.state = 'open';
        return;
      }
      case M.ConnectionOpen: {
        const { virtualHost } = decodeArgs<{ virtualHost: string }>(id, args);
        if (!VIRTUAL_HOSTS.has(virtualHost)) throw new AmqpProtocolError(530, `NOT_ALLOWED - virtual host '${virtualHost}' does not exist (use MQTT)`, 10, 40);
        this.state = 'running';
        if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
        this.handshakeTimer = null;
        this.write(encodeMethod(M.ConnectionOpenOk, 0, { knownHosts: '' }));
        return;
      }
      case M.ConnectionClose:
        this.releaseChannels();
        this.write(encodeMethod(M.ConnectionCloseOk, 0, {}));
        this.state = 'closed';
        this.socket.end();
        return;
      case M.ConnectionCloseOk:
      case M.ConnectionBlocked:
      case M.ConnectionUnblocked:
        return;
      default:
        throw new AmqpProtocolError(540, `NOT_IMPLEMENTED - ${methodName(id)} is not supported by Ferry's AMQP endpoint`, id >>> 16, id & 0xffff);
    }
  }

  private startOk(args: { clientProperties: Record<string, unknown>; mechanism: string; response: Buffer }): void {
    if (args.mechanism !== 'PLAIN') throw new AmqpProtocolError(403, `ACCESS_REFUSED - mechanism ${args.mechanism} is not supported, use PLAIN`, 10, 11);
    // PLAIN: [authzid] NUL authcid NUL passwd
    const parts = args.response.toString('utf8').split('\u0000');
    if (parts.length !== 3) throw new AmqpProtocolError(403, 'ACCESS_REFUSED - malformed PLAIN response', 10, 11);
    try {
      this.principalOf = this.ctx.auth.authenticate({ username: parts[1]!, password: parts[2]!, clientProperties: args.clientProperties ?? {} });
    } catch (error) {
      if (!(error instanceof AmqpAuthError)) throw error;
      this.ctx.stats.authFailures++;
      this.ctx.logger.info({ peer: this.peer, reason: error.message }, 'amqp: login refused');
      throw new AmqpProtocolError(403, `ACCESS_REFUSED - ${error.message}`, 10, 11);
    }
    this.state = 'tune';
    const { channelMax, frameMax, heartbeatSeconds } = this.ctx.settings;
    this.write(encodeMethod(M.ConnectionTune, 0, { channelMax, frameMax, heartbeat: heartbeatSeconds }));
  }

  private startHeartbeat(seconds: number): void {
    if (seconds <= 0) return;
    const ms = seconds * 1000;
    this.heartbeatTimer = setInterval(() => {
      const now = Date.now();
      if (now - this.lastRead > 2 * ms) {
        this.ctx.logger.info({ peer: this.peer, heartbeat: seconds }, 'amqp: peer missed its heartbeats; dropping the connection');
        this.socket.destroy();
        return;
      }
      if (now - this.lastWrite >= ms / 2) this.write(HEARTBEAT_FRAME);
    }, ms / 2);
    this.heartbeatTimer.unref();
  }

  private releaseChannels(): void {
    for (const channel of this.channels.values()) if (channel.state === 'open') channel.release();
  }

  private onClosed(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.releaseChannels();
    this.channels.clear();
    this.state = 'closed';
    this.ctx.stats.connections--;
  }
}
