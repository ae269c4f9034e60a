/** QuerySessionByClientId, BatchQuerySessionByClientIds (both versions), CloseConnection (2020-04-20). */
import { BOTH, V2020, ok, onInstance, type RpcAction } from '../action.js';
import { RpcError } from '../errors.js';
import { invalidParam } from '../params.js';

const MAX_BATCH_CLIENT_IDS = 10;

export const sessionActions: RpcAction[] = [
  {
    name: 'QuerySessionByClientId',
    versions: BOTH,
    ram: 'mq:QuerySessionByClientId',
    resource: onInstance,
    handle: (ctx, p) => ({ OnlineStatus: ctx.management.isOnline(p.required('InstanceId'), p.required('ClientId')) }),
  },
  {
    name: 'BatchQuerySessionByClientIds',
    versions: BOTH,
    ram: 'mq:BatchQuerySessionByClientIds',
    resource: onInstance,
    handle(ctx, p) {
      const instanceId = p.required('InstanceId');
      const ids = p.list('ClientIdList');
      if (ids.length === 0) throw RpcError.of('MissingParameter', 'ClientIdList');
      if (ids.length > MAX_BATCH_CLIENT_IDS) throw invalidParam('ClientIdList', `at most ${MAX_BATCH_CLIENT_IDS} client ids`);
      return { OnlineStatusList: ids.map((ClientId) => ({ ClientId, OnlineStatus: ctx.management.isOnline(instanceId, ClientId) })) };
    },
  },
  {
    name: 'CloseConnection',
    versions: V2020,
    ram: 'mq:CloseConnection',
    resource: onInstance,
    handle(ctx, p) {
      // Closing a client that is not connected succeeds too: the caller's goal (no connection) holds.
      ctx.management.kick(p.required('InstanceId'), p.required('ClientId'));
      return ok();
    },
  },
];
