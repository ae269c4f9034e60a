/** Group IDs of an instance, with their tags (a group's tags go when the group goes). */
import type { GroupRecord, Tenancy } from '../tenancy/registry.js';
import type { ManagementDeps } from './deps.js';
import { requireService } from './errors.js';
import { groupResourceId, type Tag, type TagStore } from './tags.js';

export interface GroupView {
  readonly groupId: string;
  readonly instanceId: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly auto: boolean;
  readonly tags: Tag[];
}

export class Groups {
  constructor(
    private readonly deps: Pick<ManagementDeps, 'tenancy'>,
    private readonly tags: TagStore,
  ) {}

  private view(instanceId: string, g: GroupRecord): GroupView {
    return {
      groupId: g.groupId,
      instanceId,
      createdAt: g.createdAt,
      updatedAt: g.updatedAt,
      auto: g.auto,
      tags: this.tags.of('group', groupResourceId(instanceId, g.groupId)),
    };
  }

  list(instanceId: string, tagFilter: readonly Tag[] = []): GroupView[] {
    return this.tenancy()
      .listGroups(instanceId)
      .filter((g) => this.tags.matches('group', groupResourceId(instanceId, g.groupId), tagFilter))
      .map((g) => this.view(instanceId, g));
  }

  async create(instanceId: string, groupId: string, tags: readonly Tag[] = []): Promise<GroupView> {
    const record = await this.tenancy().createGroup(instanceId, groupId);
    if (tags.length > 0) await this.tags.tag('group', [groupResourceId(instanceId, groupId)], tags);
    return this.view(instanceId, record);
  }

  async delete(instanceId: string, groupId: string): Promise<void> {
    await this.tenancy().deleteGroup(instanceId, groupId);
    this.tags.drop('group', groupResourceId(instanceId, groupId));
  }

  private tenancy(): Tenancy {
    return requireService(this.deps.tenancy, 'tenancy');
  }
}
