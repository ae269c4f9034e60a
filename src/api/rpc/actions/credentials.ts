/** Device credentials (2020-04-20). */
import { V2020, onInstance, type RpcAction } from '../action.js';

export const credentialActions: RpcAction[] = [
  {
    name: 'RegisterDeviceCredential',
    versions: V2020,
    ram: 'mq:RegisterDeviceCredential',
    resource: onInstance,
    handle: async (ctx, p) => ({ DeviceCredential: await ctx.management.registerCredential(p.required('InstanceId'), p.required('ClientId')) }),
  },
  {
    name: 'GetDeviceCredential',
    versions: V2020,
    ram: 'mq:GetDeviceCredential',
    resource: onInstance,
    handle: async (ctx, p) => ({ DeviceCredential: await ctx.management.getCredential(p.required('InstanceId'), p.required('ClientId')) }),
  },
  {
    name: 'RefreshDeviceCredential',
    versions: V2020,
    ram: 'mq:RefreshDeviceCredential',
    resource: onInstance,
    handle: async (ctx, p) => ({ DeviceCredential: await ctx.management.refreshCredential(p.required('InstanceId'), p.required('ClientId')) }),
  },
  {
    name: 'UnRegisterDeviceCredential',
    versions: V2020,
    ram: 'mq:UnRegisterDeviceCredential',
    resource: onInstance,
    async handle(ctx, p) {
      await ctx.management.unregisterCredential(p.required('InstanceId'), p.required('ClientId'));
      return {};
    },
  },
  {
    name: 'ListDeviceCredentialClientId',
    versions: V2020,
    ram: 'mq:ListDeviceCredentialClientId',
    resource: onInstance,
    async handle(ctx, p) {
      const page = await ctx.management.listCredentialClientIds(
        p.required('InstanceId'),
        p.required('GroupId'),
        p.int('PageSize', 1, 100),
        p.optional('NextToken'),
        p.int('PageNo', 1, 1_000_000, 1),
      );
      // The SDK models declare PageNo, PageSize and Total as strings.
      return {
        DeviceCredentialClientIdList: {
          ClientIdList: page.ClientIdList,
          NextToken: page.NextToken ?? '',
          PageNo: String(page.PageNo),
          PageSize: String(page.PageSize),
          Total: String(page.Total),
        },
      };
    },
  },
];
