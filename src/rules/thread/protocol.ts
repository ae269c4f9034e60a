/** Messages between the broker thread (delivery-thread.ts) and the rule delivery thread (delivery-worker.ts). */
import type { ConnectorHealth } from '../connectors/types.js';
import type { PackedOutcomes } from './packing.js';

/** Broker thread → delivery thread. `n` numbers the request; `t` names a target connector. */
export type ThreadRequest =
  | { readonly type: 'start'; readonly n: number; readonly t: number; readonly url: string; readonly secret?: string }
  | { readonly type: 'deliver'; readonly n: number; readonly t: number; readonly data: ArrayBuffer }
  | { readonly type: 'health'; readonly n: number; readonly t: number }
  | { readonly type: 'stop'; readonly n: number; readonly t: number };

/** Delivery thread → broker thread. */
export type ThreadReply =
  | { readonly type: 'ready' }
  | { readonly type: 'reply'; readonly n: number; readonly ok: true; readonly value?: PackedOutcomes | ConnectorHealth }
  | { readonly type: 'reply'; readonly n: number; readonly ok: false; readonly error: string }
  | { readonly type: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly obj: Record<string, unknown>; readonly msg: string };
