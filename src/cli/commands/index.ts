/**
 * The ferry subcommands other than `start`: resource management over the REST API
 * (resources.ts), `send`, and the MQTT clients `pub` / `sub` (mqtt-client.ts).
 * Exit codes: 0 ok, 1 the API or broker refused or failed, 2 usage error.
 *
 * Common options: --endpoint URL (FERRY_ENDPOINT), --instance/-i ID (FERRY_INSTANCE, default
 * mqtt-default), --json, credentials as in client.ts.
 */
import { Args, UsageError, parseArgs } from './args.js';
import { ApiError, FerryClient } from './client.js';
import { pub, sub } from './mqtt-client.js';
import type { Out } from './output.js';
import { COMMANDS, send, type Ctx } from './resources.js';

const FLAGS = ['json', 'help', 'retain', 'base64', 'connected', 'offline', 'all', 'reverse', 'register', 'mqtt3', 'persistent', 'disabled'];

export const CLIENT_COMMANDS = [...Object.keys(COMMANDS), 'send', 'pub', 'sub'];

export function commandsUsage(): string {
  const lines = Object.entries(COMMANDS).map(([name, def]) => `  ${name.padEnd(12)} ${def.summary}`);
  return [
    ...lines,
    `  ${'send'.padEnd(12)} Publish from the backend side through the API (MsgId printed)`,
    `  ${'pub'.padEnd(12)} Publish as an MQTT client (any authentication mode)`,
    `  ${'sub'.padEnd(12)} Subscribe as an MQTT client and print messages`,
  ].join('\n');
}

function help(command: string): string {
  const def = COMMANDS[command];
  const body =
    def !== undefined
      ? `ferry ${def.usage}`
      : command === 'send'
        ? 'ferry send <topic> <payload> [--qos N] [--retain] [--base64 | --file F] [--content-type T] [--response-topic T] [--user-property k=v]... [--expiry 1h]   [-i INSTANCE]'
        : command === 'pub'
          ? 'ferry pub <topic> <message> [--qos N] [--retain] [--count N] [--mode anonymous|signature|token|device|custom] [--client-id C] [--url mqtt://HOST:1883] [--mqtt3]'
          : 'ferry sub <filter>... [--qos N] [--count N] [--timeout 30s] [--mode ...] [--client-id C] [--url mqtt://HOST:1883] [--persistent]';
  return `${body}

Common options:
  --endpoint URL               Ferry's HTTP API (FERRY_ENDPOINT; default http://127.0.0.1:8080)
  -i, --instance ID            instance (FERRY_INSTANCE; default mqtt-default)
  --access-key-id ID           with --access-key-secret (or FERRY_ACCESS_KEY_ID / _SECRET)
  --token TOKEN                a bearer token from "ferry token login" (FERRY_TOKEN)
  --data-dir DIR               use DIR/bootstrap-access-key.json when no key is given (FERRY_DATA_DIR; ./data)
  --json                       machine-readable output
`;
}

export async function runClientCommand(command: string, argv: readonly string[], io: { out: (s: string) => void; err: (s: string) => void; env: NodeJS.ProcessEnv }): Promise<number> {
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
  try {
    const client = FerryClient.from(args, io.env);
    if (command === 'pub') await pub(args, io.env, client, instance, out);
    else if (command === 'sub') await sub(args, io.env, client, instance, out);
    else {
      const ctx: Ctx = { client, args, out, instance };
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
    throw err;
  }
}
