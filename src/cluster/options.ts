/** Cluster settings (docs/cluster.md, docs/configuration.md "Cluster"), from the config. */
import { hostname } from 'node:os';
import type { FerryConfig } from '../config/schema.js';

export interface ClusterOptions {
  readonly servers: readonly string[];
  readonly nodeId: string;
  readonly subjectPrefix: string;
  readonly heartbeatMs: number;
  readonly ackTimeoutMs: number;
  readonly replicas: number;
  /** Where the node keeps its state: JetStream (shared by the nodes) or its own store. */
  readonly store: 'jetstream' | 'local';
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

/** The cluster settings of a config; null when clusterNats is unset (a single node). */
export function clusterOptions(config: FerryConfig, mqttPort = config.mqttPort): ClusterOptions | null {
  if (config.clusterNats === undefined) return null;
  return {
    servers: config.clusterNats.split(',').map((s) => s.trim()),
    nodeId: config.nodeId ?? `${hostname().replace(/[^A-Za-z0-9_:@-]/g, '-')}:${mqttPort}`,
    subjectPrefix: config.clusterSubjectPrefix,
    heartbeatMs: config.clusterHeartbeatMs,
    ackTimeoutMs: config.clusterAckTimeoutMs,
    replicas: config.clusterReplicas,
    store: config.clusterStore,
    ...(config.clusterNatsUser === undefined ? {} : { user: config.clusterNatsUser }),
    ...(config.clusterNatsPassword === undefined ? {} : { password: config.clusterNatsPassword }),
    ...(config.clusterNatsToken === undefined ? {} : { token: config.clusterNatsToken }),
    ...(config.clusterNatsTlsCa === undefined ? {} : { tlsCa: config.clusterNatsTlsCa }),
    ...(config.clusterNatsTlsCert === undefined ? {} : { tlsCert: config.clusterNatsTlsCert }),
    ...(config.clusterNatsTlsKey === undefined ? {} : { tlsKey: config.clusterNatsTlsKey }),
  };
}
