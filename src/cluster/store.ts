/**
 * The store of a cluster node with clusterStore `jetstream` (docs/cluster.md, "JetStream state"):
 * its own NATS connection (the first connect retried and logged, as the cluster's), then the
 * JetStream buckets and streams, retried until JetStream answers. The node cannot start before:
 * it loads its sessions, retained messages and metadata from there.
 */
import { setTimeout as pause } from 'node:timers/promises';
import type { Logger } from 'pino';
import { openJetStreamStore } from '../store/jetstream/jetstream-store.js';
import type { Store, StoreOptions } from '../store/types.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsLink } from './nats-link.js';
import type { ClusterOptions } from './options.js';

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5000;
/** A node's lease on its durable logs, in heartbeats (docs/cluster.md, "A dead node's logs"). */
export const LEASE_HEARTBEATS = 4;

/**
 * Every wait is given up when `abort` is aborted (a signal during the start): the promise then
 * rejects with its reason, after closing what it opened.
 */
export async function openClusterStore(options: ClusterOptions, storeOptions: StoreOptions, logger: Logger, abort?: AbortSignal): Promise<Store> {
  const link = new NatsLink(options, logger);
  const connection = await link.open(abort);
  try {
    return await openWithRetries(link, connection, options, storeOptions, logger, abort);
  } catch (err) {
    await link.close();
    throw err;
  }
}

/** Waits `ms`, or rejects with `abort`'s reason as soon as it is aborted. */
async function retryPause(ms: number, abort: AbortSignal | undefined): Promise<void> {
  await pause(ms, undefined, abort === undefined ? undefined : { signal: abort }).catch(() => abort?.throwIfAborted());
}

async function openWithRetries(link: NatsLink, connection: NatsConnection, options: ClusterOptions, storeOptions: StoreOptions, logger: Logger, abort: AbortSignal | undefined): Promise<Store> {
  let delay = FIRST_RETRY_MS;
  for (let attempt = 1; ; attempt++) {
    let store: Store;
    try {
      store = await openJetStreamStore({
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
    } catch (err) {
      abort?.throwIfAborted();
      logger.error(
        { servers: options.servers, attempt, retryInMs: delay, err: (err as Error).message },
        'cannot open the cluster state in JetStream (is JetStream on: nats-server -js?); retrying',
      );
      await retryPause(delay, abort);
      delay = Math.min(delay * 2, MAX_RETRY_MS);
      continue;
    }
    try {
      await firstWrite(store, options, logger, abort);
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
    logger.info({ nodeId: options.nodeId, replicas: options.replicas }, 'cluster state opened in JetStream');
    return store;
  }
}

/** A first write that goes through: JetStream may answer reads before its new streams take writes. */
async function firstWrite(store: Store, options: ClusterOptions, logger: Logger, abort: AbortSignal | undefined): Promise<void> {
  for (;;) {
    abort?.throwIfAborted();
    try {
      store.setMeta(`node.${options.nodeId}.openedAt`, new Date().toISOString());
      await store.commit();
      return;
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'cannot write the cluster state in JetStream yet; retrying');
      await retryPause(FIRST_RETRY_MS * 4, abort);
    }
  }
}
