/** Device credentials: register, read, refresh, unregister, list by group. */
import type { DeviceCredential, DeviceCredentialPage, DeviceCredentials } from '../auth/device-credentials.js';
import type { ManagementDeps } from './deps.js';
import { requireService } from './errors.js';
import type { InstanceCheck } from './instance-check.js';

export class CredentialAdmin {
  constructor(
    private readonly deps: Pick<ManagementDeps, 'deviceCredentials'>,
    private readonly check: InstanceCheck,
  ) {}

  register(instanceId: string, clientId: string): Promise<DeviceCredential> {
    return this.service().register(instanceId, clientId);
  }

  get(instanceId: string, clientId: string): Promise<DeviceCredential> {
    this.check.require(instanceId);
    return this.service().get(instanceId, clientId);
  }

  refresh(instanceId: string, clientId: string): Promise<DeviceCredential> {
    this.check.require(instanceId);
    return this.service().refresh(instanceId, clientId);
  }

  unregister(instanceId: string, clientId: string): Promise<void> {
    this.check.require(instanceId);
    return this.service().unregister(instanceId, clientId);
  }

  listClientIds(instanceId: string, groupId: string, pageSize: number, nextToken?: string, pageNo?: number): Promise<DeviceCredentialPage> {
    return this.service().list(instanceId, groupId, pageSize, nextToken, pageNo);
  }

  private service(): DeviceCredentials {
    return requireService(this.deps.deviceCredentials, 'device credentials');
  }
}
