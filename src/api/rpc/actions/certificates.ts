/**
 * CA and device certificates, SNI and disaster recovery (2020-04-20; reference §3.5, §4.2). The
 * certificate actions name the instance `MqttInstanceId`; Status, ValidBegin and ValidEnd are
 * strings and PageNo, PageSize, Total numbers, as the SDK models declare them. `Total` is the
 * number of pages, as the SDK documents it ("maximum number of pages in the query result").
 */
import type { PolicyResource } from '../../../auth/policy.js';
import type { CertificatePage } from '../../../x509/registry.js';
import { V2020, ok, type RpcAction } from '../action.js';
import type { RpcParams } from '../params.js';

function onMqttInstance(p: RpcParams): PolicyResource {
  return { type: 'instance', instanceId: p.required('MqttInstanceId') };
}

function pageOf<T>(page: CertificatePage<T>, listName: string): Record<string, unknown> {
  return { Data: { [listName]: page.items, PageNo: page.pageNo, PageSize: page.pageSize, Total: Math.ceil(page.count / page.pageSize) } };
}

const pageNo = (p: RpcParams): number => p.int('PageNo', 1, 1_000_000);
const pageSize = (p: RpcParams): number => p.int('PageSize', 1, 100);

function caStatusAction(name: string, status: 0 | 1): RpcAction {
  return {
    name,
    versions: V2020,
    ram: `mq:${name}`,
    resource: onMqttInstance,
    handle: async (ctx, p) => ({ Sn: await ctx.management.setCaCertificateStatus(p.required('MqttInstanceId'), p.required('Sn'), status) }),
  };
}

function deviceStatusAction(name: string, status: 0 | 1): RpcAction {
  return {
    name,
    versions: V2020,
    ram: `mq:${name}`,
    resource: onMqttInstance,
    handle: async (ctx, p) => ({
      DeviceSn: await ctx.management.setDeviceCertificateStatus(p.required('MqttInstanceId'), p.required('CaSn'), p.required('DeviceSn'), status),
    }),
  };
}

export const certificateActions: RpcAction[] = [
  {
    name: 'GetRegisterCode',
    versions: V2020,
    ram: 'mq:GetRegisterCode',
    resource: onMqttInstance,
    handle: async (ctx, p) => ({ RegisterCode: await ctx.management.getRegisterCode(p.required('MqttInstanceId')) }),
  },
  {
    name: 'RegisterCaCertificate',
    versions: V2020,
    ram: 'mq:RegisterCaCertificate',
    resource: onMqttInstance,
    handle: async (ctx, p) => ({
      Sn: await ctx.management.registerCaCertificate(p.required('MqttInstanceId'), p.required('CaName'), p.required('CaContent'), p.required('VerificationContent')),
    }),
  },
  {
    name: 'GetCaCertificate',
    versions: V2020,
    ram: 'mq:GetCaCertificate',
    resource: onMqttInstance,
    handle: (ctx, p) => ({ Data: ctx.management.getCaCertificate(p.required('MqttInstanceId'), p.required('Sn')) }),
  },
  {
    name: 'ListCaCertificate',
    versions: V2020,
    ram: 'mq:ListCaCertificate',
    resource: onMqttInstance,
    handle: (ctx, p) => pageOf(ctx.management.listCaCertificates(p.required('MqttInstanceId'), pageNo(p), pageSize(p)), 'CaCertificateVOS'),
  },
  caStatusAction('ActiveCaCertificate', 1),
  caStatusAction('InactivateCaCertificate', 0),
  {
    name: 'DeleteCaCertificate',
    versions: V2020,
    ram: 'mq:DeleteCaCertificate',
    resource: onMqttInstance,
    handle: async (ctx, p) => ({ Sn: await ctx.management.deleteCaCertificate(p.required('MqttInstanceId'), p.required('Sn')) }),
  },
  {
    name: 'GetDeviceCertificate',
    versions: V2020,
    ram: 'mq:GetDeviceCertificate',
    resource: onMqttInstance,
    handle: async (ctx, p) => ({ Data: await ctx.management.getDeviceCertificate(p.required('MqttInstanceId'), p.required('CaSn'), p.required('DeviceSn')) }),
  },
  {
    name: 'ListDeviceCertificate',
    versions: V2020,
    ram: 'mq:ListDeviceCertificate',
    resource: onMqttInstance,
    handle: async (ctx, p) => pageOf(await ctx.management.listDeviceCertificates(p.required('MqttInstanceId'), undefined, pageNo(p), pageSize(p)), 'DeviceCertificateVOS'),
  },
  {
    name: 'ListDeviceCertificateByCaSn',
    versions: V2020,
    ram: 'mq:ListDeviceCertificateByCaSn',
    resource: onMqttInstance,
    handle: async (ctx, p) => pageOf(await ctx.management.listDeviceCertificates(p.required('MqttInstanceId'), p.required('CaSn'), pageNo(p), pageSize(p)), 'DeviceCertificateVOS'),
  },
  deviceStatusAction('ActiveDeviceCertificate', 1),
  deviceStatusAction('InactivateDeviceCertificate', 0),
  {
    name: 'DeleteDeviceCertificate',
    versions: V2020,
    ram: 'mq:DeleteDeviceCertificate',
    resource: onMqttInstance,
    handle: async (ctx, p) => ({
      DeviceSn: await ctx.management.deleteDeviceCertificate(p.required('MqttInstanceId'), p.required('CaSn'), p.required('DeviceSn')),
    }),
  },
  {
    name: 'SetSniConfig',
    versions: V2020,
    ram: 'mq:SetSniConfig',
    resource: onMqttInstance,
    async handle(ctx, p) {
      await ctx.management.setSniConfig(p.required('MqttInstanceId'), p.required('DefaultCertificate'), p.optional('SniConfig'));
      return { Success: true };
    },
  },
  {
    name: 'DisasterDowngrade',
    versions: V2020,
    ram: 'mq:DisasterDowngrade',
    resource: (p) => ({ type: 'instance', instanceId: p.required('InstanceId') }),
    handle(ctx, p) {
      ctx.management.disaster(p.required('InstanceId'), p.required('DowngradeInstanceId'), 'downgrade');
      return ok();
    },
  },
  {
    name: 'DisasterRecovery',
    versions: V2020,
    ram: 'mq:DisasterRecovery',
    resource: (p) => ({ type: 'instance', instanceId: p.required('InstanceId') }),
    handle(ctx, p) {
      ctx.management.disaster(p.required('InstanceId'), p.required('RecoveryInstanceId'), 'recovery');
      return ok();
    },
  },
];
