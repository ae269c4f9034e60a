/**
 * What the composition root (server.ts) uses of cluster mode, in one module that it imports only
 * when cluster mode is configured (clusterNats): a single node never loads the NATS client, the
 * JetStream store or the cluster's broker extensions (src/load-feature.ts).
 */
export { Cluster } from './index.js';
export { openClusterStore } from './store.js';
export { Handover } from './handover.js';
export { LogAdoption } from './log-adoption.js';
export { openClusterQueues } from './queue-relay.js';
export { ClusterDeadLetters } from './dead-letters.js';
export { checkClusterMasterKey } from './master-key.js';
export { clusterBootstrapClaim } from './bootstrap-claim.js';
export { JetStreamNonceLedger, registerNonceLedgerMetrics } from './nonce-ledger.js';
export { registerFencingMetrics } from './fencing.js';
export { JetStreamStore } from '../store/jetstream/jetstream-store.js';
