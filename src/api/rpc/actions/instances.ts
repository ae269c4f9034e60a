/** ListInstances and the tag actions (2020-04-20). */
import type { PolicyResource } from '../../../auth/policy.js';
import type { TaggedResourceType } from '../../../management/tags.js';
import type { InstanceView } from '../../../management/management.js';
import { V2020, ok, type RpcAction } from '../action.js';
import { RpcError } from '../errors.js';
import { invalidParam, type RpcParams } from '../params.js';
import { tagsParam } from '../tags.js';

/** Fixed values for fields that describe a cloud purchase, not a self-hosted instance (docs/api.md). */
function instanceFields(i: InstanceView): Record<string, unknown> {
  return {
    InstanceId: i.instanceId,
    InstanceName: i.name,
    CreateTime: i.createdAt,
    ExpireTime: 4102444800000, // 2100-01-01: never expires
    InstanceStatus: 2, // running
    InstanceType: i.mode === 'strict' ? 2 : 3,
    KernelVersion: 'V3.3.0',
    MqttTags: i.tags.map((t) => ({ TagKey: t.key, TagValue: t.value })),
    OrderId: '',
    RegionId: 'local',
    Specific: `ferry.${i.mode}`,
  };
}

/** ResourceType `instance` (the managed service's one); Ferry also accepts `group` with InstanceId. */
function resourceType(p: RpcParams): { type: TaggedResourceType; instanceId: string | null } {
  const type = p.required('ResourceType').toLowerCase();
  if (type === 'instance') return { type: 'instance', instanceId: null };
  if (type === 'group' || type === 'groupid') return { type: 'group', instanceId: p.required('InstanceId') };
  throw invalidParam('ResourceType', 'must be instance (or group)');
}

/** The resources a tag call touches: each instance, or each Group ID of the instance. */
function tagTargets(p: RpcParams): PolicyResource[] {
  const { type, instanceId } = resourceType(p);
  const ids = p.list('ResourceId');
  // Listing every instance's tags needs the action on every instance (`instance/*`).
  if (type === 'instance') return ids.length === 0 ? [{ type: 'instance', instanceId: '*' }] : ids.map((id) => ({ type: 'instance', instanceId: id }));
  return ids.length === 0 ? [{ type: 'instance', instanceId: instanceId! }] : ids.map((id) => ({ type: 'groupId', instanceId: instanceId!, groupId: id }));
}

export const instanceActions: RpcAction[] = [
  {
    name: 'ListInstances',
    versions: V2020,
    ram: 'mq:ListMqttInstance',
    resource: () => null,
    handle(ctx, p) {
      const policy = ctx.management.policyOf(ctx.accessKeyId);
      const Instances = ctx.management
        .listInstances(tagsParam(p, 'Tags'))
        .filter((i) => policy?.allows('mq:ListMqttInstance', { type: 'instance', instanceId: i.instanceId }) === true)
        .map(instanceFields);
      return { ...ok(), Instances };
    },
  },
  {
    name: 'TagResources',
    versions: V2020,
    ram: 'mq:TagResources',
    resource: tagTargets,
    async handle(ctx, p) {
      const { type, instanceId } = resourceType(p);
      const ids = p.list('ResourceId');
      if (ids.length === 0) throw RpcError.of('MissingParameter', 'ResourceId');
      const tags = tagsParam(p, 'Tag');
      if (tags.length === 0) throw RpcError.of('MissingParameter', 'Tag');
      await ctx.management.tagResources(type, instanceId, ids, tags);
      return { Data: true };
    },
  },
  {
    name: 'UntagResources',
    versions: V2020,
    ram: 'mq:UntagResources',
    resource: tagTargets,
    async handle(ctx, p) {
      const { type, instanceId } = resourceType(p);
      const ids = p.list('ResourceId');
      if (ids.length === 0) throw RpcError.of('MissingParameter', 'ResourceId');
      const keys = p.list('TagKey');
      const all = p.bool('All', false);
      if (!all && keys.length === 0) throw RpcError.of('MissingParameter', 'TagKey');
      await ctx.management.untagResources(type, instanceId, ids, keys, all);
      return { Data: true };
    },
  },
  {
    name: 'ListTagResources',
    versions: V2020,
    ram: 'mq:ListTagResources',
    resource: tagTargets,
    handle(ctx, p) {
      const { type, instanceId } = resourceType(p);
      const pairs = ctx.management.listTagResources(type, instanceId, p.list('ResourceId'), tagsParam(p, 'Tag'));
      // NextToken is an offset into the full list; pages of 50.
      const start = p.optional('NextToken') === undefined ? 0 : Number.parseInt(p.optional('NextToken')!, 10);
      if (!Number.isInteger(start) || start < 0) throw invalidParam('NextToken', 'not a token this endpoint issued');
      const page = pairs.slice(start, start + 50);
      const next = start + 50 < pairs.length ? String(start + 50) : '';
      return {
        TagResources: page.map((x) => ({ ResourceId: x.resourceId, ResourceType: type, TagKey: x.tag.key, TagValue: x.tag.value })),
        NextToken: next,
      };
    },
  },
];
