/** Start/stop the brokers under test and read their resource usage from /proc. */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** `ferry-base` is a second Ferry build (`--baseline-cli`), for before/after comparisons in one run. */
export type BrokerName = 'ferry' | 'mosquitto' | 'aedes' | 'ferry-base';
export const ALL_BROKERS: readonly BrokerName[] = ['ferry', 'mosquitto', 'aedes'];
export const KNOWN_BROKERS: readonly BrokerName[] = ['ferry', 'mosquitto', 'aedes', 'ferry-base'];

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench/e2e
export const repoRoot = path.resolve(here, '..', '..', '..');
/**
 * Ferry entry points. Default: this checkout's build. `--ferry-cli` / `--baseline-cli` point at
 * other builds (e.g. a snapshot made by bench/e2e/snapshot.sh, immune to concurrent `tsc` runs).
 */
export const ferryCli: Record<'ferry' | 'ferry-base', string> = {
  ferry: path.join(repoRoot, 'dist', 'src', 'cli', 'main.js'),
  'ferry-base': '',
};
const AEDES_SERVER = path.join(here, 'aedes-server.js');
export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';
export const HOST = '127.0.0.1';
/** Node flags Ferry is started with, as `npm start`, the `ferry` bin and the image do (issue 15). */
export const FERRY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--interrupt-budget=8448'];
/** Opens the inspector on a free loopback port (URL printed to the broker's log): `FerryOptions.inspect`, broker-memory.ts. */
export const INSPECT_FLAG = '--inspect=127.0.0.1:0';
/** One self-signed certificate (P-256, CN localhost) per harness run, for the TLS listeners. */
let tlsFiles: { cert: string; key: string } | null = null;
function benchCert(workDir: string): { cert: string; key: string } {
  if (tlsFiles !== null) return tlsFiles;
  // Readable by Mosquitto, which drops root for its own user before it loads them.
  const dir = fs.mkdtempSync(path.join(workDir, 'tls-'));
  fs.chmodSync(workDir, 0o755);
  fs.chmodSync(dir, 0o755);
  const cert = path.join(dir, 'bench-tls.crt');
  const key = path.join(dir, 'bench-tls.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.chmodSync(key, 0o644); // a throwaway key for loopback benchmarks
  tlsFiles = { cert, key };
  return tlsFiles;
}

/** The CA file that verifies the brokers' TLS listeners (the self-signed certificate itself), for the C generator. */
export function benchCaFile(): string {
  if (tlsFiles === null) throw new Error('no broker with a TLS listener was started');
  return tlsFiles.cert;
}

/** Soft open-files limit requested for broker processes (hard limit on the bench box is 20,000). */
const NOFILE = 20000;

export interface BrokerHandle {
  readonly name: BrokerName;
  readonly port: number;
  /** MQTT over WebSocket (path /mqtt), when the broker has such a listener (Ferry). */
  readonly wsPort?: number;
  /** MQTT over TLS (a self-signed P-256 certificate made per harness run), Ferry and Mosquitto. */
  readonly tlsPort?: number;
  /** Ferry's HTTP listener (/metrics, /readyz); not there for Mosquitto. */
  readonly httpPort?: number;
  readonly pid: number;
  readonly logFile: string;
  /** Started with {@link INSPECT_FLAG} (a Node broker in a scenario that reads memory after a forced GC). */
  readonly inspect: boolean;
  alive(): boolean;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();

/** Kill every broker still running (used by exit/signal handlers). */
export function killAllBrokers(): void {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
}

export function freePort(): Promise<number> {
  return freePorts(1).then((ports) => ports[0] as number);
}

/**
 * `n` distinct free ports: every probe listener stays open until all are taken, so the kernel
 * cannot hand the same port out twice (it did: "mqttPort and wsPort are both 41715").
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      servers.push(srv);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          srv.on('error', reject);
          srv.listen(0, HOST, () => {
            const addr = srv.address();
            resolve(typeof addr === 'object' && addr !== null ? addr.port : 0);
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((srv) => new Promise<void>((r) => srv.close(() => r()))));
  }
}

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      s.destroy();
      resolve(false);
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Limits every broker gets, so that none of them drops or throttles where another doesn't.
 * Mosquitto: `max_inflight_messages` / `max_queued_messages`; Ferry: `--max-inflight` /
 * `--max-queued-messages`. (Aedes has no per-session queue cap.)
 */
export const MAX_INFLIGHT = 64;
export const MAX_QUEUED = 1_000_000;

export interface FerryOptions {
  /** `--store-engine`; undefined = Ferry's default (sqlite). */
  readonly store?: 'sqlite' | 'memory';
  /** `--store-fsync`; undefined = Ferry's default (always). */
  readonly fsync?: 'always' | 'interval' | 'off';
  /** Extra command-line arguments appended last (they win). */
  readonly extraArgs?: readonly string[];
  /** Extra node flags, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
  /** Extra environment variables (e.g. a bootstrap AccessKey). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Durable scenarios: Mosquitto gets `persistence true` (+ `persistence_location`, and the
   * default `autosave_interval 1800`, written out so the report shows it). Ferry is durable by
   * default (sqlite); with `store: 'memory'` it is not.
   */
  readonly persistence?: boolean;
  /** Node brokers (Ferry, Aedes) open the inspector ({@link INSPECT_FLAG}) so the harness can force a GC before reading memory. */
  readonly inspect?: boolean;
}

/** Mosquitto's autosave settings in durable runs (its defaults, written out). */
export const MOSQUITTO_AUTOSAVE = ['autosave_interval 1800', 'autosave_on_changes false'] as const;

/** Ferry's command line (after `node`), as the harness starts it. */
/** Ports of Ferry's other listeners. Given explicitly: a listener on port 0 may get the port probed for another one. */
interface FerryPorts {
  readonly ws: number;
  readonly http: number;
  readonly amqp: number;
}

export function ferryArgs(dataDir: string, port: number, fo: FerryOptions = {}, cli = ferryCli.ferry, ports: FerryPorts = { ws: 0, http: 0, amqp: 0 }): string[] {
  return [
    cli,
    'start',
    '--data-dir',
    dataDir,
    '--bind',
    HOST,
    '--mqtt-port',
    String(port),
    '--ws-port',
    String(ports.ws),
    '--http-port',
    String(ports.http),
    '--amqp-port',
    String(ports.amqp),
    '--max-inflight',
    String(MAX_INFLIGHT),
    '--max-queued-messages',
    String(MAX_QUEUED),
    // Ferry also caps offline messages per instance (Mosquitto has no such cap): out of the way.
    '--max-queued-per-instance',
    String(MAX_QUEUED * 100),
    ...(fo.store ? ['--store-engine', fo.store] : []),
    ...(fo.fsync ? ['--store-fsync', fo.fsync] : []),
    ...(fo.extraArgs ?? []),
  ];
}

/**
 * @param noDelay disable Nagle on the comparison brokers (mosquitto `set_tcp_nodelay`,
 *   Aedes `net.Server({ noDelay })`). Ferry always runs with its own settings.
 */
export async function startBroker(name: BrokerName, workDir: string, noDelay = true, timeoutMs = 15_000, fo: FerryOptions = {}): Promise<BrokerHandle> {
  // Another process may take a probed port before the broker binds it (Ferry then exits 3 with
  // EADDRINUSE): new ports, a bounded number of times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startBrokerOn(await freePorts(6), name, workDir, noDelay, timeoutMs, fo);
    } catch (e) {
      if (attempt >= 3 || !/EADDRINUSE|address already in use|\(code 3\)/i.test(String(e))) throw e;
      process.stderr.write(`${name}: a port was taken before the broker bound it; retrying with new ports\n`);
    }
  }
}

async function startBrokerOn(
  [port, wsPortFree, tlsPortFree, httpPort, amqpPort, wssPort]: number[],
  name: BrokerName,
  workDir: string,
  noDelay: boolean,
  timeoutMs: number,
  fo: FerryOptions,
): Promise<BrokerHandle> {
  if (port === undefined || wsPortFree === undefined || tlsPortFree === undefined || httpPort === undefined || amqpPort === undefined || wssPort === undefined) {
    throw new Error('freePorts(6) gave fewer ports');
  }
  const dir = fs.mkdtempSync(path.join(workDir, `${name}-`));
  const logFile = path.join(dir, 'broker.log');
  let argv: string[];
  let wsPort: number | undefined;
  let tlsPort: number | undefined;
  let ferryEnv: Record<string, string> = {};
  if (name === 'mosquitto') {
    const conf = path.join(dir, 'mosquitto.conf');
    fs.writeFileSync(
      conf,
      [
        `listener ${port} ${HOST}`,
        'allow_anonymous true',
        ...(fo.persistence ? [] : ['persistence false']),
        'max_connections -1',
        `max_inflight_messages ${MAX_INFLIGHT}`,
        // QoS 0 deliveries to online clients are also bounded by this in 2.x;
        // keep it well above anything a 5 s run can queue per subscriber.
        `max_queued_messages ${MAX_QUEUED}`,
        `set_tcp_nodelay ${String(noDelay)}`,
        // MQTT over TLS for connect_rate_tls (per-listener settings follow their listener line)
        `listener ${(tlsPort = tlsPortFree)} ${HOST}`,
        `certfile ${benchCert(workDir).cert}`,
        `keyfile ${benchCert(workDir).key}`,
        ...(fo.persistence ? ['persistence true', `persistence_location ${dir}/`, ...MOSQUITTO_AUTOSAVE] : []),
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        '',
      ].join('\n'),
    );
    argv = [MOSQUITTO_BIN, '-c', conf];
  } else if (name === 'aedes') {
    argv = [process.execPath, ...(fo.inspect ? [INSPECT_FLAG] : []), AEDES_SERVER, '--port', String(port), '--host', HOST, '--nodelay', noDelay ? '1' : '0'];
  } else {
    const cli = ferryCli[name];
    if (!cli) throw new Error(`${name}: no CLI given (--baseline-cli)`);
    if (!fs.existsSync(cli)) throw new Error(`${cli} not built`);
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dataDir);
    wsPort = wsPortFree;
    // As npm start / the ferry bin / the image start it; a later --max-semi-space-size wins, and
    // FERRY_SEMI_SPACE_MB follows it so that Ferry does not start node a second time (the pid
    // measured here must be the broker's).
    const nodeArgs = [...FERRY_NODE_FLAGS, ...(fo.inspect ? [INSPECT_FLAG] : []), ...(fo.nodeArgs ?? [])];
    const semi = nodeArgs.filter((a) => a.startsWith('--max-semi-space-size=')).at(-1);
    if (semi !== undefined) ferryEnv = { FERRY_SEMI_SPACE_MB: semi.slice(semi.indexOf('=') + 1) };
    tlsPort = tlsPortFree;
    const tls = benchCert(workDir);
    // "--amqps-port=-1" in one argument: older builds' option parsers take a separate "-1" for a flag.
    argv = [process.execPath, ...nodeArgs, ...ferryArgs(dataDir, port, fo, cli, { ws: wsPort, http: httpPort, amqp: amqpPort }), '--tls-cert', tls.cert, '--tls-key', tls.key, '--tls-port', String(tlsPort), '--wss-port', String(wssPort), '--amqps-port=-1'];
  }

  const log = fs.openSync(logFile, 'a');
  // `exec` keeps the pid: the pid we watch in /proc is the broker itself.
  const proc = spawn('/bin/sh', ['-c', `ulimit -n ${NOFILE} 2>/dev/null; exec "$@"`, 'sh', ...argv], {
    stdio: ['ignore', log, log],
    cwd: dir,
    env: { ...process.env, NODE_ENV: 'production', ...ferryEnv, ...fo.env },
  });
  fs.closeSync(log);
  live.add(proc);
  let exited: string | null = null;
  proc.on('exit', (code, sig) => {
    exited = `exited (${sig ?? `code ${String(code)}`})`;
    live.delete(proc);
  });
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`${name}: spawn failed`);

  const handle: BrokerHandle = {
    name,
    port,
    ...(wsPort === undefined ? {} : { wsPort }),
    ...(tlsPort === undefined ? {} : { tlsPort }),
    ...(name === 'mosquitto' ? {} : { httpPort }),
    pid,
    logFile,
    inspect: fo.inspect === true && name !== 'mosquitto',
    alive: () => exited === null,
    async stop() {
      if (exited !== null) return;
      const gone = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      await Promise.race([gone, sleep(3000)]);
      if (exited === null) {
        proc.kill('SIGKILL');
        await Promise.race([gone, sleep(2000)]);
      }
      // BENCH_KEEP_BROKER_LOGS=DIR: the broker's log (e.g. with --ferry-node-flag --trace-gc) is copied there first.
      const keep = process.env['BENCH_KEEP_BROKER_LOGS'];
      if (keep) fs.copyFileSync(logFile, path.join(keep, `${name}-${path.basename(dir)}.log`));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== null) {
      const t = tail(logFile, 6);
      throw new Error(`${name} ${String(exited)} before listening${t ? `: ${t.replace(/\s*\n\s*/g, ' | ')}` : ''}`);
    }
    if (await tryConnect(port)) return handle;
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`${name}: port ${port} not accepting after ${timeoutMs} ms`);
    }
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------
// /proc readers

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* default */
}

/** utime+stime of a process (all threads), in µs. */
export function procCpuUs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime = field 14, stime = field 15
  return ((Number(fields[11]) + Number(fields[12])) / clkTck) * 1e6;
}

/** VmRSS in bytes. */
export function procRssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Whole-machine busy / total jiffies from /proc/stat. */
export function machineCpu(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

export function brokerVersions(): Record<BrokerName, string> {
  let mosq = 'unknown';
  try {
    const out = execFileSync(MOSQUITTO_BIN, ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    mosq = /mosquitto version (\S+)/.exec(out)?.[1] ?? mosq;
  } catch (e) {
    const out = String((e as { stdout?: unknown }).stdout ?? '');
    mosq = /mosquitto version (\S+)/.exec(out)?.[1] ?? mosq;
  }
  let aedes = 'unknown';
  try {
    aedes = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'node_modules', 'aedes', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    /* ignore */
  }
  const describe = (cli: string): string => {
    if (!cli) return 'unset';
    // A snapshot dir carries a SNAPSHOT file describing what was built (see snapshot.sh).
    const snap = path.join(path.dirname(cli), '..', '..', '..', 'SNAPSHOT');
    if (fs.existsSync(snap)) return `${fs.readFileSync(snap, 'utf8').trim()} (${cli})`;
    try {
      const head = execFileSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
      const dirty = execFileSync('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no', 'src'], { encoding: 'utf8' }).trim();
      return `git ${head}${dirty ? ' + uncommitted src changes' : ''} (${cli})`;
    } catch {
      return cli;
    }
  };
  return { ferry: describe(ferryCli.ferry), 'ferry-base': describe(ferryCli['ferry-base']), mosquitto: mosq, aedes };
}
