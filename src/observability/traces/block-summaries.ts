/**
 * The trace writer's channel summaries of the block being filled (trace-db.ts, `channel_blocks`):
 * for each stored batch, per channel with events in it, BLOCK_ENTRY numbers (batch id, first and
 * last event time, device and message event counts), written out per channel when the block is
 * complete.
 *
 * Kept in one growable Float64Array of rows (channel + the entry), not an array per channel: a
 * block is BLOCK_BATCHES batches, and a broker whose clients sit idle stores a batch only when
 * something happens, so a block may stay open for hours while every client that connected in it
 * is held here. As a `number[]` per channel that was ~0.33 KB per connected client (the array,
 * its elements, its own hidden class) — 6.6 MB of the writer thread's heap after 19,900 connects;
 * a row here is 48 bytes (bench/RESULTS.md, issue 15 §12).
 */
const ROW = 6; // channel, then BLOCK_ENTRY (5) values
const INITIAL_ROWS = 256;

export class BlockSummaries {
  private rows = new Float64Array(ROW * INITIAL_ROWS);
  private count = 0;

  /** Rows held (one per channel and batch). */
  get size(): number {
    return this.count;
  }

  add(channel: number, batchId: number, first: number, last: number, devices: number, messages: number): void {
    if ((this.count + 1) * ROW > this.rows.length) {
      const grown = new Float64Array(this.rows.length * 2);
      grown.set(this.rows);
      this.rows = grown;
    }
    const at = this.count * ROW;
    const r = this.rows;
    r[at] = channel;
    r[at + 1] = batchId;
    r[at + 2] = first;
    r[at + 3] = last;
    r[at + 4] = devices;
    r[at + 5] = messages;
    this.count++;
  }

  /** Channels with a row. */
  channels(): Set<number> {
    const out = new Set<number>();
    for (let i = 0; i < this.count; i++) out.add(this.rows[i * ROW]!);
    return out;
  }

  /**
   * Each channel's entries (BLOCK_ENTRY values per batch, in the order added), channels in
   * ascending order.
   */
  forEachChannel(fn: (channel: number, entries: Float64Array) => void): void {
    const r = this.rows;
    const order = Array.from({ length: this.count }, (_, i) => i);
    // By channel, then by the order added (stable).
    order.sort((a, b) => r[a * ROW]! - r[b * ROW]! || a - b);
    let i = 0;
    while (i < order.length) {
      const channel = r[order[i]! * ROW]!;
      let j = i;
      while (j < order.length && r[order[j]! * ROW] === channel) j++;
      const entries = new Float64Array((j - i) * (ROW - 1));
      for (let k = i; k < j; k++) entries.set(r.subarray(order[k]! * ROW + 1, order[k]! * ROW + ROW), (k - i) * (ROW - 1));
      fn(channel, entries);
      i = j;
    }
  }

  /** Forgets every row and gives the grown array back. */
  clear(): void {
    this.count = 0;
    if (this.rows.length > ROW * INITIAL_ROWS) this.rows = new Float64Array(ROW * INITIAL_ROWS);
  }
}
