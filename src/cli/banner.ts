/**
 * The start banner of `ferry start` on a terminal (logFormat pretty, or auto on a TTY): where
 * Ferry listens, where its data is, and how to sign in. JSON logs carry the same facts in the
 * "listening" and "ferry started" lines.
 */
import { join, resolve } from 'node:path';
import { endpointUrls, ENDPOINT_FILE } from '../discovery/endpoint-file.js';
import type { RunningFerry } from '../server.js';

const NAMES: Record<string, string> = {
  mqtt: 'MQTT',
  ws: 'MQTT over WebSocket',
  mqtts: 'MQTT over TLS',
  wss: 'MQTT over secure WebSocket',
  http: 'HTTP API',
  amqp: 'AMQP 0-9-1',
  amqps: 'AMQP over TLS',
};

export function banner(ferry: Pick<RunningFerry, 'config' | 'ports'>, version: string): string {
  const { config } = ferry;
  const urls = endpointUrls({ bind: config.bind, wsPath: config.wsPath, ports: ferry.ports });
  const width = Math.max(...Object.keys(urls).map((k) => (NAMES[k] ?? k).length));
  const lines = [
    '',
    `  Ferry ${version} is running`,
    '',
    ...Object.entries(urls).map(([name, url]) => `  ${(NAMES[name] ?? name).padEnd(width)}  ${url}`),
    ...(config.console && urls.http !== undefined ? [`  ${'Console'.padEnd(width)}  ${urls.http}/console/`] : []),
    '',
    `  Data directory   ${config.dataDir} (endpoint: ${join(config.dataDir, ENDPOINT_FILE)})`,
    `  Sign in          with the bootstrap AccessKey in ${join(config.dataDir, 'bootstrap-access-key.json')} (console, API)`,
    `  CLI              npx ferry client list${resolve(config.dataDir) === resolve('data') ? '' : ` --data-dir ${config.dataDir}`}   (finds this Ferry and its key)`,
    `  Devices          ${config.broker.allowAnonymous ? 'anonymous MQTT clients are allowed (loopback bind)' : 'anonymous MQTT clients are refused: use an authentication mode (docs/authentication.md)'}`,
    '',
    '  Ctrl-C stops Ferry gracefully.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}
