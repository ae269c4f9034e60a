/**
 * Real message engines for connector tests: redis-server, nats-server (JetStream) and
 * rabbitmq-server from the Debian packages, each on free loopback ports with its data in a temp
 * dir, removed after the test. Each can be killed (SIGKILL) and started again on the same port and
 * data dir, for "target killed and restarted mid-stream" tests.
 *
 * RabbitMQ takes a few seconds to boot: start one per test file (`before`) and give each test its
 * own exchange/queue names. It runs with its own node name, its own epmd (on a free port, via
 * ERL_EPMD_PORT, started and stopped here so nothing outlives the test) and an empty plugin list.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Teardown } from './temp.js';

export interface Engine {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Base URL with credentials, no query (e.g. `amqp://guest:guest@127.0.0.1:5672`). */
  readonly url: string;
  readonly dir: string;
  /** True while the engine process runs. */
  readonly running: boolean;
  /** SIGKILL the engine (and its helpers) and wait until it is gone. Idempotent. */
  kill(): Promise<void>;
  /** SIGTERM the engine (a clean shutdown) and wait until it is gone; restart() starts it again. */
  terminate(): Promise<void>;
  /** Start again on the same port and data dir; resolves when it accepts clients. */
  restart(): Promise<void>;
  /** Stop for good (also done by the teardown). */
  stop(): Promise<void>;
}

/**
 * A Teardown for things a describe() block starts in before(): call it synchronously in the
 * describe body; what is registered on it runs (last first) in the suite's after().
 * (node:test's `after` called inside a before hook would run right after that hook.)
 */
export function suiteTeardown(): Teardown {
  const fns: (() => unknown)[] = [];
  after(async () => {
    for (const fn of fns.reverse()) await fn();
  });
  return { after: (fn) => void fns.push(fn) };
}

/**
 * The kernel's ephemeral range: ports it hands to `listen(0)` and to every outgoing connection.
 * An engine started seconds after its port was chosen must not get one from there, or the port
 * may meanwhile be some connection's local port (RabbitMQ failed with eaddrinuse that way).
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 0;
  } catch {
    return 0;
  }
}
const EPHEMERAL_LOW = ephemeralLow();
/** Where engine ports are drawn from: below the ephemeral range, above the well-known services. */
const ENGINE_PORTS = EPHEMERAL_LOW > 12_000 ? { from: 10_000, to: EPHEMERAL_LOW - 1 } : null;

function bindable(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : null;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A TCP port nobody listens on right now, for an engine to bind later: a random one below the
 * kernel's ephemeral range (checked by binding it), else one the kernel picks.
 */
export async function freePort(): Promise<number> {
  if (ENGINE_PORTS !== null) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = ENGINE_PORTS.from + Math.floor(Math.random() * (ENGINE_PORTS.to - ENGINE_PORTS.from + 1));
      if ((await bindable(port)) !== null) return port;
    }
  }
  const port = await bindable(0);
  if (port === null) throw new Error('no free TCP port on 127.0.0.1');
  return port;
}

interface Launch {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Output line that says the engine accepts clients. */
  ready: RegExp;
  readyTimeoutMs: number;
}

/** One engine process in its own process group, so kill() takes every child with it. */
class EngineProcess {
  private child: ChildProcess | undefined;
  private watchdog: ChildProcess | undefined;
  private output = '';

  constructor(
    private readonly name: string,
    private readonly launch: () => Launch,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    const { command, args, env, ready, readyTimeoutMs } = this.launch();
    this.output = '';
    const child = spawn(command, args, { env: env ?? cleanEngineEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    // The engine has its own process group (so kill() reaches its children), which also means a
    // test process killed by a signal would leave it running: a watchdog kills the group when
    // this process is gone.
    if (child.pid !== undefined) {
      this.watchdog = spawn(
        'sh',
        ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -KILL -${child.pid} 2>/dev/null`],
        { detached: true, stdio: 'ignore' },
      );
      this.watchdog.unref();
    }
    const started = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        this.output = (this.output + chunk.toString()).slice(-20_000);
        if (ready.test(this.output)) resolve();
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`${this.name} exited (${code ?? signal}) before it was ready:\n${this.output.slice(-3000)}`)));
    });
    const timer = sleep(readyTimeoutMs, undefined, { ref: false }).then(() => {
      throw new Error(`${this.name} not ready within ${readyTimeoutMs} ms:\n${this.output.slice(-3000)}`);
    });
    try {
      await Promise.race([started, timer]);
    } catch (err) {
      await this.kill();
      throw err;
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.watchdog?.kill('SIGKILL');
    this.watchdog = undefined;
    const child = this.child;
    if (!child || child.pid === undefined) return;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
      await exited;
    }
    // The group may outlive its leader for a moment (e.g. beam.smp after its sh wrapper).
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(-child.pid, 0);
      } catch {
        break;
      }
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        break;
      }
      await sleep(20);
    }
  }
}

/** PATH and nothing else from the caller: no RABBITMQ_* / ERL_* settings leak in. */
function cleanEngineEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', ...extra };
}

/** An engine's data directory; makeEngine's stop() removes it after the engine's processes are gone. */
function engineDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function removeEngineDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
}

/**
 * Starts an engine's processes in order (helpers such as epmd first). If one does not come up, the
 * ones already started are killed and the data directory removed: no engine object owns them yet.
 */
async function startProcesses(dir: string, inOrder: EngineProcess[]): Promise<void> {
  const started: EngineProcess[] = [];
  try {
    for (const proc of inOrder) {
      started.push(proc);
      await proc.start();
    }
  } catch (err) {
    for (const proc of started.reverse()) await proc.kill();
    removeEngineDir(dir);
    throw err;
  }
}

function makeEngine(
  t: Teardown,
  name: string,
  host: string,
  port: number,
  url: string,
  dir: string,
  processes: EngineProcess[],
): Engine {
  // processes[0] is the engine; the others (epmd) start before and stop after it.
  const main = processes[0]!;
  const helpers = processes.slice(1);
  let stopped = false;
  const engine: Engine = {
    name,
    host,
    port,
    url,
    dir,
    get running() {
      return main.running;
    },
    kill: () => main.kill(),
    terminate: () => main.kill('SIGTERM'),
    restart: async () => {
      await main.kill();
      await main.start();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await main.kill();
      for (const helper of helpers) await helper.kill();
      // Only once the engine is gone: removed while it still wrote (a JetStream flush), rm failed with ENOTEMPTY.
      removeEngineDir(dir);
    },
  };
  t.after(() => engine.stop());
  return engine;
}

export interface RedisEngineOptions {
  /**
   * AOF fsync policy. `always` (the default here) means a kill -9 loses nothing Redis acknowledged,
   * which the restart tests rely on; benchmarks use `everysec`, Redis' usual production setting.
   */
  appendfsync?: 'always' | 'everysec';
}

/** redis-server with an append-only file in the temp dir. */
export async function startRedis(t: Teardown, options: RedisEngineOptions = {}): Promise<Engine> {
  const dir = engineDir('ferry-redis-');
  const port = await freePort();
  const proc = new EngineProcess('redis-server', () => ({
    command: 'redis-server',
    args: [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--save', '',
      '--appendonly', 'yes',
      '--appendfsync', options.appendfsync ?? 'always',
      '--protected-mode', 'no',
      '--daemonize', 'no',
      '--logfile', '',
    ],
    ready: /Ready to accept connections/,
    readyTimeoutMs: 15_000,
  }));
  await startProcesses(dir, [proc]);
  return makeEngine(t, 'redis', '127.0.0.1', port, `redis://127.0.0.1:${port}`, dir, [proc]);
}

/** nats-server with JetStream, its store in the temp dir. */
export async function startNats(t: Teardown, options: { port?: number } = {}): Promise<Engine> {
  const dir = engineDir('ferry-nats-');
  const port = options.port ?? (await freePort());
  const proc = new EngineProcess('nats-server', () => ({
    command: 'nats-server',
    args: ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir, '-n', `ferry-test-${port}`],
    ready: /Server is ready/,
    readyTimeoutMs: 15_000,
  }));
  await startProcesses(dir, [proc]);
  return makeEngine(t, 'nats', '127.0.0.1', port, `nats://127.0.0.1:${port}`, dir, [proc]);
}

export interface NatsCluster {
  /** One engine per server, each with its own client port and data dir. */
  readonly servers: readonly Engine[];
  /** Every client URL, comma-separated (what --cluster-nats takes). */
  readonly urls: string;
}

/**
 * `size` nats-server processes with JetStream, routed into one cluster (the route ports of all
 * of them in each one's --routes), on free loopback ports. Resolves once each says it is ready;
 * JetStream's meta leader may take a moment more, which clients retry through.
 */
export async function startNatsCluster(t: Teardown, size = 3): Promise<NatsCluster> {
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const name = `ferry-test-${ports[0]}`;
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  const servers = await Promise.all(
    ports.map(async (port, i) => {
      const dir = engineDir('ferry-nats-');
      const proc = new EngineProcess(`nats-server ${i}`, () => ({
        command: 'nats-server',
        args: ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir, '-n', `${name}-${i}`,
          '--cluster_name', name, '--cluster', `nats://127.0.0.1:${routePorts[i]}`, '--routes', routes],
        ready: /Server is ready/,
        readyTimeoutMs: 20_000,
      }));
      await startProcesses(dir, [proc]);
      return makeEngine(t, 'nats', '127.0.0.1', port, `nats://127.0.0.1:${port}`, dir, [proc]);
    }),
  );
  return { servers, urls: servers.map((s) => s.url).join(',') };
}

const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';

/**
 * rabbitmq-server as root without the Debian wrapper (which would switch to the rabbitmq user and
 * use /var/lib/rabbitmq). Guest/guest works because it listens on loopback only.
 */
export async function startRabbit(t: Teardown): Promise<Engine> {
  const dir = engineDir('ferry-rabbit-');
  const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  mkdirSync(`${dir}/home`);
  writeFileSync(`${dir}/enabled_plugins`, '[].\n');
  const env = cleanEngineEnv({
    HOME: `${dir}/home`,
    ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_NODENAME: `ferrytest${port}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: `${dir}/mnesia`,
    RABBITMQ_LOG_BASE: `${dir}/log`,
    RABBITMQ_LOGS: '-',
    RABBITMQ_ENABLED_PLUGINS_FILE: `${dir}/enabled_plugins`,
    RABBITMQ_CONFIG_FILE: `${dir}/rabbitmq`,
    RABBITMQ_ADVANCED_CONFIG_FILE: `${dir}/advanced.config`,
    RABBITMQ_CONF_ENV_FILE: `${dir}/rabbitmq-env.conf`,
    RABBITMQ_PID_FILE: `${dir}/rabbit.pid`,
    // One scheduler, no busy waiting: the test machine is small and shared.
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '+S 1:1 +sbwt none +sbwtdcpu none +sbwtdio none',
  });
  const epmd = new EngineProcess('epmd', () => ({
    command: 'epmd',
    args: ['-port', String(epmdPort), '-address', '127.0.0.1', '-d'],
    env,
    ready: /epmd running/,
    readyTimeoutMs: 10_000,
  }));
  const rabbit = new EngineProcess('rabbitmq-server', () => ({
    command: RABBITMQ_SERVER,
    args: [],
    env,
    ready: /Server startup complete/,
    readyTimeoutMs: 90_000,
  }));
  await startProcesses(dir, [epmd, rabbit]);
  return makeEngine(t, 'rabbitmq', '127.0.0.1', port, `amqp://guest:guest@127.0.0.1:${port}`, dir, [rabbit, epmd]);
}

/**
 * An ioredis client of a test's Redis, connected, closed by the teardown. It keeps reconnecting
 * (and stays quiet about it) while a test kills the engine on purpose.
 */
export async function redisClient(t: Teardown, engine: Engine): Promise<Redis> {
  const client = new Redis(engine.port, engine.host, { lazyConnect: true, maxRetriesPerRequest: null });
  client.on('error', () => undefined);
  await client.connect();
  t.after(() => client.disconnect());
  return client;
}

/** One XRANGE entry, `[id, [field, value, ...]]`, as an object of its fields. */
export function streamFields(entry: [string, string[]]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < entry[1].length; i += 2) out[entry[1][i]!] = entry[1][i + 1]!;
  return out;
}
