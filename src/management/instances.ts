/** Instances: their views (registry record, live counts, tags), creation, change and deletion. */
import { ReasonCode } from '../protocol/reason-codes.js';
import type { InstanceLimits, InstanceMode } from '../tenancy/limits.js';
import type { Instance, Tenancy } from '../tenancy/registry.js';
import type { ManagementDeps } from './deps.js';
import { requireService } from './errors.js';
import type { InstanceCheck } from './instance-check.js';
import type { Tag, TagStore } from './tags.js';

export interface InstanceView {
  readonly instanceId: string;
  readonly name: string;
  readonly mode: InstanceMode;
  readonly limits: InstanceLimits | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly connections: number;
  readonly subscriptions: number;
  readonly retained: number;
  readonly tags: Tag[];
}

export class Instances {
  constructor(
    private readonly deps: Pick<ManagementDeps, 'broker' | 'tenancy'>,
    private readonly check: InstanceCheck,
    private readonly tags: TagStore,
  ) {}

  private view(instance: Instance | null, id: string): InstanceView {
    const tenant = this.deps.broker.tenants.get(id);
    return {
      instanceId: id,
      name: instance?.name ?? id,
      mode: instance?.mode ?? 'relaxed',
      limits: instance?.limits ?? null,
      createdAt: instance?.record.createdAt ?? 0,
      updatedAt: instance?.record.updatedAt ?? 0,
      connections: tenant?.connections ?? 0,
      subscriptions: tenant?.trie.size ?? 0,
      retained: tenant?.retained.size ?? 0,
      tags: this.tags.of('instance', id),
    };
  }

  list(tagFilter: readonly Tag[] = []): InstanceView[] {
    const tenancy = this.deps.tenancy;
    const views =
      tenancy === undefined
        ? [...new Set([this.check.defaultInstanceId, ...this.deps.broker.tenants.keys()])].sort().map((id) => this.view(null, id))
        : tenancy.list().map((i) => this.view(i, i.id));
    return views.filter((v) => this.tags.matches('instance', v.instanceId, tagFilter));
  }

  get(instanceId: string): InstanceView {
    this.check.require(instanceId);
    return this.view(this.deps.tenancy?.get(instanceId) ?? null, instanceId);
  }

  async create(input: { id?: string; name?: string; mode?: InstanceMode; limits?: Partial<InstanceLimits> }): Promise<InstanceView> {
    const instance = await this.tenancy().createInstance(input);
    return this.view(instance, instance.id);
  }

  async update(id: string, change: { name?: string; mode?: InstanceMode; limits?: Partial<InstanceLimits> }): Promise<InstanceView> {
    const instance = await this.tenancy().updateInstance(id, change);
    return this.view(instance, id);
  }

  /** Deletes the instance and closes its connections (DISCONNECT 0x98 Administrative action). */
  async delete(id: string): Promise<void> {
    await this.tenancy().deleteInstance(id);
    for (const client of [...this.deps.broker.clients(id)]) client.disconnect(ReasonCode.AdministrativeAction);
  }

  private tenancy(): Tenancy {
    return requireService(this.deps.tenancy, 'tenancy');
  }
}
