/**
 * `ferry pub` and `ferry sub`: MQTT clients (mqtt.js) that speak every authentication mode of
 * the managed service, computing the username and password for the user:
 *
 *   --mode anonymous    no credentials (a loopback Ferry allows it by default; default instance only)
 *   --mode signature    username Signature|<AccessKeyId>|<instance>, password Base64(HMAC-SHA1(secret, clientId))
 *   --mode token        username Token|<AccessKeyId>|<instance>, password R|<token>|W|<token>;
 *                       --device-token R:<token> (repeatable), or none: the CLI applies for one
 *                       covering the topics through the API (R for sub, W for pub)
 *   --mode device       username DeviceCredential|<DeviceAccessKeyId>|<instance>,
 *                       password Base64(HMAC-SHA1(DeviceAccessKeySecret, clientId));
 *                       --device-key-id/--device-key-secret, or --register to register the client id
 *   --mode custom       username as given, password = --secret (ORIGIN) or its HMAC of the client id (SIGNED)
 * The AccessKey comes from the same places as for the API commands (client.ts); the broker's URL
 * from --url, FERRY_MQTT_URL or the running Ferry's endpoint file (endpoint.ts).
 *
 * Neither command ends with 0 unless it did what was asked: a refused publish or subscription, a
 * connection the broker closes, or fewer messages than --count before --timeout exit 1 with one
 * line (mqtt-session.ts).
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { IClientOptions } from 'mqtt';
import { UsageError, parseDuration, type Args } from './args.js';
import { resolveCredentials, type FerryClient } from './client.js';
import type { Endpoints } from './endpoint.js';
import { CommandFailure } from './failures.js';
import { MqttSession, describe } from './mqtt-session.js';
import type { Out } from './output.js';
import { progress } from './progress.js';

export const MODES = ['anonymous', 'signature', 'token', 'device', 'custom'] as const;
export type Mode = (typeof MODES)[number];
export const SIGN_MODES = ['SIGNED', 'ORIGIN'] as const;

export function hmacSha1Base64(secret: string, text: string): string {
  return createHmac('sha1', secret).update(text, 'utf8').digest('base64');
}

export interface MqttLogin {
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
}

/** What the MQTT commands share: the API client, where to connect, the instance. */
export interface MqttContext {
  readonly args: Args;
  readonly env: NodeJS.ProcessEnv;
  readonly api: FerryClient;
  readonly endpoints: Endpoints;
  readonly instance: string;
  readonly out: Out;
  /** Notes and progress go to stderr. */
  readonly err: (s: string) => void;
  /** stderr is a terminal (or --progress): show progress lines. */
  readonly interactive: boolean;
}

export function modeOf(args: Args): Mode {
  const mode = (args.get('mode') ?? 'anonymous') as Mode;
  if (!MODES.includes(mode)) throw new UsageError(`--mode must be one of ${MODES.join(', ')}`);
  return mode;
}

/**
 * A function from client id to username and password for the chosen mode; what can be prepared
 * once (the AccessKey, an applied token) is, so `ferry bench` can log in many clients.
 */
export async function loginFor(ctx: MqttContext, topics: string[], access: 'R' | 'W'): Promise<(clientId: string) => Promise<MqttLogin>> {
  const { args, env, api, instance } = ctx;
  const mode = modeOf(args);
  const key = (): { id: string; secret: string } => {
    const credentials = resolveCredentials(args, env);
    if (credentials?.kind !== 'key') throw new UsageError(`--mode ${mode} needs an AccessKey (--access-key-id/--access-key-secret, FERRY_ACCESS_KEY_ID/_SECRET or the data directory's bootstrap key)`);
    return credentials;
  };
  switch (mode) {
    case 'anonymous': {
      // Anonymous clients always land in the default instance: asking for another one cannot work.
      const asked = args.get('instance') ?? env['FERRY_INSTANCE'];
      const fallback = ctx.endpoints.defaultInstance();
      if (asked !== undefined && asked !== fallback) {
        throw new CommandFailure(`anonymous clients belong to the default instance (${fallback}), not ${asked}: add --mode signature, token, device or custom`);
      }
      return async (clientId) => ({ clientId });
    }
    case 'signature': {
      const k = key();
      return async (clientId) => ({ clientId, username: `Signature|${k.id}|${instance}`, password: hmacSha1Base64(k.secret, clientId) });
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
      const password = pairs.join('|');
      return async (clientId) => ({ clientId, username: `Token|${k.id}|${instance}`, password });
    }
    case 'device': {
      const id = args.get('device-key-id');
      const secret = args.get('device-key-secret');
      if (args.flag('register')) {
        return async (clientId) => {
          const cred = (await api.call('POST', `/instances/${encodeURIComponent(instance)}/device-credentials`, { clientId })) as { DeviceAccessKeyId: string; DeviceAccessKeySecret: string };
          return { clientId, username: `DeviceCredential|${cred.DeviceAccessKeyId}|${instance}`, password: hmacSha1Base64(cred.DeviceAccessKeySecret, clientId) };
        };
      }
      if (id === undefined || secret === undefined) throw new UsageError('--mode device needs --device-key-id and --device-key-secret (or --register)');
      return async (clientId) => ({ clientId, username: `DeviceCredential|${id}|${instance}`, password: hmacSha1Base64(secret, clientId) });
    }
    case 'custom': {
      const username = args.get('username');
      const secret = args.get('secret');
      if (username === undefined || secret === undefined) throw new UsageError('--mode custom needs --username and --secret');
      const signMode = args.get('sign-mode') ?? 'SIGNED';
      if (!(SIGN_MODES as readonly string[]).includes(signMode)) throw new UsageError(`--sign-mode must be ${SIGN_MODES.join(' or ')}`);
      return async (clientId) => ({ clientId, username, password: signMode === 'ORIGIN' ? secret : hmacSha1Base64(secret, clientId) });
    }
  }
}

/** Username and password for one client (exported for tests and the docs). */
export async function login(ctx: MqttContext, topics: string[], access: 'R' | 'W'): Promise<MqttLogin> {
  const of = await loginFor(ctx, topics, access);
  return of(ctx.args.get('client-id') ?? `GID_ferrycli@@@${randomBytes(4).toString('hex')}`);
}

/** Connection options shared by pub, sub and bench. */
export function connectOptions(args: Args, who: MqttLogin): IClientOptions {
  return {
    clientId: who.clientId,
    protocolVersion: args.flag('mqtt3') ? 4 : 5,
    clean: !args.flag('persistent'),
    ...(who.username === undefined ? {} : { username: who.username }),
    ...(who.password === undefined ? {} : { password: who.password }),
  };
}

export function qosOf(args: Args): 0 | 1 | 2 {
  const qos = args.int('qos', 0);
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new UsageError('--qos must be 0, 1 or 2');
  return qos;
}

function positive(args: Args, name: string, fallback: number): number {
  const value = args.int(name, fallback);
  if (value < 0) throw new UsageError(`--${name} must be 0 or more`);
  return value;
}

/** ferry pub <topic> <message> [--qos N] [--retain] [--count N] */
export async function pub(ctx: MqttContext): Promise<void> {
  const { args, out } = ctx;
  const topic = args.positional(0, 'topic');
  const message = args.positional(1, 'message');
  const qos = qosOf(args);
  const count = positive(args, 'count', 1);
  const who = await login(ctx, [topic], 'W');
  const session = await MqttSession.open(ctx.endpoints.mqtt(), connectOptions(args, who));
  const bar = progress(ctx.interactive && count > 1, ctx.err);
  let published = 0;
  try {
    for (let i = 0; i < count; i++) {
      try {
        await session.run(session.client.publishAsync(topic, message, { qos, retain: args.flag('retain') }));
      } catch (err) {
        if (err instanceof CommandFailure) throw new CommandFailure(`${err.message} (after ${published} of ${count} messages to ${topic})`, err.detail);
        throw new CommandFailure(`publish to ${topic} refused: ${describe(err)}`, err);
      }
      published++;
      bar.update(`published ${published}/${count}`);
    }
    // QoS 0 has no answer: a round trip tells whether the broker closed the connection over it.
    if (qos === 0) {
      try {
        await session.roundTrip();
      } catch (err) {
        throw new CommandFailure(`${(err as Error).message} (after publishing to ${topic} at QoS 0)`, err);
      }
    }
  } finally {
    bar.done();
    await session.end();
  }
  if (out.json) out.write(`${JSON.stringify({ clientId: who.clientId, topic, qos, published })}\n`);
}

/** ferry sub <filter>... [--qos N] [--count N] [--timeout 30s]: prints "topic payload" lines (or JSON lines). */
export async function sub(ctx: MqttContext): Promise<void> {
  const { args, out } = ctx;
  const filters = args.parsed.positionals;
  if (filters.length === 0) throw new UsageError('name at least one topic filter');
  const qos = qosOf(args);
  const count = positive(args, 'count', 0);
  const timeout = args.get('timeout') === undefined ? 0 : parseDuration(args.get('timeout')!);
  const who = await login(ctx, filters, 'R');
  const session = await MqttSession.open(ctx.endpoints.mqtt(), connectOptions(args, who));
  const bar = progress(ctx.interactive && count > 0, ctx.err);
  let received = 0;
  let timer: NodeJS.Timeout | undefined;
  let onSignal: (() => void) | undefined;
  try {
    const granted = await session.run(session.client.subscribeAsync(filters, { qos })).catch((err: unknown) => {
      throw err instanceof CommandFailure ? err : new CommandFailure(`subscription refused: ${describe(err)}`, err);
    });
    const refused = granted.filter((g) => g.qos >= 0x80);
    if (refused.length > 0) throw new CommandFailure(`subscription refused: ${refused.map((g) => `${g.topic} (${describe({ code: g.qos })})`).join(', ')}`);
    const finished = new Promise<'count' | 'timeout' | 'signal'>((resolve) => {
      if (timeout > 0) timer = setTimeout(() => resolve('timeout'), timeout);
      onSignal = () => resolve('signal');
      process.once('SIGINT', onSignal);
      session.client.on('message', (topic, payload, packet) => {
        if (count > 0 && received >= count) return;
        received++;
        if (out.json) out.write(`${JSON.stringify({ topic, payload: payload.toString('utf8'), qos: packet.qos, retain: packet.retain })}\n`);
        else out.write(`${topic} ${payload.toString('utf8')}\n`);
        bar.update(`received ${received}/${count}`);
        if (count > 0 && received >= count) resolve('count');
      });
    });
    const why = await session.run(finished).catch((err: unknown) => {
      throw err instanceof CommandFailure && count > 0 ? new CommandFailure(`${err.message} (after ${received} of ${count} messages)`, err.detail) : err;
    });
    if (why === 'timeout' && count > 0 && received < count) throw new CommandFailure(`received ${received} of ${count} messages before the ${args.get('timeout')} timeout`);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onSignal !== undefined) process.removeListener('SIGINT', onSignal);
    bar.done();
    await session.end(true);
  }
}
