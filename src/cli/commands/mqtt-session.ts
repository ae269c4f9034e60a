/**
 * One MQTT connection of the CLI (mqtt.js) that cannot end silently: every operation is raced
 * against the connection's end, so a broker that refuses a publish by closing the connection
 * (MQTT 3.1.1, Token mode, oversize payloads) fails the command instead of leaving a promise
 * pending while the process exits 0. Errors come out as CommandFailure with the reason code.
 */
import mqtt, { ReasonCodes, type IClientOptions, type MqttClient } from 'mqtt';
import { CommandFailure, oneLine } from './failures.js';

export function reason(code: number): string {
  const name = (ReasonCodes as Record<number, string>)[code];
  return `${name === undefined || name === '' ? 'reason' : name} (0x${code.toString(16).padStart(2, '0')})`;
}

/** "Not authorized (0x87)" for mqtt.js errors that carry a reason code (or a SUBACK), else the message. */
export function describe(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number') return reason(code);
  const granted = (err as { packet?: { granted?: unknown } }).packet?.granted;
  if (Array.isArray(granted)) {
    const failed = granted.filter((g): g is number => typeof g === 'number' && g >= 0x80);
    if (failed.length > 0) return [...new Set(failed)].map(reason).join(', ');
  }
  return oneLine(err);
}

export class MqttSession {
  /** Rejects when the connection ends before end() is called. */
  readonly closed: Promise<never>;
  private ending = false;
  private disconnect: { code: number; text?: string } | undefined;

  private constructor(
    readonly client: MqttClient,
    readonly url: string,
  ) {
    // mqtt.js emits 'error' for protocol problems; without a listener Node would throw it.
    let lastError: Error | undefined;
    client.on('error', (err) => (lastError = err));
    client.on('disconnect', (packet) => {
      this.disconnect = { code: packet.reasonCode ?? 0, ...(packet.properties?.reasonString === undefined ? {} : { text: packet.properties.reasonString }) };
    });
    this.closed = new Promise<never>((_, reject) => {
      client.once('close', () => {
        if (this.ending) return;
        const why =
          this.disconnect !== undefined
            ? `: ${reason(this.disconnect.code)}${this.disconnect.text === undefined ? '' : ` "${this.disconnect.text}"`}`
            : lastError !== undefined
              ? `: ${oneLine(lastError)}`
              : '';
        reject(new CommandFailure(`the broker closed the connection${why}`, lastError));
      });
    });
    this.closed.catch(() => undefined); // observed by run(); a close nobody waits for is not an error
  }

  static async open(url: string, options: IClientOptions): Promise<MqttSession> {
    try {
      return new MqttSession(await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 10_000, ...options }), url);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const what = typeof code === 'number' ? `connection refused: ${reason(code)}` : `cannot connect: ${oneLine(err)}`;
      throw new CommandFailure(`${what} (${url} as ${options.clientId ?? 'a random client id'})`, err);
    }
  }

  /** The operation, or the connection's end if that comes first. */
  async run<T>(operation: Promise<T>): Promise<T> {
    try {
      return await Promise.race([operation, this.closed]);
    } catch (err) {
      // mqtt.js fails pending operations with a bare "Connection closed" just before 'close':
      // answer with the close and its reason instead.
      if (!(err instanceof CommandFailure) && !this.client.connected && !this.ending) {
        await Promise.race([this.closed, new Promise((resolve) => setTimeout(resolve, 200))]);
      }
      throw err;
    }
  }

  /**
   * A round trip (UNSUBSCRIBE of a filter never subscribed → UNSUBACK). The broker handles a
   * client's packets in order, so an answer means everything sent before was taken, and no
   * answer (the connection closes) means something before was refused.
   */
  async roundTrip(): Promise<void> {
    await this.run(this.client.unsubscribeAsync('ferry-cli/round-trip'));
  }

  async end(force = false): Promise<void> {
    this.ending = true;
    if (!this.client.connected) {
      this.client.end(true);
      return;
    }
    await this.client.endAsync(force);
  }
}
