/**
 * The `Tags` / `Tag` parameters in every form the SDKs send them, for every action that takes tags
 * (CreateGroupId, ListGroupId, ListInstances, TagResources, ListTagResources):
 *
 *   Tags=[{"key":"env","value":"prod"}]        the current Tea SDK models (one JSON string, lower case)
 *   Tags=[{"Key":"env","Value":"prod"}]        the same with upper-case names
 *   Tags.1.Key=env&Tags.1.Value=prod           flattened (pop-core, OpenApiUtil.query of a list)
 *   Tags.1.key=env&Tags.1.value=prod           flattened, lower case
 *
 * Field names match case-insensitively; `TagKey`/`TagValue` (the response names) are accepted too.
 */
import type { Tag } from '../../management/tags.js';
import { invalidParam, type RpcParams } from './params.js';

const KEY_NAMES = ['key', 'tagkey'];
const VALUE_NAMES = ['value', 'tagvalue'];

function field(o: Record<string, string | string[]>, names: readonly string[]): string | string[] | undefined {
  for (const [k, v] of Object.entries(o)) if (names.includes(k.toLowerCase())) return v;
  return undefined;
}

/** The tags of parameter `name`; a value left out is '' (a filter then matches an empty value). */
export function tagsParam(p: RpcParams, name: string): Tag[] {
  return p.objects(name).map((o, i) => {
    const key = field(o, KEY_NAMES);
    const value = field(o, VALUE_NAMES) ?? '';
    if (typeof key !== 'string' || key === '') throw invalidParam(`${name}.${i + 1}.Key`, 'every tag needs a key');
    if (typeof value !== 'string') throw invalidParam(`${name}.${i + 1}.Value`, 'a tag value is one string');
    return { key, value };
  });
}
