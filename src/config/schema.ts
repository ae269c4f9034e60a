/**
 * The configuration table. Every setting is declared once here; the file keys, `FERRY_*`
 * environment names, CLI flags, `ferry start --help` and docs/configuration.md are all derived
 * from it (see names.ts, load.ts, docs.ts). To add a setting: add a field to FerryConfig and one
 * row to OPTIONS; the exhaustiveness check at the bottom fails to compile until both agree.
 *
 *   key 'broker.maxPacketSize'  →  file {"broker":{"maxPacketSize":…}}
 *                                   env  FERRY_MAX_PACKET_SIZE
 *                                   flag --max-packet-size
 */
import { DEFAULT_BROKER_OPTIONS, type BrokerOptions } from '../broker/options.js';
import { checkExternalAuth, type ExternalAuthConfig } from '../external-auth/config.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface FerryConfig {
  /** Directory for the embedded store and generated state; created if missing. */
  dataDir: string;
  /** Address every listener binds to. */
  bind: string;
  mqttPort: number;
  wsPort: number;
  wsPath: string;
  listenBacklog: number;
  /** MQTT over TLS; only started when tlsCert and tlsKey are set. */
  tlsPort: number;
  /** MQTT over secure WebSocket; only started when tlsCert and tlsKey are set. */
  wssPort: number;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  requestClientCert: boolean;
  /** TLS/WSS listeners accept device certificates of CAs registered per instance (src/x509). */
  x509DeviceAuth: boolean;
  httpPort: number;
  /** AMQP 0-9-1 endpoint for server-side SDKs (docs/amqp.md); negative = off. */
  amqpPort: number;
  /** AMQP over TLS; only started when tlsCert and tlsKey are set; negative = off. */
  amqpsPort: number;
  /** The web console at /console/ on the HTTP port (docs/console.md). */
  console: boolean;
  logLevel: LogLevel;
  /** JSON lines, or a start banner and readable lines for a terminal; auto = pretty when stdout is a TTY. */
  logFormat: LogFormat;
  /** Bytes of log lines buffered for a slow stdout before lines are dropped (counted). */
  logBufferBytes: number;
  /** V8 young generation cap, MiB per semi-space (node --max-semi-space-size); 0 = V8's own sizing. */
  semiSpaceMb: number;
  /** Where sessions, queues and retained messages are kept (docs/storage.md). */
  storeEngine: 'sqlite' | 'memory';
  storeFsync: 'always' | 'interval' | 'off';
  storeFsyncIntervalMs: number;
  /** Bootstrap AccessKey with full access, created or restored at start (docs/authentication.md). */
  bootstrapAccessKeyId?: string;
  bootstrapAccessKeySecret?: string;
  /** Listener name → instance id its clients belong to. */
  listenerInstances: Record<string, string>;
  /** Per-instance JWT and HTTP authentication/authorization callbacks (src/external-auth). */
  externalAuth: ExternalAuthConfig;
  /** Failed-login limiting: failures per minute from one address / for one username, block time. */
  loginMaxFailuresPerIp: number;
  loginMaxFailuresPerUsername: number;
  loginBlockSeconds: number;
  loginMaxBlockSeconds: number;
  /** Signed-request nonces and bearer tokens each AccessKey may hold (docs/security.md). */
  apiNoncesPerKey: number;
  apiTokensPerKey: number;
  /** HTTP port: time for the request headers and for the whole request, connections per address. */
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
  httpMaxConnectionsPerAddress: number;
  /** Message and device traces in <dataDir>/traces.db (docs/observability.md). */
  tracing: boolean;
  traceRetention: number;
  traceMaxRows: number;
  traceMaxBytes: number;
  traceFlushIntervalMs: number;
  traceWriterCpuPercent: number;
  /** Who may read GET /metrics (docs/security.md). */
  metricsAccess: 'loopback' | 'token' | 'open';
  metricsToken?: string;
  /** Cluster mode on NATS (docs/cluster.md): comma-separated server URLs; unset = single node. */
  clusterNats?: string;
  /** This node's name in the cluster; default `<host name>:<mqttPort>` (filled at start). */
  nodeId?: string;
  clusterNatsUser?: string;
  clusterNatsPassword?: string;
  clusterNatsToken?: string;
  /** PEM files for TLS to NATS: CA bundle, client certificate and key. */
  clusterNatsTlsCa?: string;
  clusterNatsTlsCert?: string;
  clusterNatsTlsKey?: string;
  /** First token of every NATS subject and bucket name of this cluster (several clusters may share NATS). */
  clusterSubjectPrefix: string;
  clusterHeartbeatMs: number;
  clusterAckTimeoutMs: number;
  /** JetStream replicas of the cluster's state (R1 for one NATS server, R3 for three). */
  clusterReplicas: number;
  /** Where a cluster node keeps its state: in JetStream (shared) or in its own store (storeEngine). */
  clusterStore: 'jetstream' | 'local';
  broker: BrokerOptions;
}

/** Dotted path of every leaf setting of FerryConfig (broker options one level down). */
export type ConfigKey =
  | Exclude<keyof FerryConfig, 'broker'>
  | `broker.${keyof BrokerOptions & string}`;

export type OptionType = 'string' | 'path' | 'port' | 'integer' | 'boolean' | 'enum' | 'json';

export interface OptionSpec {
  readonly key: ConfigKey | 'config';
  readonly type: OptionType;
  readonly description: string;
  /** Default value; undefined = unset. 'allowAnonymous' is computed (see load.ts). */
  readonly default?: unknown;
  /** Text shown instead of the default value in help and docs. */
  readonly defaultText?: string;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  /** Placeholder in help output, e.g. N, DIR. */
  readonly arg?: string;
  /** Validate (and normalise) a parsed JSON value; return an error message or the value. */
  readonly check?: (value: unknown) => { value: unknown } | { error: string };
  /** False for settings that cannot come from the config file (only 'config' itself). */
  readonly inFile?: false;
  /** The value may hold secrets: error messages do not repeat it. */
  readonly secret?: true;
  readonly group: 'general' | 'listeners' | 'tls' | 'store' | 'auth' | 'observability' | 'cluster' | 'broker';
}

const B = DEFAULT_BROKER_OPTIONS;
const U32 = 0xffff_ffff;
/** Longest timer Node can schedule, ms. */
const MAX_MS = 2_147_483_647;

function checkListenerInstances(value: unknown): { value: unknown } | { error: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: 'expected a JSON object {"<listener>": "<instanceId>"}' };
  }
  for (const [listener, instanceId] of Object.entries(value as Record<string, unknown>)) {
    if (typeof instanceId !== 'string' || !/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(instanceId)) {
      return { error: `listener "${listener}": "${String(instanceId)}" is not an instance id` };
    }
  }
  return { value };
}

function checkInstanceId(value: unknown): { value: unknown } | { error: string } {
  return typeof value === 'string' && /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(value)
    ? { value }
    : { error: '3-63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit' };
}

function checkAcl(value: unknown): { value: unknown } | { error: string } {
  if (!Array.isArray(value)) return { error: 'expected a JSON array of {permission, action, topic}' };
  for (const [i, rule] of value.entries()) {
    if (typeof rule !== 'object' || rule === null) return { error: `rule ${i} is not an object` };
    const r = rule as Record<string, unknown>;
    for (const k of Object.keys(r)) {
      if (k !== 'permission' && k !== 'action' && k !== 'topic') return { error: `rule ${i}: unknown field "${k}"` };
    }
    if (r['permission'] !== 'allow' && r['permission'] !== 'deny') {
      return { error: `rule ${i}: permission must be "allow" or "deny"` };
    }
    if (r['action'] !== 'publish' && r['action'] !== 'subscribe' && r['action'] !== 'all') {
      return { error: `rule ${i}: action must be "publish", "subscribe" or "all"` };
    }
    if (typeof r['topic'] !== 'string' || r['topic'] === '') {
      return { error: `rule ${i}: topic must be a non-empty string` };
    }
  }
  return { value };
}

/** `nats://host:port[,…]` (also tls://, ws:// and bare host:port, as the NATS client takes them). */
function checkNatsUrls(value: unknown): { value: unknown } | { error: string } {
  if (typeof value !== 'string') return { error: 'expected a comma-separated list of NATS URLs' };
  const urls = value.split(',').map((u) => u.trim()).filter((u) => u !== '');
  if (urls.length === 0) return { error: 'expected at least one NATS URL, e.g. nats://127.0.0.1:4222' };
  for (const url of urls) {
    if (!/^((nats|tls|ws|wss):\/\/)?[^\s,/]+(:\d{1,5})?$/.test(url)) return { error: `"${url}" is not a NATS URL (nats://host:port)` };
  }
  return { value: urls.join(',') };
}

const ROWS = [
  // general
  { key: 'config', group: 'general', type: 'path', arg: 'FILE', inFile: false,
    description: 'JSON config file to read. Values in it are overridden by FERRY_* variables and flags.' },
  { key: 'dataDir', group: 'general', type: 'path', arg: 'DIR', default: './data',
    description: "Directory for Ferry's persistent state. Created if missing." },
  { key: 'logLevel', group: 'general', type: 'enum', values: LOG_LEVELS, arg: 'LEVEL', default: 'info',
    description: 'Log level of the JSON logs written to stdout.' },
  { key: 'logFormat', group: 'general', type: 'enum', values: LOG_FORMATS, arg: 'FORMAT', default: 'auto',
    description: 'Logs on stdout: json (one JSON object a line), pretty (a start banner with the listeners, data directory and how to sign in, then readable lines), or auto: pretty when stdout is a terminal, json otherwise.' },
  { key: 'broker.logRepeatIntervalMs', group: 'general', type: 'integer', arg: 'MS', min: 100, max: MAX_MS, default: B.logRepeatIntervalMs,
    description: 'Log lines a client can cause at will (refused publishes and subscriptions, protocol errors, refused logins) are written once per cause per client per this interval; the repeats are counted in one "(repeated)" line at its end.' },
  { key: 'logBufferBytes', group: 'general', type: 'integer', arg: 'BYTES', min: 64 * 1024, max: U32, default: 4 * 1024 * 1024,
    description: 'Log lines waiting for a slow stdout are kept up to this many bytes; beyond it lines are dropped and counted (ferry_limit_hits_total{limit="log_lines_dropped"}), so logging never stalls the broker.' },
  // The launchers (package.json "start", the bin's first line, the Dockerfile) pass the same value:
  // test/unit/cli/semi-space.test.ts keeps them in step.
  { key: 'semiSpaceMb', group: 'general', type: 'integer', arg: 'MB', min: 0, max: 1024, default: 4,
    description: "Cap on V8's young generation, MiB per semi-space (node's --max-semi-space-size); 0 = V8's own sizing (up to 16). During a connect storm V8 grows it to the maximum and keeps it resident (~32 MiB, 1.6 KB per connection at 20,000 idle connections). 4 is the measured middle (bench/RESULTS.md, issue 15): 1 drains a 100,000-message backlog 1.6x slower and promotes its messages (+60 MB while draining), and saves no measurable memory at 19,900 idle connections over 4. npm start, the ferry command and the container image start node with --max-semi-space-size=4; when node runs with another value, Ferry starts node once more with this one and stays as its small parent process (start node with the flag to avoid that)." },
  // listeners
  { key: 'bind', group: 'listeners', type: 'string', arg: 'ADDR', default: '127.0.0.1',
    description: 'Address all listeners bind to. Any non-loopback address turns anonymous access off unless allowAnonymous is set explicitly.' },
  { key: 'mqttPort', group: 'listeners', type: 'port', arg: 'N', default: 1883,
    description: 'MQTT over TCP port (0 = any free port).' },
  { key: 'wsPort', group: 'listeners', type: 'port', arg: 'N', default: 8083,
    description: 'MQTT over WebSocket port (0 = any free port).' },
  { key: 'wsPath', group: 'listeners', type: 'string', arg: 'PATH', default: '/mqtt',
    check: (v) => (typeof v === 'string' && v.startsWith('/') ? { value: v } : { error: 'must start with "/"' }),
    description: 'HTTP path of the WebSocket and secure WebSocket endpoints.' },
  { key: 'listenBacklog', group: 'listeners', type: 'integer', arg: 'N', min: 1, max: 65535, default: 4096,
    description: 'Connections the kernel may hold accepted for the MQTT, WebSocket, TLS and WSS listeners before Ferry takes them (listen(2) backlog; the kernel caps it at net.core.somaxconn). When a reconnect storm overflows it, clients see resets and CONNECTs that time out (node\'s default is 511).' },
  { key: 'httpPort', group: 'listeners', type: 'port', arg: 'N', default: 8080,
    description: 'HTTP port for /healthz and /readyz (0 = any free port).' },
  { key: 'amqpPort', group: 'listeners', type: 'integer', arg: 'N', min: -1, max: 65535, default: 5672,
    description: 'AMQP 0-9-1 port for backends using the managed service\'s server-side SDK or any AMQP client (docs/amqp.md); 0 = any free port, -1 = off.' },
  { key: 'console', group: 'listeners', type: 'boolean', default: true,
    description: 'Serve the web console at /console/ on the HTTP port (docs/console.md). It uses the REST API with the signed-in AccessKey\'s policies.' },
  { key: 'httpHeadersTimeoutMs', group: 'listeners', type: 'integer', arg: 'MS', min: 100, max: MAX_MS, default: 10_000,
    description: 'Time an HTTP client has to send the request headers, counted from the connection or the end of the previous request, ms; slower connections are closed (408).' },
  { key: 'httpRequestTimeoutMs', group: 'listeners', type: 'integer', arg: 'MS', min: 100, max: MAX_MS, default: 30_000,
    description: 'Time an HTTP client has to send a whole request (headers and body), ms; slower connections are closed (408).' },
  { key: 'httpMaxConnectionsPerAddress', group: 'listeners', type: 'integer', arg: 'N', min: 1, max: U32, default: 64,
    description: 'Open connections one client address may hold on the HTTP port (API, RPC, metrics, health); further connections are closed at once.' },
  // tls
  { key: 'tlsPort', group: 'tls', type: 'port', arg: 'N', default: 8883,
    description: 'MQTT over TLS port; the listener starts only when tlsCert and tlsKey are set.' },
  { key: 'wssPort', group: 'tls', type: 'port', arg: 'N', default: 8084,
    description: 'MQTT over secure WebSocket port; starts only when tlsCert and tlsKey are set.' },
  { key: 'amqpsPort', group: 'tls', type: 'integer', arg: 'N', min: -1, max: 65535, default: 5671,
    description: 'AMQP over TLS port (docs/amqp.md); starts only when tlsCert and tlsKey are set; 0 = any free port, -1 = off.' },
  { key: 'tlsCert', group: 'tls', type: 'path', arg: 'FILE',
    description: 'PEM server certificate (chain) for the TLS and WSS listeners.' },
  { key: 'tlsKey', group: 'tls', type: 'path', arg: 'FILE',
    description: 'PEM private key matching tlsCert.' },
  { key: 'tlsCa', group: 'tls', type: 'path', arg: 'FILE',
    description: 'PEM CA bundle that client certificates are verified against.' },
  { key: 'requestClientCert', group: 'tls', type: 'boolean', default: false,
    description: 'Require TLS/WSS clients to present a certificate signed by tlsCa (mutual TLS).' },
  { key: 'x509DeviceAuth', group: 'tls', type: 'boolean', default: false,
    description: 'X.509 device identity: the TLS/WSS listeners ask clients for a certificate and accept those issued by a CA registered on the instance (RegisterCaCertificate); clients without one use the other modes. Cannot be combined with requestClientCert. See docs/authentication.md.' },
  // store
  { key: 'storeEngine', group: 'store', type: 'enum', values: ['sqlite', 'memory'], arg: 'ENGINE', default: 'sqlite',
    description: 'sqlite: durable embedded store in <dataDir>/ferry.db. memory: nothing survives a restart (tests, benchmarks).' },
  { key: 'storeFsync', group: 'store', type: 'enum', values: ['always', 'interval', 'off'], arg: 'POLICY', default: 'always',
    description: 'always: every group commit is fsynced before acks go out. interval: fsync every storeFsyncIntervalMs (a power loss may lose that much). off: the OS decides (a power loss may lose more; a process crash loses nothing).' },
  { key: 'storeFsyncIntervalMs', group: 'store', type: 'integer', arg: 'MS', min: 10, max: 60_000, default: 1000,
    description: 'fsync period of the interval policy, ms.' },
  // observability
  { key: 'tracing', group: 'observability', type: 'boolean', default: true,
    description: 'Record message and device traces (connect, close, publish, delivery) for the QueryMqttTrace* actions and /api/v1 trace routes.' },
  { key: 'traceRetention', group: 'observability', type: 'integer', arg: 'SECONDS', min: 60, max: U32, default: 3 * 24 * 3600,
    description: 'How long traces are kept, seconds.' },
  { key: 'traceMaxRows', group: 'observability', type: 'integer', arg: 'N', min: 1000, max: Number.MAX_SAFE_INTEGER, default: 10_000_000,
    description: 'Trace records kept at most (about 100 bytes each on disk); the oldest are deleted first.' },
  { key: 'traceMaxBytes', group: 'observability', type: 'integer', arg: 'BYTES', min: 0, max: Number.MAX_SAFE_INTEGER, default: 1024 * 1024 * 1024,
    description: 'Size of <dataDir>/traces.db on disk at most, bytes (plus up to 64 MiB of write-ahead log); checked every second while writing, the oldest traces are deleted first and the space is returned to the file system. 0 = no cap.' },
  { key: 'traceFlushIntervalMs', group: 'observability', type: 'integer', arg: 'MS', min: 10, max: 60_000, default: 200,
    description: 'How often recorded trace events are written to <dataDir>/traces.db, ms.' },
  { key: 'traceWriterCpuPercent', group: 'observability', type: 'integer', arg: 'PERCENT', min: 1, max: 100, default: 25,
    description: 'Share of one CPU core the trace writer thread may use. Above what that stores, message events are dropped (ferry_trace_events_dropped_total); connects and closes are always kept.' },
  { key: 'metricsAccess', group: 'observability', type: 'enum', values: ['loopback', 'token', 'open'], arg: 'MODE', default: 'loopback',
    description: 'Who may read GET /metrics. loopback: callers on this machine freely, others with "Authorization: Bearer <metricsToken>". token: everyone needs the token. open: everyone (only behind a trusted network).' },
  { key: 'metricsToken', group: 'observability', type: 'string', arg: 'TOKEN',
    check: (v) => (typeof v === 'string' && v.length >= 16 ? { value: v } : { error: 'at least 16 characters' }),
    description: 'Bearer token for GET /metrics (at least 16 characters); without it only loopback callers (metricsAccess loopback) or everyone (open) can read metrics.' },
  // auth
  { key: 'bootstrapAccessKeyId', group: 'auth', type: 'string', arg: 'ID',
    check: (v) => (typeof v === 'string' && /^[A-Za-z0-9]{8,64}$/.test(v) ? { value: v } : { error: '8-64 letters and digits' }),
    description: 'Id of an AccessKey with full access, created (or restored) at start. Without it, the first start generates one, writes it to <dataDir>/bootstrap-access-key.json and prints it once.' },
  { key: 'bootstrapAccessKeySecret', group: 'auth', type: 'string', arg: 'SECRET',
    check: (v) => (typeof v === 'string' && v.length >= 16 ? { value: v } : { error: 'at least 16 characters' }), secret: true,
    description: 'Secret of the bootstrap AccessKey (at least 16 characters). Prefer the environment variable: flags show in the process list.' },
  { key: 'listenerInstances', group: 'auth', type: 'json', arg: 'JSON', default: {}, check: checkListenerInstances,
    description: 'Binds listeners to instances: {"mqtts":"mqtt-a"} puts every client of the mqtts listener in instance mqtt-a (a username naming another instance is refused).' },
  { key: 'externalAuth', group: 'auth', type: 'json', arg: 'JSON', default: {}, check: checkExternalAuth, secret: true,
    description: 'JWT authentication and HTTP authentication/authorization callbacks per instance: {"<instanceId>": {"jwt": {…}, "http": {…}}}. Fields in docs/authentication.md ("JWT and HTTP callbacks").' },
  { key: 'loginMaxFailuresPerIp', group: 'auth', type: 'integer', arg: 'N', min: 0, max: U32, default: 100,
    description: 'Failed logins within a minute from one address after which that address is blocked for loginBlockSeconds; 0 = no limit.' },
  { key: 'loginMaxFailuresPerUsername', group: 'auth', type: 'integer', arg: 'N', min: 0, max: U32, default: 10,
    description: 'Failed logins within a minute for one username from one address after which that username is blocked from that address (never from others) for loginBlockSeconds; 0 = no limit.' },
  { key: 'loginBlockSeconds', group: 'auth', type: 'integer', arg: 'SECONDS', min: 1, max: 86_400, default: 60,
    description: 'How long the first block of an address (or username from an address) lasts after too many failed logins, seconds; each further block of the same source doubles it.' },
  { key: 'loginMaxBlockSeconds', group: 'auth', type: 'integer', arg: 'SECONDS', min: 1, max: 7 * 86_400, default: 3600,
    description: 'Longest block of the doubling failed-login back-off, seconds; a source quiet for this long starts again at loginBlockSeconds.' },
  { key: 'apiNoncesPerKey', group: 'auth', type: 'integer', arg: 'N', min: 100, max: 10_000_000, default: 100_000,
    description: 'Signed API requests (RPC SignatureNonce, REST X-Ferry-Nonce) one AccessKey may make per 30 minutes; more are answered Throttling (RPC) or 429 (REST) for that key only. About 100 bytes of memory each. In a cluster the count is per node (docs/cluster.md).' },
  { key: 'apiTokensPerKey', group: 'auth', type: 'integer', arg: 'N', min: 1, max: 1_000_000, default: 1000,
    description: 'Live REST bearer tokens one AccessKey may hold; POST /api/v1/auth/token answers 429 beyond it until some expire or are revoked. Never evicts another key\'s tokens.' },
  { key: 'broker.defaultInstanceId', group: 'auth', type: 'string', arg: 'ID', default: B.defaultInstanceId, check: checkInstanceId,
    description: 'Instance of clients that name none; created (relaxed) at start if missing.' },
  // cluster
  { key: 'clusterNats', group: 'cluster', type: 'string', arg: 'URL[,URL…]', check: checkNatsUrls, secret: true,
    description: 'Turns cluster mode on: NATS servers (nats://host:port, comma-separated) that this node and its peers share (docs/cluster.md). Unset: a single node, as without a cluster.' },
  { key: 'nodeId', group: 'cluster', type: 'string', arg: 'ID', defaultText: '<host name>:<mqttPort>',
    check: (v) => (typeof v === 'string' && /^[A-Za-z0-9_:@-]{1,64}$/.test(v) ? { value: v } : { error: '1-64 characters of A-Z a-z 0-9 _ - : @' }),
    description: 'Name of this node in the cluster, unique among the nodes; shown by GET /api/v1/cluster and ferry cluster status.' },
  { key: 'clusterNatsUser', group: 'cluster', type: 'string', arg: 'USER',
    description: 'User name for the NATS servers (with clusterNatsPassword).' },
  { key: 'clusterNatsPassword', group: 'cluster', type: 'string', arg: 'PASSWORD', secret: true,
    description: 'Password for the NATS servers. Prefer the environment variable: flags show in the process list.' },
  { key: 'clusterNatsToken', group: 'cluster', type: 'string', arg: 'TOKEN', secret: true,
    description: 'Authentication token for the NATS servers (instead of user and password).' },
  { key: 'clusterNatsTlsCa', group: 'cluster', type: 'path', arg: 'FILE',
    description: 'PEM CA bundle the NATS servers\' certificates are verified against; setting it (or a client certificate) makes the connection to NATS use TLS.' },
  { key: 'clusterNatsTlsCert', group: 'cluster', type: 'path', arg: 'FILE',
    description: 'PEM client certificate for NATS servers that require one (with clusterNatsTlsKey).' },
  { key: 'clusterNatsTlsKey', group: 'cluster', type: 'path', arg: 'FILE',
    description: 'PEM private key of clusterNatsTlsCert.' },
  { key: 'clusterSubjectPrefix', group: 'cluster', type: 'string', arg: 'TOKEN', default: 'ferry',
    check: (v) => (typeof v === 'string' && /^[A-Za-z0-9_-]{1,32}$/.test(v) ? { value: v } : { error: '1-32 characters of A-Z a-z 0-9 _ -' }),
    description: 'First token of every NATS subject and bucket this cluster uses, so several Ferry clusters can share one NATS system. All nodes of one cluster must use the same prefix.' },
  { key: 'clusterHeartbeatMs', group: 'cluster', type: 'integer', arg: 'MS', min: 100, max: 60_000, default: 2000,
    description: 'How often a node renews its presence in the cluster, ms; a node silent for three of these that does not answer on NATS either (within max(1 s, this)) is considered gone, and after four its durable logs (rule outboxes, dead letters, built-in queues) are taken over by a live node.' },
  { key: 'clusterAckTimeoutMs', group: 'cluster', type: 'integer', arg: 'MS', min: 100, max: 600_000, default: 5000,
    description: 'How long the other nodes have to accept a QoS 1/2 message before its publisher\'s PUBACK/PUBREC is refused (MQTT 5: 0x80; 3.1.1: the connection is closed and the client sends again), ms.' },
  { key: 'clusterReplicas', group: 'cluster', type: 'integer', arg: 'N', min: 1, max: 5, default: 1,
    description: 'JetStream replicas of the state the cluster keeps in NATS (node presence, and with clusterStore jetstream sessions, queues, retained messages, metadata): 1 for a single NATS server, 3 for a cluster of three. Set when a bucket or stream is first created.' },
  { key: 'clusterStore', group: 'cluster', type: 'enum', values: ['jetstream', 'local'], arg: 'STORE', default: 'jetstream',
    description: 'Cluster mode only. jetstream: sessions, offline queues, retained messages, wills, metadata and rule logs live in JetStream (replicated; a client resumes its session on any node); the node waits for NATS at start to load its state. local: each node keeps them in its own store (storeEngine), as a single node does.' },
  // broker
  { key: 'broker.maxPacketSize', group: 'broker', type: 'integer', arg: 'BYTES', min: 16, max: 268_435_455,
    default: B.maxPacketSize, description: 'Largest packet accepted from a client, bytes.' },
  { key: 'broker.maxKeepalive', group: 'broker', type: 'integer', arg: 'SECONDS', min: 0, max: 65535,
    default: B.maxKeepalive, description: 'Keepalive ceiling in seconds; larger client values are capped. 0 = no cap.' },
  { key: 'broker.receiveMaximum', group: 'broker', type: 'integer', arg: 'N', min: 1, max: 65535,
    default: B.receiveMaximum, description: 'Receive Maximum announced to MQTT 5 clients.' },
  { key: 'broker.maxInflight', group: 'broker', type: 'integer', arg: 'N', min: 1, max: 65535,
    default: B.maxInflight, description: 'Outbound QoS 1/2 in-flight window per session.' },
  { key: 'broker.maxQueuedMessages', group: 'broker', type: 'integer', arg: 'N', min: 0, max: U32,
    default: B.maxQueuedMessages, description: 'Messages queued per session behind the in-flight window, oldest dropped first (counted). 0 = no per-session cap: only maxQueuedPerInstance applies.' },
  { key: 'broker.offlineWindowBytes', group: 'broker', type: 'integer', arg: 'BYTES', min: 0, max: U32,
    default: B.offlineWindowBytes, description: 'Bytes of queued messages that offline persistent sessions keep in memory as well as in the store (all sessions together, and each at most), so a returning client drains them without reading them back from disk; RSS grows by 1–7× this while they wait (docs/storage.md), so it is off unless set: e.g. 33554432 (32 MiB) for a few sessions with large backlogs. 0 = off. Not used in cluster mode with JetStream state.' },
  { key: 'broker.maxOutputBufferBytes', group: 'broker', type: 'integer', arg: 'BYTES', min: 1024, max: U32,
    default: B.maxOutputBufferBytes, description: 'Per-connection output buffer ceiling, bytes.' },
  { key: 'broker.stuckClientTimeoutMs', group: 'broker', type: 'integer', arg: 'MS', min: 0, max: MAX_MS,
    default: B.stuckClientTimeoutMs, description: 'How long a connection may stay above maxOutputBufferBytes before it is disconnected, ms.' },
  { key: 'broker.flowHighWater', group: 'broker', type: 'integer', arg: 'N', min: 0, max: U32,
    default: B.flowHighWater, description: 'Flow control: messages queued for an online session at which the connections publishing to it stop being read, until it drains to flowLowWater (docs/operations.md). 0 = off: only the queue caps apply. Keep it below maxQueuedMessages.' },
  { key: 'broker.flowLowWater', group: 'broker', type: 'integer', arg: 'N', min: 0, max: U32,
    default: B.flowLowWater, description: 'Flow control: queued messages at which paused publishers are read again (capped at flowHighWater - 1).' },
  { key: 'broker.flowMaxPauseMs', group: 'broker', type: 'integer', arg: 'MS', min: 100, max: MAX_MS,
    default: B.flowMaxPauseMs, description: 'Flow control: longest an online session that does not drain may keep its publishers paused, ms; then they resume and its queue is capped as usual (ferry_flow_fallbacks_total). Keep it below the clients\' keepalive: a paused client\'s PINGREQ is not read either.' },
  { key: 'broker.topicAliasMaximum', group: 'broker', type: 'integer', arg: 'N', min: 0, max: 65535,
    default: B.topicAliasMaximum, description: 'Topic Alias Maximum announced to MQTT 5 clients (0 = no aliases).' },
  { key: 'broker.maxTopicAliasBytes', group: 'broker', type: 'integer', arg: 'BYTES', min: 0, max: U32,
    default: B.maxTopicAliasBytes, description: 'Memory (2 bytes per topic character) the topic aliases of one connection may pin, per direction. A client registering more is disconnected with 0x97 Quota exceeded; aliases towards the client stop being assigned.' },
  { key: 'broker.maxSessionExpiry', group: 'broker', type: 'integer', arg: 'SECONDS', min: 0, max: U32,
    default: B.maxSessionExpiry, description: 'Upper bound on the session expiry interval a client may request, seconds.' },
  { key: 'broker.connectTimeoutMs', group: 'broker', type: 'integer', arg: 'MS', min: 1, max: MAX_MS,
    default: B.connectTimeoutMs, description: 'Time allowed between accepting a socket and receiving its whole CONNECT, ms, counted from accept (bytes arriving do not extend it).' },
  { key: 'broker.maxConnectPacketSize', group: 'broker', type: 'integer', arg: 'BYTES', min: 64, max: 268_435_455,
    default: B.maxConnectPacketSize, description: 'Largest CONNECT packet (credentials, will), bytes; bigger ones are refused before they are buffered. Raise it for wills with large payloads.' },
  { key: 'broker.allowAnonymous', group: 'broker', type: 'boolean',
    defaultText: 'true on a loopback bind address, else false',
    description: 'Allow clients without credentials. Setting it true on a non-loopback address logs a warning.' },
  { key: 'broker.acl', group: 'broker', type: 'json', arg: 'JSON', default: B.acl, check: checkAcl,
    description: 'ACL for anonymous clients: JSON array of {"permission":"allow|deny","action":"publish|subscribe|all","topic":FILTER}; first match wins; empty = allow all.' },
  { key: 'broker.maxRetainedMessages', group: 'broker', type: 'integer', arg: 'N', min: 0, max: U32,
    default: B.maxRetainedMessages, description: 'Retained messages kept at most; 0 = unlimited.' },
  { key: 'broker.maxQueuedPerInstance', group: 'broker', type: 'integer', arg: 'N', min: 1, max: Number.MAX_SAFE_INTEGER,
    default: B.maxQueuedPerInstance, description: 'Offline messages kept at most over all persistent sessions of one instance; the oldest are dropped first (counted).' },
  { key: 'broker.maxQueuedBytes', group: 'broker', type: 'integer', arg: 'BYTES', min: 0, max: Number.MAX_SAFE_INTEGER,
    default: B.maxQueuedBytes, description: 'Bytes (payload + topic of each message) queued per persistent session, the oldest dropped first (counted). 0 = no per-session byte cap: only maxQueuedBytesPerInstance applies. A message larger than the cap is dropped itself.' },
  { key: 'broker.maxQueuedBytesPerInstance', group: 'broker', type: 'integer', arg: 'BYTES', min: 0, max: Number.MAX_SAFE_INTEGER,
    default: B.maxQueuedBytesPerInstance, description: 'Bytes (payload + topic, once per queued entry) kept at most over all persistent sessions of one instance; the oldest are dropped first (counted). Bounds the offline queues in ferry.db. 0 = no byte cap.' },
  { key: 'broker.offlineRetention', group: 'broker', type: 'integer', arg: 'SECONDS', min: 1, max: U32,
    default: B.offlineRetention, description: 'How long an offline message waits for its client before it is purged, seconds.' },
] as const satisfies readonly OptionSpec[];

export const OPTIONS: readonly OptionSpec[] = ROWS;

// Compile-time check that OPTIONS covers every ConfigKey. Rows are typed `ConfigKey | 'config'`,
// so a typo fails too; this catches a field added to FerryConfig/BrokerOptions without a row.
type Listed = (typeof ROWS)[number]['key'];
type Missing = Exclude<ConfigKey, Listed>;
export const OPTIONS_COMPLETE: [Missing] extends [never] ? true : Missing = true;
