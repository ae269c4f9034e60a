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
 *
 * JetStream cannot answer for a few seconds after a NATS server dies (it elects new leaders), and
 * that is when an operator runs `ferry cluster status`. So a claim JetStream cannot answer is
 * asked again with a short back-off until NONCE_WAIT_MS has passed since the request came, and
 * only then refused (503 ServiceUnavailable with Retry-After; never accepted unchecked). Each
 * claim writes a value of its own, so a retry that meets the key an earlier attempt of the same
 * claim created (its answer lost or late) is told apart from another request's use of the nonce.
 * One log line when JetStream stops answering and one when it answers again (with counts), and
 * `ferry_cluster_nonce_checks_delayed_total{outcome}` counts the claims that waited.
 */
import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { NonceLedger } from '../api/rpc/nonce-cache.js';
import { createOrOpen } from '../store/jetstream/create-or-open.js';

const WRONG_LAST_SEQUENCE = 10071;
/** First pause before a claim is asked again, ms; doubled up to MAX_PAUSE_MS. */
const FIRST_PAUSE_MS = 50;
const MAX_PAUSE_MS = 500;
/**
 * One attempt is given up after this long, ms, and asked again: a request sent while the
 * connection was down, or to a leader that died, may never be answered. Safe, because a later
 * attempt that finds the key holding this claim's own value counts as claimed.
 */
const ATTEMPT_MS = 1000;
/**
 * How long a claim keeps asking, ms: well under the 3 s the Alibaba Cloud SDKs wait for an answer
 * by default (pop-core and Tea: httpx readTimeout), so they get a clean 503 (the request was not
 * executed) rather than time out on a request the node might still execute. The REST 503 carries
 * Retry-After, and `ferry` asks again (src/cli/commands/client.ts).
 */
export const NONCE_WAIT_MS = 2000;

export interface NonceLedgerOptions {
  readonly connection: NatsConnection;
  /** clusterSubjectPrefix: the bucket is `<prefix>_nonces`. */
  readonly prefix: string;
  /** Replicas of the bucket when this node creates it. */
  readonly replicas: number;
  /** How long a JetStream request may take, ms (clusterAckTimeoutMs). */
  readonly timeoutMs: number;
  /** How long a claim keeps asking while JetStream cannot answer, ms (NONCE_WAIT_MS; at most timeoutMs). */
  readonly waitMs?: number;
  readonly logger?: Logger;
}

/** Claims that could not be answered at once (metrics). */
export interface NonceLedgerStats {
  /** Answered after JetStream failed at least once (a leader election, a reconnect). */
  answeredLate: number;
  /** Refused: JetStream did not answer within the time allowed (503 ServiceUnavailable). */
  unavailable: number;
}

class Unavailable extends Error {}

export class JetStreamNonceLedger implements NonceLedger {
  readonly stats: NonceLedgerStats = { answeredLate: 0, unavailable: 0 };
  private bucket: Promise<KV> | null = null;
  /** Since when JetStream has not answered (null: it answers), and the claims of that outage. */
  private outage: { since: number; answeredLate: number; unavailable: number } | null = null;

  private readonly waitMs: number;

  constructor(private readonly options: NonceLedgerOptions) {
    this.waitMs = Math.min(options.waitMs ?? NONCE_WAIT_MS, options.timeoutMs);
  }

  async claim(id: string, ttlMs: number): Promise<boolean> {
    const deadline = Date.now() + this.waitMs;
    const mine = randomBytes(12);
    let pause = FIRST_PAUSE_MS;
    let failed = false;
    for (;;) {
      try {
        const first = await this.attempt(id, ttlMs, mine, deadline);
        this.answered(failed);
        return first;
      } catch (err) {
        const left = deadline - Date.now();
        const closed = this.options.connection.isClosed();
        this.failing(err as Error);
        failed = true;
        if (closed || left <= pause) {
          this.stats.unavailable++;
          if (this.outage !== null) this.outage.unavailable++;
          const why = err instanceof Unavailable ? 'no answer in time' : (err as Error).message;
          throw new Error(`cannot check the signature nonce with the other nodes (JetStream): ${why}`, { cause: err });
        }
        await new Promise((resolve) => setTimeout(resolve, pause));
        pause = Math.min(pause * 2, MAX_PAUSE_MS);
      }
    }
  }

  /**
   * One `create` of the nonce's key with this claim's own value, given up after ATTEMPT_MS or at `deadline`. True:
   * this claim holds the key (now, or since an earlier attempt whose answer was lost); false:
   * another request used the nonce.
   */
  private async attempt(id: string, ttlMs: number, mine: Uint8Array, deadline: number): Promise<boolean> {
    const work = (async () => {
      const kv = await this.open(ttlMs);
      try {
        await kv.create(id, mine);
        return true;
      } catch (err) {
        if (!exists(err)) throw err;
        const entry = await kv.get(id);
        return entry !== null && Buffer.from(entry.value).equals(mine);
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Unavailable()), Math.max(0, Math.min(ATTEMPT_MS, deadline - Date.now())))));
    // An attempt given up on may still end; its outcome no longer matters.
    work.catch(() => undefined);
    try {
      return await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A claim failed once: the first failure of an outage is logged. */
  private failing(err: Error): void {
    if (this.outage !== null) return;
    this.outage = { since: Date.now(), answeredLate: 0, unavailable: 0 };
    this.options.logger?.warn(
      { err: err instanceof Unavailable ? 'no answer in time' : err.message, waitMs: this.waitMs },
      'JetStream cannot check signature nonces now: signed API requests wait for it, and are refused with 503 ServiceUnavailable if it does not answer in time',
    );
  }

  /** A claim was answered; the end of an outage is logged with what it cost. */
  private answered(afterFailure: boolean): void {
    if (afterFailure) {
      this.stats.answeredLate++;
      if (this.outage !== null) this.outage.answeredLate++;
    }
    const outage = this.outage;
    if (outage === null) return;
    this.outage = null;
    this.options.logger?.warn(
      { unavailableMs: Date.now() - outage.since, answeredLate: outage.answeredLate, refused: outage.unavailable },
      'JetStream checks signature nonces again',
    );
  }

  /** Opens (creating it on first use) the bucket; a failure is retried at the next attempt. */
  private open(ttlMs: number): Promise<KV> {
    const { connection, prefix, replicas, timeoutMs } = this.options;
    this.bucket ??= createOrOpen(() => new Kvm(jetstream(connection, { timeout: timeoutMs })).create(`${prefix}_nonces`, { history: 1, replicas, ttl: ttlMs })).catch((err: unknown) => {
      this.bucket = null;
      throw new Error(`cannot open the cluster's nonce bucket in JetStream: ${(err as Error).message}`, { cause: err });
    });
    return this.bucket;
  }
}

function exists(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === WRONG_LAST_SEQUENCE || /wrong last sequence|key exists/i.test((err as Error).message);
}

/** ferry_cluster_nonce_checks_delayed_total{outcome}: signed API requests whose nonce check waited for JetStream. */
export function registerNonceLedgerMetrics(registry: Registry, ledger: JetStreamNonceLedger): void {
  new Counter({
    name: 'ferry_cluster_nonce_checks_delayed_total',
    help: 'Signed API requests whose nonce check JetStream could not answer at once (cluster mode): answered after retrying (outcome="answered") or refused with 503 ServiceUnavailable (outcome="unavailable").',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ outcome: 'answered' }, ledger.stats.answeredLate);
      this.inc({ outcome: 'unavailable' }, ledger.stats.unavailable);
    },
  });
}
