/**
 * Starting the auth service inside a Ferry process (called by src/server.ts):
 *
 *   master.key → SecretBox → AuthService.open (tenancy, keys, tokens, credentials, custom auth)
 *     → bootstrap AccessKey (configured, or generated once: file + stderr; in a cluster one for
 *       every node, each writing it into its own file once)
 *     → broker hooks (authenticator, authorizer, system topics, client events) → housekeeping
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import type { AclRule } from '../broker/options.js';
import type { Store } from '../store/types.js';
import type { BootstrapClaim } from './access-keys.js';
import type { Clock } from './clock.js';
import { loadOrCreateMasterKey, SecretBox } from './crypto.js';
import { DEFAULT_LOGIN_LIMITS, type LoginLimits } from './quotas.js';
import { AuthService, type BrokerView } from './service.js';
import { ExternalAuth, type ExternalAuthConfig } from '../external-auth/index.js';

export const BOOTSTRAP_FILE = 'bootstrap-access-key.json';
/**
 * Cluster mode: the id of the bootstrap key this data directory's file was written for. Every
 * node writes the cluster's key into its own file once (for the CLI), and not again after an
 * operator deleted the file as the banner asks.
 */
export const BOOTSTRAP_WRITTEN_FILE = 'bootstrap-access-key.written';
const HOUSEKEEPING_MS = 3600_000;

export interface AuthSetup {
  readonly dataDir: string;
  readonly store: Store;
  readonly broker: Broker;
  readonly logger: Logger;
  readonly defaultInstanceId: string;
  readonly allowAnonymous: boolean;
  readonly acl: readonly AclRule[];
  readonly listenerInstances: Readonly<Record<string, string>>;
  readonly bootstrap: { id: string; secret: string } | null;
  /** Cluster mode: one generated bootstrap key for every node (src/cluster/bootstrap-claim.ts). */
  readonly bootstrapClaim?: BootstrapClaim;
  readonly loginLimits?: Partial<LoginLimits>;
  /** Where a generated bootstrap key is shown once; null = do not print (it is still in the file). */
  readonly announce: ((text: string) => void) | null;
  readonly onAuthFailure?: (instanceId: string, cause: string) => void;
  readonly clock?: Clock;
  /** Per-instance JWT and HTTP callbacks (config externalAuth). */
  readonly externalAuth?: ExternalAuthConfig;
}

export interface RunningAuth {
  readonly service: AuthService;
  readonly bootstrapKeyId: string;
  /** The SecretBox of this data directory, for other modules' sealed secrets (rule URLs). */
  readonly box: SecretBox;
  close(): void;
}

/** The live state the service needs, read from the broker. */
export function brokerView(broker: Broker): BrokerView {
  return {
    connections: (instanceId) => broker.tenants.get(instanceId)?.connections ?? 0,
    clientOnline: (instanceId, clientId) => (broker.registry.session(instanceId, clientId)?.link ?? null) !== null,
    clientSubscriptions: (instanceId, clientId, filter) => {
      const subscriptions = broker.registry.session(instanceId, clientId)?.subscriptions;
      return { count: subscriptions?.size ?? 0, has: subscriptions?.has(filter) ?? false };
    },
    instanceSubscriptions: (instanceId) => broker.tenants.get(instanceId)?.trie.size ?? 0,
    clients: (instanceId) => broker.clients(instanceId),
  };
}

export async function startAuth(setup: AuthSetup): Promise<RunningAuth> {
  const box = new SecretBox(loadOrCreateMasterKey(setup.dataDir));
  const external = await ExternalAuth.open(setup.externalAuth ?? {}, setup.logger);
  const service = await AuthService.open({
    store: setup.store,
    box,
    tenancy: { defaultInstanceId: setup.defaultInstanceId },
    options: {
      allowAnonymous: setup.allowAnonymous,
      acl: setup.acl,
      listenerInstances: setup.listenerInstances,
      loginLimits: { ...DEFAULT_LOGIN_LIMITS, ...setup.loginLimits },
      ...(setup.onAuthFailure === undefined ? {} : { onAuthFailure: setup.onAuthFailure }),
      logThrottle: setup.broker.notes,
      ...(setup.clock === undefined ? {} : { clock: setup.clock }),
      external,
    },
    logger: setup.logger,
  });
  for (const instanceId of external.instances()) {
    if (service.tenancy.get(instanceId) === undefined) setup.logger.warn({ instanceId }, 'externalAuth configured for an instance that does not exist (yet)');
  }
  for (const [listener, instanceId] of Object.entries(setup.listenerInstances)) {
    if (service.tenancy.get(instanceId) === undefined) {
      setup.logger.warn({ listener, instanceId }, 'listener bound to an instance that does not exist: its clients are refused');
    }
  }

  const bootstrap = await service.keys.ensureBootstrap(setup.bootstrap, setup.bootstrapClaim);
  if (bootstrap.created !== null) {
    const file = writeBootstrapFile(setup.dataDir, bootstrap.id, bootstrap.created.secret, setup.bootstrapClaim !== undefined);
    setup.logger.warn({ accessKeyId: bootstrap.id, file }, 'bootstrap AccessKey created; its secret is in the file and printed once on stderr');
    setup.announce?.(
      [
        '',
        'Ferry created a bootstrap AccessKey with full access (shown only this once):',
        `  AccessKeyId:     ${bootstrap.id}`,
        `  AccessKeySecret: ${bootstrap.created.secret}`,
        `It is also in ${file} (mode 0600): store it somewhere safe and delete that file.`,
        'Set FERRY_BOOTSTRAP_ACCESS_KEY_ID / FERRY_BOOTSTRAP_ACCESS_KEY_SECRET to choose your own.',
        '',
      ].join('\n'),
    );
  } else if (setup.bootstrapClaim !== undefined && setup.bootstrap === null) {
    // A cluster node: the key another node generated serves the CLI here too (`ferry … --data-dir`).
    const secret = service.keys.secret(bootstrap.id);
    if (secret !== undefined && !wroteBootstrapFile(setup.dataDir, bootstrap.id)) {
      const file = writeBootstrapFile(setup.dataDir, bootstrap.id, secret, true);
      setup.logger.info({ accessKeyId: bootstrap.id, file }, "the cluster's bootstrap AccessKey is in the file for the CLI on this node");
    }
  }

  service.attach(brokerView(setup.broker));
  const hooks = setup.broker.hooks;
  const previousEvents = hooks.events;
  hooks.authenticator = service;
  hooks.authorizer = service;
  hooks.systemTopics = service;
  hooks.events = {
    connected: (client) => {
      service.connected(client);
      previousEvents?.connected(client);
    },
    disconnected: (client) => {
      service.disconnected(client);
      previousEvents?.disconnected(client);
    },
  };
  const timer = setInterval(() => service.housekeeping(), HOUSEKEEPING_MS);
  timer.unref();
  return { service, bootstrapKeyId: bootstrap.id, box, close: () => clearInterval(timer) };
}

/** Writes the bootstrap key file (mode 0600) for the CLI; in a cluster also notes that it did. */
function writeBootstrapFile(dataDir: string, id: string, secret: string, cluster: boolean): string {
  const file = join(dataDir, BOOTSTRAP_FILE);
  const body = { accessKeyId: id, accessKeySecret: secret, policies: ['AliyunMQFullAccess'] };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  if (cluster) writeFileSync(join(dataDir, BOOTSTRAP_WRITTEN_FILE), `${id}\n`, { mode: 0o600 });
  return file;
}

/** Whether this data directory had the file of key `id` once (it may have been deleted since). */
function wroteBootstrapFile(dataDir: string, id: string): boolean {
  try {
    return readFileSync(join(dataDir, BOOTSTRAP_WRITTEN_FILE), 'utf8').trim() === id;
  } catch {
    return false;
  }
}
