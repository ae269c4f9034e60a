/** Custom authentication: identities (username/password) and their topic permissions. */
import type { CustomAuth, IdentityInput, IdentityType, IdentityView, Permission } from '../auth/custom-auth.js';
import type { ManagementDeps } from './deps.js';
import { requireService } from './errors.js';
import type { InstanceCheck } from './instance-check.js';

export class CustomAuthAdmin {
  constructor(
    private readonly deps: Pick<ManagementDeps, 'customAuth'>,
    private readonly check: InstanceCheck,
  ) {}

  putIdentity(instanceId: string, input: IdentityInput, mode: 'add' | 'update'): Promise<void> {
    this.check.require(instanceId);
    return this.service().putIdentity(instanceId, input, mode);
  }

  deleteIdentity(instanceId: string, username: string, identityType: IdentityType, clientId?: string): Promise<void> {
    this.check.require(instanceId);
    return this.service().deleteIdentity(instanceId, username, identityType, clientId ?? '');
  }

  queryIdentities(instanceId: string, filter: { username?: string; identityType?: IdentityType; clientId?: string }): IdentityView[] {
    this.check.require(instanceId);
    return this.service().queryIdentities(instanceId, filter);
  }

  putPermission(instanceId: string, permission: Permission, mode: 'add' | 'update'): Promise<void> {
    return this.service().putPermission(instanceId, permission, mode);
  }

  deletePermission(instanceId: string, identity: string, identityType: IdentityType, topic: string): Promise<void> {
    this.check.require(instanceId);
    return this.service().deletePermission(instanceId, identity, identityType, topic);
  }

  queryPermissions(instanceId: string, filter: { identity?: string; identityType?: IdentityType; topic?: string }): Permission[] {
    this.check.require(instanceId);
    return this.service().queryPermissions(instanceId, filter);
  }

  private service(): CustomAuth {
    return requireService(this.deps.customAuth, 'custom authentication');
  }
}
