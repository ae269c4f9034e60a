/** `ferry cluster status`: the nodes of a cluster (GET /api/v1/cluster, docs/cluster.md). */
import { details, table } from './output.js';
import type { CommandDef } from './resources.js';

interface NodeRow extends Record<string, unknown> {
  nodeId: string;
  self: boolean;
}

export const CLUSTER_COMMANDS: Record<string, CommandDef> = {
  cluster: {
    summary: 'Nodes of a cluster: health, clients, sessions',
    usage: 'cluster status',
    actions: {
      status: async (c) => {
        const status = (await c.client.call('GET', '/cluster')) as Record<string, unknown> & { nodes?: NodeRow[] };
        if (c.out.json) {
          c.out.write(`${JSON.stringify(status, null, 2)}\n`);
          return;
        }
        if (status['enabled'] !== true) {
          c.out.write('cluster mode is off: a single node (clusterNats unset)\n');
          return;
        }
        const { nodes = [], routing, ...node } = status;
        c.out.write(details({ ...node, routing }));
        c.out.write('\n');
        c.out.write(table(nodes.map((n) => ({ ...n, nodeId: n.self ? `${n.nodeId} *` : n.nodeId })), ['nodeId', 'healthy', 'clients', 'sessions', 'subscriptions', 'lastSeen']));
      },
    },
  },
};
