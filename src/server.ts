/**
 * Composition root: one Ferry process = logger + Broker + MQTT listeners + HTTP server.
 *
 * Start:  data dir → logger → store → broker (restore) → HTTP (readyz 503) → listeners → readyz 200
 * Stop:   readyz 503 → listeners stop accepting → broker.close() → listeners close → store close
 *         → HTTP close
 */
import { mkdirSync, readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Broker } from './broker/broker.js';
import type { AuthService } from './auth/service.js';
import type { Clock } from './auth/clock.js';
import { startAuth, type RunningAuth } from './auth/setup.js';
import { openStore } from './store/index.js';
import { startRules, withBuiltinQueues, type RulesRuntime } from './rules/runtime-start.js';
import { registerRuleMetrics } from './rules/metrics.js';
import { ConfigError } from './config/errors.js';
import { securityWarnings, tlsEnabled } from './config/load.js';
import type { FerryConfig } from './config/schema.js';
import { healthModule, Readiness } from './http/health.js';
import { metricsModule } from './http/metrics.js';
import { FerryMetrics } from './observability/metrics.js';
import { TraceService } from './observability/traces/index.js';
import { createHttpServer, listenHttp, type HttpModule } from './http/server.js';
import { restModule } from './api/rest/module.js';
import { BearerTokens } from './api/rest/bearer.js';
import { consoleModule } from './console/module.js';
import { ConsoleSessions } from './console/sessions.js';
import { rpcModule } from './api/rpc/endpoint.js';
import { Management } from './management/management.js';
import { authDeps } from './management/services.js';
import { componentLogger, createLogger } from './observability/logger.js';
import { createLogSink, type LogSink } from './observability/log-limits.js';
import { startListeners, type ListenerGroup, type ListenerSpec } from './transport/listeners.js';
import type { TlsMaterial } from './transport/tls.js';
import type { InstanceLimits } from './tenancy/limits.js';
import { connectorEndpoints, connectorLoader, type ConnectorLoader } from './rules/endpoints.js';
import { RuleRegistry } from './rules/registry.js';
import { RuleBackends } from './rules/runtime.js';
import type { LimitHits } from './observability/limit-hits.js';
import type { AmqpEndpoint } from './amqp/endpoint.js';
import type { Cluster } from './cluster/index.js';
import { clusterOptions } from './cluster/options.js';
import type { BuiltinQueueAccess } from './rules/queues.js';
import type { NonceLedger } from './api/rpc/nonce-cache.js';
import { loadFeature } from './load-feature.js';
import { scavengeOnMainThread } from './young-gc.js';
import { ENDPOINT_FILE, endpointUrls, removeEndpointFile, writeEndpointFile } from './discovery/endpoint-file.js';

/** Listener names, as they appear in logs, PeerInfo.listener and RunningFerry.ports. */
export type ListenerName = 'mqtt' | 'ws' | 'mqtts' | 'wss';

export interface FerryPorts {
  mqtt: number;
  ws: number;
  http: number;
  /** Present when TLS is configured. */
  mqtts?: number;
  wss?: number;
  /** The AMQP endpoint (docs/amqp.md); absent when off. */
  amqp?: number;
  amqps?: number;
}

export interface StartOptions {
  /** Use this logger instead of creating one from config.logLevel (tests, embedding). */
  logger?: Logger;
  /** The bounded stdout sink behind `logger` (its drops are counted in /metrics; flushed at stop). */
  logSink?: LogSink;
  /** Clock of the auth service (token expiry, notices, rate limits); tests pass a ManualClock. */
  authClock?: Clock;
  /**
   * Where a generated bootstrap AccessKey is printed once. Default: stderr, unless the log level
   * is 'silent' (it is in <dataDir>/bootstrap-access-key.json either way). null = never.
   */
  announce?: ((text: string) => void) | null;
  /**
   * Gives up the start where it waits on something outside the process (cluster mode: NATS and
   * JetStream, retried until they answer): startFerry then rejects with the signal's reason.
   */
  abort?: AbortSignal;
}

export interface RunningFerry {
  readonly config: FerryConfig;
  readonly logger: Logger;
  readonly broker: Broker;
  readonly http: FastifyInstance;
  /** Tenancy, AccessKeys, tokens, device credentials, custom auth (docs/authentication.md). */
  readonly auth: AuthService;
  /** Prometheus registry behind GET /metrics; `metrics.authFailures` is for authenticators. */
  readonly metrics: FerryMetrics;
  /** Message and device traces: the query API of the QueryMqttTrace* actions. */
  readonly traces: TraceService;
  /**
   * Rules (docs/rules.md): the registry (subscribe with registry.onChange, clear URLs from
   * registry.resolved), the connectors by scheme (`await rules.connectors()`: imported on first
   * use), and the runtime + built-in queues the API answers from (stubs until the rule runtime
   * replaces them).
   */
  readonly rules: { readonly registry: RuleRegistry; readonly connectors: ConnectorLoader; readonly backends: RuleBackends };
  /** The rule runtime: the engine, the built-in queues and its connector registry (docs/rules.md). */
  readonly ruleRuntime: RulesRuntime;
  /** The AMQP endpoint for server-side SDKs (docs/amqp.md); null when amqpPort and amqpsPort are off. */
  readonly amqp: AmqpEndpoint | null;
  /** Cluster mode on NATS (docs/cluster.md); null on a single node (clusterNats unset). */
  readonly cluster: Cluster | null;
  /** Actually bound ports. */
  readonly ports: Readonly<FerryPorts>;
  /** True between "every listener accepts" and the start of stop(). */
  readonly ready: boolean;
  /** Graceful shutdown; idempotent (later calls return the same promise). */
  stop(): Promise<void>;
}

/** Largest WebSocket message: one max-size packet plus room for a few small ones. */
function wsMaxMessageBytes(maxPacketSize: number): number {
  return maxPacketSize + 64 * 1024;
}

function readTlsFile(key: 'tlsCert' | 'tlsKey' | 'tlsCa', file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`Cannot read ${key} file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Listener specs for a config (TLS files are read here, so a bad path fails startup). */
export function listenerSpecs(config: FerryConfig): ListenerSpec[] {
  const host = config.bind;
  const maxMessageBytes = wsMaxMessageBytes(config.broker.maxPacketSize);
  const backlog = config.listenBacklog;
  const specs: ListenerSpec[] = [
    { name: 'mqtt', kind: 'tcp', host, port: config.mqttPort, backlog },
    { name: 'ws', kind: 'ws', host, port: config.wsPort, backlog, wsPath: config.wsPath, maxMessageBytes },
  ];
  if (tlsEnabled(config) && config.tlsCert !== undefined && config.tlsKey !== undefined) {
    const tls: TlsMaterial = {
      cert: readTlsFile('tlsCert', config.tlsCert),
      key: readTlsFile('tlsKey', config.tlsKey),
      ...(config.tlsCa === undefined ? {} : { ca: readTlsFile('tlsCa', config.tlsCa) }),
      requestClientCert: config.requestClientCert,
      deviceCertificates: config.x509DeviceAuth,
    };
    specs.push(
      { name: 'mqtts', kind: 'tls', host, port: config.tlsPort, backlog, tls },
      { name: 'wss', kind: 'wss', host, port: config.wssPort, backlog, tls, wsPath: config.wsPath, maxMessageBytes },
    );
  }
  return specs;
}

/** HTTP modules of the process. Metrics first: its hook times every route. */
function httpModules(
  config: FerryConfig,
  readiness: Readiness,
  metrics: FerryMetrics,
  management: Management,
  limitHits: LimitHits,
  cluster: () => Record<string, unknown>,
  shared: { bearer: BearerTokens; nonceLedger: NonceLedger | null },
): HttpModule[] {
  // The console signs people in with the REST API's bearer tokens, held in a session cookie.
  const { bearer, nonceLedger } = shared;
  const ledger = nonceLedger === null ? {} : { nonceLedger };
  const sessions = config.console ? new ConsoleSessions(bearer, management) : undefined;
  return [
    metricsModule(metrics, { mode: config.metricsAccess, token: config.metricsToken }),
    healthModule(readiness),
    restModule({
      management,
      bearer,
      noncesPerKey: config.apiNoncesPerKey,
      ...ledger,
      limitHits,
      stats: (instanceId) => metrics.instanceSnapshot(instanceId),
      cluster,
      ...(sessions === undefined ? {} : { sessionAuth: sessions.authenticate }),
    }),
    rpcModule({ management, observe: metrics.observeRpcRequest, noncesPerKey: config.apiNoncesPerKey, limitHits, ...ledger }),
    ...(sessions === undefined ? [] : [consoleModule({ sessions })]),
  ];
}

export async function startFerry(config: FerryConfig, options: StartOptions = {}): Promise<RunningFerry> {
  mkdirSync(config.dataDir, { recursive: true });
  // Scavenges without V8's helper threads: shorter pauses at a steady rate (young-gc.ts).
  scavengeOnMainThread();
  // stdout never blocks the broker: a bounded asynchronous buffer that drops (and counts) lines.
  const sink = options.logSink ?? (options.logger === undefined ? createLogSink(config.logBufferBytes) : null);
  const logger = options.logger ?? createLogger({ level: config.logLevel, ...(sink === null ? {} : { destination: sink.stream }) });
  for (const warning of securityWarnings(config)) logger.warn({ security: true }, warning);

  const specs = listenerSpecs(config);
  const readiness = new Readiness();
  // Offline caps and retention are per instance; the tenancy registry answers once auth runs.
  let instanceLimits: (instanceId: string) => InstanceLimits | undefined = () => undefined;
  const storeOptions = {
    limits: (instanceId: string) => {
      const limits = instanceLimits(instanceId);
      const perInstance = limits?.maxOfflineMessages || config.broker.maxQueuedPerInstance;
      return {
        // 0 = no per-session cap below the instance's (docs/storage.md).
        maxQueuedPerSession: config.broker.maxQueuedMessages || perInstance,
        maxQueuedPerInstance: perInstance,
        // Bytes: 0 = no cap (docs/security.md).
        maxQueuedBytesPerSession: config.broker.maxQueuedBytes,
        maxQueuedBytesPerInstance: config.broker.maxQueuedBytesPerInstance,
        retentionMs: (limits?.offlineRetentionSeconds || config.broker.offlineRetention) * 1000,
      };
    },
  };
  // Cluster mode's code (the NATS client, the JetStream store) is loaded only when it is configured.
  const clusterCode = clusterOptions(config) === null ? null : await loadFeature('cluster mode (clusterNats)', () => import('./cluster/parts.js'));
  // Cluster mode with clusterStore jetstream: the state lives in JetStream (docs/cluster.md).
  const jetstreamCluster = config.clusterStore === 'jetstream' ? clusterOptions(config) : null;
  if (jetstreamCluster !== null && config.nodeId === undefined && config.mqttPort === 0) {
    throw new ConfigError('clusterStore jetstream needs a node id that stays the same across restarts: set nodeId (--node-id) when mqttPort is 0');
  }
  const store =
    jetstreamCluster !== null && clusterCode !== null
      ? await clusterCode.openClusterStore(jetstreamCluster, storeOptions, componentLogger(logger, 'store'), options.abort)
      : await openStore(config.storeEngine === 'memory' ? null : config.dataDir, {
          fsync: config.storeFsync,
          fsyncIntervalMs: config.storeFsyncIntervalMs,
          ...storeOptions,
        });
  // One line per change of the store's health, never one per refused message.
  store.onHealthChange((health) => {
    if (health.ok) logger.warn({ store: 'recovered' }, 'store writes again: persistent work accepted again');
    else {
      logger.error(
        { store: 'degraded', reason: health.reason, code: health.code },
        'store cannot write: serving what needs no store, refusing (never acknowledging) what does; retrying',
      );
    }
  });
  readiness.addCheck('store', () => (store.health.ok ? null : `store cannot write: ${store.health.reason}`));
  // The parts below that use the state in JetStream; null unless clusterStore is jetstream.
  const jet = jetstreamCluster !== null && clusterCode !== null && store instanceof clusterCode.JetStreamStore ? { store, options: jetstreamCluster, code: clusterCode } : null;
  // A JetStream write carries a whole message: packets over NATS's max_payload are refused at the door (0x95).
  const maxPacketSize = jet !== null ? Math.min(config.broker.maxPacketSize, jet.store.maxMessageBytes) : config.broker.maxPacketSize;
  if (maxPacketSize < config.broker.maxPacketSize) {
    logger.warn({ maxPacketSize, configured: config.broker.maxPacketSize }, 'broker.maxPacketSize lowered to what the NATS servers accept in one message (their max_payload)');
  }
  // An offline session's queue is kept in memory only where this node alone writes it: with the
  // state in JetStream the session may open on another node next (docs/storage.md).
  const offlineWindowBytes = jetstreamCluster !== null ? 0 : config.broker.offlineWindowBytes;
  const broker = new Broker({ ...config.broker, maxPacketSize, offlineWindowBytes }, componentLogger(logger, 'broker'), store);
  // Sessions move between nodes with their queues when they live in JetStream (docs/cluster.md).
  const handover = jet !== null ? new jet.code.Handover(broker, jet.store, jet.options, componentLogger(logger, 'cluster')) : null;
  if (sink !== null) sink.onDrop = (lines) => broker.counters.limitHits.hit('log_lines_dropped', lines);
  let traces: TraceService;
  let auth: RunningAuth;
  try {
    if (jetstreamCluster !== null && clusterCode !== null) await clusterCode.checkClusterMasterKey(store, config.dataDir, jet?.store ?? null);
    const restored = await broker.restore();
    logger.info({ ...restored, ...(jetstreamCluster !== null ? { store: 'jetstream' } : { store: config.storeEngine, fsync: config.storeFsync }) }, 'state restored');
    traces = await TraceService.open(
      config.dataDir,
      {
        enabled: config.tracing,
        retentionSeconds: config.traceRetention,
        maxRows: config.traceMaxRows,
        maxBytes: config.traceMaxBytes,
        flushIntervalMs: config.traceFlushIntervalMs,
        writerCpuPercent: config.traceWriterCpuPercent,
      },
      componentLogger(logger, 'traces'),
      config.broker.defaultInstanceId,
    );
    const announce =
      options.announce !== undefined ? options.announce : config.logLevel === 'silent' ? null : (text: string) => void process.stderr.write(text);
    auth = await startAuth({
      dataDir: config.dataDir,
      store,
      broker,
      logger: componentLogger(logger, 'auth'),
      defaultInstanceId: config.broker.defaultInstanceId,
      allowAnonymous: config.broker.allowAnonymous,
      acl: config.broker.acl,
      listenerInstances: config.listenerInstances,
      externalAuth: config.externalAuth,
      bootstrap:
        config.bootstrapAccessKeyId !== undefined && config.bootstrapAccessKeySecret !== undefined
          ? { id: config.bootstrapAccessKeyId, secret: config.bootstrapAccessKeySecret }
          : null,
      // With the metadata in JetStream the nodes agree on one generated bootstrap key (docs/cluster.md).
      ...(jet !== null ? { bootstrapClaim: jet.code.clusterBootstrapClaim(jet.store, componentLogger(logger, 'cluster')) } : {}),
      loginLimits: {
        maxFailuresPerIp: config.loginMaxFailuresPerIp,
        maxFailuresPerUsername: config.loginMaxFailuresPerUsername,
        blockMs: config.loginBlockSeconds * 1000,
        maxBlockMs: Math.max(config.loginMaxBlockSeconds, config.loginBlockSeconds) * 1000,
      },
      announce,
      onAuthFailure: (instance, reason) => metrics.authFailures.inc({ instance, reason }),
      ...(options.authClock === undefined ? {} : { clock: options.authClock }),
    });
  } catch (err) {
    await broker.close();
    await store.close();
    throw err;
  }
  const tenancy = auth.service.tenancy;
  instanceLimits = (instanceId) => tenancy.get(instanceId)?.limits;
  // A deleted instance takes its sessions, queues and retained messages with it.
  tenancy.onInstanceDeleted((instanceId) => broker.dropTenant(instanceId));
  broker.tracer = traces.recorder;
  broker.extensions.onListenerError = (err, point) => logger.error({ err, point }, 'broker extension listener failed');
  const metrics = new FerryMetrics({ broker, traces, quotas: auth.service.quotas });
  const connectors = withBuiltinQueues(connectorLoader());
  const rules = await RuleRegistry.open({ store, box: auth.box, tenancy, endpoints: connectorEndpoints(connectors), logger: componentLogger(logger, 'rules') });
  const ruleBackends = RuleBackends.stubs(rules);
  const management = await Management.open({ broker, store, traces, msgIdOf: (message) => traces.msgIdOf(message), rules, ruleBackends, ...authDeps(auth.service) });
  // In a cluster with its state in JetStream a built-in queue is one queue there, for every node (docs/cluster.md).
  const clusterQueues = jet !== null ? await jet.code.openClusterQueues(jet.store, jet.options, componentLogger(logger, 'cluster')) : null;
  // The runtime replaces the stubs behind the rules API and runs every rule of the registry.
  const ruleRuntime = await startRules({
    broker,
    store,
    logger: componentLogger(logger, 'rules'),
    msgIdOf: (message) => traces.msgIdOf(message),
    tracer: traces.recorder,
    registry: rules,
    connectors,
    backends: ruleBackends,
    tenancy,
    ...(clusterQueues === null ? {} : { sharedQueues: clusterQueues }),
    // A cluster node delivers its outboxes only while it holds the lease on its logs (docs/cluster.md).
    ...(jet !== null ? { mayDeliver: () => jet.store.mayDeliverLogs() } : {}),
  });
  if (jet !== null) readiness.addCheck('logs', () => jet.store.logsLost);
  // In a cluster the API of any node lists, replays and purges a rule's dead letters on every node (docs/cluster.md).
  const clusterDeadLetters =
    jet !== null
      ? new jet.code.ClusterDeadLetters(ruleBackends.runtime, jet.store.connection, jet.options.subjectPrefix, jet.store.nodeId, jet.options.ackTimeoutMs, componentLogger(logger, 'cluster'))
      : null;
  if (clusterDeadLetters !== null) ruleBackends.runtime = clusterDeadLetters;
  registerRuleMetrics(metrics.registry, ruleRuntime);
  const limitHits = broker.counters.limitHits;
  // Started once the MQTT port is bound (the default node id names it); null on a single node.
  let cluster: Cluster | null = null;
  readiness.addCheck('cluster', () => cluster?.problem() ?? null);
  // With the state in JetStream, API nonces and bearer tokens are shared by the nodes (docs/cluster.md).
  const apiShared = {
    bearer: await BearerTokens.open(Date.now, config.apiTokensPerKey, jet?.store ?? null),
    nonceLedger:
      jet === null
        ? null
        : new jet.code.JetStreamNonceLedger({
            connection: jet.store.connection,
            prefix: jet.options.subjectPrefix,
            replicas: jet.options.replicas,
            timeoutMs: jet.options.ackTimeoutMs,
            logger: componentLogger(logger, 'cluster'),
          }),
  };
  if (jet !== null && apiShared.nonceLedger !== null) jet.code.registerNonceLedgerMetrics(metrics.registry, apiShared.nonceLedger);
  const http = await createHttpServer({
    logger: componentLogger(logger, 'http'),
    modules: httpModules(config, readiness, metrics, management, limitHits, () => ({ ...(cluster?.status() ?? { enabled: false }) }), apiShared),
    limits: {
      headersTimeoutMs: config.httpHeadersTimeoutMs,
      requestTimeoutMs: config.httpRequestTimeoutMs,
      maxConnectionsPerAddress: config.httpMaxConnectionsPerAddress,
      onRefused: () => limitHits.hit('http_connections_per_address'),
      onTimeout: () => limitHits.hit('http_timeout'),
    },
  });
  let listeners: ListenerGroup | undefined;
  let httpPort: number;
  let amqp: AmqpEndpoint | null = null;
  try {
    httpPort = await listenHttp(http, config.bind, config.httpPort);
    logger.info({ listener: 'http', address: config.bind, port: httpPort }, 'listening');
    amqp = await startAmqpEndpoint(config, specs, { broker, store, auth: auth.service, management, ruleRuntime, queues: clusterQueues ?? ruleRuntime.queues, traces, logger, metrics });
    if (amqp !== null) {
      const endpoint = amqp;
      readiness.addCheck('amqp', () => endpoint.readiness());
    }
    listeners = await startListeners(specs, broker, componentLogger(logger, 'transport'));
  } catch (err) {
    await amqp?.close();
    await http.close();
    await broker.close();
    await traces.close();
    metrics.close();
    await store.close();
    throw err;
  }
  for (const l of listeners.listeners) {
    logger.info({ listener: l.name, transport: l.kind, address: l.host, port: l.port }, 'listening');
  }
  for (const [name, port] of Object.entries(amqp?.ports ?? {})) logger.info({ listener: name, transport: name === 'amqp' ? 'tcp' : 'tls', address: config.bind, port }, 'listening');
  const ports: FerryPorts = { mqtt: 0, ws: 0, http: httpPort, ...listeners.ports, ...amqp?.ports };
  const clusterSettings = clusterOptions(config, ports.mqtt);
  if (clusterSettings !== null && clusterCode !== null) {
    const started = clusterCode.Cluster.start(broker, clusterSettings, componentLogger(logger, 'cluster'), handover);
    clusterCode.registerFencingMetrics(metrics.registry, started.fencing);
    cluster = started;
    logger.info({ nodeId: clusterSettings.nodeId, servers: clusterSettings.servers }, 'cluster mode: connecting to NATS');
  }
  const clusterNode = cluster;
  // A dead node's outboxes, dead letters and queues move to a live node (docs/cluster.md).
  const adoption =
    clusterNode !== null && jet !== null
      ? new jet.code.LogAdoption(jet.store.foreignLogs, ruleRuntime, () => jet.store.whenDurable(), componentLogger(logger, 'cluster'))
      : null;
  if (adoption !== null) clusterNode?.onBeat((live) => adoption.scan(live));
  if (clusterDeadLetters !== null) clusterNode?.onBeat((live) => clusterDeadLetters.setLive(live));
  readiness.state = 'ready';
  logger.info({ ports, dataDir: config.dataDir, allowAnonymous: config.broker.allowAnonymous }, 'ferry started');
  publishEndpoint(config, ports, logger);

  const group = listeners;
  const amqpEndpoint = amqp;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      readiness.state = 'stopping';
      logger.info('stopping');
      unpublishEndpoint(config, logger);
      group.stopAccepting();
      amqpEndpoint?.stopAccepting();
      await amqpEndpoint?.close();
      try {
        await broker.close();
      } catch (err) {
        logger.error({ err }, 'broker close failed');
      }
      await clusterNode?.close();
      await adoption?.close();
      clusterQueues?.close();
      clusterDeadLetters?.close();
      handover?.close();
      await group.close();
      await ruleRuntime.close();
      auth.close();
      await traces.close();
      metrics.close();
      try {
        await store.close();
      } catch (err) {
        logger.error({ err }, 'store close failed');
      }
      await http.close();
      logger.info('stopped');
      sink?.flush();
    })());

  return {
    config,
    logger,
    broker,
    http,
    auth: auth.service,
    metrics,
    traces,
    rules: { registry: rules, connectors, backends: ruleBackends },
    ruleRuntime,
    amqp: amqpEndpoint,
    cluster: clusterNode,
    ports,
    get ready() {
      return readiness.ready;
    },
    stop,
  };
}

/** <dataDir>/ferry.endpoint.json for the CLI (src/discovery); Ferry runs on without it. */
function publishEndpoint(config: FerryConfig, ports: FerryPorts, logger: Logger): void {
  try {
    writeEndpointFile(config.dataDir, {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      dataDir: config.dataDir,
      defaultInstance: config.broker.defaultInstanceId,
      urls: endpointUrls({ bind: config.bind, wsPath: config.wsPath, ports }),
    });
  } catch (err) {
    logger.warn({ err, file: ENDPOINT_FILE }, 'cannot write the endpoint file; the CLI needs --endpoint to find this Ferry');
  }
}

function unpublishEndpoint(config: FerryConfig, logger: Logger): void {
  try {
    removeEndpointFile(config.dataDir);
  } catch (err) {
    logger.warn({ err, file: ENDPOINT_FILE }, 'cannot remove the endpoint file');
  }
}

/** The AMQP endpoint when amqpPort (or amqpsPort with TLS) is on, its code loaded then; null otherwise. */
async function startAmqpEndpoint(
  config: FerryConfig,
  specs: readonly ListenerSpec[],
  deps: {
    broker: Broker;
    store: Awaited<ReturnType<typeof openStore>>;
    auth: AuthService;
    management: Management;
    ruleRuntime: RulesRuntime;
    queues: BuiltinQueueAccess;
    traces: TraceService;
    logger: Logger;
    metrics: FerryMetrics;
  },
): Promise<AmqpEndpoint | null> {
  const tls = specs.find((s) => s.kind === 'tls')?.tls;
  if (config.amqpPort < 0 && (tls === undefined || config.amqpsPort < 0)) return null;
  const { startAmqp, registerAmqpMetrics } = await loadFeature('the AMQP endpoint (amqpPort, amqpsPort)', () => import('./amqp/parts.js'));
  const { management } = deps;
  const endpoint = await startAmqp({
    host: config.bind,
    port: config.amqpPort,
    tlsPort: config.amqpsPort,
    ...(tls === undefined ? {} : { tls }),
    broker: deps.broker,
    store: deps.store,
    queues: deps.queues,
    keys: deps.auth.keys,
    custom: deps.auth.custom,
    tenancy: deps.auth.tenancy,
    publish: (instanceId, input) => management.publishNoWait(instanceId, input),
    durable: () => management.durable(),
    msgIdOf: (message) => deps.traces.msgIdOf(message),
    logger: componentLogger(deps.logger, 'amqp'),
  });
  registerAmqpMetrics(deps.metrics.registry, endpoint.stats);
  return endpoint;
}
