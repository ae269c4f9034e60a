/**
 * V8's young generation ("semi-spaces") for `ferry start`.
 *
 * Every new connection's objects survive a few scavenges, so during a connect storm V8 grows the
 * semi-spaces to its maximum (16 MiB each on 64-bit) and keeps them resident: ~32 MiB of RSS that
 * an idle fleet never gives back, 1.6 KB per connection at 20,000 connections (bench/RESULTS.md,
 * issue 15). The cap can only be set when node starts (`--max-semi-space-size`, MiB; 0 = V8's own
 * sizing), so the launchers pass it (`npm start`, the `ferry` bin's first line, the Dockerfile) and
 * Ferry checks at start that node runs with what the `semiSpaceMb` setting asks for. If not, it
 * starts node once more with the right flag and waits for it (reexec below), which costs a second,
 * small node process: start node with the flag to avoid that.
 */
import { spawn } from 'node:child_process';
import { lastNodeFlag, nodeFlags } from '../node-flags.js';

export const SEMI_SPACE_FLAG = '--max-semi-space-size';
/** Set in the environment of a restarted node: it must not restart again. */
export const REEXEC_ENV = '_FERRY_SEMI_SPACE_REEXEC'; // not FERRY_*: those are settings

/** The semi-space cap node runs with, MiB, from its flags (node-flags.ts); 0 when none is set (V8's own sizing). */
export function runningSemiSpaceMb(flags: readonly string[] = nodeFlags()): number {
  const mb = lastNodeFlag(SEMI_SPACE_FLAG.slice(2), flags);
  return typeof mb === 'string' && /^\d+$/.test(mb) ? Number(mb) : 0;
}

/** Node arguments for a restart with `mb` (the flag appended last wins over earlier ones and NODE_OPTIONS). */
export function reexecNodeArgs(execArgv: readonly string[], mb: number): string[] {
  return [...execArgv, `${SEMI_SPACE_FLAG}=${mb}`];
}

/**
 * Run this same command again under node with `nodeArgs`, forward SIGTERM/SIGINT/SIGHUP to it and
 * exit with its exit code. The child gets an IPC channel: if this process dies without forwarding
 * (SIGKILL), the channel closes and the child stops itself (watchParent).
 */
export function reexec(nodeArgs: readonly string[]): Promise<never> {
  const child = spawn(process.execPath, [...nodeArgs, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [REEXEC_ENV]: '1' },
  });
  child.channel?.unref();
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  return new Promise<never>(() => {
    child.on('error', (err) => {
      process.stderr.write(`ferry: cannot restart node with ${nodeArgs.join(' ')}: ${err.message}\n`);
      process.exit(1);
    });
    child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128 + signalNumber(signal))));
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 2 : signal === 'SIGKILL' ? 9 : signal === 'SIGHUP' ? 1 : 15;
}

/** In a restarted node: when the parent is gone (its IPC channel closed), call `stop`. */
export function watchParent(stop: () => void): void {
  if (process.env[REEXEC_ENV] !== '1' || process.channel === undefined) return;
  process.channel.unref();
  process.once('disconnect', stop);
}
