/** Custom authentication: identities, permissions and the connection blacklist (2020-04-20). */
import type { IdentityType, PermissionEffect, PermitAction, SignMode } from '../../../auth/custom-auth.js';
import { V2020, ok, onInstance, type RpcAction } from '../action.js';
import { invalidParam, type RpcParams } from '../params.js';

const IDENTITY_TYPES: readonly IdentityType[] = ['USER', 'CLIENT'];
const SIGN_MODES: readonly SignMode[] = ['ORIGIN', 'SIGNED'];
const PERMIT_ACTIONS: readonly PermitAction[] = ['PUB', 'SUB', 'PUB_SUB'];
const EFFECTS: readonly PermissionEffect[] = ['ALLOW', 'DENY'];

/**
 * `Size` (≤ 100) and `NextToken` over a sorted list: the token is the index of the next item
 * (opaque to callers). An empty NextToken means there is no more.
 */
function page<T>(p: RpcParams, items: T[]): { NextToken: string; Results: T[] } {
  const size = p.int('Size', 1, 100);
  const token = p.optional('NextToken');
  const start = token === undefined ? 0 : Number.parseInt(token, 10);
  if (!Number.isInteger(start) || start < 0) throw invalidParam('NextToken', 'not a token this endpoint issued');
  const results = items.slice(start, start + size);
  return { NextToken: start + size < items.length ? String(start + size) : '', Results: results };
}

function identityInput(p: RpcParams): { username: string; identityType: IdentityType; secret: string; signMode: SignMode; clientId?: string } {
  const clientId = p.optional('ClientId');
  return {
    username: p.required('Username'),
    identityType: p.oneOf('IdentityType', IDENTITY_TYPES, true),
    secret: p.required('Secret'),
    signMode: p.oneOf('SignMode', SIGN_MODES, true),
    ...(clientId === undefined ? {} : { clientId }),
  };
}

function permission(p: RpcParams): { Identity: string; IdentityType: IdentityType; Topic: string; PermitAction: PermitAction; Effect: PermissionEffect } {
  return {
    Identity: p.required('Identity'),
    IdentityType: p.oneOf('IdentityType', IDENTITY_TYPES, true),
    Topic: p.required('Topic'),
    PermitAction: p.oneOf('PermitAction', PERMIT_ACTIONS, true),
    Effect: p.oneOf('Effect', EFFECTS, true),
  };
}

function optionalFilter<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

export const customAuthActions: RpcAction[] = [
  {
    name: 'AddCustomAuthIdentity',
    versions: V2020,
    ram: 'mq:AddCustomAuthIdentity',
    resource: onInstance,
    async handle(ctx, p) {
      await ctx.management.putIdentity(p.required('InstanceId'), identityInput(p), 'add');
      return ok();
    },
  },
  {
    name: 'UpdateCustomAuthIdentity',
    versions: V2020,
    ram: 'mq:UpdateCustomAuthIdentity',
    resource: onInstance,
    async handle(ctx, p) {
      await ctx.management.putIdentity(p.required('InstanceId'), identityInput(p), 'update');
      return ok();
    },
  },
  {
    name: 'DeleteCustomAuthIdentity',
    versions: V2020,
    ram: 'mq:DeleteCustomAuthIdentity',
    resource: onInstance,
    async handle(ctx, p) {
      await ctx.management.deleteIdentity(p.required('InstanceId'), p.required('Username'), p.oneOf('IdentityType', IDENTITY_TYPES, true), p.optional('ClientId'));
      return ok();
    },
  },
  {
    name: 'QueryCustomAuthIdentity',
    versions: V2020,
    ram: 'mq:QueryCustomAuthIdentity',
    resource: onInstance,
    handle(ctx, p) {
      const identityType = p.oneOf('IdentityType', IDENTITY_TYPES, false);
      const list = ctx.management.queryIdentities(p.required('InstanceId'), {
        ...optionalFilter('username', p.optional('Username')),
        ...optionalFilter('clientId', p.optional('ClientId')),
        ...(identityType === undefined ? {} : { identityType }),
      });
      return { ...ok(), Data: page(p, list) };
    },
  },
  {
    name: 'AddCustomAuthPermission',
    versions: V2020,
    ram: 'mq:AddCustomAuthPermission',
    resource: onInstance,
    async handle(ctx, p) {
      await ctx.management.putPermission(p.required('InstanceId'), permission(p), 'add');
      return ok();
    },
  },
  {
    name: 'UpdateCustomAuthPermission',
    versions: V2020,
    ram: 'mq:UpdateCustomAuthPermission',
    resource: onInstance,
    async handle(ctx, p) {
      await ctx.management.putPermission(p.required('InstanceId'), permission(p), 'update');
      return ok();
    },
  },
  {
    name: 'DeleteCustomAuthPermission',
    versions: V2020,
    ram: 'mq:DeleteCustomAuthPermission',
    resource: onInstance,
    async handle(ctx, p) {
      await ctx.management.deletePermission(p.required('InstanceId'), p.required('Identity'), p.oneOf('IdentityType', IDENTITY_TYPES, true), p.required('Topic'));
      return ok();
    },
  },
  {
    name: 'QueryCustomAuthPermission',
    versions: V2020,
    ram: 'mq:QueryCustomAuthPermission',
    resource: onInstance,
    handle(ctx, p) {
      const identityType = p.oneOf('IdentityType', IDENTITY_TYPES, false);
      const list = ctx.management.queryPermissions(p.required('InstanceId'), {
        ...optionalFilter('identity', p.optional('Identity')),
        ...optionalFilter('topic', p.optional('Topic')),
        ...(identityType === undefined ? {} : { identityType }),
      });
      return { ...ok(), Data: page(p, list) };
    },
  },
  {
    name: 'AddCustomAuthConnectBlack',
    versions: V2020,
    ram: 'mq:AddCustomAuthConnectBlack',
    resource: onInstance,
    async handle(ctx, p) {
      await ctx.management.blacklistAdd(p.required('InstanceId'), p.required('ClientId'));
      return ok();
    },
  },
  {
    name: 'DeleteCustomAuthConnectBlack',
    versions: V2020,
    ram: 'mq:DeleteCustomAuthConnectBlack',
    resource: onInstance,
    async handle(ctx, p) {
      await ctx.management.blacklistDelete(p.required('InstanceId'), p.required('ClientId'));
      return ok();
    },
  },
  {
    name: 'QueryCustomAuthConnectBlack',
    versions: V2020,
    ram: 'mq:QueryCustomAuthConnectBlack',
    resource: onInstance,
    handle(ctx, p) {
      const list = ctx.management.blacklistQuery(p.required('InstanceId'), p.optional('ClientId'));
      return { ...ok(), Data: page(p, list) };
    },
  },
];
