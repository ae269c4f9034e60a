/**
 * Tags on resources (instances and Group IDs), as TagResources / UntagResources /
 * ListTagResources and the `Tags` parameters of CreateGroupId / ListGroupId use them.
 * Tenancy has no tags, so they live here, keyed by resource, written through to the store.
 *
 *   store collection   management.tags   key <resourceType>\x1f<resourceId>   value TagsRecord
 *
 * Group resource ids are `<instanceId>\x1f<groupId>` internally (Group IDs are per instance).
 * Limits (our choice, docs/api.md): 20 tags per resource, key 1-128 chars, value 0-128 chars,
 * keys must not start with `aliyun` or `acs:`.
 */
import type { Store } from '../store/types.js';
import { FacadeError, invalid } from './errors.js';

const COLLECTION = 'management.tags';
const SEP = '\u001f';
export const MAX_TAGS_PER_RESOURCE = 20;

export type TaggedResourceType = 'instance' | 'group';

interface TagsRecord {
  readonly v: 1;
  readonly tags: Record<string, string>;
}

export interface Tag {
  readonly key: string;
  readonly value: string;
}

export function checkTag(tag: Tag, field: string): void {
  if (tag.key.length === 0 || tag.key.length > 128) throw invalid(`${field}.Key`, 'a tag key must have 1-128 characters');
  if (/^(aliyun|acs:)/i.test(tag.key)) throw invalid(`${field}.Key`, 'a tag key must not start with "aliyun" or "acs:"');
  if (tag.value.length > 128) throw invalid(`${field}.Value`, 'a tag value must have at most 128 characters');
}

export class TagStore {
  private readonly byResource = new Map<string, Map<string, string>>();

  private constructor(private readonly store: Store | null) {}

  static async open(store: Store | null): Promise<TagStore> {
    const tags = new TagStore(store);
    if (store === null) return tags;
    // Tagged on another node (cluster mode).
    store.onRecordChanged?.(COLLECTION, (key, value) => {
      if (value === undefined) tags.byResource.delete(key);
      else tags.byResource.set(key, new Map(Object.entries((value as TagsRecord).tags)));
    });
    let after: string | undefined;
    for (;;) {
      const page = await store.listRecords(COLLECTION, after === undefined ? {} : { after });
      if (page.length === 0) break;
      for (const { key, value } of page) tags.byResource.set(key, new Map(Object.entries((value as TagsRecord).tags)));
      after = page[page.length - 1]!.key;
    }
    return tags;
  }

  of(type: TaggedResourceType, id: string): Tag[] {
    return [...(this.byResource.get(type + SEP + id) ?? [])].map(([key, value]) => ({ key, value })).sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  /** True when the resource has every tag of `filter` (same key and value). */
  matches(type: TaggedResourceType, id: string, filter: readonly Tag[]): boolean {
    const tags = this.byResource.get(type + SEP + id);
    return filter.every((t) => tags?.get(t.key) === t.value);
  }

  async tag(type: TaggedResourceType, ids: readonly string[], tags: readonly Tag[]): Promise<void> {
    tags.forEach((t, i) => checkTag(t, `Tag.${i + 1}`));
    for (const id of ids) {
      const current = new Map(this.byResource.get(type + SEP + id) ?? []);
      for (const t of tags) current.set(t.key, t.value);
      if (current.size > MAX_TAGS_PER_RESOURCE) {
        throw new FacadeError('Tag.LimitExceeded', `a resource has at most ${MAX_TAGS_PER_RESOURCE} tags`, 'Tag');
      }
    }
    for (const id of ids) {
      const current = new Map(this.byResource.get(type + SEP + id) ?? []);
      for (const t of tags) current.set(t.key, t.value);
      this.put(type, id, current);
    }
    await this.store?.whenDurable();
  }

  /** Removes the named keys, or every tag with `all`. */
  async untag(type: TaggedResourceType, ids: readonly string[], keys: readonly string[], all: boolean): Promise<void> {
    for (const id of ids) {
      const current = new Map(this.byResource.get(type + SEP + id) ?? []);
      if (all) current.clear();
      else for (const k of keys) current.delete(k);
      this.put(type, id, current);
    }
    await this.store?.whenDurable();
  }

  /** Forgets a deleted resource. */
  drop(type: TaggedResourceType, id: string): void {
    this.put(type, id, new Map());
  }

  private put(type: TaggedResourceType, id: string, tags: Map<string, string>): void {
    const key = type + SEP + id;
    if (tags.size === 0) {
      if (this.byResource.delete(key)) this.store?.deleteRecord(COLLECTION, key);
      return;
    }
    this.byResource.set(key, tags);
    this.store?.putRecord(COLLECTION, key, { v: 1, tags: Object.fromEntries(tags) } satisfies TagsRecord);
  }
}

/** Internal resource id of a Group ID. */
export function groupResourceId(instanceId: string, groupId: string): string {
  return instanceId + SEP + groupId;
}
