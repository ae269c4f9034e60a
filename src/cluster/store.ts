/**
 * The store of a cluster node with clusterStore `jetstream` (docs/cluster.md, "JetStream state"):
 * its own NATS connection (the first connect retried and logged, as the cluster's), then the
 * JetStream buckets and streams, retried until JetStream answers. The node cannot start before:
 * it loads its sessions, retained messages and metadata from there.
 */
import type { Logger } from 'pino';
import { openJetStreamStore } from '../store/jetstream/jetstream-store.js';
import type { Store, StoreOptions } from '../store/types.js';
import { NatsLink } from './nats-link.js';
import type { ClusterOptions } from './options.js';

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5000;
/** A node's lease on its durable logs, in heartbeats (docs/cluster.md, "A dead node's logs"). */
export const LEASE_HEARTBEATS = 4;

export async function openClusterStore(options: ClusterOptions, storeOptions: StoreOptions, logger: Logger): Promise<Store> {
  const link = new NatsLink(options, logger);
  const connection = await link.open();
  let delay = FIRST_RETRY_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      const store = await openJetStreamStore({
        ...storeOptions,
        connection,
        prefix: options.subjectPrefix,
        nodeId: options.nodeId,
        replicas: options.replicas,
        // Longer than presence (three heartbeats): a node is adopted from only after it left presence too.
        leaseMs: options.heartbeatMs * LEASE_HEARTBEATS,
        warn: (message, detail) => logger.warn(detail, message),
        onClose: () => link.close(),
      });
      // A first write that goes through: JetStream may answer reads before its new streams take writes.
      for (;;) {
        try {
          store.setMeta(`node.${options.nodeId}.openedAt`, new Date().toISOString());
          await store.commit();
          break;
        } catch (err) {
          logger.error({ err: (err as Error).message }, 'cannot write the cluster state in JetStream yet; retrying');
          await new Promise((resolve) => setTimeout(resolve, FIRST_RETRY_MS * 4));
        }
      }
      logger.info({ nodeId: options.nodeId, replicas: options.replicas }, 'cluster state opened in JetStream');
      return store;
    } catch (err) {
      logger.error(
        { servers: options.servers, attempt, retryInMs: delay, err: (err as Error).message },
        'cannot open the cluster state in JetStream (is JetStream on: nats-server -js?); retrying',
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
  }
}
