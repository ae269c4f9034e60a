/**
 * The node's connection to NATS: the first connect is retried until it succeeds (each failure
 * logged with the servers and the reason), later losses are reconnected by the NATS client
 * itself (forever). `problem` says why the node is not part of the cluster right now, for
 * /readyz and the cluster status.
 */
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { ClusterOptions } from './options.js';

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5000;

export class NatsLink {
  connection: NatsConnection | null = null;
  /** Why the node cannot reach NATS now; null while connected. */
  problem: string | null = 'connecting to NATS';
  private stopped = false;
  private retryTimer: { cancel: () => void } | null = null;
  private readonly listeners: Array<(up: boolean) => void> = [];

  constructor(
    private readonly options: ClusterOptions,
    private readonly logger: Logger,
  ) {}

  /** Called with false when the connection to NATS is lost, true when it is back. */
  onChange(listener: (up: boolean) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Resolves once connected (retrying with back-off, logging each failure); rejects only when
   * stopped first, or with `abort`'s reason once it is aborted (a start abandoned on a signal).
   */
  async open(abort?: AbortSignal): Promise<NatsConnection> {
    const onAbort = (): void => this.retryTimer?.cancel();
    abort?.addEventListener('abort', onAbort);
    try {
      let delay = FIRST_RETRY_MS;
      for (let attempt = 1; ; attempt++) {
        abort?.throwIfAborted();
        if (this.stopped) throw new Error('cluster stopped before NATS was reached');
        try {
          const connection = await connect(this.connectOptions());
          this.connection = connection;
          this.problem = null;
          this.logger.info({ servers: this.options.servers, server: connection.getServer() }, 'connected to NATS');
          this.watch(connection).catch((err: unknown) => this.logger.error({ err }, 'NATS status watch failed'));
          return connection;
        } catch (err) {
          this.problem = `cannot reach NATS (${this.options.servers.join(', ')}): ${(err as Error).message}`;
          this.logger.error({ servers: this.options.servers, attempt, retryInMs: delay, err: (err as Error).message }, 'cannot reach NATS; retrying');
          await this.sleep(delay);
          delay = Math.min(delay * 2, MAX_RETRY_MS);
        }
      }
    } finally {
      abort?.removeEventListener('abort', onAbort);
    }
  }

  private connectOptions(): NodeConnectionOptions {
    const o = this.options;
    const tls =
      o.tlsCa !== undefined || o.tlsCert !== undefined
        ? {
            ...(o.tlsCa === undefined ? {} : { caFile: o.tlsCa }),
            ...(o.tlsCert === undefined ? {} : { certFile: o.tlsCert }),
            ...(o.tlsKey === undefined ? {} : { keyFile: o.tlsKey }),
          }
        : undefined;
    return {
      servers: [...o.servers],
      name: `ferry-${o.nodeId}`,
      timeout: 2000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: Math.max(1000, o.heartbeatMs),
      maxPingOut: 3,
      ...(o.user === undefined ? {} : { user: o.user }),
      ...(o.password === undefined ? {} : { pass: o.password }),
      ...(o.token === undefined ? {} : { token: o.token }),
      ...(tls === undefined ? {} : { tls }),
    };
  }

  private async watch(connection: NatsConnection): Promise<void> {
    for await (const status of connection.status()) {
      if (status.type === 'disconnect') {
        this.problem = `lost the connection to NATS (${status.server}); reconnecting`;
        this.logger.error({ server: status.server }, 'lost the connection to NATS; reconnecting');
        this.emit(false);
      } else if (status.type === 'reconnect') {
        this.problem = null;
        this.logger.warn({ server: status.server }, 'reconnected to NATS');
        this.emit(true);
      }
    }
  }

  private emit(up: boolean): void {
    for (const listener of this.listeners) {
      try {
        listener(up);
      } catch (err) {
        this.logger.error({ err }, 'cluster connection listener failed');
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.retryTimer = null;
        resolve();
      }, ms);
      this.retryTimer = {
        cancel: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.retryTimer?.cancel();
    const connection = this.connection;
    this.connection = null;
    if (connection !== null && !connection.isClosed()) {
      try {
        await connection.drain();
      } catch {
        await connection.close();
      }
    }
  }
}
