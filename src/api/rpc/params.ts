/**
 * Request parameters of an RPC call: the query string (GET) or form body (POST), one value per
 * name. Lists and objects arrive flattened the way the SDKs send them (`ResourceId.1`,
 * `Tag.1.Key`, `Messages.2.Topics.1`); `list()` and `objects()` read them back. A list sent as
 * a JSON array in the plain name (`ResourceId=["a","b"]`) is accepted too.
 */
import { rpcStatus } from '../../errors.js';
import { RpcError } from './errors.js';

export class RpcParams {
  constructor(readonly raw: ReadonlyMap<string, string>) {}

  has(name: string): boolean {
    return this.raw.has(name) || [...this.raw.keys()].some((k) => k.startsWith(`${name}.`));
  }

  optional(name: string): string | undefined {
    const value = this.raw.get(name);
    return value === undefined || value === '' ? undefined : value;
  }

  required(name: string): string {
    const value = this.optional(name);
    if (value === undefined) throw RpcError.of('MissingParameter', name);
    return value;
  }

  /** An integer within [min, max]; `fallback` when absent (MissingParameter if none). */
  int(name: string, min: number, max: number, fallback?: number): number {
    const text = this.optional(name);
    if (text === undefined) {
      if (fallback === undefined) throw RpcError.of('MissingParameter', name);
      return fallback;
    }
    if (!/^-?\d+$/.test(text)) throw invalidParam(name, 'must be an integer');
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min || value > max) throw invalidParam(name, `must be between ${min} and ${max}`);
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const text = this.optional(name);
    if (text === undefined) return fallback;
    if (text === 'true' || text === 'True' || text === '1') return true;
    if (text === 'false' || text === 'False' || text === '0') return false;
    throw invalidParam(name, 'must be true or false');
  }

  /** One of `values`. */
  oneOf<T extends string>(name: string, values: readonly T[], required: true): T;
  oneOf<T extends string>(name: string, values: readonly T[], required: false): T | undefined;
  oneOf<T extends string>(name: string, values: readonly T[], required: boolean): T | undefined {
    const text = required ? this.required(name) : this.optional(name);
    if (text === undefined) return undefined;
    if (!values.includes(text as T)) throw invalidParam(name, `must be one of ${values.join(', ')}`);
    return text as T;
  }

  /** `Name.1`, `Name.2`, ... (or a JSON array in `Name`), in index order. */
  list(name: string): string[] {
    const json = this.raw.get(name);
    if (json !== undefined && json.startsWith('[')) {
      try {
        const parsed = JSON.parse(json) as unknown;
        if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'string' || typeof v === 'number')) return parsed.map(String);
      } catch {
        // fall through to the error below
      }
      throw invalidParam(name, 'must be a JSON array of strings');
    }
    const out: Array<[number, string]> = [];
    const pattern = new RegExp(`^${escape(name)}\\.(\\d+)$`);
    for (const [key, value] of this.raw) {
      const m = pattern.exec(key);
      if (m !== null) out.push([Number(m[1]), value]);
    }
    if (out.length === 0 && json !== undefined && json !== '') return [json];
    return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  }

  /**
   * `Name.N.Field` (and `Name.N.Field.M` lists) as objects, in index order; a JSON array of
   * objects in `Name` is accepted too.
   */
  objects(name: string): Array<Record<string, string | string[]>> {
    const json = this.raw.get(name);
    if (json !== undefined && json !== '') {
      try {
        const parsed = JSON.parse(json) as unknown;
        if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v))) {
          return (parsed as Array<Record<string, unknown>>).map((o) =>
            Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : String(v)])),
          );
        }
      } catch {
        // fall through
      }
      throw invalidParam(name, 'must be a JSON array of objects');
    }
    const byIndex = new Map<number, Record<string, string | string[]>>();
    const pattern = new RegExp(`^${escape(name)}\\.(\\d+)\\.([A-Za-z0-9_]+)(?:\\.(\\d+))?$`);
    const listItems: Array<[number, string, number, string]> = [];
    for (const [key, value] of this.raw) {
      const m = pattern.exec(key);
      if (m === null) continue;
      const index = Number(m[1]);
      const entry = byIndex.get(index) ?? {};
      byIndex.set(index, entry);
      if (m[3] === undefined) entry[m[2]!] = value;
      else listItems.push([index, m[2]!, Number(m[3]), value]);
    }
    listItems.sort((a, b) => a[2] - b[2]);
    for (const [index, field, , value] of listItems) {
      const entry = byIndex.get(index)!;
      const current = entry[field];
      entry[field] = Array.isArray(current) ? [...current, value] : [value];
    }
    return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  }
}

export function invalidParam(name: string, why: string): RpcError {
  return new RpcError('InvalidParameter', rpcStatus('InvalidParameter')!, `The specified parameter "${name}" is not valid: ${why}.`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
