/**
 * End-to-end broker benchmark: Ferry vs Mosquitto vs Aedes, same load,
 * alternating broker order per round.
 *
 *   node dist/bench/e2e/run.js [--scenarios a,b] [--rounds N] [--brokers ferry,mosquitto,aedes]
 *                              [--duration S] [--warmup S] [--size BYTES] [--idle-conns N]
 *                              [--connect-concurrency N] [--connect-workers N] [--latency-rate N] [--no-save]
 *
 * See bench/README.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ALL_BROKERS,
  KNOWN_BROKERS,
  MAX_INFLIGHT,
  MAX_QUEUED,
  brokerVersions,
  ferryCli,
  killAllBrokers,
  machineCpu,
  repoRoot,
  startBroker,
  type BrokerName,
} from './brokers.js';
import { createRule, ruleProgress, startRuleTarget, type RuleProgress, type RuleTarget } from './rule-target.js';
import { buildScenarios, fmtPct, fmtRate, killAllWorkers, type Measurement, type Options, type Scenario } from './scenarios.js';

/** A generator process above this share of one core is considered saturated. */
const GEN_SATURATED_PCT = 90;
/** Foreign CPU load (% of one core) during a window above which the run is flagged noisy. */
const NOISY_PCT = 25;

function usage(): never {
  console.log(
    [
      'usage: node dist/bench/e2e/run.js [options]',
      '  --scenarios a,b          scenario names or prefixes (default: all)',
      '  --rounds N               rounds per scenario, broker order rotates each round (default 3)',
      '  --brokers a,b            subset of ferry,mosquitto,aedes (default: all three)',
      '  --duration S             measurement window seconds (default 5)',
      '  --warmup S               load before the window opens (default 1)',
      '  --size BYTES             PUBLISH payload size (default 64)',
      '  --idle-conns N           connections for idle_rss (default 10000)',
      '  --connect-concurrency N  parallel connect loops for connect_rate (default 64)',
      '  --connect-workers N      processes for connect_rate (default 2)',
      '  --latency-rate N         msg/s for the latency scenario (default 10000)',
      '  --nodelay on|off         TCP_NODELAY on mosquitto/aedes (default on)',
      '  --generator node|c       load generator for latency, connect_rate, idle_rss, reconnect/connect storms (default node;',
      '                           c: bench/cgen/cgen.c, compiled on demand, needs cc and libssl-dev)',
      '  --storm-concurrency N    C generator: connects in flight in the idle/connect/reconnect storms (default 500)',
      '  --storm-processes N      C generator: processes sharing those storms, each with its share of the connections (default 1; TLS)',
      '  --storm-warmup N         C generator: N connections made and closed before each storm is measured (a warm broker; default 0)',
      '  --ferry-cli PATH         Ferry build to run (default dist/src/cli/main.js of this checkout)',
      '  --baseline-cli PATH      also run this Ferry build as broker "ferry-base" (before/after in one run)',
      '  --ferry-store E          Ferry --store-engine sqlite|memory (default: Ferry\'s default, sqlite)',
      '  --baseline-store E       --store-engine for ferry-base only (e.g. same build, memory vs sqlite)',
      '  --ferry-fsync P          Ferry --store-fsync always|interval|off (default: Ferry\'s default, always)',
      '  --ferry-rule redis|nats|down  broker "ferry" runs with an active outbound rule (# → a real Redis stream / JetStream;',
      '                           down: a target where nothing listens, i.e. the durable outbox without dispatch);',
      '                           with --baseline-cli on the same build, Ferry/base is the cost of the rule',
      '  --base-rule              ferry-base runs with the same rule too (two builds, both with the rule)',
      '  --ferry-cluster-nats URL broker "ferry" runs as a one-node cluster on this (running) nats-server -js, its state in',
      '                           JetStream (clusterStore jetstream, a fresh subject prefix per run); ferry-base stays single-node',
      '  --ferry-cpu-prof DIR     run Ferry with --cpu-prof, profiles written to DIR',
      '  --ferry-heap-prof DIR    run Ferry with --heap-prof, profiles written to DIR',
      '  --ferry-node-flag F      a node flag for broker "ferry" only (repeatable), e.g. --max-semi-space-size=16',
      '  --base-node-flag F       a node flag for broker "ferry-base" only (repeatable): same build, two node settings',
      '  --queued SxM             queued_rss: S offline persistent sessions × M messages each (default 1000x1000)',
      '  --backlog N              backlog_drain: QoS 1 messages queued for the returning session (default 100000)',
      '  --backlog-warm N         backlog_drain: the broker drains N for another session first (a warm process; default 0)',
      '  --wait-quiet S           before each run wait up to S s for the machine to be < 10% busy (default 0 = off)',
      '  --list                   list scenarios and exit',
      '  --no-save                do not write bench/results/*',
    ].join('\n'),
  );
  process.exit(0);
}

/** Machine busy % (all cores) over `ms`. */
async function busyOver(ms: number): Promise<number> {
  const a = machineCpu();
  await new Promise((r) => setTimeout(r, ms));
  const b = machineCpu();
  return ((b.busy - a.busy) / Math.max(1, b.total - a.total)) * 100;
}

/** Wait (at most `maxS` seconds) until the machine has been < 10% busy for a second. Returns seconds waited. */
async function waitQuiet(maxS: number): Promise<{ waited: number; busy: number }> {
  const t = Date.now();
  let busy = await busyOver(1000);
  while (busy >= 10 && Date.now() - t < maxS * 1000) busy = await busyOver(1000);
  return { waited: (Date.now() - t) / 1000, busy };
}

function parseArgs(argv: readonly string[]): Options & { list: boolean; waitQuiet: number } {
  const o: Options & { list: boolean; waitQuiet: number } = {
    waitQuiet: 0,
    scenarios: [],
    rounds: 3,
    brokers: [...ALL_BROKERS],
    duration: 5,
    warmup: 1,
    size: 64,
    idleConns: 10_000,
    connectConcurrency: 64,
    connectWorkers: 2,
    latencyRate: 10_000,
    generator: 'node',
    stormConcurrency: 500,
    stormProcesses: 1,
    stormWarmup: 0,
    noDelay: true,
    save: true,
    list: false,
    queuedSessions: 1000,
    queuedPerSession: 1000,
    backlog: 100_000,
    backlogWarm: 0,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const num = (): number => {
      const n = Number(val());
      if (!Number.isFinite(n) || n < 0) throw new Error(`${flag}: not a number`);
      return n;
    };
    switch (flag) {
      case '--scenarios':
        o.scenarios = val().split(',').filter(Boolean);
        break;
      case '--rounds':
        o.rounds = Math.max(1, Math.floor(num()));
        break;
      case '--brokers':
        o.brokers = val().split(',').filter(Boolean);
        for (const b of o.brokers) if (!(KNOWN_BROKERS as readonly string[]).includes(b)) throw new Error(`unknown broker ${b}`);
        break;
      case '--duration':
        o.duration = num();
        break;
      case '--warmup':
        o.warmup = num();
        break;
      case '--size':
        o.size = Math.floor(num());
        break;
      case '--idle-conns':
        o.idleConns = Math.floor(num());
        break;
      case '--connect-concurrency':
        o.connectConcurrency = Math.max(1, Math.floor(num()));
        break;
      case '--connect-workers':
        o.connectWorkers = Math.max(1, Math.floor(num()));
        break;
      case '--latency-rate':
        o.latencyRate = num();
        break;
      case '--generator': {
        const v = val();
        if (v !== 'node' && v !== 'c') throw new Error('--generator takes node|c');
        o.generator = v;
        break;
      }
      case '--storm-concurrency':
        o.stormConcurrency = Math.max(1, Math.floor(num()));
        break;
      case '--storm-processes':
        o.stormProcesses = Math.max(1, Math.floor(num()));
        break;
      case '--storm-warmup':
        o.stormWarmup = Math.max(0, Math.floor(num()));
        break;
      case '--nodelay': {
        const v = val();
        if (!['on', 'off', 'true', 'false', '1', '0'].includes(v)) throw new Error('--nodelay takes on|off');
        o.noDelay = ['on', 'true', '1'].includes(v);
        break;
      }
      case '--no-save':
        o.save = false;
        break;
      case '--queued':
        {
          const m = /^(\d+)x(\d+)$/.exec(val());
          if (!m) throw new Error('--queued takes SESSIONSxMESSAGES, e.g. 1000x1000');
          o.queuedSessions = Number(m[1]);
          o.queuedPerSession = Number(m[2]);
        }
        break;
      case '--backlog':
        o.backlog = Math.max(1, Math.floor(num()));
        break;
      case '--backlog-warm':
        o.backlogWarm = Math.max(0, Math.floor(num()));
        break;
      case '--wait-quiet':
        o.waitQuiet = num();
        break;
      case '--ferry-cli':
        ferryCli.ferry = path.resolve(val());
        break;
      case '--baseline-cli':
        ferryCli['ferry-base'] = path.resolve(val());
        if (!o.brokers.includes('ferry-base')) o.brokers.push('ferry-base');
        break;
      case '--ferry-store': {
        const v = val();
        if (v !== 'sqlite' && v !== 'memory') throw new Error('--ferry-store takes sqlite|memory');
        o.ferryStore = v;
        break;
      }
      case '--baseline-store': {
        const v = val();
        if (v !== 'sqlite' && v !== 'memory') throw new Error('--baseline-store takes sqlite|memory');
        o.baseStore = v;
        break;
      }
      case '--ferry-fsync': {
        const v = val();
        if (v !== 'always' && v !== 'interval' && v !== 'off') throw new Error('--ferry-fsync takes always|interval|off');
        o.ferryFsync = v;
        break;
      }
      case '--ferry-cluster-nats':
        o.ferryClusterNats = val();
        break;
      case '--ferry-rule': {
        const v = val();
        if (v !== 'redis' && v !== 'nats' && v !== 'down') throw new Error('--ferry-rule takes redis|nats|down');
        o.ferryRule = v;
        break;
      }
      case '--base-rule':
        o.baseRule = true;
        break;
      case '--ferry-cpu-prof':
      case '--ferry-heap-prof': {
        const dir = path.resolve(val());
        fs.mkdirSync(dir, { recursive: true });
        const kind = flag === '--ferry-cpu-prof' ? 'cpu' : 'heap';
        o.ferryNodeArgs = [...(o.ferryNodeArgs ?? []), `--${kind}-prof`, `--${kind}-prof-dir`, dir];
        break;
      }
      case '--ferry-node-flag':
        o.ferryNodeFlags = [...(o.ferryNodeFlags ?? []), val()];
        break;
      case '--base-node-flag':
        o.baseNodeFlags = [...(o.baseNodeFlags ?? []), val()];
        break;
      case '--list':
        o.list = true;
        break;
      case '--help':
      case '-h':
        usage();
        break;
      default:
        throw new Error(`unknown option ${a} (try --help)`);
    }
  }
  return o;
}

interface RunResult {
  readonly scenario: string;
  readonly broker: BrokerName;
  readonly round: number;
  readonly m: Measurement | null;
  readonly error: string | null;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`${what} timed out after ${ms / 1000} s`)), ms)))]).finally(() =>
    clearTimeout(t),
  );
}

function machineInfo(): Record<string, string> {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown';
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  const v = brokerVersions();
  return {
    date: new Date().toISOString(),
    cpus: `${os.availableParallelism()} × ${model}`,
    ram: `${(memKb / 2 ** 20).toFixed(1)} GiB`,
    kernel: os.release(),
    node: process.version,
    mosquitto: v.mosquitto,
    aedes: v.aedes,
    ferry: v.ferry,
    ...(ferryCli['ferry-base'] ? { 'ferry-base': v['ferry-base'] } : {}),
  };
}

/** How Ferry was configured, for the report header. */
function ferryDesc(opts: Options): string {
  return `ferry-store=${opts.ferryStore ?? 'sqlite (default)'}${opts.baseStore ? ` base-store=${opts.baseStore}` : ''} ferry-fsync=${opts.ferryFsync ?? 'always (default)'}${opts.ferryRule ? ` ferry-rule=outbound # → ${opts.ferryRule} (${opts.baseRule ? 'ferry and ferry-base' : 'ferry only'})` : ''}${opts.ferryClusterNats ? ' ferry-store=jetstream (one-node cluster on nats-server -js)' : ''} max-inflight=${MAX_INFLIGHT} max-queued=${MAX_QUEUED} (Ferry and Mosquitto)${opts.ferryNodeFlags ? ` ferry node flags: ${opts.ferryNodeFlags.join(' ')}` : ''}${opts.baseNodeFlags ? ` ferry-base node flags: ${opts.baseNodeFlags.join(' ')}` : ''}`;
}

/** A rule's progress read at the measurement window's edges (scenarios that have one), with the time of each read. */
interface RuleWindow {
  start?: Promise<{ at: number; progress: RuleProgress }>;
  end?: Promise<{ at: number; progress: RuleProgress }>;
}

/**
 * What the rule did during one run: messages it delivered per second inside the measurement window
 * (what it sustains while the load runs) and over the whole run (set-up and the drain after the
 * window included), and what it left behind.
 */
async function ruleNote(rule: { httpPort: number; id: string; before: RuleProgress; began: number; target: RuleTarget; engineCpuBefore: number | null; window: RuleWindow }): Promise<string> {
  const after = await ruleProgress(rule.httpPort, rule.id);
  const seconds = (Date.now() - rule.began) / 1000;
  const delivered = after.delivered - rule.before.delivered;
  let inWindow = '';
  if (rule.window.start !== undefined && rule.window.end !== undefined) {
    const [start, end] = await Promise.all([rule.window.start, rule.window.end]);
    const n = end.progress.delivered - start.progress.delivered;
    inWindow = `${fmtRate(n / ((end.at - start.at) / 1000))} msg/s in the window (outbox ${end.progress.outboxDepth} at its end), `;
  }
  const engineCpu = rule.engineCpuBefore === null ? null : ((await rule.target.engineCpuSeconds()) ?? NaN) - rule.engineCpuBefore;
  const engine =
    engineCpu === null ? '' : `, ${rule.target.kind}-server CPU ${fmtPct((100 * engineCpu) / seconds)} (${delivered > 0 ? ((engineCpu * 1e6) / delivered).toFixed(1) : '-'} µs per delivered entry)`;
  return `rule delivered ${inWindow}${delivered} in all (${fmtRate(delivered / seconds)} msg/s over the run), outbox ${after.outboxDepth}, failed ${after.failed - rule.before.failed}, dropped ${after.dropped - rule.before.dropped}${engine}`;
}

function rotate<T>(xs: readonly T[], k: number): T[] {
  const n = xs.length;
  return xs.map((_, i) => xs[(i + k) % n]!);
}

function genSummary(m: Measurement): string {
  return m.gen.map((g) => `${g.role} ${fmtPct(g.pct)}`).join(' ');
}

function isSaturated(m: Measurement): boolean {
  return m.gen.some((g) => g.pct >= GEN_SATURATED_PCT);
}

function isNoisy(m: Measurement): boolean {
  return (m.other ?? 0) > NOISY_PCT;
}

// ---------------------------------------------------------------------------

function summarise(scenarios: readonly Scenario[], brokers: readonly BrokerName[], results: readonly RunResult[], rounds: number): string {
  const cell = (s: Scenario, b: BrokerName, key: string): { v: number; ok: number } => {
    const vals = results.filter((r) => r.scenario === s.name && r.broker === b && r.m !== null).map((r) => r.m!.metrics[key] ?? NaN);
    const ok = vals.filter(Number.isFinite);
    return { v: median(ok), ok: ok.length };
  };
  const out: string[] = [];
  const has = (b: BrokerName): boolean => brokers.includes(b);
  const head = ['scenario', 'metric', ...brokers];
  if (has('ferry') && has('mosquitto')) head.push('Ferry/Mosquitto');
  if (has('ferry') && has('aedes')) head.push('Ferry/Aedes');
  if (!has('ferry') && has('mosquitto') && has('aedes')) head.push('Aedes/Mosquitto');
  if (has('ferry') && has('ferry-base')) head.push('Ferry/base');
  head.push('target');
  out.push(`| ${head.join(' | ')} |`, `|${head.map((h) => (h === 'scenario' || h === 'metric' || h === 'target' ? '---' : '---:')).join('|')}|`);
  for (const s of scenarios) {
    for (const met of s.metrics) {
      const cells = new Map(brokers.map((b) => [b, cell(s, b, met.key)]));
      const show = (b: BrokerName): string => {
        const c = cells.get(b)!;
        if (c.ok === 0) return 'n/a';
        return c.ok < rounds ? `${met.fmt(c.v)} (${c.ok}/${rounds})` : met.fmt(c.v);
      };
      const ratio = (a: BrokerName, b: BrokerName): string => {
        const x = cells.get(a)!;
        const y = cells.get(b)!;
        return x.ok && y.ok && y.v !== 0 ? `${(x.v / y.v).toFixed(2)}×` : 'n/a';
      };
      const row = [s.name, `${met.label} (${met.better} is better)`, ...brokers.map(show)];
      if (has('ferry') && has('mosquitto')) row.push(ratio('ferry', 'mosquitto'));
      if (has('ferry') && has('aedes')) row.push(ratio('ferry', 'aedes'));
      if (!has('ferry') && has('mosquitto') && has('aedes')) row.push(ratio('aedes', 'mosquitto'));
      if (has('ferry') && has('ferry-base')) row.push(ratio('ferry', 'ferry-base'));
      row.push(met.target ?? '');
      out.push(`| ${row.join(' | ')} |`);
    }
  }
  out.push('', 'Ratios are plain quotients of the medians; for latency and RSS lower is better, so < 1.0× means Ferry wins.', '');
  out.push('CPU during the measurement window (medians over rounds; % of one core; machine = all cores, 100% = fully busy):', '');
  out.push(
    `Other = CPU used by processes outside the benchmark (% of one core); runs above ${NOISY_PCT}% are counted as noisy.`,
    '',
    '| scenario | broker | broker CPU | generator CPU per process | machine busy | other | noisy runs | generator saturated? |',
    '|---|---|---:|---|---:|---:|---:|---|',
  );
  for (const s of scenarios) {
    for (const b of brokers) {
      const rs = results.filter((r) => r.scenario === s.name && r.broker === b && r.m !== null).map((r) => r.m!);
      if (rs.length === 0) {
        const err = results.find((r) => r.scenario === s.name && r.broker === b)?.error ?? '';
        out.push(`| ${s.name} | ${b} | n/a | n/a | n/a | n/a | n/a | ${err ? `failed: ${err.slice(0, 80).replace(/\|/g, '/')}` : ''} |`);
        continue;
      }
      const roles = rs[0]!.gen.map((g) => g.role);
      const gen = roles.map((role) => `${role} ${fmtPct(median(rs.map((m) => m.gen.find((g) => g.role === role)?.pct ?? NaN)))}`).join(', ');
      const bc = rs.map((m) => m.brokerCpu).filter((v): v is number => v !== undefined);
      const mc = rs.map((m) => m.machine).filter((v): v is number => v !== undefined);
      const oc = rs.map((m) => m.other).filter((v): v is number => v !== undefined);
      const sat = rs.filter(isSaturated).length;
      const noisy = rs.filter(isNoisy).length;
      const pct = (xs: number[]): string => (xs.length ? fmtPct(median(xs)) : '–');
      out.push(
        `| ${s.name} | ${b} | ${pct(bc)} | ${gen || '–'} | ${pct(mc)} | ${pct(oc)} | ${oc.length ? `${noisy}/${rs.length}` : '–'} | ${sat ? `**yes** (${sat}/${rs.length} rounds)` : oc.length ? 'no' : '–'} |`,
      );
    }
  }
  return out.join('\n');
}

function toCsv(results: readonly RunResult[]): string {
  const keys = [...new Set(results.flatMap((r) => (r.m ? Object.keys(r.m.metrics) : [])))];
  const lines = [['scenario', 'broker', 'round', 'ok', ...keys, 'broker_cpu_pct', 'gen_cpu_pct', 'machine_busy_pct', 'other_cpu_pct', 'note', 'error'].join(',')];
  const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;
  for (const r of results) {
    const m = r.m;
    lines.push(
      [
        r.scenario,
        r.broker,
        r.round + 1,
        m ? 1 : 0,
        ...keys.map((k) => (m?.metrics[k] !== undefined ? String(Math.round(m.metrics[k]! * 100) / 100) : '')),
        m?.brokerCpu?.toFixed(1) ?? '',
        q(m ? genSummary(m) : ''),
        m?.machine?.toFixed(1) ?? '',
        m?.other?.toFixed(1) ?? '',
        q(m?.note ?? ''),
        q(r.error ?? ''),
      ].join(','),
    );
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const all = buildScenarios(opts);
  if (opts.list) {
    for (const s of all) console.log(`${s.name.padEnd(22)} ${s.description}`);
    return;
  }
  const scenarios = opts.scenarios.length ? all.filter((s) => opts.scenarios.some((p) => s.name === p || s.name.startsWith(p))) : all.filter((s) => !s.optIn);
  if (scenarios.length === 0) throw new Error(`no scenario matches ${opts.scenarios.join(',')} (try --list)`);
  const brokers = opts.brokers as BrokerName[];
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-'));
  const ruleTarget: RuleTarget | null = opts.ferryRule === undefined ? null : await startRuleTarget(opts.ferryRule);

  const cleanup = (): void => {
    killAllWorkers();
    killAllBrokers();
    fs.rmSync(workDir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      console.error(`\n${sig}: stopping brokers and load workers`);
      cleanup();
      process.exit(130);
    });
  }

  const info = machineInfo();
  console.log(`# Ferry e2e benchmark ${info.date}`);
  for (const [k, v] of Object.entries(info)) if (k !== 'date') console.log(`  ${k.padEnd(9)} ${v}`);
  console.log(
    `  options   rounds=${opts.rounds} duration=${opts.duration}s warmup=${opts.warmup}s size=${opts.size}B brokers=${brokers.join(',')} idle-conns=${opts.idleConns} connect-concurrency=${opts.connectConcurrency} generator=${opts.generator}${opts.generator === 'c' ? ` storm-concurrency=${opts.stormConcurrency} storm-processes=${opts.stormProcesses}${opts.stormWarmup > 0 ? ` storm-warmup=${opts.stormWarmup}` : ''}` : ''} nodelay=${opts.noDelay ? 'on' : 'off'} ${ferryDesc(opts)}`,
  );
  console.log(`  scenarios ${scenarios.map((s) => s.name).join(', ')}\n`);

  const results: RunResult[] = [];
  const began = Date.now();
  let seq = 0;
  for (const s of scenarios) {
    console.log(`## ${s.name} — ${s.description}`);
    for (let round = 0; round < opts.rounds; round++) {
      for (const b of rotate(brokers, round)) {
        const runId = `b${process.pid}-${seq++}`;
        let m: Measurement | null = null;
        let error: string | null = null;
        let broker: Awaited<ReturnType<typeof startBroker>> | null = null;
        if (opts.waitQuiet > 0) {
          const q = await waitQuiet(opts.waitQuiet);
          if (q.waited > 1.5 || q.busy >= 10) console.log(`    (waited ${q.waited.toFixed(0)} s for a quiet machine; now ${q.busy.toFixed(0)}% busy)`);
        }
        let rule: Parameters<typeof ruleNote>[0] | null = null;
        try {
          const ruleOptions = (b === 'ferry' || (b === 'ferry-base' && opts.baseRule === true)) && ruleTarget !== null ? await ruleTarget.ferryOptions() : null;
          broker = await startBroker(b, workDir, opts.noDelay, 15_000, {
            ...(ruleOptions === null ? {} : { extraArgs: ruleOptions.extraArgs, env: ruleOptions.env }),
            ...(b === 'ferry' && opts.ferryClusterNats !== undefined
              ? { extraArgs: [...(ruleOptions?.extraArgs ?? []), '--cluster-nats', opts.ferryClusterNats, '--node-id', `bench-${runId}`, '--cluster-subject-prefix', `bench${runId.replace(/[^A-Za-z0-9]/g, '')}`] }
              : {}),
            ...(b === 'ferry-base' && opts.baseStore ? { store: opts.baseStore } : opts.ferryStore ? { store: opts.ferryStore } : {}),
            ...(opts.ferryFsync ? { fsync: opts.ferryFsync } : {}),
            nodeArgs: [...(opts.ferryNodeArgs ?? []), ...((b === 'ferry-base' ? opts.baseNodeFlags : opts.ferryNodeFlags) ?? [])],
            ...(s.durable ? { persistence: true } : {}),
            ...(s.inspect ? { inspect: true } : {}),
          });
          if (ruleOptions !== null && ruleTarget !== null) {
            const id = await createRule(ruleOptions.httpPort, ruleTarget);
            rule = {
              httpPort: ruleOptions.httpPort,
              id,
              before: await ruleProgress(ruleOptions.httpPort, id),
              began: Date.now(),
              target: ruleTarget,
              engineCpuBefore: await ruleTarget.engineCpuSeconds(),
              window: {},
            };
          }
          const ruleRun = rule;
          const runOpts: Options =
            ruleRun === null
              ? opts
              : {
                  ...opts,
                  onWindowEdge: (edge) => {
                    const at = Date.now();
                    const read = ruleProgress(ruleRun.httpPort, ruleRun.id).then((progress) => ({ at, progress }));
                    read.catch(() => undefined); // awaited by ruleNote; a run that fails earlier never reads it
                    ruleRun.window[edge] = read;
                  },
                };
          m = await withTimeout(s.run({ broker, opts: runOpts, runId }), (opts.warmup + opts.duration) * 1000 + (s.optIn ? 900_000 : 150_000), s.name);
          if (!broker.alive()) throw new Error(`${b} died during the run`);
          if (rule !== null) m = { ...m, note: `${m.note} | ${await ruleNote(rule)}` };
        } catch (e) {
          error = e instanceof Error ? e.message : String(e);
          if (broker && !broker.alive()) error += ` (broker log: ${broker.logFile})`;
          m = null;
        } finally {
          killAllWorkers();
          await broker?.stop();
        }
        results.push({ scenario: s.name, broker: b, round, m, error });
        const label = `  r${round + 1} ${b.padEnd(10)}`;
        if (m) {
          const main = s.metrics.map((met) => `${met.label} ${met.fmt(m.metrics[met.key] ?? NaN)}`).join(', ');
          const cpu =
            m.brokerCpu !== undefined
              ? ` | broker ${fmtPct(m.brokerCpu)} gen[${genSummary(m)}] other ${fmtPct(m.other ?? NaN)}${isSaturated(m) ? ' GEN-SATURATED' : ''}${isNoisy(m) ? ' NOISY' : ''}`
              : '';
          console.log(`${label} ${main} | ${m.note}${cpu}`);
        } else {
          console.log(`${label} n/a — ${error}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  await ruleTarget?.close();
  const elapsed = ((Date.now() - began) / 1000).toFixed(0);
  const table = summarise(scenarios, brokers, results, opts.rounds);
  console.log(`\n## Summary (median of ${opts.rounds} rounds, ${elapsed} s total)\n\n${table}\n`);

  if (opts.save) {
    const dir = path.join(repoRoot, 'bench', 'results');
    fs.mkdirSync(dir, { recursive: true });
    const stamp = info.date!.slice(0, 16).replace(/:/g, '').replace('T', '-');
    const tag = opts.scenarios.length ? scenarios.map((s) => s.name).join('+').slice(0, 80) : 'e2e';
    const base = path.join(dir, `${stamp}-${tag}`);
    const md = [
      `# Ferry e2e benchmark — ${info.date}`,
      '',
      ...Object.entries(info)
        .filter(([k]) => k !== 'date')
        .map(([k, v]) => `- **${k}**: ${v}`),
      `- **options**: \`${process.argv.slice(2).join(' ') || '(defaults)'}\` → rounds=${opts.rounds}, duration=${opts.duration}s, warmup=${opts.warmup}s, size=${opts.size}B, idle-conns=${opts.idleConns}, connect-concurrency=${opts.connectConcurrency}, generator=${opts.generator}${opts.generator === 'c' ? ` (storm-concurrency ${opts.stormConcurrency}, storm-processes ${opts.stormProcesses}${opts.stormWarmup > 0 ? `, storm-warmup ${opts.stormWarmup}` : ''})` : ''}, nodelay=${opts.noDelay ? 'on' : 'off'}, ${ferryDesc(opts)}`,
      `- **wall time**: ${elapsed} s`,
      '',
      `## Summary (median of ${opts.rounds} rounds)`,
      '',
      table,
      '',
      '## Scenarios',
      '',
      ...scenarios.map((s) => `- \`${s.name}\`: ${s.description}`),
      '',
      '## Runs',
      '',
      ...results.map((r) => {
        const s = scenarios.find((x) => x.name === r.scenario)!;
        const v = r.m ? s.metrics.map((met) => `${met.label} ${met.fmt(r.m!.metrics[met.key] ?? NaN)}`).join(', ') + ` — ${r.m.note}` : `n/a — ${r.error ?? ''}`;
        const cpu = r.m?.brokerCpu !== undefined ? ` — broker ${fmtPct(r.m.brokerCpu)}, gen ${genSummary(r.m)}, other ${fmtPct(r.m.other ?? NaN)}` : '';
        return `- ${r.scenario} r${r.round + 1} ${r.broker}: ${v}${cpu}`;
      }),
      '',
      `Raw numbers: \`${path.basename(base)}.csv\``,
      '',
    ].join('\n');
    fs.writeFileSync(`${base}.md`, md);
    fs.writeFileSync(`${base}.csv`, toCsv(results));
    console.log(`wrote ${path.relative(repoRoot, base)}.md and .csv`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
