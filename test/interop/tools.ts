/**
 * Running the real clients of the interop tests: Debian's mosquitto_pub / mosquitto_sub
 * (package mosquitto-clients) and Paho Python (python3-paho-mqtt, run with /usr/bin/python3,
 * where Debian installs it). A missing tool fails the test with the package to install; the
 * tests never skip. Every process is bounded by a timeout and killed after the test.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Teardown } from '../helpers/index.js';

/** Debian's interpreter, which sees python3-paho-mqtt (a pyenv or venv python may not). */
export const PYTHON = '/usr/bin/python3';
/** The Paho driver script, in the source tree (dist/test/interop/*.js → test/interop/). */
export const PAHO_SCRIPT = fileURLToPath(new URL('../../../test/interop/paho-check.py', import.meta.url));

/** Throws a clear error unless `command --help`-style probing finds the tool. */
export function requireTool(command: string, probeArgs: readonly string[], debianPackage: string): void {
  const probe = spawnSync(command, probeArgs, { stdio: 'pipe', timeout: 5000 });
  if (probe.error !== undefined) {
    throw new Error(
      `${command} is not available (${probe.error.message}). Install the Debian package ${debianPackage} ` +
        `(apt-get install -y ${debianPackage}; .ci/run does this).`,
    );
  }
}

export function requireMosquittoClients(): void {
  requireTool('mosquitto_pub', ['--help'], 'mosquitto-clients');
  requireTool('mosquitto_sub', ['--help'], 'mosquitto-clients');
}

export function requirePaho(): void {
  requireTool(PYTHON, ['--version'], 'python3');
  const probe = spawnSync(PYTHON, ['-c', 'import paho.mqtt.client'], { stdio: 'pipe', timeout: 5000 });
  if (probe.status !== 0) {
    throw new Error(
      `Paho Python is not importable by ${PYTHON}: ${probe.stderr.toString().trim()}. ` +
        'Install the Debian package python3-paho-mqtt (apt-get install -y python3-paho-mqtt; .ci/run does this).',
    );
  }
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningProcess {
  /** Output so far. */
  stdout(): string;
  /** Resolves when the process has exited and its output is read; rejects after timeoutMs (the process is killed). */
  done: Promise<ProcessResult>;
}

/** Starts `command args`; killed after `timeoutMs` and after the test if still running. */
export function start(t: Teardown, command: string, args: readonly string[], timeoutMs = 10_000): RunningProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const done = new Promise<ProcessResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // 'close', not 'exit': 'exit' can come before the pipes are drained, losing the last lines.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { stdout: () => stdout, done };
}

/** Runs `command args` to completion and requires exit code 0. */
export async function run(t: Teardown, command: string, args: readonly string[], timeoutMs = 10_000): Promise<ProcessResult> {
  const result = await start(t, command, args, timeoutMs).done;
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.code ?? result.signal}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return result;
}
