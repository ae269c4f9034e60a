/**
 * The AMQP 0-9-1 endpoint for the managed service's server-side SDKs (reference §6.1,
 * docs/amqp.md): a TCP listener (`amqpPort`), an AMQPS one when TLS is configured (`amqpsPort`),
 * backed by the built-in durable queues. Attaches to the broker through its extension points
 * only (AmqpIngest) and publishes through the management surface, as any backend would.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import type { CustomAuth } from '../auth/custom-auth.js';
import type { AccessKeys } from '../auth/access-keys.js';
import type { PublishInput } from '../management/publish.js';
import type { BuiltinQueueAccess } from '../rules/queues.js';
import type { Message } from '../session/message.js';
import type { Store } from '../store/types.js';
import type { Tenancy } from '../tenancy/registry.js';
import { tlsServerOptions, type TlsMaterial } from '../transport/tls.js';
import { AmqpAuthenticator } from './auth.js';
import { checkCodecInstalled } from './codec.js';
import { AmqpConnection } from './connection.js';
import { newStats, type AmqpContext, type AmqpSettings, type AmqpStats } from './context.js';
import { AmqpIngest } from './ingest.js';
import { QueueFeeds } from './queue-feeds.js';

export interface AmqpEndpointDeps {
  readonly host: string;
  /** Negative: no plain listener. 0: any free port. */
  readonly port: number;
  /** With `tls`: the AMQPS port (negative: none). */
  readonly tlsPort: number;
  readonly tls?: TlsMaterial;
  readonly broker: Broker;
  readonly store: Store;
  readonly queues: BuiltinQueueAccess;
  readonly keys: AccessKeys;
  readonly custom: CustomAuth;
  readonly tenancy: Tenancy;
  readonly publish: (instanceId: string, input: PublishInput) => string;
  readonly durable: () => Promise<void>;
  readonly msgIdOf: (message: Message) => string | undefined;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly settings?: Partial<AmqpSettings>;
}

export interface AmqpEndpoint {
  /** Bound ports; absent when that listener is off. */
  readonly ports: { amqp?: number; amqps?: number };
  readonly stats: AmqpStats;
  /** Problem for /readyz, or null: every configured listener is listening. */
  readiness(): string | null;
  stopAccepting(): void;
  close(): Promise<void>;
}

export const DEFAULT_SETTINGS: AmqpSettings = { heartbeatSeconds: 60, frameMax: 131_072, channelMax: 2047, maxMessageBytes: 0 };

export async function startAmqp(deps: AmqpEndpointDeps): Promise<AmqpEndpoint> {
  checkCodecInstalled();
  const stats = newStats();
  const ingest = new AmqpIngest(deps.broker, deps.store, deps.queues, deps.msgIdOf);
  await ingest.start();
  deps.tenancy.onInstanceDeleted((instanceId) => ingest.dropInstance(instanceId));
  const feeds = new QueueFeeds(deps.queues, deps.logger);
  const settings: AmqpSettings = {
    ...DEFAULT_SETTINGS,
    maxMessageBytes: deps.broker.options.maxPacketSize,
    ...deps.settings,
  };
  const ctx: AmqpContext = {
    auth: new AmqpAuthenticator({ keys: deps.keys, custom: deps.custom, tenancy: deps.tenancy, now: deps.now ?? Date.now }),
    custom: deps.custom,
    tenancy: deps.tenancy,
    queues: deps.queues,
    feeds,
    ingest,
    publish: deps.publish,
    durable: deps.durable,
    logger: deps.logger,
    settings,
    stats,
  };
  const connections = new Set<AmqpConnection>();
  const accept = (socket: Socket): void => {
    const connection = new AmqpConnection(socket, ctx);
    connections.add(connection);
    socket.on('close', () => connections.delete(connection));
  };
  const servers: Server[] = [];
  const ports: { amqp?: number; amqps?: number } = {};
  try {
    if (deps.port >= 0) {
      const server = createTcpServer({ noDelay: true }, accept);
      ports.amqp = await listen(server, deps.host, deps.port);
      servers.push(server);
    }
    if (deps.tls !== undefined && deps.tlsPort >= 0) {
      const server = createTlsServer(tlsServerOptions({ ...deps.tls, requestClientCert: false, deviceCertificates: false }), accept);
      ports.amqps = await listen(server, deps.host, deps.tlsPort);
      servers.push(server);
    }
  } catch (error) {
    for (const server of servers) server.close();
    ingest.close();
    throw error;
  }
  let accepting = true;
  return {
    ports,
    stats,
    readiness: () => (servers.every((s) => s.listening) ? null : 'amqp listener is not listening'),
    stopAccepting: () => {
      if (!accepting) return;
      accepting = false;
      for (const server of servers) server.close();
    },
    close: async () => {
      accepting = false;
      for (const server of servers) server.close();
      ingest.close();
      feeds.close();
      for (const connection of connections) connection.shutdown();
      // Give clients a moment for close-ok, then drop what is left.
      const deadline = Date.now() + 1000;
      while (connections.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      for (const connection of connections) connection.socket.destroy();
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}
