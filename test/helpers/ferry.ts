import { Writable } from 'node:stream';
import {
  createLogger,
  resolveConfig,
  startFerry as startFerryProcess,
  type FerryConfigInput,
  type LogLevel,
  type RunningFerry,
  type StartOptions,
} from '../../src/internal.js';
import type { Logger } from 'pino';
import { tempDir, type Teardown } from './temp.js';

/** Log level of in-process test servers: TEST_LOG_LEVEL, else silent. */
export function testLogLevel(): LogLevel {
  return (process.env['TEST_LOG_LEVEL'] as LogLevel | undefined) ?? 'silent';
}

/**
 * Ferry in this process, every port 0, a temp data dir, stopped after the test.
 * `config` overrides any setting (same shape as the config file).
 */
export async function startFerry(t: Teardown, config: FerryConfigInput = {}, options: StartOptions = {}): Promise<RunningFerry> {
  const { config: resolved } = resolveConfig({
    dataDir: tempDir(t, 'ferry-data-'),
    mqttPort: 0,
    wsPort: 0,
    httpPort: 0,
    tlsPort: 0,
    wssPort: 0,
    amqpPort: -1,
    amqpsPort: -1,
    logLevel: testLogLevel(),
    ...config,
  });
  const ferry = await startFerryProcess(resolved, options);
  t.after(() => ferry.stop());
  return ferry;
}

export interface CapturedLogs {
  logger: Logger;
  /** Parsed JSON log lines, in order. */
  lines: Record<string, unknown>[];
}

/** A logger whose output is kept in memory (pass it as StartOptions.logger). */
export function captureLogger(level: LogLevel = 'info'): CapturedLogs {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ level, destination }), lines };
}
