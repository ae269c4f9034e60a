/**
 * The JetStream buckets and streams of the store, created on first use with the cluster's
 * replicas (opened as they are when they exist), and the reads the loader needs from them.
 */
import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { JetStreamLayout } from './layout.js';
import { createOrOpen, ensureStream } from './create-or-open.js';

/** Window in which JetStream drops a re-published entry with the same id (a retry whose first answer was lost). */
const DUPLICATE_WINDOW_MS = 30_000;

export interface StoreResources {
  readonly sessions: KV;
  readonly inflight: KV;
  readonly retained: KV;
  readonly wills: KV;
  readonly meta: KV;
  /** Log leases (max age: the lease time, so an unrenewed lease goes by itself) and adoption marks (log-leases.ts). */
  readonly leases: KV;
  readonly adoptions: KV;
}

export async function openResources(js: JetStreamClient, jsm: JetStreamManager, layout: JetStreamLayout, replicas: number, leaseMs: number): Promise<StoreResources> {
  const kvm = new Kvm(js);
  // Every node creates them at start; createOrOpen opens one that another node created at the same moment.
  const bucket = (name: string): Promise<KV> => createOrOpen(() => kvm.create(name, { history: 1, replicas, storage: StorageType.File }));
  const [sessions, inflight, retained, wills, meta, leases, adoptions] = await Promise.all([
    bucket(layout.sessionsBucket),
    bucket(layout.inflightBucket),
    bucket(layout.retainedBucket),
    bucket(layout.willsBucket),
    bucket(layout.metaBucket),
    // An existing bucket is opened as it is (another node's lease time, if it differs).
    createOrOpen(() => kvm.create(layout.leasesBucket, { history: 1, replicas, storage: StorageType.File, ttl: leaseMs })),
    bucket(layout.adoptionsBucket),
  ]);
  await ensureStream(jsm, storeStream(layout.queuesStream, layout.queueSubjects, replicas));
  await ensureStream(jsm, storeStream(layout.logsStream, layout.logSubjects, replicas));
  return { sessions, inflight, retained, wills, meta, leases, adoptions };
}

/** A stream of the store: kept by age and count limits, the oldest discarded first. */
function storeStream(name: string, subjects: string, replicas: number): Partial<StreamConfig> & { name: string } {
  return {
    name,
    subjects: [subjects],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: replicas,
    duplicate_window: DUPLICATE_WINDOW_MS * 1_000_000,
  };
}

/** Every value of a bucket (deleted keys left out). */
export async function* bucketEntries(kv: KV, filter?: string): AsyncIterable<{ key: string; revision: number; value: Uint8Array }> {
  const keys: string[] = [];
  for await (const key of await kv.keys(filter)) keys.push(key);
  const STEP = 64;
  for (let i = 0; i < keys.length; i += STEP) {
    const entries = await Promise.all(keys.slice(i, i + STEP).map((key) => kv.get(key)));
    for (const entry of entries) {
      if (entry !== null && entry.operation === 'PUT') yield { key: entry.key, revision: entry.revision, value: entry.value };
    }
  }
}

/** Every message of a stream on `filter`, in stream order (an ordered consumer, gone afterwards). */
export async function* streamEntries(js: JetStreamClient, stream: string, filter: string): AsyncIterable<{ subject: string; seq: number; data: Uint8Array }> {
  const consumer = await js.consumers.get(stream, { filter_subjects: filter });
  const info = await consumer.info(false);
  if (info.num_pending === 0) return;
  const messages = await consumer.consume({ max_messages: 512 });
  try {
    for await (const m of messages) {
      yield { subject: m.subject, seq: m.seq, data: m.data };
      if (m.info.pending === 0) break;
    }
  } finally {
    messages.stop();
  }
}
