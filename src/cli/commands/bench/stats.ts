/**
 * Latency samples of a bench run, summarised as percentiles. Samples are kept exactly up to a cap
 * and by reservoir sampling beyond it, so a long run's memory stays bounded while percentiles stay
 * representative.
 */
const CAP = 200_000;

export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export class Latencies {
  private readonly samples: number[] = [];
  private seen = 0;
  private sum = 0;
  private low = Infinity;
  private high = -Infinity;

  add(ms: number): void {
    this.seen++;
    this.sum += ms;
    if (ms < this.low) this.low = ms;
    if (ms > this.high) this.high = ms;
    if (this.samples.length < CAP) this.samples.push(ms);
    else {
      const slot = Math.floor(Math.random() * this.seen);
      if (slot < CAP) this.samples[slot] = ms;
    }
  }

  get count(): number {
    return this.seen;
  }

  /** Percentile p (0..100) of the samples so far; 0 with none. */
  percentile(p: number, sorted = [...this.samples].sort((a, b) => a - b)): number {
    if (sorted.length === 0) return 0;
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  }

  summary(): LatencySummary | null {
    if (this.seen === 0) return null;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const round = (n: number): number => Math.round(n * 1000) / 1000;
    return {
      count: this.seen,
      min: round(this.low),
      mean: round(this.sum / this.seen),
      p50: round(this.percentile(50, sorted)),
      p90: round(this.percentile(90, sorted)),
      p99: round(this.percentile(99, sorted)),
      max: round(this.high),
    };
  }
}

/** Counts errors by message, keeping the first few distinct ones for the summary. */
export class ErrorTally {
  private readonly byMessage = new Map<string, number>();
  total = 0;

  add(message: string): void {
    this.total++;
    if (this.byMessage.has(message) || this.byMessage.size < 20) this.byMessage.set(message, (this.byMessage.get(message) ?? 0) + 1);
  }

  list(): Array<{ error: string; count: number }> {
    return [...this.byMessage].map(([error, count]) => ({ error, count }));
  }

  /** The most frequent error, for the one-line failure. */
  top(): string | undefined {
    return [...this.byMessage].sort((a, b) => b[1] - a[1])[0]?.[0];
  }
}
