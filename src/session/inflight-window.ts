/**
 * A session's outbound in-flight window: the QoS 1/2 deliveries sent and not yet acknowledged,
 * by packet id, and the packet ids for new ones.
 *
 * Why not a Map: V8 shrinks a Map's table when its entries are deleted down to a few and grows it
 * again on the next set. With one message in flight at a time (a live subscriber at 10k msg/s)
 * every PUBACK allocated a new table, ~130 bytes, a tenth of all a QoS 1 message allocated
 * (bench/RESULTS.md issue 15 §23, §41). Here an entry sits in the slot `packet id mod capacity`
 * of an array that keeps its storage, and new ids are only ones whose slot is free, so every
 * lookup is one load and acknowledging allocates nothing. The capacity (a power of two) doubles
 * when every slot is taken, or when an entry put back from the store finds its slot taken; it
 * never exceeds 65,536, where every id has a slot of its own, and starts small again when a window
 * of more than 64 slots empties (KEEP_CAPACITY).
 *
 * Ids are handed out cyclically, 1..65535, skipping ids in use [MQTT-2.2.1-3] (and ids whose
 * slot is taken), so a just-freed id is not reused at once (helps clients that match late acks).
 */
import type { OutboundEntry } from './session.js';

const MAX_ID = 65535;
const FIRST_CAPACITY = 4;
/**
 * A window that empties with more slots than this starts small again: one that once held a
 * large burst (a client with a large Receive Maximum) does not keep its arrays, as a Map would not.
 * At or below it (the default broker.maxInflight is 64) emptying never allocates.
 */
const KEEP_CAPACITY = 64;

export class InflightWindow {
  /** Entries by `packetId & mask`. */
  private slots: (OutboundEntry | undefined)[];
  /** When each slot's entry entered the window (a count), for send order. */
  private stamps: number[];
  private mask: number;
  private stamp = 0;
  private nextId = 1;
  size = 0;

  constructor(capacity = FIRST_CAPACITY) {
    this.slots = new Array<OutboundEntry | undefined>(capacity).fill(undefined);
    this.stamps = new Array<number>(capacity).fill(0);
    this.mask = capacity - 1;
  }

  get(packetId: number): OutboundEntry | undefined {
    const entry = this.slots[packetId & this.mask];
    return entry !== undefined && entry.packetId === packetId ? entry : undefined;
  }

  has(packetId: number): boolean {
    return this.get(packetId) !== undefined;
  }

  /** A free packet id (its slot is free too), or 0 when all 65,535 are in use. */
  allocate(): number {
    if (this.size >= MAX_ID) return 0;
    if (this.size === this.slots.length) this.grow();
    for (;;) {
      const id = this.nextId;
      this.nextId = id === MAX_ID ? 1 : id + 1;
      if (this.slots[id & this.mask] === undefined) return id;
    }
  }

  /** Adds `entry` (an id from allocate(), or one put back from the store); replaces one with its id. */
  set(entry: OutboundEntry): void {
    const id = entry.packetId;
    for (;;) {
      const held = this.slots[id & this.mask];
      if (held === undefined || held.packetId === id) {
        // A replaced entry keeps its place in the order (as Map.set does).
        if (held === undefined) {
          this.size++;
          this.stamps[id & this.mask] = ++this.stamp;
        }
        this.slots[id & this.mask] = entry;
        return;
      }
      this.grow();
    }
  }

  /** Removes the entry of `packetId`; false when there is none. Allocates nothing. */
  delete(packetId: number): boolean {
    const slot = packetId & this.mask;
    const entry = this.slots[slot];
    if (entry === undefined || entry.packetId !== packetId) return false;
    this.slots[slot] = undefined;
    if (--this.size === 0 && this.slots.length > KEEP_CAPACITY) this.resize(FIRST_CAPACITY);
    return true;
  }

  /** Slots held (a power of two). */
  get capacity(): number {
    return this.slots.length;
  }

  /** The entries in the order they entered the window (resends keep it [MQTT-4.4.0-1]). */
  inOrder(): OutboundEntry[] {
    const taken: number[] = [];
    for (let i = 0; i < this.slots.length; i++) if (this.slots[i] !== undefined) taken.push(i);
    taken.sort((a, b) => (this.stamps[a] as number) - (this.stamps[b] as number));
    return taken.map((i) => this.slots[i] as OutboundEntry);
  }

  /** Twice the slots; entries move to their slot under the new mask (distinct ids stay apart). */
  private grow(): void {
    const capacity = this.slots.length * 2;
    if (capacity > MAX_ID + 1) throw new Error('in-flight window: no capacity beyond 65,536 slots');
    this.resize(capacity);
  }

  private resize(capacity: number): void {
    const oldSlots = this.slots;
    const oldStamps = this.stamps;
    this.slots = new Array<OutboundEntry | undefined>(capacity).fill(undefined);
    this.stamps = new Array<number>(capacity).fill(0);
    this.mask = capacity - 1;
    for (let i = 0; i < oldSlots.length; i++) {
      const entry = oldSlots[i];
      if (entry === undefined) continue;
      this.slots[entry.packetId & this.mask] = entry;
      this.stamps[entry.packetId & this.mask] = oldStamps[i] as number;
    }
  }
}

/** The window of a session that never had one (reads only). */
export const EMPTY_WINDOW: Pick<InflightWindow, 'size' | 'get' | 'has' | 'inOrder'> = {
  size: 0,
  get: () => undefined,
  has: () => false,
  inOrder: () => [],
};
