/** Access checks for API callers: what an AccessKey's policies allow. */
import type { CompiledPolicy, PolicyResource } from '../auth/policy.js';
import type { ManagementDeps } from './deps.js';
import { FacadeError } from './errors.js';

export class CallerAccess {
  constructor(private readonly deps: Pick<ManagementDeps, 'accessKeys'>) {}

  /** The compiled policy of an active AccessKey, undefined if unknown or inactive. */
  policyOf(accessKeyId: string): CompiledPolicy | undefined {
    return this.deps.accessKeys?.policy(accessKeyId);
  }

  /** Throws PermissionCheckFailed unless the key's policies allow `action` on `resource`. */
  authorize(accessKeyId: string, action: string, resource: PolicyResource | '*'): void {
    const policy = this.policyOf(accessKeyId);
    const target: PolicyResource = resource === '*' ? { type: 'instance', instanceId: '*' } : resource;
    if (policy === undefined || !policy.allows(action, target)) {
      throw new FacadeError('PermissionCheckFailed', `AccessKey ${accessKeyId} is not allowed ${action} on ${describeResource(target)}`);
    }
  }
}

function describeResource(r: PolicyResource): string {
  switch (r.type) {
    case 'instance':
      return `instance ${r.instanceId}`;
    case 'topic':
      return `topic ${r.topic} of ${r.instanceId}`;
    case 'groupId':
      return `group ${r.groupId} of ${r.instanceId}`;
    case 'rule':
      return `rule ${r.ruleId} of ${r.instanceId}`;
  }
}
