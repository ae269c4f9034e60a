/** ApplyToken, QueryToken, RevokeToken, CreateGroupId, DeleteGroupId, ListGroupId (both versions). */
import { BOTH, onInstance, type RpcAction } from '../action.js';
import { invalidParam } from '../params.js';
import { tagsParam } from '../tags.js';

export const tokenActions: RpcAction[] = [
  {
    name: 'ApplyToken',
    versions: BOTH,
    ram: 'mq:ApplyToken',
    resource: onInstance,
    handle(ctx, p) {
      const expireTime = Number(p.required('ExpireTime'));
      if (!Number.isSafeInteger(expireTime)) throw invalidParam('ExpireTime', 'must be a time in ms since the epoch');
      const { token } = ctx.management.applyToken({
        instanceId: p.required('InstanceId'),
        accessKeyId: ctx.accessKeyId,
        resources: p.required('Resources'),
        actions: p.required('Actions'),
        expireTime,
      });
      return { Token: token };
    },
  },
  {
    name: 'QueryToken',
    versions: BOTH,
    ram: 'mq:QueryToken',
    resource: onInstance,
    handle: (ctx, p) => ({ TokenStatus: ctx.management.queryToken(p.required('InstanceId'), p.required('Token')) }),
  },
  {
    name: 'RevokeToken',
    versions: BOTH,
    ram: 'mq:RevokeToken',
    resource: onInstance,
    async handle(ctx, p) {
      await ctx.management.revokeToken(p.required('InstanceId'), p.required('Token'));
      return {};
    },
  },
];

export const groupActions: RpcAction[] = [
  {
    name: 'CreateGroupId',
    versions: BOTH,
    ram: 'mq:CreateMqttGroupId',
    resource: (p) => ({ type: 'groupId', instanceId: p.required('InstanceId'), groupId: p.required('GroupId') }),
    async handle(ctx, p) {
      const tags = tagsParam(p, 'Tags');
      await ctx.management.createGroup(p.required('InstanceId'), p.required('GroupId'), tags);
      return {};
    },
  },
  {
    name: 'DeleteGroupId',
    versions: BOTH,
    ram: 'mq:DeleteMqttGroupId',
    resource: (p) => ({ type: 'groupId', instanceId: p.required('InstanceId'), groupId: p.required('GroupId') }),
    async handle(ctx, p) {
      await ctx.management.deleteGroup(p.required('InstanceId'), p.required('GroupId'));
      return {};
    },
  },
  {
    name: 'ListGroupId',
    versions: BOTH,
    ram: 'mq:ListMqttGroupId',
    resource: onInstance,
    handle(ctx, p) {
      const instanceId = p.required('InstanceId');
      const filter = tagsParam(p, 'Tags');
      const Data = ctx.management.listGroups(instanceId, filter).map((g) => ({
        GroupId: g.groupId,
        InstanceId: instanceId,
        CreateTime: g.createdAt,
        UpdateTime: g.updatedAt,
        // Names are unique per instance in Ferry (every instance has its own namespace).
        IndependentNaming: true,
        ...(ctx.version === '2020-04-20' ? { Tags: g.tags.map((t) => ({ TagKey: t.key, TagValue: t.value })) } : {}),
      }));
      return { Data };
    },
  },
];
