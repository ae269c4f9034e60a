/**
 * Per-socket driver (emqx_connection's job): reads bytes, decodes packets, hands them to the
 * channel, and owns the socket's write side: output backpressure and the close. Keepalive,
 * connect timeout and stuck-client checks are done by the broker's periodic sweep reading
 * the timestamps kept here, so an idle connection carries no timers of its own.
 */
import type { Logger } from 'pino';
import { DecodeError, Decoder } from '../protocol/decoder.js';
import { encode } from '../protocol/encoder.js';
import type { Packet } from '../protocol/packets.js';
import type { ByteStream } from '../transport/types.js';
import { Channel, type ChannelOutput } from '../channel/channel.js';
import type { Broker } from '../broker/broker.js';

export class Connection implements ChannelOutput {
  readonly channel: Channel;
  private readonly decoder: Decoder;
  /** Last time any byte arrived, ms (for keepalive and the connect timeout). */
  lastReadAt = Date.now();
  /** When the output buffer went above its ceiling, ms; 0 while below it. */
  congestedSince = 0;
  /** Set once we decided to close (our side); writes stop. */
  closed = false;
  /** When `closed` was set, ms, so the sweep can destroy sockets whose peer never closes. */
  closedAt = 0;
  /** Set once the underlying stream has closed. */
  private gone = false;

  constructor(
    readonly stream: ByteStream,
    private readonly broker: Broker,
    logger: Logger,
  ) {
    this.decoder = new Decoder({ maxPacketSize: broker.options.maxPacketSize });
    this.channel = new Channel(this, broker, stream.peer, logger);
    stream.onData((chunk) => this.onData(chunk));
    stream.onDrain(() => this.onDrain());
    stream.onClose((error) => this.onClose(error));
  }

  get protocolVersion(): 3 | 4 | 5 {
    return this.decoder.protocolVersion ?? 4;
  }

  private onData(chunk: Buffer): void {
    this.lastReadAt = Date.now();
    this.decoder.push(chunk);
    try {
      for (;;) {
        if (this.closed || this.channel.paused) return;
        const packet = this.decoder.next();
        if (packet === null) return;
        this.channel.handle(packet);
      }
    } catch (error) {
      if (error instanceof DecodeError) this.channel.protocolError(error.reasonCode, error.message);
      else throw error;
    }
  }

  /** Continue decoding after the channel un-pauses (e.g. once async authentication is done). */
  resumeProcessing(): void {
    if (this.closed) return;
    this.stream.resume();
    this.onData(Buffer.alloc(0));
  }

  pauseReading(): void {
    this.stream.pause();
  }

  private onDrain(): void {
    this.congestedSince = 0;
    this.channel.onDrain();
  }

  private onClose(error?: Error): void {
    if (this.gone) return;
    this.gone = true;
    this.closed = true;
    this.broker.connectionGone(this);
    this.channel.onConnectionLost(error);
  }

  // ChannelOutput

  get congested(): boolean {
    return this.stream.bufferedBytes > this.broker.options.maxOutputBufferBytes;
  }

  write(data: Buffer): void {
    if (this.closed) return;
    if (!this.stream.write(data) && this.congestedSince === 0 && this.congested) {
      this.congestedSince = Date.now();
    }
  }

  writePacket(packet: Packet): void {
    this.write(encode(packet, this.protocolVersion));
  }

  setProtocolVersion(version: 3 | 4 | 5): void {
    this.decoder.protocolVersion = version;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closedAt = Date.now();
    // A client stuck above the output ceiling will not take the rest: flushing first would keep
    // its socket and buffer until the sweep's close grace runs out.
    if (this.congestedSince !== 0) this.stream.destroy();
    else this.stream.end();
  }

  destroy(): void {
    this.closed = true;
    this.stream.destroy();
  }
}
