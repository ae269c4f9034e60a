/** Everything an AMQP connection works with, built once by the endpoint (src/amqp/endpoint.ts). */
import type { Logger } from 'pino';
import type { CustomAuth } from '../auth/custom-auth.js';
import type { PublishInput } from '../management/publish.js';
import type { BuiltinQueueAccess } from '../rules/queues.js';
import type { Tenancy } from '../tenancy/registry.js';
import type { AmqpAuthenticator } from './auth.js';
import type { AmqpIngest } from './ingest.js';
import type { QueueFeeds } from './queue-feeds.js';

export interface AmqpSettings {
  /** Heartbeat the server proposes in connection.tune, seconds (0 = none). */
  readonly heartbeatSeconds: number;
  /** Largest frame the server proposes/accepts. */
  readonly frameMax: number;
  readonly channelMax: number;
  /** Largest message body a backend may publish. */
  readonly maxMessageBytes: number;
}

export interface AmqpStats {
  connections: number;
  connectionsTotal: number;
  authFailures: number;
  protocolErrors: number;
  delivered: number;
  acked: number;
  requeued: number;
  deadLettered: number;
  published: number;
  returned: number;
}

export interface AmqpContext {
  readonly auth: AmqpAuthenticator;
  readonly custom: CustomAuth;
  readonly tenancy: Tenancy;
  readonly queues: BuiltinQueueAccess;
  readonly feeds: QueueFeeds;
  readonly ingest: AmqpIngest;
  /** Publishes into the instance as the server (Management.publishNoWait); throws FacadeError with a code. */
  readonly publish: (instanceId: string, input: PublishInput) => string;
  /** Resolves once everything published so far is durable. */
  readonly durable: () => Promise<void>;
  readonly logger: Logger;
  readonly settings: AmqpSettings;
  readonly stats: AmqpStats;
}

export function newStats(): AmqpStats {
  return { connections: 0, connectionsTotal: 0, authFailures: 0, protocolErrors: 0, delivered: 0, acked: 0, requeued: 0, deadLettered: 0, published: 0, returned: 0 };
}
