/**
 * Durable FIFO logs (store thread): named lists of entries in seq order — the rule outboxes,
 * dead letters and the built-in queues. An entry is JSON metadata plus payload bytes; its owner
 * (src/rules) decides what they mean. Entries are removed one by one (delivered, acked) or a
 * whole log at once (its rule or queue deleted).
 */
import type { LogEntry, LogSummary } from '../types.js';
import type { Statements } from './statements.js';

interface LogRow {
  seq: number;
  created_at: number;
  meta: string;
  payload: Buffer;
}

export class Logs {
  constructor(private readonly s: Statements) {}

  append(log: string, seq: number, createdAt: number, meta: string, payload: Buffer): void {
    this.s.appendLog.run(seq, log, createdAt, meta, payload);
  }

  remove(log: string, seq: number): void {
    this.s.removeLog.run(seq, log);
  }

  drop(log: string): void {
    this.s.dropLog.run(log);
  }

  read(log: string, afterSeq: number, limit: number): LogEntry[] {
    return (this.s.readLog.all(log, afterSeq, limit) as LogRow[]).map((row) => entry(log, row));
  }

  get(log: string, seqs: readonly number[]): LogEntry[] {
    const out: LogEntry[] = [];
    for (const seq of seqs) {
      const row = this.s.getLogEntry.get(log, seq) as LogRow | undefined;
      if (row !== undefined) out.push(entry(log, row));
    }
    return out;
  }

  summaries(prefix: string): LogSummary[] {
    const rows = this.s.logSummaries.all(prefix, `${prefix}\u{10FFFF}`) as Array<{
      log: string;
      count: number;
      bytes: number;
      first_seq: number;
      last_seq: number;
      oldest: number;
    }>;
    return rows.map((r) => ({ log: r.log, count: r.count, bytes: r.bytes, firstSeq: r.first_seq, lastSeq: r.last_seq, oldestCreatedAt: r.oldest }));
  }
}

function entry(log: string, row: LogRow): LogEntry {
  return { log, seq: row.seq, createdAt: row.created_at, meta: row.meta, payload: row.payload };
}
