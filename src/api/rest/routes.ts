/**
 * The routes of the native REST API. Each one names its JSON schemas (params, query, body), the
 * RAM action the caller's policies must allow and the resource it applies to, and calls the
 * management facade. Lists take `limit` (1-1000, default 100) and `cursor` and answer
 * `{items, total, next}`.
 */
import type { FastifyInstance, FastifyRequest, HTTPMethods } from 'fastify';
import type { PolicyRef, PolicyResource } from '../../auth/policy.js';
import type { IdentityType, PermissionEffect, PermitAction, SignMode } from '../../auth/custom-auth.js';
import { httpStatus } from '../../errors.js';
import { FacadeError } from '../../management/errors.js';
import type { Management, PageQuery, RetainedView } from '../../management/management.js';
import type { Tag } from '../../management/tags.js';
import type { Properties, QoS } from '../../protocol/packets.js';
import type { InstanceLimits, InstanceMode } from '../../tenancy/limits.js';
import { safeEqual } from '../../auth/crypto.js';
import type { NonceCache } from '../rpc/nonce-cache.js';
import type { LimitHits } from '../../observability/limit-hits.js';
import { authenticate } from './auth.js';
import type { BearerTokens } from './bearer.js';
import { RULE_ROUTES } from './rule-routes.js';

export interface RestContext {
  readonly management: Management;
  readonly bearer: BearerTokens;
  readonly nonces: NonceCache;
  /** GET /instances/{id}/stats answers from it; 501 without. */
  readonly stats?: (instanceId: string) => Promise<Record<string, unknown>>;
  /** GET /cluster answers from it (src/cluster); {enabled:false} without. */
  readonly cluster?: () => Record<string, unknown>;
  readonly limitHits?: LimitHits | undefined;
}

type Schema = Record<string, unknown>;
type Req = FastifyRequest;
type Json = Record<string, unknown>;

const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const int = (min: number, max: number, extra: Schema = {}): Schema => ({ type: 'integer', minimum: min, maximum: max, ...extra });
const bool = (extra: Schema = {}): Schema => ({ type: 'boolean', ...extra });
const obj = (properties: Record<string, Schema>, required: string[] = [], extra: Schema = {}): Schema => ({
  type: 'object',
  properties,
  ...(required.length > 0 ? { required } : {}),
  additionalProperties: false,
  ...extra,
});
const tagSchema = obj({ key: str({ minLength: 1, maxLength: 128 }), value: str({ maxLength: 128 }) }, ['key']);
const pageQuery = { limit: int(1, 1000, { default: 100 }), cursor: str() };
const instanceParams = obj({ instanceId: str({ minLength: 1, maxLength: 64 }) }, ['instanceId']);
const withInstance = (more: Record<string, Schema>, required: string[]): Schema => obj({ instanceId: str({ minLength: 1, maxLength: 64 }), ...more }, ['instanceId', ...required]);
const limitsSchema: Schema = { type: 'object', additionalProperties: { type: 'integer', minimum: 0 } };
const policySchema: Schema = {
  oneOf: [
    str({ description: 'a system policy name, e.g. AliyunMQFullAccess' }),
    {
      type: 'object',
      required: ['Statement'],
      properties: {
        Version: str(),
        Statement: {
          type: 'array',
          items: {
            type: 'object',
            required: ['Effect', 'Action', 'Resource'],
            properties: {
              Effect: { type: 'string', enum: ['Allow', 'Deny'] },
              // anyOf, not oneOf: with coerceTypes 'array' a string also passes as a one-element
              // array, so oneOf refused the documented forms ("mq:X" and ["mq:X"]).
              Action: { anyOf: [str(), { type: 'array', items: str() }] },
              Resource: { anyOf: [str(), { type: 'array', items: str() }] },
            },
          },
        },
      },
    },
  ],
};

export interface RouteDef {
  readonly method: HTTPMethods;
  readonly url: string;
  readonly tag: string;
  readonly summary: string;
  readonly ram: string;
  /** The resource checked against the caller's policy; null = the handler filters itself. */
  readonly resource: (req: Req) => PolicyResource | null;
  readonly params?: Schema;
  readonly querystring?: Schema;
  readonly body?: Schema;
  readonly status?: number;
  handle(req: Req, m: Management, accessKeyId: string): unknown;
}

function p(req: Req): Record<string, string> {
  return req.params as Record<string, string>;
}
function q(req: Req): Json {
  return (req.query ?? {}) as Json;
}
function b(req: Req): Json {
  return (req.body ?? {}) as Json;
}
function page(req: Req): PageQuery {
  const query = q(req);
  return { limit: query['limit'] as number, ...(typeof query['cursor'] === 'string' ? { cursor: query['cursor'] } : {}) };
}
function instance(req: Req): PolicyResource {
  return { type: 'instance', instanceId: p(req)['instanceId']! };
}
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
const ALL_INSTANCES: PolicyResource = { type: 'instance', instanceId: '*' };

function retainedJson(m: RetainedView): Json {
  return {
    topic: m.topic,
    qos: m.qos,
    payload: m.payload.toString('base64'),
    payloadEncoding: 'base64',
    ...(m.properties === undefined ? {} : { properties: propertiesJson(m.properties) }),
    expiresAt: m.expiresAt,
  };
}

function propertiesJson(props: Properties): Json {
  return {
    ...opt('payloadFormatIndicator', props.payloadFormatIndicator),
    ...opt('contentType', props.contentType),
    ...opt('responseTopic', props.responseTopic),
    ...opt('correlationData', props.correlationData?.toString('base64')),
    ...opt('userProperties', props.userProperties),
    ...opt('messageExpiryInterval', props.messageExpiryInterval),
  };
}

function decodePayload(body: Json): Buffer {
  const payload = body['payload'] as string;
  if (body['payloadEncoding'] === 'base64') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payload)) throw new FacadeError('InvalidParameter', 'payload is not valid base64', 'body.payload');
    return Buffer.from(payload, 'base64');
  }
  return Buffer.from(payload, 'utf8');
}

function propertiesFrom(body: Json): Properties | undefined {
  const props = body['properties'] as Json | undefined;
  if (props === undefined) return undefined;
  const out: Properties = {};
  if (props['payloadFormatIndicator'] !== undefined) out.payloadFormatIndicator = props['payloadFormatIndicator'] as number;
  if (props['contentType'] !== undefined) out.contentType = props['contentType'] as string;
  if (props['responseTopic'] !== undefined) out.responseTopic = props['responseTopic'] as string;
  if (props['correlationData'] !== undefined) out.correlationData = Buffer.from(props['correlationData'] as string, 'base64');
  const user = props['userProperties'];
  if (user !== undefined) {
    out.userProperties = Array.isArray(user) ? (user as Array<[string, string]>) : Object.entries(user as Record<string, string>);
  }
  return out;
}

const ROUTES: RouteDef[] = [
  // Instances.
  {
    method: 'GET', url: '/instances', tag: 'instances', summary: 'List instances (only those the caller may list)', ram: 'mq:ListMqttInstance', resource: () => null,
    querystring: obj({ tag: str({ description: 'key=value; only instances with this tag' }) }),
    handle(req, m, ak) {
      const tag = q(req)['tag'] as string | undefined;
      const filter: Tag[] = tag === undefined ? [] : [{ key: tag.split('=')[0]!, value: tag.split('=').slice(1).join('=') }];
      const policy = m.policyOf(ak);
      const items = m.listInstances(filter).filter((i) => policy?.allows('mq:ListMqttInstance', { type: 'instance', instanceId: i.instanceId }) === true);
      return { items, total: items.length, next: null };
    },
  },
  {
    method: 'POST', url: '/instances', tag: 'instances', summary: 'Create an instance', ram: 'mq:CreateMqttInstance', resource: () => ALL_INSTANCES, status: 201,
    body: obj({ instanceId: str({ pattern: '^[a-z0-9][a-z0-9-]{2,63}$' }), name: str({ minLength: 3, maxLength: 64 }), mode: { type: 'string', enum: ['strict', 'relaxed'] }, limits: limitsSchema }),
    handle: (req, m) => {
      const body = b(req);
      return m.createInstance({
        ...opt('id', body['instanceId'] as string | undefined),
        ...opt('name', body['name'] as string | undefined),
        ...opt('mode', body['mode'] as InstanceMode | undefined),
        ...opt('limits', body['limits'] as Partial<InstanceLimits> | undefined),
      });
    },
  },
  { method: 'GET', url: '/instances/:instanceId', tag: 'instances', summary: 'Inspect an instance', ram: 'mq:ListMqttInstance', resource: instance, params: instanceParams, handle: (req, m) => m.getInstance(p(req)['instanceId']!) },
  {
    method: 'PATCH', url: '/instances/:instanceId', tag: 'instances', summary: 'Rename an instance, change its mode or limits', ram: 'mq:UpdateMqttInstance', resource: instance, params: instanceParams,
    body: obj({ name: str({ minLength: 3, maxLength: 64 }), mode: { type: 'string', enum: ['strict', 'relaxed'] }, limits: limitsSchema }),
    handle: (req, m) => {
      const body = b(req);
      return m.updateInstance(p(req)['instanceId']!, {
        ...opt('name', body['name'] as string | undefined),
        ...opt('mode', body['mode'] as InstanceMode | undefined),
        ...opt('limits', body['limits'] as Partial<InstanceLimits> | undefined),
      });
    },
  },
  {
    method: 'DELETE', url: '/instances/:instanceId', tag: 'instances', summary: 'Delete an instance (its clients are disconnected)', ram: 'mq:DeleteMqttInstance', resource: instance, params: instanceParams, status: 204,
    handle: (req, m) => m.deleteInstance(p(req)['instanceId']!),
  },
  {
    method: 'PUT', url: '/instances/:instanceId/tags', tag: 'instances', summary: 'Add or replace tags of an instance', ram: 'mq:TagResources', resource: instance, params: instanceParams,
    body: obj({ tags: { type: 'array', items: tagSchema, minItems: 1, maxItems: 20 } }, ['tags']),
    async handle(req, m) {
      await m.tagResources('instance', null, [p(req)['instanceId']!], b(req)['tags'] as Tag[]);
      return m.getInstance(p(req)['instanceId']!);
    },
  },
  {
    method: 'DELETE', url: '/instances/:instanceId/tags', tag: 'instances', summary: 'Remove tags (keys=a,b) or all tags of an instance', ram: 'mq:UntagResources', resource: instance, params: instanceParams,
    querystring: obj({ keys: str(), all: bool() }),
    async handle(req, m) {
      const keys = typeof q(req)['keys'] === 'string' ? (q(req)['keys'] as string).split(',').filter((k) => k !== '') : [];
      await m.untagResources('instance', null, [p(req)['instanceId']!], keys, q(req)['all'] === true);
      return m.getInstance(p(req)['instanceId']!);
    },
  },

  // Parent topics and groups.
  { method: 'GET', url: '/instances/:instanceId/topics', tag: 'topics', summary: 'List parent topics', ram: 'mq:ListMqttTopic', resource: instance, params: instanceParams, handle: (req, m) => list(m.listTopics(p(req)['instanceId']!)) },
  {
    method: 'POST', url: '/instances/:instanceId/topics', tag: 'topics', summary: 'Create a parent topic', ram: 'mq:CreateMqttTopic', resource: instance, params: instanceParams, status: 201,
    body: obj({ name: str({ minLength: 1, maxLength: 64 }) }, ['name']),
    handle: (req, m) => m.createTopic(p(req)['instanceId']!, b(req)['name'] as string),
  },
  {
    method: 'DELETE', url: '/instances/:instanceId/topics/:topic', tag: 'topics', summary: 'Delete a parent topic', ram: 'mq:DeleteMqttTopic', resource: instance, status: 204,
    params: withInstance({ topic: str({ minLength: 1 }) }, ['topic']),
    handle: (req, m) => m.deleteTopic(p(req)['instanceId']!, p(req)['topic']!),
  },
  {
    method: 'GET', url: '/instances/:instanceId/groups', tag: 'groups', summary: 'List Group IDs', ram: 'mq:ListMqttGroupId', resource: instance, params: instanceParams,
    querystring: obj({ tag: str({ description: 'key=value' }) }),
    handle(req, m) {
      const tag = q(req)['tag'] as string | undefined;
      return list(m.listGroups(p(req)['instanceId']!, tag === undefined ? [] : [{ key: tag.split('=')[0]!, value: tag.split('=').slice(1).join('=') }]));
    },
  },
  {
    method: 'POST', url: '/instances/:instanceId/groups', tag: 'groups', summary: 'Create a Group ID', ram: 'mq:CreateMqttGroupId', status: 201,
    resource: (req) => ({ type: 'groupId', instanceId: p(req)['instanceId']!, groupId: String(b(req)['groupId'] ?? '') }),
    params: instanceParams,
    body: obj({ groupId: str({ minLength: 1, maxLength: 64 }), tags: { type: 'array', items: tagSchema, maxItems: 20 } }, ['groupId']),
    handle: (req, m) => m.createGroup(p(req)['instanceId']!, b(req)['groupId'] as string, (b(req)['tags'] as Tag[] | undefined) ?? []),
  },
  {
    method: 'DELETE', url: '/instances/:instanceId/groups/:groupId', tag: 'groups', summary: 'Delete a Group ID', ram: 'mq:DeleteMqttGroupId', status: 204,
    resource: (req) => ({ type: 'groupId', instanceId: p(req)['instanceId']!, groupId: p(req)['groupId']! }),
    params: withInstance({ groupId: str({ minLength: 1 }) }, ['groupId']),
    handle: (req, m) => m.deleteGroup(p(req)['instanceId']!, p(req)['groupId']!),
  },

  // AccessKeys and policies.
  { method: 'GET', url: '/access-keys', tag: 'access-keys', summary: 'List AccessKeys (no secrets)', ram: 'mq:ListAccessKey', resource: () => ALL_INSTANCES, handle: (_req, m) => list(m.listAccessKeys()) },
  {
    method: 'POST', url: '/access-keys', tag: 'access-keys', summary: 'Create an AccessKey; the secret is shown once', ram: 'mq:CreateAccessKey', resource: () => ALL_INSTANCES, status: 201,
    body: obj({ accessKeyId: str({ pattern: '^[A-Za-z0-9]{8,64}$' }), secret: str({ minLength: 16 }), description: str({ maxLength: 256 }), policies: { type: 'array', items: policySchema } }),
    async handle(req, m) {
      const body = b(req);
      const { key, secret } = await m.createAccessKey({
        ...opt('id', body['accessKeyId'] as string | undefined),
        ...opt('secret', body['secret'] as string | undefined),
        ...opt('description', body['description'] as string | undefined),
        ...opt('policies', body['policies'] as PolicyRef[] | undefined),
      });
      return { ...key, secret };
    },
  },
  { method: 'GET', url: '/access-keys/:accessKeyId', tag: 'access-keys', summary: 'Inspect an AccessKey', ram: 'mq:ListAccessKey', resource: () => ALL_INSTANCES, params: obj({ accessKeyId: str() }, ['accessKeyId']), handle: (req, m) => m.getAccessKey(p(req)['accessKeyId']!) },
  {
    method: 'PATCH', url: '/access-keys/:accessKeyId', tag: 'access-keys', summary: 'Change description, status (Active/Inactive) or policies', ram: 'mq:UpdateAccessKey', resource: () => ALL_INSTANCES,
    params: obj({ accessKeyId: str() }, ['accessKeyId']),
    body: obj({ description: str({ maxLength: 256 }), status: { type: 'string', enum: ['Active', 'Inactive'] }, policies: { type: 'array', items: policySchema } }),
    handle(req, m) {
      const body = b(req);
      return m.updateAccessKey(p(req)['accessKeyId']!, {
        ...opt('description', body['description'] as string | undefined),
        ...opt('status', body['status'] as 'Active' | 'Inactive' | undefined),
        ...opt('policies', body['policies'] as PolicyRef[] | undefined),
      });
    },
  },
  { method: 'DELETE', url: '/access-keys/:accessKeyId', tag: 'access-keys', summary: 'Delete an AccessKey', ram: 'mq:DeleteAccessKey', resource: () => ALL_INSTANCES, status: 204, params: obj({ accessKeyId: str() }, ['accessKeyId']), handle: (req, m) => m.deleteAccessKey(p(req)['accessKeyId']!) },

  // Tokens (Token mode).
  {
    method: 'POST', url: '/instances/:instanceId/tokens', tag: 'tokens', summary: 'Apply for a device token (as the calling AccessKey)', ram: 'mq:ApplyToken', resource: instance, params: instanceParams, status: 201,
    body: obj({ resources: { type: 'array', items: str({ minLength: 1 }), minItems: 1, maxItems: 100 }, actions: { type: 'string', enum: ['R', 'W', 'RW', 'R,W'] }, expireTime: int(0, Number.MAX_SAFE_INTEGER, { description: 'ms since the epoch' }) }, ['resources', 'actions', 'expireTime']),
    handle: (req, m, ak) => m.applyToken({ instanceId: p(req)['instanceId']!, accessKeyId: ak, resources: b(req)['resources'] as string[], actions: b(req)['actions'] as string, expireTime: b(req)['expireTime'] as number }),
  },
  {
    method: 'POST', url: '/instances/:instanceId/tokens/query', tag: 'tokens', summary: 'Is a token valid?', ram: 'mq:QueryToken', resource: instance, params: instanceParams,
    body: obj({ token: str({ minLength: 1 }) }, ['token']),
    handle: (req, m) => ({ valid: m.queryToken(p(req)['instanceId']!, b(req)['token'] as string) }),
  },
  {
    method: 'POST', url: '/instances/:instanceId/tokens/revoke', tag: 'tokens', summary: 'Revoke a token (connections holding it are cut)', ram: 'mq:RevokeToken', resource: instance, params: instanceParams, status: 204,
    body: obj({ token: str({ minLength: 1 }) }, ['token']),
    handle: (req, m) => m.revokeToken(p(req)['instanceId']!, b(req)['token'] as string),
  },

  // Device credentials.
  {
    method: 'GET', url: '/instances/:instanceId/device-credentials', tag: 'device-credentials', summary: 'Client ids of a group that have a credential', ram: 'mq:ListDeviceCredentialClientId', resource: instance, params: instanceParams,
    querystring: obj({ groupId: str({ minLength: 1 }), limit: int(1, 100, { default: 100 }), cursor: str() }, ['groupId']),
    async handle(req, m) {
      const query = q(req);
      const pageOut = await m.listCredentialClientIds(p(req)['instanceId']!, query['groupId'] as string, query['limit'] as number, query['cursor'] as string | undefined);
      return { items: pageOut.ClientIdList, total: pageOut.Total, next: pageOut.NextToken };
    },
  },
  {
    method: 'POST', url: '/instances/:instanceId/device-credentials', tag: 'device-credentials', summary: 'Register (or return) the credential of a client id', ram: 'mq:RegisterDeviceCredential', resource: instance, params: instanceParams, status: 201,
    body: obj({ clientId: str({ minLength: 1, maxLength: 128 }) }, ['clientId']),
    handle: (req, m) => m.registerCredential(p(req)['instanceId']!, b(req)['clientId'] as string),
  },
  { method: 'GET', url: '/instances/:instanceId/device-credentials/:clientId', tag: 'device-credentials', summary: 'Get a credential', ram: 'mq:GetDeviceCredential', resource: instance, params: withInstance({ clientId: str() }, ['clientId']), handle: (req, m) => m.getCredential(p(req)['instanceId']!, p(req)['clientId']!) },
  { method: 'POST', url: '/instances/:instanceId/device-credentials/:clientId/refresh', tag: 'device-credentials', summary: 'Issue a new secret', ram: 'mq:RefreshDeviceCredential', resource: instance, params: withInstance({ clientId: str() }, ['clientId']), handle: (req, m) => m.refreshCredential(p(req)['instanceId']!, p(req)['clientId']!) },
  { method: 'DELETE', url: '/instances/:instanceId/device-credentials/:clientId', tag: 'device-credentials', summary: 'Unregister a credential', ram: 'mq:UnRegisterDeviceCredential', resource: instance, status: 204, params: withInstance({ clientId: str() }, ['clientId']), handle: (req, m) => m.unregisterCredential(p(req)['instanceId']!, p(req)['clientId']!) },

  // X.509 device identity (CA and device certificates) and SNI domains.
  {
    method: 'GET', url: '/instances/:instanceId/ca-certificates/register-code', tag: 'certificates', summary: 'The registration code a CA verification certificate must carry as its CN', ram: 'mq:GetRegisterCode', resource: instance, params: instanceParams,
    handle: async (req, m) => ({ registerCode: await m.getRegisterCode(p(req)['instanceId']!) }),
  },
  {
    method: 'GET', url: '/instances/:instanceId/ca-certificates', tag: 'certificates', summary: 'List registered CA certificates', ram: 'mq:ListCaCertificate', resource: instance, params: instanceParams, querystring: obj({ ...pageQuery }),
    handle(req, m) {
      const id = p(req)['instanceId']!;
      const all = m.listCaCertificates(id, 1, Number.MAX_SAFE_INTEGER).items;
      return paged(all, (c) => c.Sn, page(req));
    },
  },
  {
    method: 'POST', url: '/instances/:instanceId/ca-certificates', tag: 'certificates', summary: 'Register a CA certificate with its verification certificate (proof of possession)', ram: 'mq:RegisterCaCertificate', resource: instance, params: instanceParams, status: 201,
    body: obj({ name: str({ minLength: 1, maxLength: 128 }), content: str({ minLength: 1, description: 'PEM CA certificate' }), verification: str({ minLength: 1, description: 'PEM certificate signed by the CA whose subject CN is the registration code' }) }, ['name', 'content', 'verification']),
    handle: async (req, m) => ({ sn: await m.registerCaCertificate(p(req)['instanceId']!, b(req)['name'] as string, b(req)['content'] as string, b(req)['verification'] as string) }),
  },
  { method: 'GET', url: '/instances/:instanceId/ca-certificates/:sn', tag: 'certificates', summary: 'Get a CA certificate', ram: 'mq:GetCaCertificate', resource: instance, params: withInstance({ sn: str() }, ['sn']), handle: (req, m) => m.getCaCertificate(p(req)['instanceId']!, p(req)['sn']!) },
  { method: 'POST', url: '/instances/:instanceId/ca-certificates/:sn/activate', tag: 'certificates', summary: 'Activate a CA certificate', ram: 'mq:ActiveCaCertificate', resource: instance, params: withInstance({ sn: str() }, ['sn']), handle: async (req, m) => ({ sn: await m.setCaCertificateStatus(p(req)['instanceId']!, p(req)['sn']!, 1) }) },
  { method: 'POST', url: '/instances/:instanceId/ca-certificates/:sn/inactivate', tag: 'certificates', summary: 'Inactivate a CA certificate (its devices are disconnected and refused)', ram: 'mq:InactivateCaCertificate', resource: instance, params: withInstance({ sn: str() }, ['sn']), handle: async (req, m) => ({ sn: await m.setCaCertificateStatus(p(req)['instanceId']!, p(req)['sn']!, 0) }) },
  { method: 'DELETE', url: '/instances/:instanceId/ca-certificates/:sn', tag: 'certificates', summary: 'Delete a CA certificate and its device certificates', ram: 'mq:DeleteCaCertificate', resource: instance, status: 204, params: withInstance({ sn: str() }, ['sn']), handle: (req, m) => m.deleteCaCertificate(p(req)['instanceId']!, p(req)['sn']!) },
  {
    method: 'GET', url: '/instances/:instanceId/device-certificates', tag: 'certificates', summary: 'List device certificates (registered on first connect), optionally of one CA', ram: 'mq:ListDeviceCertificate', resource: instance, params: instanceParams,
    querystring: obj({ caSn: str(), limit: int(1, 100, { default: 100 }), cursor: str({ description: 'page number from `next`' }) }),
    async handle(req, m) {
      const query = q(req);
      const limit = query['limit'] as number;
      const pageNo = typeof query['cursor'] === 'string' ? Math.max(1, Number.parseInt(query['cursor'], 10) || 1) : 1;
      const out = await m.listDeviceCertificates(p(req)['instanceId']!, query['caSn'] as string | undefined, pageNo, limit);
      return { items: out.items, total: out.count, next: pageNo * limit < out.count ? String(pageNo + 1) : null };
    },
  },
  { method: 'GET', url: '/instances/:instanceId/ca-certificates/:caSn/device-certificates/:deviceSn', tag: 'certificates', summary: 'Get a device certificate', ram: 'mq:GetDeviceCertificate', resource: instance, params: withInstance({ caSn: str(), deviceSn: str() }, ['caSn', 'deviceSn']), handle: (req, m) => m.getDeviceCertificate(p(req)['instanceId']!, p(req)['caSn']!, p(req)['deviceSn']!) },
  { method: 'POST', url: '/instances/:instanceId/ca-certificates/:caSn/device-certificates/:deviceSn/activate', tag: 'certificates', summary: 'Activate a device certificate', ram: 'mq:ActiveDeviceCertificate', resource: instance, params: withInstance({ caSn: str(), deviceSn: str() }, ['caSn', 'deviceSn']), handle: async (req, m) => ({ deviceSn: await m.setDeviceCertificateStatus(p(req)['instanceId']!, p(req)['caSn']!, p(req)['deviceSn']!, 1) }) },
  { method: 'POST', url: '/instances/:instanceId/ca-certificates/:caSn/device-certificates/:deviceSn/inactivate', tag: 'certificates', summary: 'Inactivate a device certificate (the device is disconnected and refused)', ram: 'mq:InactivateDeviceCertificate', resource: instance, params: withInstance({ caSn: str(), deviceSn: str() }, ['caSn', 'deviceSn']), handle: async (req, m) => ({ deviceSn: await m.setDeviceCertificateStatus(p(req)['instanceId']!, p(req)['caSn']!, p(req)['deviceSn']!, 0) }) },
  { method: 'DELETE', url: '/instances/:instanceId/ca-certificates/:caSn/device-certificates/:deviceSn', tag: 'certificates', summary: 'Delete a device certificate (the device is disconnected)', ram: 'mq:DeleteDeviceCertificate', resource: instance, status: 204, params: withInstance({ caSn: str(), deviceSn: str() }, ['caSn', 'deviceSn']), handle: (req, m) => m.deleteDeviceCertificate(p(req)['instanceId']!, p(req)['caSn']!, p(req)['deviceSn']!) },
  { method: 'GET', url: '/instances/:instanceId/sni', tag: 'certificates', summary: 'TLS server names (SNI) that belong to the instance', ram: 'mq:SetSniConfig', resource: instance, params: instanceParams, handle: (req, m) => m.getSniConfig(p(req)['instanceId']!) },
  {
    method: 'PUT', url: '/instances/:instanceId/sni', tag: 'certificates', summary: 'Set the TLS server names of the instance (as SetSniConfig)', ram: 'mq:SetSniConfig', resource: instance, params: instanceParams,
    body: obj({ defaultCertificate: str({ minLength: 1 }), sniConfig: str({ description: 'domain#certificateId#password;…' }) }, ['defaultCertificate']),
    async handle(req, m) {
      const id = p(req)['instanceId']!;
      await m.setSniConfig(id, b(req)['defaultCertificate'] as string, b(req)['sniConfig'] as string | undefined);
      return m.getSniConfig(id);
    },
  },

  // Custom authentication.
  {
    method: 'GET', url: '/instances/:instanceId/identities', tag: 'custom-auth', summary: 'List custom identities', ram: 'mq:QueryCustomAuthIdentity', resource: instance, params: instanceParams,
    querystring: obj({ username: str(), identityType: { type: 'string', enum: ['USER', 'CLIENT'] }, clientId: str(), ...pageQuery }),
    handle(req, m) {
      const query = q(req);
      const items = m.queryIdentities(p(req)['instanceId']!, { ...opt('username', query['username'] as string | undefined), ...opt('identityType', query['identityType'] as IdentityType | undefined), ...opt('clientId', query['clientId'] as string | undefined) });
      return paged(items, (i) => `${i.IdentityType}\u0000${i.Username}\u0000${i.ClientId}`, page(req));
    },
  },
  ...(['POST', 'PUT'] as const).map(
    (method): RouteDef => ({
      method, url: '/instances/:instanceId/identities', tag: 'custom-auth', summary: method === 'POST' ? 'Add a custom identity' : 'Update a custom identity', ram: method === 'POST' ? 'mq:AddCustomAuthIdentity' : 'mq:UpdateCustomAuthIdentity', resource: instance, params: instanceParams, status: method === 'POST' ? 201 : 200,
      body: obj({ username: str({ minLength: 1, maxLength: 64 }), identityType: { type: 'string', enum: ['USER', 'CLIENT'] }, clientId: str(), secret: str({ minLength: 1, maxLength: 256 }), signMode: { type: 'string', enum: ['ORIGIN', 'SIGNED'] } }, ['username', 'identityType', 'secret', 'signMode']),
      async handle(req, m) {
        const body = b(req);
        await m.putIdentity(p(req)['instanceId']!, { username: body['username'] as string, identityType: body['identityType'] as IdentityType, secret: body['secret'] as string, signMode: body['signMode'] as SignMode, ...opt('clientId', body['clientId'] as string | undefined) }, method === 'POST' ? 'add' : 'update');
        return { ok: true };
      },
    }),
  ),
  {
    method: 'DELETE', url: '/instances/:instanceId/identities', tag: 'custom-auth', summary: 'Delete a custom identity', ram: 'mq:DeleteCustomAuthIdentity', resource: instance, params: instanceParams, status: 204,
    querystring: obj({ username: str({ minLength: 1 }), identityType: { type: 'string', enum: ['USER', 'CLIENT'] }, clientId: str() }, ['username', 'identityType']),
    handle: (req, m) => m.deleteIdentity(p(req)['instanceId']!, q(req)['username'] as string, q(req)['identityType'] as IdentityType, q(req)['clientId'] as string | undefined),
  },
  {
    method: 'GET', url: '/instances/:instanceId/permissions', tag: 'custom-auth', summary: 'List topic permissions of custom identities', ram: 'mq:QueryCustomAuthPermission', resource: instance, params: instanceParams,
    querystring: obj({ identity: str(), identityType: { type: 'string', enum: ['USER', 'CLIENT'] }, topic: str(), ...pageQuery }),
    handle(req, m) {
      const query = q(req);
      const items = m.queryPermissions(p(req)['instanceId']!, { ...opt('identity', query['identity'] as string | undefined), ...opt('identityType', query['identityType'] as IdentityType | undefined), ...opt('topic', query['topic'] as string | undefined) });
      return paged(items, (x) => `${x.IdentityType}\u0000${x.Identity}\u0000${x.Topic}`, page(req));
    },
  },
  ...(['POST', 'PUT'] as const).map(
    (method): RouteDef => ({
      method, url: '/instances/:instanceId/permissions', tag: 'custom-auth', summary: method === 'POST' ? 'Add a topic permission' : 'Update a topic permission', ram: method === 'POST' ? 'mq:AddCustomAuthPermission' : 'mq:UpdateCustomAuthPermission', resource: instance, params: instanceParams, status: method === 'POST' ? 201 : 200,
      body: obj({ identity: str({ minLength: 1, maxLength: 128 }), identityType: { type: 'string', enum: ['USER', 'CLIENT'] }, topic: str({ minLength: 1 }), permitAction: { type: 'string', enum: ['PUB', 'SUB', 'PUB_SUB'] }, effect: { type: 'string', enum: ['ALLOW', 'DENY'] } }, ['identity', 'identityType', 'topic', 'permitAction', 'effect']),
      async handle(req, m) {
        const body = b(req);
        await m.putPermission(p(req)['instanceId']!, { Identity: body['identity'] as string, IdentityType: body['identityType'] as IdentityType, Topic: body['topic'] as string, PermitAction: body['permitAction'] as PermitAction, Effect: body['effect'] as PermissionEffect }, method === 'POST' ? 'add' : 'update');
        return { ok: true };
      },
    }),
  ),
  {
    method: 'DELETE', url: '/instances/:instanceId/permissions', tag: 'custom-auth', summary: 'Delete a topic permission', ram: 'mq:DeleteCustomAuthPermission', resource: instance, params: instanceParams, status: 204,
    querystring: obj({ identity: str({ minLength: 1 }), identityType: { type: 'string', enum: ['USER', 'CLIENT'] }, topic: str({ minLength: 1 }) }, ['identity', 'identityType', 'topic']),
    handle: (req, m) => m.deletePermission(p(req)['instanceId']!, q(req)['identity'] as string, q(req)['identityType'] as IdentityType, q(req)['topic'] as string),
  },
  {
    method: 'GET', url: '/instances/:instanceId/blacklist', tag: 'custom-auth', summary: 'List blacklisted client ids', ram: 'mq:QueryCustomAuthConnectBlack', resource: instance, params: instanceParams,
    querystring: obj({ clientId: str(), ...pageQuery }),
    handle: (req, m) => paged(m.blacklistQuery(p(req)['instanceId']!, q(req)['clientId'] as string | undefined), (e) => e.ClientId, page(req)),
  },
  { method: 'PUT', url: '/instances/:instanceId/blacklist/:clientId', tag: 'custom-auth', summary: 'Blacklist a client id (a connected client is cut)', ram: 'mq:AddCustomAuthConnectBlack', resource: instance, status: 204, params: withInstance({ clientId: str({ minLength: 1 }) }, ['clientId']), handle: (req, m) => m.blacklistAdd(p(req)['instanceId']!, p(req)['clientId']!) },
  { method: 'DELETE', url: '/instances/:instanceId/blacklist/:clientId', tag: 'custom-auth', summary: 'Remove a client id from the blacklist', ram: 'mq:DeleteCustomAuthConnectBlack', resource: instance, status: 204, params: withInstance({ clientId: str({ minLength: 1 }) }, ['clientId']), handle: (req, m) => m.blacklistDelete(p(req)['instanceId']!, p(req)['clientId']!) },

  // Clients, subscriptions, retained messages, publishing.
  {
    method: 'GET', url: '/instances/:instanceId/clients', tag: 'clients', summary: 'List clients: connected ones and waiting persistent sessions', ram: 'mq:QuerySessionByClientId', resource: instance, params: instanceParams,
    querystring: obj({ connected: bool(), prefix: str(), username: str(), ...pageQuery }),
    handle(req, m) {
      const query = q(req);
      return m.listClients(p(req)['instanceId']!, { ...opt('connected', query['connected'] as boolean | undefined), ...opt('prefix', query['prefix'] as string | undefined), ...opt('username', query['username'] as string | undefined) }, page(req));
    },
  },
  { method: 'GET', url: '/instances/:instanceId/clients/:clientId', tag: 'clients', summary: 'Inspect a client: connection, session, subscriptions', ram: 'mq:QuerySessionByClientId', resource: instance, params: withInstance({ clientId: str() }, ['clientId']), handle: (req, m) => m.getClient(p(req)['instanceId']!, p(req)['clientId']!) },
  {
    method: 'POST', url: '/instances/:instanceId/clients/:clientId/kick', tag: 'clients', summary: 'Close a client\'s connection (MQTT 5: DISCONNECT 0x98)', ram: 'mq:CloseConnection', resource: instance, params: withInstance({ clientId: str() }, ['clientId']),
    handle(req, m) {
      if (!m.kick(p(req)['instanceId']!, p(req)['clientId']!)) throw new FacadeError('ClientNotFound', `client ${p(req)['clientId']!} is not connected`, 'params.clientId');
      return { kicked: true };
    },
  },
  {
    method: 'DELETE', url: '/instances/:instanceId/clients/:clientId/session', tag: 'clients', summary: 'Clear the session of a disconnected client (subscriptions, queued messages); 409 ClientConnected while it is connected', ram: 'mq:DeleteSession', resource: instance, status: 204,
    params: withInstance({ clientId: str() }, ['clientId']),
    handle: (req, m) => m.clearSession(p(req)['instanceId']!, p(req)['clientId']!),
  },
  {
    method: 'GET', url: '/instances/:instanceId/subscriptions', tag: 'clients', summary: 'List subscriptions', ram: 'mq:QuerySubscription', resource: instance, params: instanceParams,
    querystring: obj({ clientId: str(), topicFilter: str(), ...pageQuery }),
    handle: (req, m) => m.listSubscriptions(p(req)['instanceId']!, { ...opt('clientId', q(req)['clientId'] as string | undefined), ...opt('topicFilter', q(req)['topicFilter'] as string | undefined) }, page(req)),
  },
  {
    method: 'GET', url: '/instances/:instanceId/retained', tag: 'retained', summary: 'List retained messages matching a filter (payloads base64)', ram: 'mq:QueryRetained', resource: instance, params: instanceParams,
    querystring: obj({ filter: str({ default: '#' }), ...pageQuery }),
    handle(req, m) {
      const out = m.listRetained(p(req)['instanceId']!, q(req)['filter'] as string, page(req));
      return { ...out, items: out.items.map(retainedJson) };
    },
  },
  { method: 'GET', url: '/instances/:instanceId/retained/*', tag: 'retained', summary: 'Get the retained message of a topic (the rest of the path)', ram: 'mq:QueryRetained', resource: instance, handle: (req, m) => retainedJson(m.getRetained(p(req)['instanceId']!, p(req)['*']!)) },
  {
    method: 'DELETE', url: '/instances/:instanceId/retained/*', tag: 'retained', summary: 'Delete the retained message of a topic (nothing is published)', ram: 'mq:DeleteRetained', resource: instance, status: 204,
    handle: (req, m) => m.deleteRetained(p(req)['instanceId']!, p(req)['*']!),
  },
  {
    method: 'POST', url: '/instances/:instanceId/messages', tag: 'messages', summary: 'Publish a message from a backend', ram: 'mq:PUB',
    resource: (req) => ({ type: 'topic', instanceId: p(req)['instanceId']!, topic: String(b(req)['topic'] ?? '') }),
    params: instanceParams,
    body: obj(
      {
        topic: str({ minLength: 1 }),
        payload: str(),
        payloadEncoding: { type: 'string', enum: ['utf8', 'base64'], default: 'utf8' },
        qos: { type: 'integer', enum: [0, 1, 2], default: 1 },
        retain: bool({ default: false }),
        messageExpiryInterval: int(0, 0xffffffff),
        properties: obj({
          payloadFormatIndicator: { type: 'integer', enum: [0, 1] },
          contentType: str(),
          responseTopic: str({ minLength: 1 }),
          correlationData: str({ description: 'base64' }),
          userProperties: { oneOf: [{ type: 'object', additionalProperties: str() }, { type: 'array', items: { type: 'array', items: str(), minItems: 2, maxItems: 2 } }] },
        }),
      },
      ['topic', 'payload'],
    ),
    async handle(req, m) {
      const body = b(req);
      const msgId = await m.publish(
        p(req)['instanceId']!,
        {
          topic: body['topic'] as string,
          payload: decodePayload(body),
          qos: body['qos'] as QoS,
          retain: body['retain'] as boolean,
          ...opt('properties', propertiesFrom(body)),
          ...opt('messageExpiryInterval', body['messageExpiryInterval'] as number | undefined),
        },
        { topic: 'body.topic', payload: 'body.payload' },
      );
      return { msgId };
    },
  },

  // Traces.
  ...(
    [
      ['/instances/:instanceId/traces/devices/:clientId', 'Connect/close/disconnect events of a client', 'mq:QueryMqttTraceDevice', 'device'],
      ['/instances/:instanceId/traces/clients/:clientId/messages', 'Messages a client sent or received', 'mq:QueryMqttTraceMessageOfClient', 'client'],
    ] as const
  ).map(
    ([url, summary, ram, kind]): RouteDef => ({
      method: 'GET', url, tag: 'traces', summary, ram, resource: instance,
      params: withInstance({ clientId: str() }, ['clientId']),
      querystring: obj({ beginTime: int(0, Number.MAX_SAFE_INTEGER), endTime: int(0, Number.MAX_SAFE_INTEGER), page: int(1, 1_000_000, { default: 1 }), pageSize: int(1, 100, { default: 20 }), reverse: bool({ default: false }) }, ['beginTime', 'endTime']),
      async handle(req, m) {
        const query = q(req);
        const args = { instanceId: p(req)['instanceId']!, clientId: p(req)['clientId']!, beginTime: query['beginTime'] as number, endTime: query['endTime'] as number, currentPage: query['page'] as number, pageSize: query['pageSize'] as number, reverse: query['reverse'] as boolean };
        const out = kind === 'device' ? await m.traces.deviceEvents(args) : await m.traces.messagesOfClient(args);
        return { items: out.items, total: out.total, page: args.currentPage, pageSize: args.pageSize };
      },
    }),
  ),
  {
    method: 'GET', url: '/instances/:instanceId/traces/messages/:msgId', tag: 'traces', summary: 'How a message came in, and who it was delivered to', ram: 'mq:QueryMqttTraceMessagePublish', resource: instance,
    params: withInstance({ msgId: str({ pattern: '^[0-9A-Fa-f]{32}$' }) }, ['msgId']),
    querystring: obj({ beginTime: int(0, Number.MAX_SAFE_INTEGER), endTime: int(0, Number.MAX_SAFE_INTEGER), clientId: str(), page: int(1, 1_000_000, { default: 1 }), pageSize: int(1, 100, { default: 20 }), reverse: bool({ default: false }) }, ['beginTime', 'endTime']),
    async handle(req, m) {
      const query = q(req);
      const range = { instanceId: p(req)['instanceId']!, msgId: p(req)['msgId']!, beginTime: query['beginTime'] as number, endTime: query['endTime'] as number };
      const published = await m.traces.messagePublish(range);
      const delivered = await m.traces.messageSubscribe({ ...range, currentPage: query['page'] as number, pageSize: query['pageSize'] as number, reverse: query['reverse'] as boolean, ...opt('clientId', query['clientId'] as string | undefined) });
      return { published, deliveries: { items: delivered.items, total: delivered.total } };
    },
  },
];

function list<T>(items: T[]): { items: T[]; total: number; next: null } {
  return { items, total: items.length, next: null };
}

function paged<T>(items: T[], key: (item: T) => string, query: PageQuery): { items: T[]; total: number; next: string | null } {
  const sorted = [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const limit = query.limit ?? 100;
  let start = 0;
  if (query.cursor !== undefined) {
    const after = Buffer.from(query.cursor, 'base64url').toString('utf8');
    start = sorted.findIndex((x) => key(x) > after);
    if (start < 0) start = sorted.length;
  }
  const out = sorted.slice(start, start + limit);
  const next = start + limit < sorted.length && out.length > 0 ? Buffer.from(key(out[out.length - 1]!), 'utf8').toString('base64url') : null;
  return { items: out, total: sorted.length, next };
}

export function registerRoutes(app: FastifyInstance, ctx: RestContext): void {
  const { management } = ctx;
  for (const def of [...ROUTES, ...RULE_ROUTES]) {
    app.route({
      method: def.method,
      url: def.url,
      schema: {
        tags: [def.tag],
        summary: def.summary,
        description: `Needs ${def.ram}.`,
        ...(def.params === undefined ? {} : { params: def.params }),
        ...(def.querystring === undefined ? {} : { querystring: def.querystring }),
        ...(def.body === undefined ? {} : { body: def.body }),
      },
      handler: async (request, reply) => {
        const accessKeyId = request.ferryAccessKeyId!;
        const resource = def.resource(request);
        if (resource !== null) management.authorize(accessKeyId, def.ram, resource);
        const result = await def.handle(request, management, accessKeyId);
        if (def.status === 204) return reply.code(204).send();
        return reply.code(def.status ?? 200).send(result ?? { ok: true });
      },
    });
  }

  // Live numbers of an instance: the /metrics series of this instance (console charts).
  app.route({
    method: 'GET',
    url: '/instances/:instanceId/stats',
    schema: {
      tags: ['instances'],
      summary: 'The instance\'s series from /metrics (ferry_instance_* without the prefix): gauges as numbers, counters as running totals, labelled series as objects',
      description: 'Needs mq:QueryMqttInstanceStats.',
      params: instanceParams,
    },
    handler: async (request) => {
      const instanceId = p(request)['instanceId']!;
      management.authorize(request.ferryAccessKeyId!, 'mq:QueryMqttInstanceStats', { type: 'instance', instanceId });
      management.requireInstance(instanceId);
      if (ctx.stats === undefined) throw new FacadeError('NotImplemented', 'metrics are not running in this Ferry');
      return { instanceId, at: Date.now(), series: await ctx.stats(instanceId) };
    },
  });

  // The nodes of a cluster (docs/cluster.md); a single node answers {enabled:false}.
  const nodeSchema = obj({
    nodeId: str(), self: bool(), healthy: bool(), clients: int(0, Number.MAX_SAFE_INTEGER), sessions: int(0, Number.MAX_SAFE_INTEGER),
    subscriptions: int(0, Number.MAX_SAFE_INTEGER), startedAt: str(), lastSeen: str(),
  });
  app.route({
    method: 'GET',
    url: '/cluster',
    schema: {
      tags: ['cluster'],
      summary: 'Cluster status: this node, its connection to NATS, every live node with its clients and health',
      description: 'Needs mq:QueryMqttInstanceStats on every instance (*). enabled is false on a single node (clusterNats unset).',
      response: {
        200: obj({
          enabled: bool(),
          nodeId: str(),
          connected: bool(),
          server: str(),
          problem: str({ description: 'why this node is not fully part of the cluster now (absent when it is)' }),
          nodes: { type: 'array', items: nodeSchema },
          routing: obj({ sent: int(0, Number.MAX_SAFE_INTEGER), received: int(0, Number.MAX_SAFE_INTEGER), duplicates: int(0, Number.MAX_SAFE_INTEGER), acksRefused: int(0, Number.MAX_SAFE_INTEGER), unreadable: int(0, Number.MAX_SAFE_INTEGER) }),
          fencing: obj({
            incarnation: int(0, Number.MAX_SAFE_INTEGER, { description: "this node's incarnation in presence: new at each start and each fencing" }),
            fencings: int(0, Number.MAX_SAFE_INTEGER, { description: 'times this node learned the others counted it as gone and ended its clients\' sessions' }),
            clientsEnded: int(0, Number.MAX_SAFE_INTEGER, { description: 'client connections ended by those fencings' }),
          }),
        }, ['enabled']),
      },
    },
    handler: async (request) => {
      management.authorize(request.ferryAccessKeyId!, 'mq:QueryMqttInstanceStats', ALL_INSTANCES);
      return ctx.cluster?.() ?? { enabled: false };
    },
  });

  // What the caller may do on an instance (the console shows only the controls that would work).
  const ACTIONS = [...new Set([...ROUTES.map((r) => r.ram), ...RULE_ROUTES.map((r) => r.ram), 'mq:QueryMqttInstanceStats'])].sort();
  // Rule actions name the rule resource (any rule of the instance); the rest the instance or its topics.
  const RULE_ACTIONS = new Set(RULE_ROUTES.filter((r) => r.tag === 'rules').map((r) => r.ram));
  const resourceOf = (action: string, instanceId: string): PolicyResource =>
    action === 'mq:PUB' ? { type: 'topic', instanceId, topic: '#' } : RULE_ACTIONS.has(action) ? { type: 'rule', instanceId, ruleId: '*' } : { type: 'instance', instanceId };
  app.route({
    method: 'GET',
    url: '/auth/permissions',
    schema: {
      tags: ['auth'],
      summary: 'The API actions the caller\'s policies allow on an instance (mq:PUB for its topics as a whole; each call is still checked)',
      querystring: obj({ instanceId: str({ minLength: 1, maxLength: 64 }) }, ['instanceId']),
    },
    handler: async (request) => {
      const instanceId = q(request)['instanceId'] as string;
      const accessKeyId = request.ferryAccessKeyId!;
      const policy = management.policyOf(accessKeyId);
      const allowed = ACTIONS.filter((action) => policy?.allows(action, resourceOf(action, instanceId)) === true);
      return { accessKeyId, instanceId, allowed };
    },
  });

  // Bearer tokens for people and the CLI.
  app.route({
    method: 'POST',
    url: '/auth/token',
    config: { public: true },
    schema: {
      tags: ['auth'],
      summary: 'Get a short-lived bearer token: sign this request, or send accessKeyId and accessKeySecret',
      body: obj({ accessKeyId: str(), accessKeySecret: str(), ttlSeconds: int(60, 12 * 3600, { default: 3600 }) }),
    },
    handler: async (request, reply) => {
      const body = b(request);
      let accessKeyId: string;
      if (typeof body['accessKeyId'] === 'string' && typeof body['accessKeySecret'] === 'string') {
        accessKeyId = body['accessKeyId'];
        const secret = management.accessKeys.secret(accessKeyId);
        if (secret === undefined || management.policyOf(accessKeyId) === undefined || !safeEqual(body['accessKeySecret'], secret)) {
          return reply.code(httpStatus('InvalidAccessKeyId')).send({ error: { code: 'InvalidAccessKeyId', message: 'unknown or disabled AccessKey, or wrong secret' } });
        }
      } else {
        accessKeyId = await authenticate(request, management, ctx.nonces, ctx.bearer, Date.now());
      }
      const issued = ctx.bearer.issue(accessKeyId, body['ttlSeconds'] as number);
      if (issued === null) {
        ctx.limitHits?.hit('api_token_quota');
        return reply.code(httpStatus('Throttled')).send({ error: { code: 'Throttled', message: `this AccessKey already holds ${ctx.bearer.perKey} live bearer tokens; revoke some (DELETE /api/v1/auth/token) or wait for them to expire` } });
      }
      await ctx.bearer.whenShared(); // cluster mode: usable on every node once answered
      return reply.code(201).send({ token: issued.token, tokenType: 'Bearer', expiresAt: issued.expiresAt, accessKeyId });
    },
  });
  app.route({
    method: 'DELETE',
    url: '/auth/token',
    schema: { tags: ['auth'], summary: 'Revoke the bearer token of this request' },
    handler: async (request, reply) => {
      const header = request.headers.authorization ?? '';
      if (header.startsWith('Bearer ')) ctx.bearer.revoke(header.slice(7).trim());
      await ctx.bearer.whenShared(); // cluster mode: refused on every node once answered
      return reply.code(204).send();
    },
  });
  app.route({
    method: 'GET',
    url: '/auth/whoami',
    schema: { tags: ['auth'], summary: 'The AccessKey behind this request' },
    handler: async (request) => management.getAccessKey(request.ferryAccessKeyId!),
  });
}
