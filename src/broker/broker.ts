// Placeholder: the routing core is being written; this stub fixes the API the server composes.
import type { Logger } from 'pino';
import type { BrokerOptions } from './options.js';
import type { ByteStream, ConnectionSink } from '../transport/types.js';

export class Broker implements ConnectionSink {
  constructor(
    readonly options: BrokerOptions,
    readonly logger: Logger,
  ) {}
  accept(stream: ByteStream): void {
    stream.destroy();
  }
  /** Stop taking connections' traffic, flush, and close every client (graceful shutdown). */
  async close(): Promise<void> {}
}
