/**
 * The resource model of every instance (tenant): the instance itself (id, name, mode, limits),
 * its parent topics and its Group IDs, kept in memory and written through to the store as keyed
 * records. It also answers the admission questions the authenticator and authorizer ask: is
 * this client id acceptable here, may this topic be used here (creating parent topics and groups
 * on first use in relaxed mode).
 *
 *   store collection       key                          value
 *   tenancy.instances      <instanceId>                 InstanceRecord
 *   tenancy.topics         <instanceId>\x1f<lowercase>  ParentTopicRecord
 *   tenancy.groups         <instanceId>\x1f<groupId>    GroupRecord
 *
 * Management calls (create/update/delete) resolve once the change is durable; the auto-creation
 * on the connect and publish paths records the change and does not wait.
 */
import type { Store } from '../store/types.js';
import { randomLowerAlphanumeric } from '../auth/crypto.js';
import { parentOf } from '../auth/filters.js';
import { ManagementError } from './errors.js';
import { defaultLimits, INSTANCE_MODES, resolveLimits, type InstanceLimits, type InstanceMode } from './limits.js';
import { checkClientId, checkGroupId, checkInstanceId, checkInstanceName, checkParentTopic, checkTopic, parseClientId } from './names.js';

export { DEFAULT_INSTANCE_ID } from '../broker/options.js';
import { DEFAULT_INSTANCE_ID } from '../broker/options.js';

const INSTANCES = 'tenancy.instances';
const TOPICS = 'tenancy.topics';
const GROUPS = 'tenancy.groups';
const SEP = '\u001f';

export interface InstanceRecord {
  readonly v: 1;
  readonly id: string;
  readonly name: string;
  readonly mode: InstanceMode;
  /** Only the limits that differ from the mode's defaults. */
  readonly limits: Partial<InstanceLimits>;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface ParentTopicRecord {
  readonly v: 1;
  readonly name: string;
  readonly createdAt: number;
  /** Created on first use (relaxed mode) rather than by an operator. */
  readonly auto: boolean;
}

export interface GroupRecord {
  readonly v: 1;
  readonly groupId: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly auto: boolean;
}

/** An instance as the rest of Ferry sees it: record plus effective limits. */
export interface Instance {
  readonly id: string;
  readonly name: string;
  readonly mode: InstanceMode;
  readonly limits: InstanceLimits;
  readonly record: InstanceRecord;
}

interface InstanceState {
  instance: Instance;
  readonly topics: Map<string, ParentTopicRecord>;
  readonly groups: Map<string, GroupRecord>;
}

/** Why a client id or topic is refused: 'invalid' (bad name / unknown resource) or 'quota'. */
export interface Refusal {
  readonly kind: 'invalid' | 'quota';
  readonly message: string;
}

export interface TenancyOptions {
  readonly defaultInstanceId?: string;
  readonly now?: () => number;
}

export interface CreateInstanceInput {
  readonly id?: string;
  readonly name?: string;
  readonly mode?: InstanceMode;
  readonly limits?: Partial<InstanceLimits>;
}

function instanceFrom(record: InstanceRecord): Instance {
  const limits = resolveLimits(record.mode, record.limits);
  if (typeof limits === 'string') throw new Error(`instance ${record.id}: ${limits}`);
  return { id: record.id, name: record.name, mode: record.mode, limits, record };
}

export class Tenancy {
  readonly defaultInstanceId: string;
  private readonly now: () => number;
  private readonly instances = new Map<string, InstanceState>();
  private readonly deletedListeners: Array<(instanceId: string) => void> = [];

  private constructor(
    private readonly store: Store,
    options: TenancyOptions,
  ) {
    this.defaultInstanceId = options.defaultInstanceId ?? DEFAULT_INSTANCE_ID;
    this.now = options.now ?? Date.now;
    const bad = checkInstanceId(this.defaultInstanceId);
    if (bad !== null) throw new ManagementError('ParameterFieldCheckFailed', `default instance id "${this.defaultInstanceId}": ${bad}`);
  }

  /** Loads every instance with its topics and groups, and creates the default instance if missing. */
  static async open(store: Store, options: TenancyOptions = {}): Promise<Tenancy> {
    const tenancy = new Tenancy(store, options);
    tenancy.follow();
    await tenancy.load();
    if (!tenancy.instances.has(tenancy.defaultInstanceId)) {
      tenancy.putInstance(tenancy.newRecord(tenancy.defaultInstanceId, tenancy.defaultInstanceId, 'relaxed', {}));
      await store.whenDurable();
    }
    return tenancy;
  }

  private async load(): Promise<void> {
    for await (const { value } of pages(this.store, INSTANCES)) {
      const record = value as InstanceRecord;
      this.instances.set(record.id, { instance: instanceFrom(record), topics: new Map(), groups: new Map() });
    }
    for await (const { key, value } of pages(this.store, TOPICS)) {
      const [instanceId, lower] = splitKey(key);
      this.instances.get(instanceId)?.topics.set(lower, value as ParentTopicRecord);
    }
    for await (const { key, value } of pages(this.store, GROUPS)) {
      const [instanceId, groupId] = splitKey(key);
      this.instances.get(instanceId)?.groups.set(groupId, value as GroupRecord);
    }
  }

  /**
   * What other nodes change (cluster mode: the store's change feed), applied as this node's own
   * changes are; an instance deleted elsewhere is deleted here with everything that hangs on it.
   */
  private follow(): void {
    this.store.onRecordChanged?.(INSTANCES, (id, value) => {
      if (value !== undefined) {
        const record = value as InstanceRecord;
        const state = this.instances.get(id);
        if (state === undefined) this.instances.set(id, { instance: instanceFrom(record), topics: new Map(), groups: new Map() });
        else state.instance = instanceFrom(record);
      } else if (this.instances.delete(id)) {
        for (const listener of this.deletedListeners) listener(id);
      }
    });
    this.store.onRecordChanged?.(TOPICS, (key, value) => {
      const [instanceId, lower] = splitKey(key);
      const topics = this.instances.get(instanceId)?.topics;
      if (value === undefined) topics?.delete(lower);
      else topics?.set(lower, value as ParentTopicRecord);
    });
    this.store.onRecordChanged?.(GROUPS, (key, value) => {
      const [instanceId, groupId] = splitKey(key);
      const groups = this.instances.get(instanceId)?.groups;
      if (value === undefined) groups?.delete(groupId);
      else groups?.set(groupId, value as GroupRecord);
    });
  }

  /** Called with the id of every deleted instance (auth drops its keys, credentials, ...). */
  onInstanceDeleted(listener: (instanceId: string) => void): void {
    this.deletedListeners.push(listener);
  }

  // Instances.

  get(instanceId: string): Instance | undefined {
    return this.instances.get(instanceId)?.instance;
  }

  require(instanceId: string): Instance {
    const instance = this.get(instanceId);
    if (instance === undefined) throw new ManagementError('InstanceNotFound', `instance ${instanceId} does not exist`);
    return instance;
  }

  list(): Instance[] {
    return [...this.instances.values()].map((state) => state.instance).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async createInstance(input: CreateInstanceInput = {}): Promise<Instance> {
    const id = input.id ?? this.freshInstanceId();
    const mode = input.mode ?? 'strict';
    const badId = checkInstanceId(id);
    if (badId !== null) throw new ManagementError('ParameterFieldCheckFailed', badId);
    if (this.instances.has(id)) throw new ManagementError('InstanceAlreadyExists', `instance ${id} exists`);
    if (!INSTANCE_MODES.includes(mode)) throw new ManagementError('ParameterFieldCheckFailed', 'mode must be strict or relaxed');
    const name = input.name ?? id;
    this.checkName(name, id);
    const record = this.newRecord(id, name, mode, input.limits ?? {});
    this.putInstance(record);
    await this.store.whenDurable();
    return this.require(id);
  }

  async updateInstance(id: string, change: { name?: string; mode?: InstanceMode; limits?: Partial<InstanceLimits> }): Promise<Instance> {
    const current = this.require(id).record;
    const name = change.name ?? current.name;
    if (name !== current.name) this.checkName(name, id);
    const mode = change.mode ?? current.mode;
    if (!INSTANCE_MODES.includes(mode)) throw new ManagementError('ParameterFieldCheckFailed', 'mode must be strict or relaxed');
    const record: InstanceRecord = {
      ...current,
      name,
      mode,
      limits: change.limits === undefined ? current.limits : change.limits,
      updatedAt: this.now(),
    };
    this.putInstance(record);
    await this.store.whenDurable();
    return this.require(id);
  }

  /** Deletes an instance with its topics and groups. The default instance cannot be deleted. */
  async deleteInstance(id: string): Promise<void> {
    const state = this.instances.get(id);
    if (state === undefined) throw new ManagementError('InstanceNotFound', `instance ${id} does not exist`);
    if (id === this.defaultInstanceId) throw new ManagementError('DefaultInstanceProtected', 'the default instance cannot be deleted');
    for (const lower of state.topics.keys()) this.store.deleteRecord(TOPICS, id + SEP + lower);
    for (const groupId of state.groups.keys()) this.store.deleteRecord(GROUPS, id + SEP + groupId);
    this.store.deleteRecord(INSTANCES, id);
    this.instances.delete(id);
    for (const listener of this.deletedListeners) listener(id);
    await this.store.whenDurable();
  }

  private checkName(name: string, id: string): void {
    const bad = name === id ? null : checkInstanceName(name);
    if (bad !== null) throw new ManagementError('ParameterFieldCheckFailed', bad);
    const lower = name.toLowerCase();
    for (const state of this.instances.values()) {
      if (state.instance.id !== id && state.instance.name.toLowerCase() === lower) {
        throw new ManagementError('ParameterFieldCheckFailed', `instance name ${name} is used by ${state.instance.id}`);
      }
    }
  }

  private freshInstanceId(): string {
    for (;;) {
      const id = `mqtt-${randomLowerAlphanumeric(12)}`;
      if (!this.instances.has(id)) return id;
    }
  }

  private newRecord(id: string, name: string, mode: InstanceMode, limits: Partial<InstanceLimits>): InstanceRecord {
    const now = this.now();
    return { v: 1, id, name, mode, limits, createdAt: now, updatedAt: now };
  }

  private putInstance(record: InstanceRecord): void {
    const limits = resolveLimits(record.mode, record.limits);
    if (typeof limits === 'string') throw new ManagementError('ParameterFieldCheckFailed', limits);
    this.store.putRecord(INSTANCES, record.id, record);
    const state = this.instances.get(record.id);
    const instance = instanceFrom(record);
    if (state === undefined) this.instances.set(record.id, { instance, topics: new Map(), groups: new Map() });
    else state.instance = instance;
  }

  // Parent topics (names are case-insensitive: one per lower-cased name).

  async createParentTopic(instanceId: string, name: string): Promise<ParentTopicRecord> {
    const record = this.addParentTopic(this.state(instanceId), name, false);
    await this.store.whenDurable();
    return record;
  }

  async deleteParentTopic(instanceId: string, name: string): Promise<void> {
    const state = this.state(instanceId);
    const lower = name.toLowerCase();
    if (!state.topics.delete(lower)) throw new ManagementError('TopicNotFound', `parent topic ${name} does not exist`);
    this.store.deleteRecord(TOPICS, instanceId + SEP + lower);
    await this.store.whenDurable();
  }

  listParentTopics(instanceId: string): ParentTopicRecord[] {
    return [...this.state(instanceId).topics.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  hasParentTopic(instanceId: string, name: string): boolean {
    return this.instances.get(instanceId)?.topics.has(name.toLowerCase()) ?? false;
  }

  private addParentTopic(state: InstanceState, name: string, auto: boolean): ParentTopicRecord {
    const { instance } = state;
    const bad = checkParentTopic(instance.mode, name, auto);
    if (bad !== null) throw new ManagementError('ParameterFieldCheckFailed', bad);
    const lower = name.toLowerCase();
    if (state.topics.has(lower)) throw new ManagementError('TopicAlreadyExists', `parent topic ${name} exists`);
    const max = instance.limits.maxParentTopics;
    if (max > 0 && state.topics.size >= max) {
      throw new ManagementError('QuotaExceeded', `instance ${instance.id} has its ${max} parent topics`);
    }
    const record: ParentTopicRecord = { v: 1, name, createdAt: this.now(), auto };
    state.topics.set(lower, record);
    this.store.putRecord(TOPICS, instance.id + SEP + lower, record);
    return record;
  }

  // Group IDs.

  async createGroup(instanceId: string, groupId: string): Promise<GroupRecord> {
    const record = this.addGroup(this.state(instanceId), groupId, false);
    await this.store.whenDurable();
    return record;
  }

  async deleteGroup(instanceId: string, groupId: string): Promise<void> {
    const state = this.state(instanceId);
    if (!state.groups.delete(groupId)) throw new ManagementError('GroupIdNotFound', `Group ID ${groupId} does not exist`);
    this.store.deleteRecord(GROUPS, instanceId + SEP + groupId);
    await this.store.whenDurable();
  }

  listGroups(instanceId: string): GroupRecord[] {
    return [...this.state(instanceId).groups.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
  }

  hasGroup(instanceId: string, groupId: string): boolean {
    return this.instances.get(instanceId)?.groups.has(groupId) ?? false;
  }

  private addGroup(state: InstanceState, groupId: string, auto: boolean): GroupRecord {
    const { instance } = state;
    const bad = checkGroupId(groupId);
    if (bad !== null) throw new ManagementError('ParameterFieldCheckFailed', bad);
    if (state.groups.has(groupId)) throw new ManagementError('GroupIdAlreadyExsited', `Group ID ${groupId} exists`);
    const max = instance.limits.maxGroups;
    if (max > 0 && state.groups.size >= max) throw new ManagementError('QuotaExceeded', `instance ${instance.id} has its ${max} groups`);
    const now = this.now();
    const record: GroupRecord = { v: 1, groupId, createdAt: now, updatedAt: now, auto };
    state.groups.set(groupId, record);
    this.store.putRecord(GROUPS, instance.id + SEP + groupId, record);
    return record;
  }

  private state(instanceId: string): InstanceState {
    const state = this.instances.get(instanceId);
    if (state === undefined) throw new ManagementError('InstanceNotFound', `instance ${instanceId} does not exist`);
    return state;
  }

  // Admission (connect and publish/subscribe paths).

  /**
   * May `clientId` connect to the instance? Strict: the id must be `<GroupID>@@@<DeviceID>` of an
   * existing group. Relaxed: a `GID_…@@@…` id creates its group on first use.
   */
  admitClient(instanceId: string, clientId: string): Refusal | null {
    const state = this.instances.get(instanceId);
    if (state === undefined) return { kind: 'invalid', message: `instance ${instanceId} does not exist` };
    const { mode, limits } = state.instance;
    const bad = checkClientId(mode, limits, clientId);
    if (bad !== null) return { kind: 'invalid', message: bad };
    const parts = parseClientId(clientId);
    if (parts === null || !parts.groupId.startsWith('GID') || state.groups.has(parts.groupId)) return null;
    if (mode === 'strict') return { kind: 'invalid', message: `Group ID ${parts.groupId} does not exist` };
    return this.autoCreate(() => this.addGroup(state, parts.groupId, true));
  }

  /**
   * May `topic` (a topic name, or a filter when `filter`) be used in the instance? Checks the
   * instance's naming rules and that the parent topic exists; relaxed creates it on first use.
   * System topics (`$…`) are not parent topics and pass.
   */
  admitTopic(instanceId: string, topic: string, filter: boolean): Refusal | null {
    if (topic.startsWith('$')) return null;
    const state = this.instances.get(instanceId);
    if (state === undefined) return { kind: 'invalid', message: `instance ${instanceId} does not exist` };
    const { mode, limits } = state.instance;
    const bad = checkTopic(mode, limits, topic, filter);
    if (bad !== null) return { kind: 'invalid', message: bad };
    const parent = parentOf(topic);
    if (parent === '+' || parent === '#') {
      // A filter with a wildcard parent spans every parent topic: fine in relaxed, not in strict.
      return mode === 'strict' ? { kind: 'invalid', message: 'the parent topic cannot be a wildcard' } : null;
    }
    if (state.topics.has(parent.toLowerCase())) return null;
    if (mode === 'strict') return { kind: 'invalid', message: `parent topic ${parent} does not exist` };
    return this.autoCreate(() => this.addParentTopic(state, parent, true));
  }

  private autoCreate(create: () => unknown): Refusal | null {
    try {
      create();
      return null;
    } catch (err) {
      if (err instanceof ManagementError) return { kind: err.code === 'QuotaExceeded' ? 'quota' : 'invalid', message: err.message };
      throw err;
    }
  }

  /** Every instance starts in its mode's defaults; exposed for docs and tests. */
  static defaults(mode: InstanceMode): InstanceLimits {
    return defaultLimits(mode);
  }
}

function splitKey(key: string): [string, string] {
  const at = key.indexOf(SEP);
  return [key.slice(0, at), key.slice(at + 1)];
}

/** Every record of a collection, page by page. */
export async function* pages(store: Store, collection: string, prefix?: string): AsyncIterable<{ key: string; value: unknown }> {
  let after: string | undefined;
  for (;;) {
    const query = { ...(prefix === undefined ? {} : { prefix }), ...(after === undefined ? {} : { after }) };
    const page = await store.listRecords(collection, query);
    if (page.length === 0) return;
    yield* page;
    after = page[page.length - 1]!.key;
  }
}
