import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Teardown } from './temp.js';
import { waitFor } from './wait.js';

/** dist/src/cli/main.js, from dist/test/helpers/cli.js. */
export const CLI_PATH = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/**
 * Node flags `ferry start` is launched with by npm start, the ferry bin and the image (the
 * semiSpaceMb default, src/cli/semi-space.ts): without them Ferry would start node a second time.
 */
export const NODE_FLAGS = ['--max-semi-space-size=4', '--interrupt-budget=8448'] as const;

export interface FerryChild {
  child: ChildProcess;
  /** Bound ports by listener name ('mqtt', 'ws', 'http', 'mqtts', 'wss'), from the "listening" log lines. */
  ports: Record<string, number>;
  /** Every JSON log line so far (keeps growing while the process runs). */
  logs: Record<string, unknown>[];
  stderr(): string;
  /** Resolves when the process has exited and its output is read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The first log line of a child Ferry that matches. A line logged before the child answered a
 * request or sent a packet can reach this process after the answer (its stdout is another pipe).
 */
export function waitForLog(ferry: FerryChild, match: (line: Record<string, unknown>) => boolean, message: string, timeoutMs = 5_000): Promise<Record<string, unknown>> {
  return waitFor(() => ferry.logs.find(match), { timeoutMs, message: `log line: ${message}` });
}

/** process.env without FERRY_* variables, so the developer's shell does not leak into tests. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('FERRY_')) env[k] = v;
  return { ...env, ...extra };
}

/**
 * Run `node dist/src/cli/main.js start <args>` and wait until it logs "ferry started".
 * Killed (SIGKILL) after the test if still running. Rejects if it exits or times out first.
 */
export async function spawnFerry(
  t: Teardown,
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; nodeArgs?: readonly string[] } = {},
): Promise<FerryChild> {
  const child = spawn(process.execPath, [...NODE_FLAGS, ...(options.nodeArgs ?? []), CLI_PATH, 'start', ...args], {
    env: cleanEnv(options.env),
    cwd: options.cwd ?? process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // 'close', not 'exit': a test reading stderr after the exit must see all of it.
  const exited = once(child, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const logs: Record<string, unknown>[] = [];
  const ports: Record<string, number> = {};
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ferry did not start in time; stderr: ${stderr}`)), options.timeoutMs ?? 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (entry['msg'] === 'listening' && typeof entry['listener'] === 'string' && typeof entry['port'] === 'number') {
        ports[entry['listener']] = entry['port'];
      }
      if (entry['msg'] === 'ferry started') {
        clearTimeout(timer);
        resolve();
      }
    });
    exited.then(
      ({ code, signal }) => {
        clearTimeout(timer);
        // Ferry logs why it could not start (JSON on stdout), so the error carries its last warnings and errors.
        const why = logs
          // Ferry logs levels as labels (src/observability/logger.ts).
          .filter((entry) => entry['level'] === 'warn' || entry['level'] === 'error' || entry['level'] === 'fatal')
          .slice(-3)
          .map((entry) => JSON.stringify(entry))
          .join(' ');
        reject(new Error(`ferry exited before starting (code ${code}, signal ${signal}); stderr: ${stderr}; last warnings/errors: ${why || 'none'}`));
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err))); // the child could not be spawned
      },
    );
  });
  await started;
  return { child, ports, logs, stderr: () => stderr, exited };
}

/**
 * Run `ferry start <args>` expecting it to exit by itself (a refused start); returns the exit code
 * and everything it printed. Killed after `timeoutMs`, generous because the machine may be busy.
 */
export async function failedStart(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [...NODE_FLAGS, CLI_PATH, 'start', ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, output };
}

/**
 * Run `ferry <args>` (a client command) to its end; returns the exit code and both outputs.
 * Never throws for a non-zero exit: the tests assert the code. Killed after `timeoutMs`.
 */
export async function runCli(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { env: cleanEnv(options.env), cwd: options.cwd ?? process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}
