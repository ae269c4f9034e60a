/** AccessKeys (native API only): list, read, create, change, delete. */
import type { AccessKeyInfo, AccessKeys, AccessKeyStatus, CreateAccessKeyInput } from '../auth/access-keys.js';
import type { PolicyRef } from '../auth/policy.js';
import { ManagementError } from '../tenancy/errors.js';
import type { ManagementDeps } from './deps.js';
import { requireService } from './errors.js';

export class AccessKeyAdmin {
  constructor(private readonly deps: Pick<ManagementDeps, 'accessKeys'>) {}

  /** The running AccessKeys service; ServiceUnavailable without it. */
  get service(): AccessKeys {
    return requireService(this.deps.accessKeys, 'AccessKey management');
  }

  list(): AccessKeyInfo[] {
    return this.service.list();
  }

  get(id: string): AccessKeyInfo {
    const key = this.service.get(id);
    if (key === undefined) throw new ManagementError('AccessKeyNotFound', `AccessKey ${id} does not exist`);
    return key;
  }

  create(input: CreateAccessKeyInput): Promise<{ key: AccessKeyInfo; secret: string }> {
    return this.service.create(input);
  }

  update(id: string, change: { description?: string; status?: AccessKeyStatus; policies?: readonly PolicyRef[] }): Promise<AccessKeyInfo> {
    return this.service.update(id, change);
  }

  delete(id: string): Promise<void> {
    return this.service.delete(id);
  }
}
