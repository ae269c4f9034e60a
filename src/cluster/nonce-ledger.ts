/**
 * Signature nonces shared by the nodes of a cluster (docs/cluster.md, "Metadata across nodes"): a
 * signed API request replayed against another node within the timestamp window is refused there
 * as it is on the node that took it first.
 *
 * A KV bucket `<prefix>_nonces` whose max age is the time a nonce must be remembered (twice the
 * timestamp window, set by the first node that creates it): each accepted nonce is one `create`,
 * which JetStream refuses when the key exists, so of two nodes given the same nonce at the same
 * moment exactly one accepts it. JetStream removes entries as they age out; nothing sweeps here.
 * Only signed requests pay (one KV write each); MQTT traffic never reaches this.
 */
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NonceLedger } from '../api/rpc/nonce-cache.js';

const WRONG_LAST_SEQUENCE = 10071;

export interface NonceLedgerOptions {
  readonly connection: NatsConnection;
  /** clusterSubjectPrefix: the bucket is `<prefix>_nonces`. */
  readonly prefix: string;
  /** Replicas of the bucket when this node creates it. */
  readonly replicas: number;
  /** How long a claim waits for JetStream, ms. */
  readonly timeoutMs: number;
}

export class JetStreamNonceLedger implements NonceLedger {
  private bucket: Promise<KV> | null = null;

  constructor(private readonly options: NonceLedgerOptions) {}

  async claim(id: string, ttlMs: number): Promise<boolean> {
    const kv = await this.open(ttlMs);
    try {
      await kv.create(id, new Uint8Array(0));
      return true;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === WRONG_LAST_SEQUENCE || /wrong last sequence|key exists/i.test((err as Error).message)) return false;
      throw new Error(`cannot check the signature nonce with the other nodes (JetStream): ${(err as Error).message}`, { cause: err });
    }
  }

  /** Opens (creating it on first use) the bucket; a failure is retried at the next claim. */
  private open(ttlMs: number): Promise<KV> {
    const { connection, prefix, replicas, timeoutMs } = this.options;
    this.bucket ??= new Kvm(jetstream(connection, { timeout: timeoutMs })).create(`${prefix}_nonces`, { history: 1, replicas, ttl: ttlMs }).catch((err: unknown) => {
      this.bucket = null;
      throw new Error(`cannot open the cluster's nonce bucket in JetStream: ${(err as Error).message}`, { cause: err });
    });
    return this.bucket;
  }
}
