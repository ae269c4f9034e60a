/**
 * Queue depth changes that only the store thread can see — entries dropped over a cap, purged
 * by expiry or retention, or already gone when the main thread removed them — collected per
 * transaction and sent with its `durable` reply so the main thread's depths stay exact.
 */
import type { DroppedEntry } from '../types.js';
import type { DepthCorrections } from './protocol.js';

export class Corrections {
  private readonly byClient = new Map<string, number>();
  readonly drops: DroppedEntry[] = [];

  add(clientId: string, delta: number): void {
    const total = (this.byClient.get(clientId) ?? 0) + delta;
    if (total === 0) this.byClient.delete(clientId);
    else this.byClient.set(clientId, total);
  }

  dropped(entry: DroppedEntry): void {
    this.drops.push(entry);
    this.add(entry.clientId, -1);
  }

  /** Hands over what was collected and starts empty. */
  take(): { drops: DroppedEntry[]; corrections: DepthCorrections } {
    const result = { drops: this.drops.splice(0), corrections: [...this.byClient] };
    this.byClient.clear();
    return result;
  }

  /** Forgets what was collected (the transaction was rolled back). */
  clear(): void {
    this.drops.length = 0;
    this.byClient.clear();
  }
}
