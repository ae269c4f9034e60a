/**
 * Durable FIFO logs (store thread): named lists of entries in seq order — the rule outboxes,
 * dead letters and the built-in queues. An entry is JSON metadata plus payload bytes; its owner
 * (src/rules) decides what they mean. Entries are removed one by one (delivered, acked) or a
 * whole log at once (its rule or queue deleted).
 */
import type { LogEntry, LogSummary } from '../types.js';
import { APPEND_ROWS, type Statements } from './statements.js';

/** Removals of one log from which one statement removes them all (`removeMany`). */
const REMOVE_SET_FROM = 8;

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

  /**
   * Appends a run of entries (`args`: seq, log, createdAt, meta, payload for each, in order):
   * APPEND_ROWS at a time in one INSERT, the rest one by one. A rule's outbox takes one entry
   * per matching PUBLISH, so a client's window of 64 is 4 statements instead of 64.
   */
  appendMany(args: Array<string | number | Buffer>): void {
    const width = 5 * APPEND_ROWS;
    let at = 0;
    for (; at + width <= args.length; at += width) this.s.appendLogRows.run(at === 0 && args.length === width ? args : args.slice(at, at + width));
    for (; at < args.length; at += 5) this.s.appendLog.run(args[at], args[at + 1], args[at + 2], args[at + 3], args[at + 4]);
  }

  remove(log: string, seq: number): void {
    this.s.removeLog.run(seq, log);
  }

  /** Removes entries of one log; many in one statement (a dispatcher's delivered round). */
  removeMany(log: string, seqs: readonly number[]): void {
    if (seqs.length < REMOVE_SET_FROM) for (const seq of seqs) this.s.removeLog.run(seq, log);
    else this.s.removeLogMany.run(JSON.stringify(seqs), log);
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
