/** The four trace queries (2020-04-20); answered by src/observability through the facade. */
import { V2020, onInstance, type RpcAction } from '../action.js';
import { invalidParam, type RpcParams } from '../params.js';

function range(p: RpcParams): { instanceId: string; beginTime: number; endTime: number } {
  p.required('MqttRegionId'); // required by the managed service; Ferry has one region
  const instanceId = p.required('InstanceId');
  const beginTime = p.int('BeginTime', 0, Number.MAX_SAFE_INTEGER);
  const endTime = p.int('EndTime', 0, Number.MAX_SAFE_INTEGER);
  if (endTime < beginTime) throw invalidParam('EndTime', 'must not be before BeginTime');
  return { instanceId, beginTime, endTime };
}

function paging(p: RpcParams): { currentPage: number; pageSize: number; reverse: boolean } {
  return { currentPage: p.int('CurrentPage', 1, 1_000_000), pageSize: p.int('PageSize', 1, 100), reverse: p.bool('Reverse', false) };
}

export const traceActions: RpcAction[] = [
  {
    name: 'QueryMqttTraceDevice',
    versions: V2020,
    ram: 'mq:QueryMqttTraceDevice',
    resource: onInstance,
    async handle(ctx, p) {
      const q = { ...range(p), ...paging(p), clientId: p.required('ClientId') };
      const page = await ctx.management.traces.deviceEvents(q);
      return { CurrentPage: q.currentPage, PageSize: q.pageSize, Total: page.total, DeviceInfoList: page.items };
    },
  },
  {
    name: 'QueryMqttTraceMessageOfClient',
    versions: V2020,
    ram: 'mq:QueryMqttTraceMessageOfClient',
    resource: onInstance,
    async handle(ctx, p) {
      const q = { ...range(p), ...paging(p), clientId: p.required('ClientId') };
      const page = await ctx.management.traces.messagesOfClient(q);
      return { CurrentPage: q.currentPage, PageSize: q.pageSize, Total: page.total, MessageOfClientList: page.items };
    },
  },
  {
    name: 'QueryMqttTraceMessagePublish',
    versions: V2020,
    ram: 'mq:QueryMqttTraceMessagePublish',
    resource: onInstance,
    async handle(ctx, p) {
      const list = await ctx.management.traces.messagePublish({ ...range(p), msgId: p.required('MsgId') });
      return { MessageTraceLists: list };
    },
  },
  {
    name: 'QueryMqttTraceMessageSubscribe',
    versions: V2020,
    ram: 'mq:QueryMqttTraceMessageSubscribe',
    resource: onInstance,
    async handle(ctx, p) {
      const clientId = p.optional('ClientId');
      const q = { ...range(p), ...paging(p), msgId: p.required('MsgId'), ...(clientId === undefined ? {} : { clientId }) };
      const page = await ctx.management.traces.messageSubscribe(q);
      return { CurrentPage: q.currentPage, PageSize: q.pageSize, Total: page.total, MessageTraceLists: page.items };
    },
  },
];
