/**
 * Whether an instance exists: the tenancy registry's answer when tenancy runs, otherwise the
 * broker's default instance and the tenants it has. Every instance-scoped call checks this first.
 */
import { FacadeError } from './errors.js';
import type { ManagementDeps } from './deps.js';

export class InstanceCheck {
  constructor(private readonly deps: Pick<ManagementDeps, 'broker' | 'tenancy'>) {}

  get defaultInstanceId(): string {
    return this.deps.tenancy?.defaultInstanceId ?? this.deps.broker.options.defaultInstanceId;
  }

  exists(instanceId: string): boolean {
    if (this.deps.tenancy !== undefined) return this.deps.tenancy.get(instanceId) !== undefined;
    return instanceId === this.defaultInstanceId || this.deps.broker.tenants.has(instanceId);
  }

  /** Throws InstanceNotFound (404) unless the instance exists. */
  require(instanceId: string): void {
    if (!this.exists(instanceId)) throw new FacadeError('InstanceNotFound', `instance ${instanceId} does not exist`, 'InstanceId');
  }
}
