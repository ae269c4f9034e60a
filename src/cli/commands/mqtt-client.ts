/**
 * `ferry pub` and `ferry sub`: MQTT clients (mqtt.js) that speak every authentication mode of
 * the managed service, computing the username and password for the user:
 *
 *   --mode anonymous    no credentials (a loopback Ferry allows it by default)
 *   --mode signature    username Signature|<AccessKeyId>|<instance>, password Base64(HMAC-SHA1(secret, clientId))
 *   --mode token        username Token|<AccessKeyId>|<instance>, password R|<token>|W|<token>;
 *                       --device-token R:<token> (repeatable), or none: the CLI applies for one
 *                       covering the topics through the API (R for sub, W for pub)
 *   --mode device       username DeviceCredential|<DeviceAccessKeyId>|<instance>,
 *                       password Base64(HMAC-SHA1(DeviceAccessKeySecret, clientId));
 *                       --device-key-id/--device-key-secret, or --register to register the client id
 *   --mode custom       username as given, password = --secret (ORIGIN) or its HMAC of the client id (SIGNED)
 * The AccessKey comes from the same places as for the API commands (client.ts).
 */
import { createHmac, randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { UsageError, parseDuration, type Args } from './args.js';
import { resolveCredentials, type FerryClient } from './client.js';
import type { Out } from './output.js';

export const MODES = ['anonymous', 'signature', 'token', 'device', 'custom'] as const;
export type Mode = (typeof MODES)[number];

export function hmacSha1Base64(secret: string, text: string): string {
  return createHmac('sha1', secret).update(text, 'utf8').digest('base64');
}

export interface MqttLogin {
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
}

/** Username and password for a mode (exported for tests and the docs). */
export async function login(args: Args, env: NodeJS.ProcessEnv, api: FerryClient, instance: string, topics: string[], access: 'R' | 'W'): Promise<MqttLogin> {
  const mode = (args.get('mode') ?? 'anonymous') as Mode;
  if (!MODES.includes(mode)) throw new UsageError(`--mode must be one of ${MODES.join(', ')}`);
  const clientId = args.get('client-id') ?? `GID_ferrycli@@@${randomBytes(4).toString('hex')}`;
  const key = (): { id: string; secret: string } => {
    const credentials = resolveCredentials(args, env);
    if (credentials?.kind !== 'key') throw new UsageError(`--mode ${mode} needs an AccessKey (--access-key-id/--access-key-secret, FERRY_ACCESS_KEY_ID/_SECRET or the data directory's bootstrap key)`);
    return credentials;
  };
  switch (mode) {
    case 'anonymous':
      return { clientId };
    case 'signature': {
      const k = key();
      return { clientId, username: `Signature|${k.id}|${instance}`, password: hmacSha1Base64(k.secret, clientId) };
    }
    case 'token': {
      const k = key();
      let pairs = args.all('device-token').map((t) => {
        const [type, ...rest] = t.split(':');
        if ((type !== 'R' && type !== 'W' && type !== 'RW') || rest.length === 0) throw new UsageError('--device-token must be R:<token>, W:<token> or RW:<token>');
        return `${type}|${rest.join(':')}`;
      });
      if (pairs.length === 0) {
        const applied = (await api.call('POST', `/instances/${encodeURIComponent(instance)}/tokens`, { resources: topics, actions: access, expireTime: Date.now() + parseDuration(args.get('ttl') ?? '1h') })) as { token: string };
        pairs = [`${access}|${applied.token}`];
      }
      return { clientId, username: `Token|${k.id}|${instance}`, password: pairs.join('|') };
    }
    case 'device': {
      let id = args.get('device-key-id');
      let secret = args.get('device-key-secret');
      if (args.flag('register')) {
        const cred = (await api.call('POST', `/instances/${encodeURIComponent(instance)}/device-credentials`, { clientId })) as { DeviceAccessKeyId: string; DeviceAccessKeySecret: string };
        id = cred.DeviceAccessKeyId;
        secret = cred.DeviceAccessKeySecret;
      }
      if (id === undefined || secret === undefined) throw new UsageError('--mode device needs --device-key-id and --device-key-secret (or --register)');
      return { clientId, username: `DeviceCredential|${id}|${instance}`, password: hmacSha1Base64(secret, clientId) };
    }
    case 'custom': {
      const username = args.get('username');
      const secret = args.get('secret');
      if (username === undefined || secret === undefined) throw new UsageError('--mode custom needs --username and --secret');
      return { clientId, username, password: args.get('sign-mode') === 'ORIGIN' ? secret : hmacSha1Base64(secret, clientId) };
    }
  }
}

async function connect(args: Args, env: NodeJS.ProcessEnv, who: MqttLogin): Promise<MqttClient> {
  const url = args.get('url') ?? env['FERRY_MQTT_URL'] ?? 'mqtt://127.0.0.1:1883';
  const options: IClientOptions = {
    clientId: who.clientId,
    protocolVersion: args.flag('mqtt3') ? 4 : 5,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    clean: !args.flag('persistent'),
    ...(who.username === undefined ? {} : { username: who.username }),
    ...(who.password === undefined ? {} : { password: who.password }),
  };
  try {
    return await mqtt.connectAsync(url, options);
  } catch (err) {
    throw new UsageError(`cannot connect to ${url} as ${who.clientId}: ${(err as Error).message}`);
  }
}

function qosOf(args: Args): 0 | 1 | 2 {
  const qos = args.int('qos', 0);
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new UsageError('--qos must be 0, 1 or 2');
  return qos;
}

/** ferry pub <topic> <message> [--qos N] [--retain] [--count N] */
export async function pub(args: Args, env: NodeJS.ProcessEnv, api: FerryClient, instance: string, out: Out): Promise<void> {
  const topic = args.positional(0, 'topic');
  const message = args.positional(1, 'message');
  const who = await login(args, env, api, instance, [topic], 'W');
  const client = await connect(args, env, who);
  try {
    const count = args.int('count', 1);
    for (let i = 0; i < count; i++) await client.publishAsync(topic, message, { qos: qosOf(args), retain: args.flag('retain') });
    if (out.json) out.write(`${JSON.stringify({ clientId: who.clientId, topic, published: count })}\n`);
  } finally {
    await client.endAsync();
  }
}

/** ferry sub <filter>... [--qos N] [--count N] [--timeout 30s]: prints "topic payload" lines (or JSON lines). */
export async function sub(args: Args, env: NodeJS.ProcessEnv, api: FerryClient, instance: string, out: Out): Promise<void> {
  const filters = args.parsed.positionals;
  if (filters.length === 0) throw new UsageError('name at least one topic filter');
  const who = await login(args, env, api, instance, filters, 'R');
  const client = await connect(args, env, who);
  const count = args.int('count', 0);
  const timeout = args.get('timeout') === undefined ? 0 : parseDuration(args.get('timeout')!);
  let received = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = timeout > 0 ? setTimeout(resolve, timeout) : null;
    const stop = (): void => {
      if (timer !== null) clearTimeout(timer);
      resolve();
    };
    process.once('SIGINT', stop);
    client.on('message', (topic, payload, packet) => {
      if (out.json) out.write(`${JSON.stringify({ topic, payload: payload.toString('utf8'), qos: packet.qos, retain: packet.retain })}\n`);
      else out.write(`${topic} ${payload.toString('utf8')}\n`);
      if (count > 0 && ++received >= count) stop();
    });
    client.on('close', () => stop());
    client.subscribeAsync(filters, { qos: qosOf(args) }).then((granted) => {
      const refused = granted.filter((g) => g.qos >= 0x80);
      if (refused.length > 0) reject(new UsageError(`subscription refused: ${refused.map((g) => g.topic).join(', ')}`));
    }, reject);
  }).finally(() => client.end(true));
}
