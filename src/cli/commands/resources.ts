/**
 * The ferry subcommands that manage resources over the REST API: instance, topic, group, key,
 * token, credential, identity, permission, blacklist, client, trace, send; rule and queue (rules.ts).
 */
import { readFileSync } from 'node:fs';
import { UsageError, parseDuration, type Args } from './args.js';
import { enc, query, type FerryClient } from './client.js';
import { show, type Out } from './output.js';
import { RULE_COMMANDS } from './rules.js';
import { CLUSTER_COMMANDS } from './cluster.js';
import { credentialImport } from './credential-import.js';
import { traceExport } from './trace-export.js';

export interface Ctx {
  readonly client: FerryClient;
  readonly args: Args;
  readonly out: Out;
  /** --instance / -i, default mqtt-default. */
  readonly instance: string;
  /** Notes and progress lines (stderr); long work (`credential import`) reports here. */
  readonly err?: (s: string) => void;
  /** stderr is a terminal, or --progress: show progress lines. */
  readonly interactive?: boolean;
}

type Handler = (ctx: Ctx) => Promise<void>;

export interface CommandDef {
  readonly summary: string;
  readonly usage: string;
  readonly actions: Record<string, Handler>;
}

const I = (ctx: Ctx): string => `/instances/${enc(ctx.instance)}`;
const pos = (ctx: Ctx, index: number, what: string): string => ctx.args.positional(index, what);
const pageArgs = (ctx: Ctx): Record<string, string | number | undefined> => ({ limit: ctx.args.get('limit'), cursor: ctx.args.get('cursor') });

function tagsOf(ctx: Ctx): Array<{ key: string; value: string }> {
  return ctx.args.all('tag').map((t) => {
    const eq = t.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag must be key=value, got "${t}"`);
    return { key: t.slice(0, eq), value: t.slice(eq + 1) };
  });
}

/** --policy AliyunMQFullAccess | --policy @file.json | --policy '{"Statement":[...]}' (repeatable) */
function policiesOf(ctx: Ctx): unknown[] | undefined {
  const refs = ctx.args.all('policy');
  if (refs.length === 0) return undefined;
  return refs.map((ref) => {
    const text = ref.startsWith('@') ? readFileSync(ref.slice(1), 'utf8') : ref;
    if (!text.trimStart().startsWith('{')) return ref;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new UsageError(`--policy ${ref}: not valid JSON`);
    }
  });
}

function defined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

export const COMMANDS: Record<string, CommandDef> = {
  instance: {
    summary: 'Instances (tenants)',
    usage: 'instance list [--tag k=v] | get <id> | create [--id ID] [--name N] [--mode strict|relaxed] | update <id> [--name N] [--mode M] | delete <id> | tag <id> --tag k=v... | untag <id> (--key K... | --all)',
    actions: {
      list: async (c) => show(c.out, await c.client.call('GET', `/instances${query({ tag: c.args.get('tag') })}`), ['instanceId', 'name', 'mode', 'connections', 'subscriptions', 'retained']),
      get: async (c) => show(c.out, await c.client.call('GET', `/instances/${enc(pos(c, 1, 'instance id'))}`)),
      create: async (c) => show(c.out, await c.client.call('POST', '/instances', defined({ instanceId: c.args.get('id'), name: c.args.get('name'), mode: c.args.get('mode') }))),
      update: async (c) => show(c.out, await c.client.call('PATCH', `/instances/${enc(pos(c, 1, 'instance id'))}`, defined({ name: c.args.get('name'), mode: c.args.get('mode') }))),
      delete: async (c) => show(c.out, await c.client.call('DELETE', `/instances/${enc(pos(c, 1, 'instance id'))}`)),
      tag: async (c) => show(c.out, await c.client.call('PUT', `/instances/${enc(pos(c, 1, 'instance id'))}/tags`, { tags: tagsOf(c) })),
      untag: async (c) =>
        show(c.out, await c.client.call('DELETE', `/instances/${enc(pos(c, 1, 'instance id'))}/tags${query({ keys: c.args.all('key').join(',') || undefined, all: c.args.flag('all') || undefined })}`)),
    },
  },
  topic: {
    summary: 'Parent topics of an instance',
    usage: 'topic list | create <name> | delete <name>   [-i INSTANCE]',
    actions: {
      list: async (c) => show(c.out, await c.client.call('GET', `${I(c)}/topics`), ['name', 'auto', 'createdAt']),
      create: async (c) => show(c.out, await c.client.call('POST', `${I(c)}/topics`, { name: pos(c, 1, 'topic name') })),
      delete: async (c) => show(c.out, await c.client.call('DELETE', `${I(c)}/topics/${enc(pos(c, 1, 'topic name'))}`)),
    },
  },
  group: {
    summary: 'Group IDs of an instance',
    usage: 'group list [--tag k=v] | create <GID_...> [--tag k=v...] | delete <GID_...>   [-i INSTANCE]',
    actions: {
      list: async (c) => show(c.out, await c.client.call('GET', `${I(c)}/groups${query({ tag: c.args.get('tag') })}`), ['groupId', 'auto', 'createdAt', 'tags']),
      create: async (c) => show(c.out, await c.client.call('POST', `${I(c)}/groups`, { groupId: pos(c, 1, 'Group ID'), tags: tagsOf(c) })),
      delete: async (c) => show(c.out, await c.client.call('DELETE', `${I(c)}/groups/${enc(pos(c, 1, 'Group ID'))}`)),
    },
  },
  key: {
    summary: 'AccessKeys and their policies',
    usage: 'key list | get <id> | create [--description D] [--policy NAME|JSON|@file]... | policy <id> --policy ... | enable <id> | disable <id> | delete <id>',
    actions: {
      list: async (c) => show(c.out, await c.client.call('GET', '/access-keys'), ['id', 'status', 'description', 'policies', 'bootstrap']),
      get: async (c) => show(c.out, await c.client.call('GET', `/access-keys/${enc(pos(c, 1, 'AccessKey id'))}`)),
      create: async (c) => {
        const created = await c.client.call('POST', '/access-keys', defined({ description: c.args.get('description'), policies: policiesOf(c) }));
        show(c.out, created);
        if (!c.out.json) c.out.write('The secret is shown only now: store it safely.\n');
      },
      policy: async (c) => show(c.out, await c.client.call('PATCH', `/access-keys/${enc(pos(c, 1, 'AccessKey id'))}`, { policies: policiesOf(c) ?? [] })),
      enable: async (c) => show(c.out, await c.client.call('PATCH', `/access-keys/${enc(pos(c, 1, 'AccessKey id'))}`, { status: 'Active' })),
      disable: async (c) => show(c.out, await c.client.call('PATCH', `/access-keys/${enc(pos(c, 1, 'AccessKey id'))}`, { status: 'Inactive' })),
      delete: async (c) => show(c.out, await c.client.call('DELETE', `/access-keys/${enc(pos(c, 1, 'AccessKey id'))}`)),
    },
  },
  token: {
    summary: 'Device tokens (Token mode) and CLI bearer tokens',
    usage: 'token apply --resource TOPIC... --actions R|W|RW [--ttl 1h] | query <token> | revoke <token> | login [--ttl 1h]   [-i INSTANCE]',
    actions: {
      apply: async (c) => {
        const resources = c.args.all('resource').flatMap((r) => r.split(','));
        if (resources.length === 0) throw new UsageError('name at least one --resource topic');
        const answer = await c.client.call('POST', `${I(c)}/tokens`, { resources, actions: c.args.get('actions') ?? 'RW', expireTime: Date.now() + parseDuration(c.args.get('ttl') ?? '1h') });
        show(c.out, answer);
      },
      query: async (c) => show(c.out, await c.client.call('POST', `${I(c)}/tokens/query`, { token: pos(c, 1, 'token') })),
      revoke: async (c) => show(c.out, await c.client.call('POST', `${I(c)}/tokens/revoke`, { token: pos(c, 1, 'token') })),
      login: async (c) => {
        const answer = (await c.client.call('POST', '/auth/token', { ttlSeconds: Math.round(parseDuration(c.args.get('ttl') ?? '1h') / 1000) })) as { token: string; expiresAt: number };
        if (c.out.json) show(c.out, answer);
        else c.out.write(`export FERRY_TOKEN=${answer.token}   # until ${new Date(answer.expiresAt).toISOString()}\n`);
      },
    },
  },
  credential: {
    summary: 'Device credentials (one secret per device)',
    usage: 'credential list --group GID | register <clientId> | import <file> [--out FILE|-] [--progress] | get <clientId> | refresh <clientId> | unregister <clientId>   [-i INSTANCE]',
    actions: {
      list: async (c) => {
        const group = c.args.get('group');
        if (group === undefined) throw new UsageError('--group GID is required');
        show(c.out, await c.client.call('GET', `${I(c)}/device-credentials${query({ groupId: group, limit: c.args.get('limit'), cursor: c.args.get('cursor') })}`), ['value']);
      },
      register: async (c) => show(c.out, await c.client.call('POST', `${I(c)}/device-credentials`, { clientId: pos(c, 1, 'client id') })),
      import: async (c) => credentialImport(c, I(c)),
      get: async (c) => show(c.out, await c.client.call('GET', `${I(c)}/device-credentials/${enc(pos(c, 1, 'client id'))}`)),
      refresh: async (c) => show(c.out, await c.client.call('POST', `${I(c)}/device-credentials/${enc(pos(c, 1, 'client id'))}/refresh`)),
      unregister: async (c) => show(c.out, await c.client.call('DELETE', `${I(c)}/device-credentials/${enc(pos(c, 1, 'client id'))}`)),
    },
  },
  identity: {
    summary: 'Custom-auth identities and their topic permissions',
    usage:
      'identity list [--username U] | add|update <username> --secret S [--type USER|CLIENT] [--client-id C] [--sign-mode ORIGIN|SIGNED] | delete <username> [--type T] [--client-id C]\n' +
      '         | permissions [--identity X] | permit <identity> <topic> [--type USER|CLIENT] [--action PUB|SUB|PUB_SUB] [--effect ALLOW|DENY] | unpermit <identity> <topic> [--type T]   [-i INSTANCE]',
    actions: {
      list: async (c) => show(c.out, await c.client.call('GET', `${I(c)}/identities${query({ username: c.args.get('username'), ...pageArgs(c) })}`), ['Username', 'IdentityType', 'ClientId', 'SignMode']),
      add: async (c) => show(c.out, await c.client.call('POST', `${I(c)}/identities`, identityBody(c))),
      update: async (c) => show(c.out, await c.client.call('PUT', `${I(c)}/identities`, identityBody(c))),
      delete: async (c) =>
        show(c.out, await c.client.call('DELETE', `${I(c)}/identities${query({ username: pos(c, 1, 'username'), identityType: c.args.get('type') ?? 'USER', clientId: c.args.get('client-id') })}`)),
      permissions: async (c) =>
        show(c.out, await c.client.call('GET', `${I(c)}/permissions${query({ identity: c.args.get('identity'), ...pageArgs(c) })}`), ['Identity', 'IdentityType', 'Topic', 'PermitAction', 'Effect']),
      permit: async (c) =>
        show(
          c.out,
          await c.client.call('POST', `${I(c)}/permissions`, {
            identity: pos(c, 1, 'identity'),
            topic: pos(c, 2, 'topic filter'),
            identityType: c.args.get('type') ?? 'USER',
            permitAction: c.args.get('action') ?? 'PUB_SUB',
            effect: c.args.get('effect') ?? 'ALLOW',
          }),
        ),
      unpermit: async (c) =>
        show(c.out, await c.client.call('DELETE', `${I(c)}/permissions${query({ identity: pos(c, 1, 'identity'), topic: pos(c, 2, 'topic filter'), identityType: c.args.get('type') ?? 'USER' })}`)),
    },
  },
  blacklist: {
    summary: 'The connection blacklist of an instance',
    usage: 'blacklist list | add <clientId> | remove <clientId>   [-i INSTANCE]',
    actions: {
      list: async (c) => show(c.out, await c.client.call('GET', `${I(c)}/blacklist${query(pageArgs(c))}`), ['ClientId', 'Effect', 'PermitAction']),
      add: async (c) => show(c.out, await c.client.call('PUT', `${I(c)}/blacklist/${enc(pos(c, 1, 'client id'))}`)),
      remove: async (c) => show(c.out, await c.client.call('DELETE', `${I(c)}/blacklist/${enc(pos(c, 1, 'client id'))}`)),
    },
  },
  client: {
    summary: 'Clients: list, inspect, kick; subscriptions; retained messages',
    usage: 'client list [--connected|--offline] [--prefix P] | get <clientId> | kick <clientId> | subscriptions [--client-id C] [--filter F] | retained [--filter F] | unretain <topic>   [-i INSTANCE]',
    actions: {
      list: async (c) =>
        show(
          c.out,
          await c.client.call('GET', `${I(c)}/clients${query({ connected: c.args.flag('connected') ? true : c.args.flag('offline') ? false : undefined, prefix: c.args.get('prefix'), ...pageArgs(c) })}`),
          ['clientId', 'connected', 'username', 'remoteAddress', 'protocolVersion', 'subscriptions', 'queued', 'droppedMessages'],
        ),
      get: async (c) => show(c.out, await c.client.call('GET', `${I(c)}/clients/${enc(pos(c, 1, 'client id'))}`)),
      kick: async (c) => show(c.out, await c.client.call('POST', `${I(c)}/clients/${enc(pos(c, 1, 'client id'))}/kick`)),
      subscriptions: async (c) =>
        show(c.out, await c.client.call('GET', `${I(c)}/subscriptions${query({ clientId: c.args.get('client-id'), topicFilter: c.args.get('filter'), ...pageArgs(c) })}`), [
          'clientId',
          'topicFilter',
          'qos',
          'shareGroup',
        ]),
      retained: async (c) => show(c.out, await c.client.call('GET', `${I(c)}/retained${query({ filter: c.args.get('filter'), ...pageArgs(c) })}`), ['topic', 'qos', 'payload']),
      unretain: async (c) => show(c.out, await c.client.call('DELETE', `${I(c)}/retained/${pos(c, 1, 'topic').split('/').map(enc).join('/')}`)),
    },
  },
  trace: {
    summary: 'Device and message traces',
    usage:
      'trace device <clientId> | messages <clientId> | message <msgId>   [--since 1h] [--page N] [--page-size N] [--reverse]\n       trace export device|messages <clientId> | message <msgId>   [--since 1h] [--reverse] --out FILE|-   (every page, JSON lines)   [-i INSTANCE]',
    actions: {
      export: async (c) => traceExport(c, I(c)),
      device: async (c) => showTracePage(c, await c.client.call('GET', `${I(c)}/traces/devices/${enc(pos(c, 1, 'client id'))}${traceQuery(c)}`), ['Time', 'ChannelId', 'Action', 'ActionInfo']),
      messages: async (c) =>
        showTracePage(c, await c.client.call('GET', `${I(c)}/traces/clients/${enc(pos(c, 1, 'client id'))}/messages${traceQuery(c)}`), ['Time', 'MsgId', 'Action', 'ActionInfo']),
      message: async (c) => {
        const answer = (await c.client.call('GET', `${I(c)}/traces/messages/${enc(pos(c, 1, 'MsgId'))}${traceQuery(c)}`)) as {
          published: Array<Record<string, unknown>>;
          deliveries: { items: Array<Record<string, unknown>>; total: number };
          page?: number;
          pageSize?: number;
        };
        if (c.out.json) return show(c.out, answer);
        // One table: how it came in (pub_mqtt / pub_mq), then who it was delivered to.
        const rows = [...answer.published, ...answer.deliveries.items];
        showTracePage(c, { items: rows, total: answer.published.length + answer.deliveries.total }, ['Time', 'Action', 'ClientId', 'ActionInfo'], answer.published.length);
      },
    },
  },
  // rule, queue (rules.ts)
  ...RULE_COMMANDS,
  // cluster (cluster.ts)
  ...CLUSTER_COMMANDS,
};

function identityBody(c: Ctx): Record<string, unknown> {
  const secret = c.args.get('secret');
  if (secret === undefined) throw new UsageError('--secret is required');
  return defined({
    username: pos(c, 1, 'username'),
    secret,
    identityType: c.args.get('type') ?? 'USER',
    clientId: c.args.get('client-id'),
    signMode: c.args.get('sign-mode') ?? 'SIGNED',
  });
}

/** A page of trace records as a table, with a hint when more pages follow. `extra` rows are not part of the paged total's pages. */
function showTracePage(c: Ctx, answer: unknown, columns: readonly string[], extra = 0): void {
  show(c.out, answer, columns);
  if (c.out.json) return;
  const total = (answer as { total?: unknown }).total;
  const page = Number(c.args.get('page') ?? 1);
  const pageSize = Number(c.args.get('page-size') ?? 20);
  if (typeof total === 'number' && total - extra > page * pageSize) c.out.write(`(${total - extra} records: --page ${page + 1} for more)\n`);
}

function traceQuery(c: Ctx): string {
  const end = Date.now();
  return query({
    beginTime: end - parseDuration(c.args.get('since') ?? '1h'),
    endTime: end,
    page: c.args.get('page'),
    pageSize: c.args.get('page-size'),
    reverse: c.args.flag('reverse') || undefined,
  });
}

/** `ferry send <topic> <payload>`: publish from the backend side (REST), printing the MsgId. */
export async function send(c: Ctx): Promise<void> {
  const topic = pos(c, 0, 'topic');
  const payload = c.args.get('file') !== undefined ? readFileSync(c.args.get('file')!).toString('base64') : pos(c, 1, 'payload');
  const userProperties = Object.fromEntries(
    c.args.all('user-property').map((p) => {
      const eq = p.indexOf('=');
      if (eq <= 0) throw new UsageError(`--user-property must be key=value, got "${p}"`);
      return [p.slice(0, eq), p.slice(eq + 1)];
    }),
  );
  const properties = defined({
    contentType: c.args.get('content-type'),
    responseTopic: c.args.get('response-topic'),
    ...(Object.keys(userProperties).length > 0 ? { userProperties } : {}),
  });
  const answer = await c.client.call(
    'POST',
    `${I(c)}/messages`,
    defined({
      topic,
      payload,
      payloadEncoding: c.args.get('file') !== undefined || c.args.flag('base64') ? 'base64' : 'utf8',
      qos: c.args.int('qos', 1),
      retain: c.args.flag('retain'),
      messageExpiryInterval: c.args.get('expiry') === undefined ? undefined : Math.round(parseDuration(c.args.get('expiry')!) / 1000),
      properties: Object.keys(properties).length > 0 ? properties : undefined,
    }),
  );
  show(c.out, answer);
}
