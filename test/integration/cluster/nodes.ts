/**
 * Ferry nodes of the cluster tests: started as real processes on free ports, joined to the test's
 * NATS servers, and the probes the tests wait with (readiness, `ferry cluster status`, interest
 * that has reached the other nodes).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI_PATH, cleanEnv, spawnFerry, tempDir, waitFor, type FerryChild, type Teardown } from '../../helpers/index.js';
import type { TestClient } from '../mqtt/clients.js';

const exec = promisify(execFile);
const PORTS = ['--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port=-1', '--amqps-port=-1', '--tls-port', '0', '--wss-port', '0'];

export interface Node {
  readonly id: string;
  readonly dataDir: string;
  readonly proc: FerryChild;
  readonly mqtt: string;
  readonly http: string;
}

export interface ClusterStatus {
  enabled: boolean;
  nodes: Array<{ nodeId: string; healthy: boolean; clients: number }>;
  /** The NATS server the node is connected to now (`host:port`). */
  server?: string;
  problem?: string;
  fencing: { incarnation: number; fencings: number; clientsEnded: number };
}

/** The nodes of one cluster share their master key (secrets in JetStream are sealed with it; docs/cluster.md). */
const MASTER_KEY = randomBytes(32);

/**
 * A Ferry node `id` on the NATS servers `natsUrls` (comma-separated, its own first), heartbeat 500 ms;
 * `dataDir` to start it again on the store of an earlier run.
 */
export async function startNode(t: Teardown, id: string, natsUrls: string, extra: readonly string[] = [], dataDir = tempDir(t)): Promise<Node> {
  writeFileSync(join(dataDir, 'master.key'), MASTER_KEY, { mode: 0o600 });
  const proc = await spawnFerry(t, ['--data-dir', dataDir, ...PORTS, '--cluster-nats', natsUrls, '--node-id', id, '--cluster-heartbeat-ms', '500', ...extra], {
    // TEST_CLUSTER_LOG_LEVEL=debug for the cluster's debug lines (kept with keepLogs).
    env: { FERRY_LOG_LEVEL: process.env['TEST_CLUSTER_LOG_LEVEL'] ?? 'info' },
  });
  return { id, dataDir, proc, mqtt: `mqtt://127.0.0.1:${proc.ports['mqtt']}`, http: `http://127.0.0.1:${proc.ports['http']}` };
}

export async function ready(node: Node): Promise<boolean> {
  return (await fetch(`${node.http}/readyz`)).status === 200;
}

/** Waits until `node` answers /readyz 200 (within `timeoutMs`: longer where JetStream has three servers to elect on). */
export async function untilReady(node: Node, timeoutMs = 20_000): Promise<void> {
  await waitFor(() => ready(node), { timeoutMs, intervalMs: 100, message: `${node.id} ready` });
}

/** startNode, then untilReady. */
export async function startReadyNode(t: Teardown, id: string, natsUrls: string, extra: readonly string[] = BOOTSTRAP): Promise<Node> {
  const node = await startNode(t, id, natsUrls, extra);
  await untilReady(node);
  return node;
}

/** A full-access AccessKey given to every node of a test cluster (`BOOTSTRAP`), so each node knows it. */
export const ADMIN = { id: 'FERRYCLUSTERADMIN01', secret: 'cluster-admin-secret-0123' };
export const BOOTSTRAP: readonly string[] = ['--bootstrap-access-key-id', ADMIN.id, '--bootstrap-access-key-secret', ADMIN.secret];

/**
 * `ferry cluster status` of a node as an operator runs it: its table. Every node has the
 * cluster's bootstrap AccessKey in its data directory (docs/cluster.md, "Master key").
 */
export async function clusterStatusTable(node: Node, credentials = node.dataDir): Promise<string> {
  return (await exec(process.execPath, [CLI_PATH, 'cluster', 'status', '--endpoint', node.http, '--data-dir', credentials], { env: cleanEnv() })).stdout;
}

/** `ferry cluster status --json` of a node; `credentials`: a data directory with the bootstrap AccessKey. */
export async function clusterStatus(node: Node, credentials = node.dataDir): Promise<ClusterStatus> {
  // While JetStream elects leaders (a NATS server killed) the node answers 503 with Retry-After,
  // and the CLI asks again (docs/cluster.md, "API nonces and bearer tokens").
  const { stdout } = await exec(process.execPath, [CLI_PATH, 'cluster', 'status', '--json', '--endpoint', node.http, '--data-dir', credentials], { env: cleanEnv() });
  return JSON.parse(stdout) as ClusterStatus;
}

/**
 * Publishes QoS 1 until the PUBACK accepts it (reason 0): while the cluster handles a node's
 * leaving, a node may refuse a QoS 1 message with 0x80 (docs/cluster.md), and a client sends it
 * again; each retry is a new message.
 */
export async function publishedUntilAccepted(pub: TestClient, topic: string, payload: string, what: string, retain = false): Promise<void> {
  await waitFor(async () => (((await pub.client.publishAsync(topic, payload, { qos: 1, retain })) as { reasonCode?: number } | undefined)?.reasonCode ?? 0) === 0, {
    timeoutMs: 20_000,
    intervalMs: 500,
    message: what,
  });
}

/** Publishes probes on `topic` from `pub` until `sub` got one: the subscription's interest has reached the other node. */
export async function settled(pub: TestClient, sub: TestClient, topic: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    () => {
      pub.client.publish(topic, 'probe', { qos: 0 });
      return sub.received.some((m) => m.payload === 'probe');
    },
    { timeoutMs, intervalMs: 100, message: `interest in ${topic} across nodes` },
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  sub.received.length = 0;
}

/**
 * Writes every log line of `nodes` so far to one file in the temp directory (JSON lines in time
 * order, each with its node's id as `logOf`) and answers its path: a failed cluster test names it in its
 * message, so what the nodes did is there after the run (test output has no node logs).
 */
export function keepLogs(nodes: readonly Node[], name: string): string {
  const lines = nodes.flatMap((node) => node.proc.logs.map((l) => ({ logOf: node.id, ...l })));
  const at = (l: Record<string, unknown>): number => (typeof l['time'] === 'number' ? l['time'] : Date.parse(String(l['time'])));
  lines.sort((x, y) => at(x) - at(y));
  const path = join(tmpdir(), `ferry-${name}-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
  writeFileSync(path, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return path;
}

/** Runs `body`; when it throws, keeps the nodes' logs (keepLogs) and names the file in the error. */
export async function keepingLogs(nodes: readonly Node[], name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    // TEST_KEEP_LOGS=1 keeps them from passing runs too, to compare with a failed one.
    if (process.env['TEST_KEEP_LOGS'] === '1') process.stderr.write(`${name}: the nodes' logs: ${keepLogs(nodes, name)}\n`);
  } catch (err) {
    const path = keepLogs(nodes, name);
    if (err instanceof Error) {
      err.message += `\n(the nodes' logs: ${path})`;
      throw err;
    }
    throw new Error(`${String(err)}\n(the nodes' logs: ${path})`, { cause: err });
  }
}
