/**
 * The ferry subcommands other than `start`: resource management over the REST API
 * (resources.ts), `send`, the MQTT clients `pub` / `sub` (mqtt-client.ts) and `bench` (bench/).
 * Exit codes: 0 done, 1 the API or broker refused or failed (one line on stderr; --verbose for
 * details), 2 usage error.
 *
 * Common options: --endpoint URL (FERRY_ENDPOINT), --data-dir DIR (FERRY_DATA_DIR), --instance/-i
 * ID (FERRY_INSTANCE, default mqtt-default), --json, --verbose, credentials as in client.ts.
 */
import { Args, UsageError, parseArgs } from './args.js';
import { ApiError, FerryClient } from './client.js';
import { Endpoints } from './endpoint.js';
import { CommandFailure, details, oneLine } from './failures.js';
import { MODES, SIGN_MODES, pub, sub, type MqttContext } from './mqtt-client.js';
import type { Out } from './output.js';
import { COMMANDS, send, type Ctx } from './resources.js';
import { bench, BENCH_USAGE } from './bench/index.js';

const FLAGS = ['json', 'help', 'retain', 'base64', 'connected', 'offline', 'all', 'reverse', 'register', 'mqtt3', 'persistent', 'disabled', 'verbose', 'progress'];

export const CLIENT_COMMANDS = [...Object.keys(COMMANDS), 'send', 'pub', 'sub', 'bench'];

export function commandsUsage(): string {
  const lines = Object.entries(COMMANDS).map(([name, def]) => `  ${name.padEnd(12)} ${def.summary}`);
  return [
    ...lines,
    `  ${'send'.padEnd(12)} Publish from the backend side through the API (MsgId printed)`,
    `  ${'pub'.padEnd(12)} Publish as an MQTT client (any authentication mode)`,
    `  ${'sub'.padEnd(12)} Subscribe as an MQTT client and print messages`,
    `  ${'bench'.padEnd(12)} Load test: many MQTT clients publishing, subscribing or connecting`,
  ].join('\n');
}

export const MQTT_OPTIONS = `MQTT options (pub, sub, bench):
  --url URL                    the broker (FERRY_MQTT_URL; else the running Ferry's endpoint file; mqtt://127.0.0.1:1883)
  --mode MODE                  authentication: ${MODES.join(' | ')} (default anonymous;
                               anonymous clients belong to the default instance only)
    signature                  uses the AccessKey (see Common options)
    token                      --device-token R:T | W:T | RW:T (repeatable), or a token applied for through the API [--ttl 1h]
    device                     --device-key-id ID --device-key-secret S, or --register (a credential per client id)
    custom                     --username U --secret S [--sign-mode ${SIGN_MODES.join('|')}]
  --client-id ID               (default GID_ferrycli@@@<random>)
  --qos 0|1|2                  (default 0; QoS 0 is not acknowledged: on MQTT 5 a refused QoS 0 publish is dropped unseen)
  --mqtt3                      MQTT 3.1.1 instead of 5
  --persistent                 keep the session (clean start off)
  --progress                   show the progress line also when stderr is not a terminal
`;

function help(command: string): string {
  const def = COMMANDS[command];
  const body =
    def !== undefined
      ? `ferry ${def.usage}\n`
      : command === 'send'
        ? 'ferry send <topic> <payload> [--qos 0|1|2] [--retain] [--base64 | --file F] [--content-type T] [--response-topic T] [--user-property k=v]... [--expiry 1h]   [-i INSTANCE]\n'
        : command === 'pub'
          ? `ferry pub <topic> <message> [--count N] [--retain] [MQTT options]   [-i INSTANCE]\n\nPublishes and exits 0 only when every message was taken (QoS 1/2: acknowledged).\n\n${MQTT_OPTIONS}`
          : command === 'sub'
            ? `ferry sub <filter>... [--count N] [--timeout 30s] [MQTT options]   [-i INSTANCE]\n\nPrints "topic payload" lines (--json: JSON lines). Exits 0 at --count messages, at --timeout\n(without --count) or on Ctrl-C; 1 if the subscription is refused, the broker closes the\nconnection, or --timeout comes before --count messages.\n\n${MQTT_OPTIONS}`
            : `${BENCH_USAGE}\n${MQTT_OPTIONS}`;
  return `${body}
Common options:
  --endpoint URL               Ferry's HTTP API (FERRY_ENDPOINT; else the running Ferry's endpoint file; http://127.0.0.1:8080)
  --data-dir DIR               the running Ferry's data directory (FERRY_DATA_DIR; default ./data): its endpoint
                               file (ferry.endpoint.json) and bootstrap key are used when nothing else is given
  -i, --instance ID            instance (FERRY_INSTANCE; default mqtt-default)
  --access-key-id ID           with --access-key-secret (or FERRY_ACCESS_KEY_ID / _SECRET)
  --token TOKEN                a bearer token from "ferry token login" (FERRY_TOKEN)
  --json                       machine-readable output
  --verbose                    details of a failure, and where the endpoint came from
`;
}

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
  /** stderr is a terminal: progress lines are shown. */
  interactive?: boolean;
}

export async function runClientCommand(command: string, argv: readonly string[], io: CliIo): Promise<number> {
  let args: Args;
  try {
    args = new Args(parseArgs(argv, FLAGS));
  } catch (err) {
    io.err(`ferry ${command}: ${(err as Error).message}\n`);
    return 2;
  }
  if (args.flag('help')) {
    io.out(help(command));
    return 0;
  }
  const out: Out = { json: args.flag('json'), write: io.out };
  const instance = args.get('instance') ?? io.env['FERRY_INSTANCE'] ?? 'mqtt-default';
  const endpoints = new Endpoints(args, io.env, (line) => io.err(`ferry ${command}: ${line}\n`));
  try {
    const client = FerryClient.from(args, io.env, endpoints);
    const mqtt: MqttContext = { args, env: io.env, api: client, endpoints, instance, out, err: io.err, interactive: args.flag('progress') || io.interactive === true };
    if (command === 'pub') await pub(mqtt);
    else if (command === 'sub') await sub(mqtt);
    else if (command === 'bench') await bench(mqtt);
    else {
      const ctx: Ctx = { client, args, out, instance, err: io.err, interactive: mqtt.interactive };
      if (command === 'send') await send(ctx);
      else {
        const def = COMMANDS[command]!;
        const action = args.parsed.positionals[0];
        const handler = action === undefined ? undefined : def.actions[action];
        if (handler === undefined) {
          io.err(`ferry ${command}: ${action === undefined ? 'missing' : `unknown action "${action}";`} expected one of ${Object.keys(def.actions).join(', ')}\n\n${help(command)}`);
          return 2;
        }
        await handler(ctx);
      }
    }
    return 0;
  } catch (err) {
    if (args.flag('verbose')) io.err(`${details(err)}\n`);
    if (err instanceof UsageError) {
      io.err(`ferry ${command}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ApiError) {
      const hint =
        err.status === 401 ? ' (check the AccessKey or token)' : err.status === 403 ? ' (the AccessKey\'s policies do not allow this)' : '';
      io.err(`ferry ${command}: ${err.code}: ${err.message}${err.field === undefined ? '' : ` [${err.field}]`}${hint}\n`);
      return 1;
    }
    if (err instanceof CommandFailure) {
      io.err(`ferry ${command}: ${err.message}\n`);
      return 1;
    }
    // Anything else is unexpected, but still one line: the stack is for --verbose.
    io.err(`ferry ${command}: ${oneLine(err)}${args.flag('verbose') ? '' : ' (--verbose for details)'}\n`);
    return 1;
  }
}
