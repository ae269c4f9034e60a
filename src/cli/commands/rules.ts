/**
 * `ferry rule` and `ferry queue` over the REST API (docs/rules.md, "CLI"). A rule is given by
 * flags, or whole as JSON with --spec (inline or @file); flags override the spec's fields.
 */
import { readFileSync } from 'node:fs';
import { UsageError, parseDuration } from './args.js';
import { enc, query } from './client.js';
import { show } from './output.js';
import { queueDrain } from './queue-drain.js';
import type { CommandDef, Ctx } from './resources.js';

const I = (ctx: Ctx): string => `/instances/${enc(ctx.instance)}`;
const R = (ctx: Ctx): string => `${I(ctx)}/rules/${enc(ctx.args.positional(1, 'rule id'))}`;
const Q = (ctx: Ctx): string => `${I(ctx)}/queues/${enc(ctx.args.positional(1, 'queue name'))}`;

function integer(ctx: Ctx, name: string): number | undefined {
  const text = ctx.args.get(name);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name} must be a whole number, got "${text}"`);
  return Number(text);
}

function seconds(ctx: Ctx, name: string): number | undefined {
  const text = ctx.args.get(name);
  return text === undefined ? undefined : Math.round(parseDuration(text) / 1000);
}

function specOf(ctx: Ctx): Record<string, unknown> {
  const ref = ctx.args.get('spec');
  if (ref === undefined) return {};
  const text = ref.startsWith('@') ? readFileSync(ref.slice(1), 'utf8') : ref;
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch {
    throw new UsageError(`--spec ${ref}: not valid JSON`);
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new UsageError('--spec must be a JSON object');
  return spec as Record<string, unknown>;
}

/** The rule body from --spec and the flags (flags win). `name` is the positional of create. */
function ruleBody(ctx: Ctx, create: boolean): Record<string, unknown> {
  const spec = specOf(ctx);
  const options = {
    ...((spec['options'] as Record<string, unknown> | undefined) ?? {}),
    ...defined({ maxAttempts: integer(ctx, 'max-attempts'), outboxMaxMessages: integer(ctx, 'outbox-max-messages'), outboxMaxBytes: integer(ctx, 'outbox-max-bytes'), overflow: ctx.args.get('overflow') }),
  };
  const list = (name: string): string[] | undefined => (ctx.args.all(name).length === 0 ? undefined : ctx.args.all(name).flatMap((v) => v.split(',')).filter((v) => v !== ''));
  const enabled = ctx.args.flag('disabled') ? false : undefined;
  const body: Record<string, unknown> = {
    ...spec,
    ...defined({
      name: create ? (ctx.args.parsed.positionals[1] ?? ctx.args.get('name')) : ctx.args.get('name'),
      type: ctx.args.get('type'),
      description: ctx.args.get('description'),
      enabled,
      topics: list('topic'),
      groups: list('group'),
      target: ctx.args.get('target'),
      source: ctx.args.get('source'),
      parentTopic: ctx.args.get('parent-topic'),
      secret: ctx.args.get('secret'),
    }),
    ...(Object.keys(options).length === 0 ? {} : { options }),
  };
  if (create && body['name'] === undefined) throw new UsageError('missing rule name');
  if (create && body['type'] === undefined) throw new UsageError('missing --type outbound|inbound|status');
  return body;
}

function defined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

/** Shows a rule; a secret that is shown only now gets its own line on stderr-free output. */
function showRule(ctx: Ctx, rule: unknown): void {
  show(ctx.out, rule);
  const secret = (rule as { secret?: unknown } | null)?.secret;
  if (!ctx.out.json && typeof secret === 'string') ctx.out.write('(the webhook secret above is shown only this once)\n');
}

/** Repeatable --id, or comma-separated. */
function ids(ctx: Ctx): string[] | undefined {
  const all = ctx.args.all('id').flatMap((v) => v.split(',')).filter((v) => v !== '');
  return all.length === 0 ? undefined : all;
}

function properties(ctx: Ctx): Record<string, string> | undefined {
  const given = ctx.args.all('property');
  if (given.length === 0) return undefined;
  return Object.fromEntries(
    given.map((p) => {
      const eq = p.indexOf('=');
      if (eq <= 0) throw new UsageError(`--property must be key=value, got "${p}"`);
      return [p.slice(0, eq), p.slice(eq + 1)];
    }),
  );
}

const RULE_FLAGS = '[--description D] [--disabled] [--max-attempts N] [--outbox-max-messages N] [--outbox-max-bytes N] [--overflow drop-oldest|refuse] [--secret S] [--spec JSON|@file]';

export const RULE_COMMANDS: Record<string, CommandDef> = {
  rule: {
    summary: 'Rules: outbound, inbound and status (devices ↔ backends)',
    usage: [
      'rule list',
      `     | create <name> --type outbound --topic F... --target URL ${RULE_FLAGS}`,
      '     | create <name> --type status --group GID... --target URL ...',
      '     | create <name> --type inbound --source URL --parent-topic T ...',
      '     | get <id> | update <id> [--name N] [--topic F]... [--target URL] ... | enable <id> | disable <id> | delete <id>',
      '     | stats <id> | dead-letters <id> [--limit N] [--cursor C] | replay <id> [--id X]... | purge <id> (--id X... | --all)   [-i INSTANCE]',
    ].join('\n'),
    actions: {
      list: async (c) => show(c.out, await c.client.call('GET', `${I(c)}/rules`), ['id', 'name', 'type', 'enabled', 'topics', 'groups', 'target', 'source', 'parentTopic']),
      create: async (c) => showRule(c, await c.client.call('POST', `${I(c)}/rules`, ruleBody(c, true))),
      get: async (c) => show(c.out, await c.client.call('GET', R(c))),
      update: async (c) => {
        const body = ruleBody(c, false);
        if (Object.keys(body).length === 0) throw new UsageError('nothing to change: give --name, --topic, --target, ... or --spec');
        showRule(c, await c.client.call('PATCH', R(c), body));
      },
      enable: async (c) => show(c.out, await c.client.call('POST', `${R(c)}/enable`, {})),
      disable: async (c) => show(c.out, await c.client.call('POST', `${R(c)}/disable`, {})),
      delete: async (c) => show(c.out, await c.client.call('DELETE', R(c))),
      stats: async (c) => show(c.out, await c.client.call('GET', `${R(c)}/stats`)),
      'dead-letters': async (c) =>
        show(c.out, await c.client.call('GET', `${R(c)}/dead-letters${query({ limit: c.args.get('limit'), cursor: c.args.get('cursor') })}`), ['id', 'at', 'attempts', 'reason']),
      replay: async (c) => show(c.out, await c.client.call('POST', `${R(c)}/dead-letters/replay`, defined({ ids: ids(c) }))),
      purge: async (c) => {
        const chosen = ids(c);
        if (chosen === undefined && !c.args.flag('all')) throw new UsageError('give the dead letters to purge with --id, or --all');
        show(c.out, await c.client.call('DELETE', `${R(c)}/dead-letters${query({ ids: chosen?.join(',') })}`));
      },
    },
  },
  queue: {
    summary: 'Built-in queues (queue://NAME rule targets) over HTTP',
    usage:
      'queue list | send <name> <payload> [--base64] [--property k=v]... | receive <name> [--max N] [--visibility 30s] [--wait 20s] | ack <name> <receipt>... | nack <name> <receipt>... [--delay 10s]\n       queue drain <name> [--out FILE|-] [--max N] [--wait 5s] [--visibility 30s]   (JSON lines, acked once written)   [-i INSTANCE]',
    actions: {
      list: async (c) => show(c.out, await c.client.call('GET', `${I(c)}/queues`), ['name', 'depth', 'inFlight', 'oldestAgeMs']),
      send: async (c) =>
        show(
          c.out,
          await c.client.call('POST', `${Q(c)}/messages`, {
            payload: c.args.positional(2, 'payload'),
            payloadEncoding: c.args.flag('base64') ? 'base64' : 'utf8',
            ...defined({ properties: properties(c) }),
          }),
        ),
      receive: async (c) =>
        show(
          c.out,
          await c.client.call('POST', `${Q(c)}/receive`, defined({ max: integer(c, 'max'), visibilityTimeout: seconds(c, 'visibility'), wait: seconds(c, 'wait') })),
          ['id', 'receipt', 'deliveries', 'enqueuedAt', 'payload'],
        ),
      drain: async (c) => queueDrain(c, I(c)),
      ack: async (c) => show(c.out, await c.client.call('POST', `${Q(c)}/ack`, { receipts: receipts(c) })),
      nack: async (c) => show(c.out, await c.client.call('POST', `${Q(c)}/nack`, { receipts: receipts(c), ...defined({ delay: seconds(c, 'delay') }) })),
    },
  },
};

function receipts(ctx: Ctx): string[] {
  const given = ctx.args.parsed.positionals.slice(2);
  if (given.length === 0) throw new UsageError('missing receipt(s)');
  return given;
}
