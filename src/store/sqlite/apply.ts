/**
 * Applies one batch of ops (protocol.ts) to the engine inside its open transaction. An op the
 * engine refuses as invalid (a programming error: unknown session or message, a packet id
 * already in flight) is skipped and reported; an SQLite error aborts the batch (the caller
 * rolls the transaction back and the batch is retried).
 */
import type { DeliveryInfo, StoreQoS, StoredProtocolVersion } from '../types.js';
import type { SqliteEngine } from './engine.js';
import { Op, OP_ARITY, type OpValue } from './protocol.js';

export function applyBatch(engine: SqliteEngine, ops: readonly OpValue[], blob: ArrayBuffer | null, invalid: string[]): void {
  const bytes = blob === null ? null : Buffer.from(blob);
  const slice = (offset: number, length: number): Buffer | null =>
    length < 0 || bytes === null ? null : bytes.subarray(offset, offset + length);
  const delivered = new DeliveredRuns(engine);
  // Log appends and removals collected into set statements (Logs.appendMany, removeMany): only
  // another log op can depend on them, so a run of either ends where the other kind begins.
  const appends: Array<string | number | Buffer> = [];
  const removes = new Map<string, number[]>();
  const flushAppends = (): void => {
    if (appends.length === 0) return;
    engine.logs.appendMany(appends);
    appends.length = 0;
  };
  const flushRemoves = (): void => {
    if (removes.size === 0) return;
    for (const [log, seqs] of removes) engine.logs.removeMany(log, seqs);
    removes.clear();
  };
  let i = 0;
  while (i < ops.length) {
    const code = ops[i] as number;
    const at = i + 1;
    const arity = OP_ARITY[code];
    if (arity === undefined) throw new Error(`store thread: unknown op ${code}`);
    i = at + arity;
    if (code === Op.Delivered) {
      delivered.add(ops[at] as string, ops[at + 1] as number);
      continue;
    }
    if (code === Op.AppendLog) {
      flushRemoves();
      appends.push(ops[at + 1] as number, ops[at] as string, ops[at + 2] as number, ops[at + 3] as string, slice(ops[at + 4] as number, ops[at + 5] as number) ?? EMPTY);
      continue;
    }
    if (code === Op.RemoveLogs) {
      flushAppends();
      const log = ops[at] as string;
      const seqs = removes.get(log);
      if (seqs === undefined) removes.set(log, [...(ops[at + 1] as number[])]);
      else for (const seq of ops[at + 1] as number[]) seqs.push(seq);
      continue;
    }
    if (code === Op.DropLog) {
      flushAppends();
      flushRemoves();
    }
    if (!COMMUTES_WITH_DELIVERED.has(code)) delivered.flush();
    try {
      applyOne(engine, code, ops, at, slice);
    } catch (error) {
      if (isSqliteError(error)) throw error;
      invalid.push((error as Error).message);
    }
  }
  delivered.flush();
  flushAppends();
  flushRemoves();
}

const EMPTY = Buffer.alloc(0);

/**
 * Ops that touch no queue row but the one they name, so a queue entry's removal may be applied
 * after them: moves into the window (each takes its own entry) and in-flight completions.
 * Anything else (an enqueue that may drop the oldest, a session deleted and begun again) first
 * applies the removals collected before it.
 */
const COMMUTES_WITH_DELIVERED: ReadonlySet<number> = new Set([Op.MoveToInflight, Op.RemoveInflight, Op.ReleaseInflight]);

/**
 * The Delivered ops of a batch (a draining session's entries moved into its window and completed
 * before the batch left), collected per session: the head of its queue among them advances its
 * acknowledged-through seq, the rest are removed with one statement per run (Queues.delivered).
 */
class DeliveredRuns {
  private readonly runs = new Map<string, number[]>();

  constructor(private readonly engine: SqliteEngine) {}

  add(clientId: string, seq: number): void {
    const run = this.runs.get(clientId);
    if (run === undefined) this.runs.set(clientId, [seq]);
    else run.push(seq);
  }

  flush(): void {
    if (this.runs.size === 0) return;
    const queues = this.engine.queues;
    for (const [clientId, seqs] of this.runs) queues.delivered(clientId, seqs);
    this.runs.clear();
  }
}

function applyOne(
  engine: SqliteEngine,
  code: number,
  a: readonly OpValue[],
  at: number,
  slice: (offset: number, length: number) => Buffer | null,
): void {
  const str = (k: number): string => a[at + k] as string;
  const num = (k: number): number => a[at + k] as number;
  const strOrNull = (k: number): string | null => a[at + k] as string | null;
  switch (code) {
    case Op.PutSession:
      engine.sessions.put({
        clientId: str(0),
        instanceId: str(1),
        protocolVersion: num(2) as StoredProtocolVersion,
        expiryInterval: num(3),
        disconnectedAt: a[at + 4] as number | null,
      });
      return;
    case Op.SetDisconnected:
      engine.sessions.setDisconnectedAt(str(0), a[at + 1] as number | null);
      return;
    case Op.DeleteSession:
      engine.sessions.delete(str(0));
      return;
    case Op.PutSubscription:
      engine.sessions.putSubscription({
        clientId: str(0),
        key: str(1),
        qos: num(2) as StoreQoS,
        noLocal: a[at + 3] as boolean,
        retainAsPublished: a[at + 4] as boolean,
        retainHandling: num(5) as 0 | 1 | 2,
        subscriptionId: num(6),
        shareGroup: strOrNull(7),
        filter: str(8),
      });
      return;
    case Op.DeleteSubscription:
      engine.sessions.deleteSubscription(str(0), str(1));
      return;
    case Op.AddMessage: {
      const payload = slice(num(2), num(3)) ?? Buffer.alloc(0);
      engine.messages.add(num(0), {
        topic: str(1),
        payload,
        qos: num(4) as StoreQoS,
        retain: a[at + 5] as boolean,
        properties: slice(num(6), num(7)),
        expiresAt: num(8),
        createdAt: num(9),
        traceId: num(10),
      });
      return;
    }
    case Op.Enqueue:
      engine.queues.enqueue(str(0), delivery(a, at + 2), num(1), {
        maxPerSession: num(8),
        maxPerInstance: num(9),
        maxBytesPerSession: num(10),
        maxBytesPerInstance: num(11),
      });
      return;
    case Op.RemoveQueued:
      engine.queues.remove(str(0), num(1));
      return;
    case Op.AddInflight:
      engine.inflight.add(str(0), num(1), delivery(a, at + 3), num(2));
      return;
    case Op.MoveToInflight:
      engine.inflight.moveFromQueue(str(0), num(1), num(2), num(3));
      return;
    case Op.Delivered:
      engine.queues.remove(str(0), num(1)); // applyBatch collects these; a lone one lands here
      return;
    case Op.ReleaseInflight:
      engine.inflight.release(str(0), num(1));
      return;
    case Op.RemoveInflight:
      engine.inflight.remove(str(0), num(1));
      return;
    case Op.AddInbound:
      engine.inflight.addInboundQos2(str(0), num(1));
      return;
    case Op.RemoveInbound:
      engine.inflight.removeInboundQos2(str(0), num(1));
      return;
    case Op.SetRetained:
      engine.retained.set(str(0), num(1));
      return;
    case Op.DeleteRetained:
      engine.retained.delete(str(0));
      return;
    case Op.PutWill:
      engine.documents.putWill({
        clientId: str(0),
        topic: str(1),
        payload: slice(num(2), num(3)) ?? Buffer.alloc(0),
        qos: num(4) as StoreQoS,
        retain: a[at + 5] as boolean,
        properties: slice(num(6), num(7)),
        expiresAt: num(8),
        publishAt: num(9),
      });
      return;
    case Op.DeleteWill:
      engine.documents.deleteWill(str(0));
      return;
    case Op.SetMeta:
      engine.documents.setMeta(str(0), str(1));
      return;
    case Op.DeleteMeta:
      engine.documents.deleteMeta(str(0));
      return;
    case Op.PutRecord:
      engine.documents.putRecord(str(0), str(1), str(2));
      return;
    case Op.DeleteRecord:
      engine.documents.deleteRecord(str(0), str(1));
      return;
    case Op.AppendLog:
      engine.logs.append(str(0), num(1), num(2), str(3), slice(num(4), num(5)) ?? Buffer.alloc(0));
      return;
    case Op.RemoveLogs:
      for (const seq of a[at + 1] as number[]) engine.logs.remove(str(0), seq); // applyBatch collects these; kept for completeness
      return;
    case Op.DropLog:
      engine.logs.drop(str(0));
      return;
    default:
      throw new Error(`store thread: unknown op ${code}`);
  }
}

/** messageId, qos, retain, subscriptionIds, shareGroup, shareFilter starting at `at`. */
function delivery(a: readonly OpValue[], at: number): DeliveryInfo {
  return {
    messageId: a[at] as number,
    qos: a[at + 1] as StoreQoS,
    retain: a[at + 2] as boolean,
    subscriptionIds: a[at + 3] as readonly number[] | null,
    shareGroup: a[at + 4] as string | null,
    shareFilter: a[at + 5] as string | null,
  };
}

/** better-sqlite3 raises SqliteError with a `SQLITE_*` code for every engine failure. */
export function isSqliteError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_');
}
