/**
 * TagResources / UntagResources / ListTagResources: tags on named resources (resource types of
 * the managed service: `instance`; Ferry adds `group`). The tags themselves live in TagStore.
 */
import type { Tenancy } from '../tenancy/registry.js';
import type { ManagementDeps } from './deps.js';
import { FacadeError, invalid, requireService } from './errors.js';
import type { InstanceCheck } from './instance-check.js';
import type { Instances } from './instances.js';
import { groupResourceId, type Tag, type TaggedResourceType, type TagStore } from './tags.js';

export class ResourceTags {
  constructor(
    private readonly deps: Pick<ManagementDeps, 'tenancy'>,
    private readonly check: InstanceCheck,
    private readonly instances: Instances,
    private readonly tags: TagStore,
  ) {}

  async tag(type: TaggedResourceType, instanceId: string | null, ids: readonly string[], tags: readonly Tag[]): Promise<void> {
    await this.tags.tag(type, this.resourceIds(type, instanceId, ids), tags);
  }

  async untag(type: TaggedResourceType, instanceId: string | null, ids: readonly string[], keys: readonly string[], all: boolean): Promise<void> {
    await this.tags.untag(type, this.resourceIds(type, instanceId, ids), keys, all);
  }

  /** Every (resource, tag) pair of the given resources (all resources of the type when none). */
  list(type: TaggedResourceType, instanceId: string | null, ids: readonly string[], filter: readonly Tag[]): Array<{ resourceId: string; tag: Tag }> {
    let resources: string[];
    if (type === 'instance') {
      resources = ids.length > 0 ? [...ids] : this.instances.list().map((i) => i.instanceId);
    } else {
      if (instanceId === null) throw invalid('InstanceId', 'group resources need an InstanceId');
      resources = ids.length > 0 ? [...ids] : this.tenancy().listGroups(instanceId).map((g) => g.groupId);
    }
    const out: Array<{ resourceId: string; tag: Tag }> = [];
    for (const id of resources.sort()) {
      const internal = type === 'instance' ? id : groupResourceId(instanceId!, id);
      if (!this.tags.matches(type, internal, filter)) continue;
      for (const tag of this.tags.of(type, internal)) out.push({ resourceId: id, tag });
    }
    return out;
  }

  /** The internal ids of 1-50 named resources, each of which must exist. */
  private resourceIds(type: TaggedResourceType, instanceId: string | null, ids: readonly string[]): string[] {
    if (ids.length === 0) throw invalid('ResourceId', 'name at least one resource');
    if (ids.length > 50) throw invalid('ResourceId', 'at most 50 resources per call');
    if (type === 'instance') {
      for (const id of ids) this.check.require(id);
      return [...ids];
    }
    if (instanceId === null) throw invalid('InstanceId', 'group resources need an InstanceId');
    for (const id of ids) {
      if (!this.tenancy().hasGroup(instanceId, id)) throw new FacadeError('InvalidParameter', `Group ID ${id} does not exist`, 'ResourceId');
    }
    return ids.map((id) => groupResourceId(instanceId, id));
  }

  private tenancy(): Tenancy {
    return requireService(this.deps.tenancy, 'tenancy');
  }
}
