/**
 * Bounded FIFO of deliveries waiting behind a session's in-flight window (emqx_mqueue's job).
 * A ring buffer: push/shift are O(1) and allocate nothing once grown. When full, the oldest
 * entry is dropped and counted; the caller learns of every drop through the return value.
 */

/**
 * The storage of every queue that never held anything. Never written: push() grows into a new
 * array first, because count === items.length (0) there.
 */
const NO_ITEMS: never[] = []; // not frozen: frozen elements would make the hot accesses polymorphic

export class BoundedQueue<T> {
  private items: Array<T | undefined>;
  private head = 0;
  private count = 0;
  /** Entries dropped because the queue was full, over the queue's life. */
  dropped = 0;

  constructor(readonly capacity: number) {
    // Shared until first used: most sessions never queue anything.
    this.items = NO_ITEMS as Array<T | undefined>;
  }

  get length(): number {
    return this.count;
  }

  /** Appends `item`; returns the entry dropped to make room, if any. */
  push(item: T): T | undefined {
    let evicted: T | undefined;
    if (this.count === this.capacity) {
      evicted = this.shift();
      this.dropped++;
    }
    // Also after an eviction: with capacity 0 the shared NO_ITEMS must not be written either.
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
    return evicted;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return item;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  /** Removes and returns every entry, oldest first. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item);
    return out;
  }

  private grow(): void {
    const size = Math.min(this.capacity, Math.max(8, this.items.length * 2));
    const next = new Array<T | undefined>(size);
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}
