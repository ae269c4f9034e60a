#!/usr/bin/env -S node --max-semi-space-size=4 --interrupt-budget=8448
/**
 * The `ferry` command.
 *   ferry start [flags]   run in the foreground; SIGTERM/SIGINT → graceful stop → exit 0
 *   ferry --help | --version
 * Exit codes: see exit-codes.ts and docs/operations.md (0 ok, 1 runtime failure, 2 usage or
 * configuration error, 3 cannot listen, 4 store damaged, 5 data directory in use).
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/errors.js';
import { loadConfig } from '../config/load.js';
import { renderStartHelp } from '../config/docs.js';
import { createLogger } from '../observability/logger.js';
import { createLogSink } from '../observability/log-limits.js';
import { prettyDestination } from '../observability/pretty-log.js';
import { banner } from './banner.js';
import { installProcessFaultHandlers } from '../observability/process-faults.js';
import type { RunningFerry } from '../server.js';
import { EXIT_CODES, startFailureExitCode } from './exit-codes.js';
import { REEXEC_ENV, SEMI_SPACE_FLAG, reexec, reexecNodeArgs, runningSemiSpaceMb, watchParent } from './semi-space.js';

/** A second signal, or a graceful stop that takes longer than this, exits with code 1. */
const STOP_TIMEOUT_MS = 15_000;
/** How long an exit waits for the log line in flight to reach stdout (a stalled reader gets no more). */
const LOG_SETTLE_MS = 2_000;

/** Why a start was given up: SIGTERM/SIGINT arrived while it waited for NATS (exit 0, nothing was serving). */
class StartGivenUp extends Error {
  override readonly name = 'StartGivenUp';
  constructor(readonly signal: NodeJS.Signals) {
    super(`${signal} received during the start`);
  }
}

const USAGE = `Usage: ferry <command> [options]

Ferry: a self-hosted MQTT message queue.

Commands:
  start          Run Ferry in the foreground (see "ferry start --help")
  instance, topic, group, key, token, credential, identity, blacklist, client, trace, send, rule, queue, cluster
                 Manage a running Ferry over its API (see "ferry <command> --help")
  pub, sub       MQTT clients speaking every authentication mode
  bench          Load test: many MQTT clients publishing, subscribing or connecting (see "ferry bench --help")

Options:
  -h, --help     Show this help
  -v, --version  Print the version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function usageError(message: string): number {
  process.stderr.write(`ferry: ${message}\n\n${USAGE}`);
  return 2;
}

async function start(argv: readonly string[]): Promise<number | undefined> {
  let loaded;
  try {
    loaded = loadConfig({ argv, env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ferry: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  if (loaded.help) {
    process.stdout.write(renderStartHelp());
    return 0;
  }
  const { config } = loaded;
  // Logging never blocks the broker: a bounded asynchronous stdout buffer (drops are counted),
  // written out synchronously when the process exits.
  const logSink = createLogSink(config.logBufferBytes);
  process.on('exit', () => logSink.flush());
  // The planned exits wait for the line in flight first: the last lines arrive whole and in order.
  // The emergency ones (a second signal, a stop that hangs) exit at once.
  const exitWhenLogged = (code: number): void => {
    const exit = (): never => process.exit(code);
    logSink.settled(LOG_SETTLE_MS).then(exit, exit);
  };
  // JSON for machines; on a terminal (or when asked) a banner and readable lines (docs/observability.md).
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && process.stdout.isTTY === true);
  const logger = createLogger({ level: config.logLevel, destination: pretty ? prettyDestination(logSink.stream, process.stdout.isTTY === true) : logSink.stream });
  if (loaded.configFile !== undefined) logger.info({ configFile: loaded.configFile }, 'config file loaded');
  for (const warning of loaded.warnings) logger.warn({ config: true }, warning);
  if (loaded.serviceLinks.length > 0) {
    logger.info({ variables: loaded.serviceLinks }, 'ignoring Kubernetes service-link variables (not Ferry settings)');
  }
  // The young generation can only be capped when node starts (semi-space.ts).
  const semiSpaceMb = runningSemiSpaceMb();
  if (semiSpaceMb !== config.semiSpaceMb) {
    if (process.env[REEXEC_ENV] === '1') {
      logger.warn({ semiSpaceMb: config.semiSpaceMb, running: semiSpaceMb }, `node ignored ${SEMI_SPACE_FLAG}=${config.semiSpaceMb}; running with ${semiSpaceMb}`);
    } else {
      logger.info(
        { semiSpaceMb: config.semiSpaceMb, running: semiSpaceMb },
        `starting node again with ${SEMI_SPACE_FLAG}=${config.semiSpaceMb} (start node with this flag to avoid the extra process)`,
      );
      await logSink.settled(LOG_SETTLE_MS); // the child writes to the same stdout: ours first
      return reexec(reexecNodeArgs(process.execArgv, config.semiSpaceMb));
    }
  }

  // Signal handlers go in before anything starts: a signal during startup stops Ferry as soon as
  // it is up, instead of killing the process half-started.
  let running: RunningFerry | undefined;
  let signalled: NodeJS.Signals | undefined;
  const shutdown = (ferry: RunningFerry, signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'signal received, stopping');
    setTimeout(() => {
      logger.error({ signal, timeoutMs: STOP_TIMEOUT_MS }, 'graceful stop timed out');
      process.exit(EXIT_CODES.failure);
    }, STOP_TIMEOUT_MS).unref();
    ferry.stop().then(
      () => exitWhenLogged(EXIT_CODES.ok),
      (err: unknown) => {
        logger.error({ err }, 'graceful stop failed');
        exitWhenLogged(EXIT_CODES.failure);
      },
    );
  };
  // A signal during the start gives up what waits on the outside (NATS, retried until it answers)
  // and stops once the rest is up; a start still not finished after the stop timeout exits 1.
  const startAbort = new AbortController();
  const duringStart = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'signal received during the start: stopping once started');
    startAbort.abort(new StartGivenUp(signal));
    setTimeout(() => {
      logger.error({ signal, timeoutMs: STOP_TIMEOUT_MS }, 'the start did not finish after the signal; exiting');
      process.exit(EXIT_CODES.failure);
    }, STOP_TIMEOUT_MS).unref();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled !== undefined) {
      logger.error({ signal }, 'second signal, exiting without finishing the graceful stop');
      process.exit(EXIT_CODES.failure);
    }
    signalled = signal;
    if (running) shutdown(running, signal);
    else duringStart(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Started again by a parent ferry (semi-space.ts): stop when that parent is gone.
  watchParent(() => onSignal('SIGTERM'));
  // Last resort (docs/operations.md, "Unexpected errors"): a connection's errors close that
  // connection and never get here. An uncaught exception came from outside any connection and may
  // have left shared state half-updated, so Ferry stops (readiness off, clients closed, store
  // closed) and exits 1 for the orchestrator to restart it; an unhandled rejection is logged and
  // counted and Ferry keeps running.
  installProcessFaultHandlers(logger, {
    onUncaughtException: () => {
      signalled ??= 'SIGTERM'; // a later signal exits at once, as during any stop
      setTimeout(() => process.exit(EXIT_CODES.failure), STOP_TIMEOUT_MS).unref();
      const stopped = running?.stop() ?? Promise.resolve();
      stopped.then(
        () => exitWhenLogged(EXIT_CODES.failure),
        () => exitWhenLogged(EXIT_CODES.failure),
      );
    },
  });

  try {
    // Imported here, not at the top: the client commands start faster without the server's modules.
    const { startFerry } = await import('../server.js');
    running = await startFerry(config, { logger, logSink, abort: startAbort.signal });
    if (pretty && config.logLevel !== 'silent') logSink.stream.write(banner(running, version()));
  } catch (err) {
    if (err instanceof StartGivenUp) {
      logger.info({ signal: err.signal }, 'start given up on the signal; stopped');
      exitWhenLogged(EXIT_CODES.ok);
    } else {
      logger.fatal({ err }, 'ferry failed to start');
      // Exit explicitly: a half-started component must not keep the process alive.
      exitWhenLogged(startFailureExitCode(err));
    }
    return undefined; // exiting once the last lines are out
  }
  if (signalled !== undefined) shutdown(running, signalled);
  return undefined; // keep running
}

export async function main(argv: readonly string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case '-v':
    case '--version':
      process.stdout.write(`${version()}\n`);
      return 0;
    case undefined:
      return usageError('missing command');
    case 'instance': case 'topic': case 'group': case 'key': case 'token': case 'credential': case 'identity':
    case 'blacklist': case 'client': case 'trace': case 'send': case 'pub': case 'sub':
    case 'rule': case 'queue': case 'cluster': case 'bench': {
      // Imported here, not at the top: a broker started with `ferry start` does not carry the
      // client commands (the MQTT client library among them) in its heap.
      const { runClientCommand } = await import('./commands/index.js');
      return runClientCommand(command, rest, {
        out: (s) => void process.stdout.write(s),
        err: (s) => void process.stderr.write(s),
        env: process.env,
        interactive: process.stderr.isTTY,
      });
    }
    default:
      return usageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    // One line; the stack only when asked for (every failure is one clear line, docs/cli.md).
    const verbose = process.argv.includes('--verbose');
    const text = err instanceof Error ? (verbose ? (err.stack ?? err.message) : err.message) : String(err);
    process.stderr.write(`ferry: ${verbose ? text : text.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exitCode = 1;
  },
);
