/** Parent topics of an instance (tenancy owns them; this is their management side). */
import type { ParentTopicRecord, Tenancy } from '../tenancy/registry.js';
import type { ManagementDeps } from './deps.js';
import { requireService } from './errors.js';

/** A parent topic as the APIs show it: the stored record without its storage fields (`v`). */
export interface ParentTopicView {
  readonly name: string;
  readonly createdAt: number;
  readonly auto: boolean;
}

function view(record: ParentTopicRecord): ParentTopicView {
  return { name: record.name, createdAt: record.createdAt, auto: record.auto };
}

export class ParentTopics {
  constructor(private readonly deps: Pick<ManagementDeps, 'tenancy'>) {}

  list(instanceId: string): ParentTopicView[] {
    return this.tenancy().listParentTopics(instanceId).map(view);
  }

  async create(instanceId: string, name: string): Promise<ParentTopicView> {
    return view(await this.tenancy().createParentTopic(instanceId, name));
  }

  delete(instanceId: string, name: string): Promise<void> {
    return this.tenancy().deleteParentTopic(instanceId, name);
  }

  private tenancy(): Tenancy {
    return requireService(this.deps.tenancy, 'tenancy');
  }
}
