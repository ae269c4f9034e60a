/** Parent topics of an instance (tenancy owns them; this is their management side). */
import type { ParentTopicRecord, Tenancy } from '../tenancy/registry.js';
import type { ManagementDeps } from './deps.js';
import { requireService } from './errors.js';

export class ParentTopics {
  constructor(private readonly deps: Pick<ManagementDeps, 'tenancy'>) {}

  list(instanceId: string): ParentTopicRecord[] {
    return this.tenancy().listParentTopics(instanceId);
  }

  create(instanceId: string, name: string): Promise<ParentTopicRecord> {
    return this.tenancy().createParentTopic(instanceId, name);
  }

  delete(instanceId: string, name: string): Promise<void> {
    return this.tenancy().deleteParentTopic(instanceId, name);
  }

  private tenancy(): Tenancy {
    return requireService(this.deps.tenancy, 'tenancy');
  }
}
