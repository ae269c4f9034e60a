/**
 * REST routes of rules and the built-in queues (docs/rules.md, "Rules API"; docs/api.md).
 *
 *   /instances/{instanceId}/rules                      GET list, POST create (201)
 *   /instances/{instanceId}/rules/{ruleId}             GET, PATCH, DELETE (204)
 *   /instances/{instanceId}/rules/{ruleId}/enable      POST          …/disable  POST
 *   /instances/{instanceId}/rules/{ruleId}/stats       GET
 *   /instances/{instanceId}/rules/{ruleId}/dead-letters         GET, DELETE (purge)
 *   /instances/{instanceId}/rules/{ruleId}/dead-letters/replay  POST
 *   /instances/{instanceId}/queues                     GET
 *   /instances/{instanceId}/queues/{name}/messages     POST (append, 201)
 *   /instances/{instanceId}/queues/{name}/receive      POST (long poll)
 *   /instances/{instanceId}/queues/{name}/ack|nack     POST
 *
 * RAM: rules are the `rule` resource (`acs:mq:*:*:rule/<instanceId>/<ruleId>`; list and create
 * name the rule `*`), queues the instance. Actions: mq:QueryRule, mq:CreateRule, mq:UpdateRule,
 * mq:DeleteRule, mq:QueryQueue, mq:SendQueue, mq:ReceiveQueue.
 */
import type { FastifyRequest } from 'fastify';
import type { PolicyResource } from '../../auth/policy.js';
import { FacadeError } from '../../management/errors.js';
import { MAX_QUEUE_WAIT_SECONDS } from '../../management/queues.js';
import { MAX_DESCRIPTION, MAX_RULE_GROUPS, MAX_RULE_TOPICS, MAX_URL_LENGTH, OVERFLOW_POLICIES, RULE_OPTION_BOUNDS, RULE_TYPES, type RuleInput, type RulePatch } from '../../rules/model.js';
import type { QueueMessageInput, ReceivedQueueMessage } from '../../rules/runtime.js';
import type { RouteDef } from './routes.js';

type Schema = Record<string, unknown>;
type Json = Record<string, unknown>;

const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const int = (min: number, max: number, extra: Schema = {}): Schema => ({ type: 'integer', minimum: min, maximum: max, ...extra });
const obj = (properties: Record<string, Schema>, required: string[] = [], extra: Schema = {}): Schema => ({
  type: 'object',
  properties,
  ...(required.length > 0 ? { required } : {}),
  additionalProperties: false,
  ...extra,
});

const instanceId = str({ minLength: 1, maxLength: 64 });
const ruleParams = obj({ instanceId, ruleId: str({ minLength: 1, maxLength: 64 }) }, ['instanceId', 'ruleId']);
const instanceParams = obj({ instanceId }, ['instanceId']);
const queueParams = obj({ instanceId, name: str({ minLength: 1, maxLength: 128 }) }, ['instanceId', 'name']);

const optionsSchema = obj(
  {
    maxAttempts: int(...RULE_OPTION_BOUNDS.maxAttempts, { description: 'delivery attempts before dead-lettering (default 10)' }),
    outboxMaxMessages: int(...RULE_OPTION_BOUNDS.outboxMaxMessages, { description: 'outbox bound, messages (default 100000)' }),
    outboxMaxBytes: int(...RULE_OPTION_BOUNDS.outboxMaxBytes, { description: 'outbox bound, bytes (default 64 MiB)' }),
    overflow: { type: 'string', enum: [...OVERFLOW_POLICIES], description: 'full outbox: drop-oldest (default) or refuse' },
  },
  [],
);
const ruleFields: Record<string, Schema> = {
  name: str({ minLength: 1, maxLength: 64, description: 'unique in the instance' }),
  description: str({ maxLength: MAX_DESCRIPTION }),
  enabled: { type: 'boolean', description: 'default true' },
  type: { type: 'string', enum: [...RULE_TYPES] },
  topics: { type: 'array', items: str({ minLength: 1 }), minItems: 1, maxItems: MAX_RULE_TOPICS, description: 'outbound: MQTT topic filters' },
  groups: { type: 'array', items: str({ minLength: 1 }), minItems: 1, maxItems: MAX_RULE_GROUPS, description: 'status: Group IDs' },
  target: str({ minLength: 1, maxLength: MAX_URL_LENGTH, description: 'outbound/status: connector URL (amqp, nats, redis, http(s), queue)' }),
  source: str({ minLength: 1, maxLength: MAX_URL_LENGTH, description: 'inbound: connector URL' }),
  parentTopic: str({ minLength: 1, maxLength: 128, description: 'inbound: MQTT parent topic' }),
  options: optionsSchema,
  secret: str({ minLength: 16, maxLength: 256, description: 'webhook signing secret; generated for http(s) targets when absent, shown once' }),
};

const p = (req: FastifyRequest): Record<string, string> => req.params as Record<string, string>;
const b = (req: FastifyRequest): Json => (req.body ?? {}) as Json;
const q = (req: FastifyRequest): Json => (req.query ?? {}) as Json;
const rule = (req: FastifyRequest): PolicyResource => ({ type: 'rule', instanceId: p(req)['instanceId']!, ruleId: p(req)['ruleId'] ?? '*' });
const instance = (req: FastifyRequest): PolicyResource => ({ type: 'instance', instanceId: p(req)['instanceId']! });

/** Message payload of a queue append: text (utf8, default) or base64, as the publish route takes it. */
function payloadOf(body: Json, field: string): Buffer {
  const payload = body['payload'] as string;
  if (body['payloadEncoding'] === 'base64') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payload)) throw new FacadeError('InvalidParameter', 'payload is not valid base64', field);
    return Buffer.from(payload, 'base64');
  }
  return Buffer.from(payload, 'utf8');
}

const messageSchema = obj(
  {
    payload: str(),
    payloadEncoding: { type: 'string', enum: ['utf8', 'base64'], default: 'utf8' },
    properties: { type: 'object', additionalProperties: str(), description: 'string properties (e.g. the reference property keys)' },
  },
  ['payload'],
);

function receivedJson(m: ReceivedQueueMessage): Json {
  return { id: m.id, receipt: m.receipt, payload: m.payload.toString('base64'), payloadEncoding: 'base64', properties: m.properties, deliveries: m.deliveries, enqueuedAt: m.enqueuedAt };
}

const receiptsSchema = { type: 'array', items: str({ minLength: 1 }), minItems: 1, maxItems: 1000 };
const idsSchema = { type: 'array', items: str({ minLength: 1 }), minItems: 1, maxItems: 1000 };

export const RULE_ROUTES: RouteDef[] = [
  {
    method: 'GET', url: '/instances/:instanceId/rules', tag: 'rules', summary: 'List the rules of an instance (URLs redacted)', ram: 'mq:QueryRule', resource: rule, params: instanceParams,
    handle: (req, m) => {
      const items = m.listRules(p(req)['instanceId']!);
      return { items, total: items.length, next: null };
    },
  },
  {
    method: 'POST', url: '/instances/:instanceId/rules', tag: 'rules', summary: 'Create a rule (outbound, inbound or status); a generated webhook secret is shown once', ram: 'mq:CreateRule', resource: rule, params: instanceParams, status: 201,
    body: obj(ruleFields, ['name', 'type']),
    handle: (req, m) => m.createRule(p(req)['instanceId']!, b(req) as unknown as RuleInput),
  },
  { method: 'GET', url: '/instances/:instanceId/rules/:ruleId', tag: 'rules', summary: 'Get a rule (URLs redacted)', ram: 'mq:QueryRule', resource: rule, params: ruleParams, handle: (req, m) => m.getRule(p(req)['instanceId']!, p(req)['ruleId']!) },
  {
    method: 'PATCH', url: '/instances/:instanceId/rules/:ruleId', tag: 'rules', summary: 'Change a rule: given fields replace, options merge, the type cannot change', ram: 'mq:UpdateRule', resource: rule, params: ruleParams,
    body: obj(ruleFields),
    handle: (req, m) => m.updateRule(p(req)['instanceId']!, p(req)['ruleId']!, b(req) as RulePatch),
  },
  { method: 'DELETE', url: '/instances/:instanceId/rules/:ruleId', tag: 'rules', summary: 'Delete a rule (its outbox and dead letters go with it)', ram: 'mq:DeleteRule', resource: rule, params: ruleParams, status: 204, handle: (req, m) => m.deleteRule(p(req)['instanceId']!, p(req)['ruleId']!) },
  ...([true, false] as const).map(
    (enabled): RouteDef => ({
      method: 'POST', url: `/instances/:instanceId/rules/:ruleId/${enabled ? 'enable' : 'disable'}`, tag: 'rules', summary: enabled ? 'Enable a rule' : 'Disable a rule (its worker stops; nothing is lost)', ram: 'mq:UpdateRule', resource: rule, params: ruleParams,
      handle: (req, m) => m.setRuleEnabled(p(req)['instanceId']!, p(req)['ruleId']!, enabled),
    }),
  ),
  { method: 'GET', url: '/instances/:instanceId/rules/:ruleId/stats', tag: 'rules', summary: 'Delivery counters, outbox depth and age, last error, target state', ram: 'mq:QueryRule', resource: rule, params: ruleParams, handle: (req, m) => m.ruleStats(p(req)['instanceId']!, p(req)['ruleId']!) },
  {
    method: 'GET', url: '/instances/:instanceId/rules/:ruleId/dead-letters', tag: 'rules', summary: 'Messages or events that could not be delivered (payloads base64)', ram: 'mq:QueryRule', resource: rule, params: ruleParams,
    querystring: obj({ limit: int(1, 1000, { default: 100 }), cursor: str() }),
    async handle(req, m) {
      const query = q(req);
      const out = await m.deadLetters(p(req)['instanceId']!, p(req)['ruleId']!, { limit: query['limit'] as number, ...(typeof query['cursor'] === 'string' ? { after: query['cursor'] } : {}) });
      // In a cluster: the nodes that did not answer, whose dead letters are not in this page (docs/cluster.md).
      return { items: out.items, next: out.next ?? null, ...(out.missingNodes === undefined ? {} : { missingNodes: out.missingNodes }) };
    },
  },
  {
    method: 'POST', url: '/instances/:instanceId/rules/:ruleId/dead-letters/replay', tag: 'rules', summary: 'Put dead letters (all, or the given ids) back into the outbox', ram: 'mq:UpdateRule', resource: rule, params: ruleParams,
    body: obj({ ids: idsSchema }),
    async handle(req, m) {
      return { replayed: await m.replayDeadLetters(p(req)['instanceId']!, p(req)['ruleId']!, b(req)['ids'] as string[] | undefined) };
    },
  },
  {
    method: 'DELETE', url: '/instances/:instanceId/rules/:ruleId/dead-letters', tag: 'rules', summary: 'Purge dead letters (all, or ids=a,b)', ram: 'mq:DeleteRule', resource: rule, params: ruleParams,
    querystring: obj({ ids: str({ minLength: 1, description: 'comma-separated dead-letter ids; absent = all' }) }),
    async handle(req, m) {
      const ids = typeof q(req)['ids'] === 'string' ? (q(req)['ids'] as string).split(',').filter((s) => s !== '') : undefined;
      return { purged: await m.purgeDeadLetters(p(req)['instanceId']!, p(req)['ruleId']!, ids) };
    },
  },

  // The built-in queues.
  {
    method: 'GET', url: '/instances/:instanceId/queues', tag: 'queues', summary: 'Built-in queues: depth, in flight, age of the oldest message', ram: 'mq:QueryQueue', resource: instance, params: instanceParams,
    handle: async (req, m) => {
      const items = await m.listQueues(p(req)['instanceId']!);
      return { items, total: items.length, next: null };
    },
  },
  {
    method: 'POST', url: '/instances/:instanceId/queues/:name/messages', tag: 'queues', summary: 'Append messages (one, or messages: [...]); answered once durable', ram: 'mq:SendQueue', resource: instance, params: queueParams, status: 201,
    body: obj({ ...(messageSchema['properties'] as Record<string, Schema>), messages: { type: 'array', items: messageSchema, minItems: 1, maxItems: 1000 } }),
    async handle(req, m) {
      const body = b(req);
      const list = body['messages'] as Json[] | undefined;
      if ((list === undefined) === (body['payload'] === undefined)) throw new FacadeError('InvalidParameter', 'give either payload or messages', 'body.payload');
      const messages: QueueMessageInput[] = (list ?? [body]).map((x, i) => ({
        payload: payloadOf(x, list === undefined ? 'body.payload' : `body.messages.${i}.payload`),
        ...(x['properties'] === undefined ? {} : { properties: x['properties'] as Record<string, string> }),
      }));
      return { ids: await m.sendToQueue(p(req)['instanceId']!, p(req)['name']!, messages) };
    },
  },
  {
    method: 'POST', url: '/instances/:instanceId/queues/:name/receive', tag: 'queues', summary: `Receive up to max messages, long-polling up to wait seconds (≤ ${MAX_QUEUE_WAIT_SECONDS}); unacked ones come again after visibilityTimeout seconds`, ram: 'mq:ReceiveQueue', resource: instance, params: queueParams,
    body: obj({ max: int(1, 100, { default: 10 }), visibilityTimeout: int(1, 12 * 3600, { default: 30 }), wait: int(0, MAX_QUEUE_WAIT_SECONDS, { default: 0 }) }),
    async handle(req, m) {
      const body = b(req);
      const items = await m.receiveFromQueue(p(req)['instanceId']!, p(req)['name']!, { max: (body['max'] as number | undefined) ?? 10, visibilityTimeoutMs: ((body['visibilityTimeout'] as number | undefined) ?? 30) * 1000, waitMs: ((body['wait'] as number | undefined) ?? 0) * 1000 });
      return { items: items.map(receivedJson) };
    },
  },
  {
    method: 'POST', url: '/instances/:instanceId/queues/:name/ack', tag: 'queues', summary: 'Acknowledge received messages (they are deleted)', ram: 'mq:ReceiveQueue', resource: instance, params: queueParams,
    body: obj({ receipts: receiptsSchema }, ['receipts']),
    async handle(req, m) {
      return { acked: await m.ackQueue(p(req)['instanceId']!, p(req)['name']!, b(req)['receipts'] as string[]) };
    },
  },
  {
    method: 'POST', url: '/instances/:instanceId/queues/:name/nack', tag: 'queues', summary: 'Give received messages back (visible again after delay seconds)', ram: 'mq:ReceiveQueue', resource: instance, params: queueParams,
    body: obj({ receipts: receiptsSchema, delay: int(0, 12 * 3600, { default: 0 }) }, ['receipts']),
    async handle(req, m) {
      const body = b(req);
      return { nacked: await m.nackQueue(p(req)['instanceId']!, p(req)['name']!, body['receipts'] as string[], ((body['delay'] as number | undefined) ?? 0) * 1000) };
    },
  },
];
