/**
 * Session state that outlives a network connection (MQTT 4.1): subscriptions, the outbound
 * in-flight window of QoS 1/2 messages, the queue behind it, and inbound QoS 2 packet ids
 * awaiting PUBREL. While a client is connected, the session talks to it through a SessionLink
 * (implemented by the channel); while it is not, deliveries of QoS 1/2 wait in the queue.
 *
 * Persistent sessions with a store keep their queue in the store and only its oldest part in
 * memory: while connected at most READ_AHEAD + MEMORY_WINDOW entries, paged in as columnar pages
 * (DeliveryPage) that make an entry's objects only when it is taken; while offline, the oldest
 * entries queued since the client left, up to the broker's OfflineWindow budget (bytes per
 * session and overall), so a returning client drains those without reading them back from the
 * store. A backlog beyond that costs no memory, and it streams back in pages.
 *
 * Ordering: QoS 1/2 messages leave in the order they were delivered to the session; the queue
 * only moves when the window has room [MQTT-4.6.0-6]. QoS 0 bypasses the window.
 */
import type { ProtocolVersion, QoS } from '../protocol/packets.js';
import type { Message } from './message.js';
import { BoundedQueue } from './message-queue.js';
import { EMPTY_WINDOW, InflightWindow } from './inflight-window.js';
import { OfflineWindow } from './offline-window.js';
import type { DropReason } from '../store/types.js';

// Shared stand-ins for collections not made yet; typed read-only so nothing can add to them.
const EMPTY_MAP: ReadonlyMap<never, never> = new Map<never, never>();
const EMPTY_SET: ReadonlySet<never> = new Set<never>();
/** Read side of a queue not made yet: capacity 0, so push() would only ever drop; never pushed to. */
const EMPTY_QUEUE = new BoundedQueue<never>(0);

/** Queue entries a journaled session reads from the store at once; the rest stay stored. */
const MEMORY_WINDOW = 512;
/**
 * The next page is read while at most this many entries are in memory, so it arrives while
 * these still go out: a draining backlog does not wait for a store round trip per page. A page
 * read 0.9 ms median and up to ~5 ms from request to arrival, while 512 entries went out in
 * ~1.4 ms at Mosquitto's rate: with the next page asked for at 256 left, the queue had run dry
 * when 162 of 196 pages came (bench/RESULTS.md issue 15 §28). Pages held stay columnar until
 * taken, so reading ahead is cheap to hold (§31). In memory at most READ_AHEAD + MEMORY_WINDOW.
 */
const READ_AHEAD = 2 * MEMORY_WINDOW;
/** Beyond this many entries left, the next page is read only while the pages held are smaller than READ_AHEAD_BYTES. */
const REFILL_AT = MEMORY_WINDOW / 2;
/** Payload bytes of pages held up to which a session reads ahead past REFILL_AT (large messages: as before). */
const READ_AHEAD_BYTES = 4 * 1024 * 1024;

export interface SubscriptionOptions {
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  /** MQTT 5 Subscription Identifier, 0 when none. */
  readonly subscriptionId: number;
  /** Shared subscription group, or null for an ordinary subscription. */
  readonly shareGroup: string | null;
  /** The filter without any $share/<group>/ prefix. */
  readonly filter: string;
}

/** One message on its way to one session. */
export interface Delivery {
  readonly message: Message;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIds: number[] | undefined;
  /** Set when the message reached this session through a shared subscription. */
  readonly shared: { readonly group: string; readonly filter: string } | null;
  /** Store sequence of the queue entry holding this delivery; 0 while not queued in a store. */
  seq?: number;
}

export interface OutboundEntry {
  readonly packetId: number;
  readonly qos: QoS;
  /** The delivery; null once a QoS 2 message is released (the client has it). */
  delivery: Delivery | null;
  /** QoS 2: PUBREC received and PUBREL sent; only PUBCOMP is awaited. */
  released: boolean;
}

/**
 * Receives every change to a persistent session's delivery state, so a store can keep a copy
 * (see broker/persistence.ts). Calls are synchronous; durability is the store's business.
 */
export interface SessionJournal {
  /** Records a queued delivery (sets delivery.seq). The store's caps may drop older entries. */
  enqueued(session: Session, delivery: Delivery): void;
  /** Reads stored queue entries with seq > afterSeq, oldest first. */
  readQueue(session: Session, afterSeq: number, limit: number): Promise<DeliveryPage>;
  /** A delivery left the queue without being sent (dropped, expired, redispatched). */
  unqueued(session: Session, delivery: Delivery): void;
  /** A delivery entered the window, from the queue (delivery.seq set) or directly. */
  sent(session: Session, delivery: Delivery, packetId: number): void;
  released(session: Session, packetId: number): void;
  completed(session: Session, packetId: number): void;
  inboundQos2Added(session: Session, packetId: number): void;
  inboundQos2Removed(session: Session, packetId: number): void;
}

/**
 * Stored queue entries paged in, in order; each becomes a Delivery only when the session takes it
 * (the store's page stays columnar until then, issue 15 §31).
 */
export interface DeliveryPage {
  /** Entries not taken yet. */
  readonly left: number;
  /** Payload bytes the page holds. */
  readonly bytes: number;
  /** Seq of the last entry (the cursor after the page); 0 when the page is empty. */
  readonly lastSeq: number;
  /** Seq of the next entry to take; only while left > 0. */
  nextSeq(): number;
  /** The next entry, made now; undefined when none are left. */
  take(): Delivery | undefined;
}

/** The connected client as the session sees it. */
export interface SessionLink {
  readonly protocolVersion: ProtocolVersion;
  /** Writes a PUBLISH; false when it was dropped (slow consumer, too large for the client). */
  sendPublish(delivery: Delivery, packetId: number, dup: boolean): boolean;
  sendPubrel(packetId: number): void;
  /** The session's async work for this client failed unexpectedly: close the client, log, count. */
  internalError(error: unknown, reason: 'continuation', context?: string): void;
  /** Flow control (src/flow): stop reading this client's packets / read them again. */
  pauseInput(): void;
  resumeInput(): void;
  /** True while flow control keeps this client unread. */
  readonly flowPaused: boolean;
  /** A line about this client, at most once per cause per interval (Channel.note). */
  note(cause: string, fields: Record<string, unknown>, msg: string): void;
}

/**
 * Flow control towards publishers (src/flow): told when a message is queued for an online
 * session whose backlog is at the high-water mark or whose client it paused, and when the
 * session drains to the low-water mark or goes offline.
 */
export interface SessionFlow {
  readonly highWater: number;
  readonly lowWater: number;
  /** Sessions it wants to hear about draining; 0 (nothing paused) keeps drain() to one check. */
  readonly watched: number;
  /** `origin`: Message.origin of the queued message (the publisher's session, or null). */
  queued(target: Session, origin: object | null): void;
  under(target: Session): void;
}

export interface SessionCounters {
  droppedQos0Offline: number;
  droppedByLink: number;
  /** Flow control towards publishers; null when off. On the shared counters object: no field per session. */
  readonly flow: SessionFlow | null;
  /**
   * A queued QoS 1/2 message was dropped: over the queue caps (`cause`: which one), or its
   * expiry passed (`cause` null). `traceId` is the message's Message.traceId (0 when unknown), for traces.
   */
  queueDrop(session: Session, reason: 'queue-full' | 'expired', cause: DropReason | null, traceId: number): void;
  /** Memory journaled sessions' queues may hold (offline-window.ts); absent or null = none offline. */
  readonly offlineWindow?: OfflineWindow | null;
}

/**
 * The part of a session that an idle client never uses, made on the first need: subscriptions,
 * the in-flight window (with its packet ids), the queue, inbound QoS 2 ids, paging state, the
 * expiry timer and the drop count. Idle connections are counted in bytes (issue 15): a field on
 * Session costs every connected client 8 bytes, an object 24 more.
 */
class SessionState {
  subs: Map<string, SubscriptionOptions> | null = null;
  window: InflightWindow | null = null;
  qos2In: Set<number> | null = null;
  queue: BoundedQueue<Delivery> | null = null;
  /** Stored pages read in behind `queue`, oldest first; each has entries left. */
  pages: DeliveryPage[] | null = null;
  droppedMessages = 0;
  hasStored = false;
  pageCursor = 0;
  paging = false;
  enqueuedWhilePaging = false;
  /** OfflineWindow bytes counted for this session's entries in memory. */
  windowBytes = 0;
  /** Seqs of entries in memory (behind the head) that the store dropped or purged meanwhile. */
  goneSeqs: Set<number> | null = null;
  expiryTimer: NodeJS.Timeout | null = null;
  expiryInterval = 0;
  matchStamp = 0;
  matchSlot = 0;
}

const NO_STATE: Readonly<SessionState> = Object.freeze(new SessionState());

/**
 * What the sessions of one instance share, one object per instance and broker instead of three
 * fields on every session (8 bytes each per connected client).
 */
interface SessionContext {
  readonly instanceId: string;
  readonly maxQueued: number;
  readonly counters: SessionCounters;
}

/** Contexts by counters (one per broker) and instance id. */
const contexts = new WeakMap<SessionCounters, Map<string, SessionContext>>();

function contextOf(instanceId: string, maxQueued: number, counters: SessionCounters): SessionContext {
  let byInstance = contexts.get(counters);
  if (byInstance === undefined) contexts.set(counters, (byInstance = new Map()));
  const known = byInstance.get(instanceId);
  if (known !== undefined && known.maxQueued === maxQueued) return known;
  const context = { instanceId, maxQueued, counters };
  byInstance.set(instanceId, context);
  return context;
}

export class Session {
  link: SessionLink | null = null;
  /** Size of the outbound window: min(server max inflight, client Receive Maximum). */
  window: number;
  /** Persistence hook; set for sessions that outlive their connection when a store is used. */
  journal: SessionJournal | null = null;
  /** Everything else (SessionState); null until something needs it. */
  private x: SessionState | null = null;

  // Accessors of SessionState: reads see shared defaults while it is not made; writes of a
  // default value do not make it.
  private get state(): Readonly<SessionState> {
    return this.x ?? NO_STATE;
  }
  private get own(): SessionState {
    return (this.x ??= new SessionState());
  }
  private get subs(): Map<string, SubscriptionOptions> | null {
    return this.state.subs;
  }
  private set subs(subs: Map<string, SubscriptionOptions> | null) {
    if (subs !== null || this.x !== null) this.own.subs = subs;
  }
  private get window_(): InflightWindow | null {
    return this.state.window;
  }
  private set window_(window: InflightWindow | null) {
    if (window !== null || this.x !== null) this.own.window = window;
  }
  private get qos2In(): Set<number> | null {
    return this.state.qos2In;
  }
  private set qos2In(ids: Set<number> | null) {
    if (ids !== null || this.x !== null) this.own.qos2In = ids;
  }
  private get queue_(): BoundedQueue<Delivery> | null {
    return this.state.queue;
  }
  private set queue_(queue: BoundedQueue<Delivery> | null) {
    if (queue !== null || this.x !== null) this.own.queue = queue;
  }
  private get pageCursor(): number {
    return this.state.pageCursor;
  }
  private set pageCursor(seq: number) {
    if (seq !== 0 || this.x !== null) this.own.pageCursor = seq;
  }
  private get paging(): boolean {
    return this.state.paging;
  }
  private set paging(on: boolean) {
    if (on || this.x !== null) this.own.paging = on;
  }
  private get enqueuedWhilePaging(): boolean {
    return this.state.enqueuedWhilePaging;
  }
  private set enqueuedWhilePaging(on: boolean) {
    if (on || this.x !== null) this.own.enqueuedWhilePaging = on;
  }
  private get windowBytes(): number {
    return this.state.windowBytes;
  }
  private set windowBytes(bytes: number) {
    if (bytes !== 0 || this.x !== null) this.own.windowBytes = bytes;
  }

  /**
   * Scratch fields used by the router to merge overlapping matches without allocating. Only a
   * subscribed session is matched, and its subscriptions already made the state.
   */
  get matchStamp(): number {
    return this.state.matchStamp;
  }
  set matchStamp(stamp: number) {
    this.own.matchStamp = stamp;
  }
  get matchSlot(): number {
    return this.state.matchSlot;
  }
  set matchSlot(slot: number) {
    this.own.matchSlot = slot;
  }

  /** Queued QoS 1/2 messages dropped (caps or expiry) since the session was made or restored. */
  get droppedMessages(): number {
    return this.state.droppedMessages;
  }
  set droppedMessages(n: number) {
    if (n !== 0 || this.x !== null) this.own.droppedMessages = n;
  }
  /** Journaled sessions: queue entries may exist in the store beyond what is in memory. */
  get hasStored(): boolean {
    return this.state.hasStored;
  }
  set hasStored(on: boolean) {
    if (on || this.x !== null) this.own.hasStored = on;
  }
  /** Session Expiry Interval in seconds (0xFFFFFFFF = never, capped by the broker). */
  get expiryInterval(): number {
    return this.state.expiryInterval;
  }
  set expiryInterval(seconds: number) {
    if (seconds !== 0 || this.x !== null) this.own.expiryInterval = seconds;
  }
  /** Timer for expiry while disconnected; owned by the broker. */
  get expiryTimer(): NodeJS.Timeout | null {
    return this.state.expiryTimer;
  }
  set expiryTimer(timer: NodeJS.Timeout | null) {
    if (timer !== null || this.x !== null) this.own.expiryTimer = timer;
  }

  private readonly context: SessionContext;

  constructor(instanceId: string, readonly clientId: string, maxInflight: number, maxQueued: number, counters: SessionCounters) {
    this.window = maxInflight;
    this.context = contextOf(instanceId, maxQueued, counters);
  }

  get instanceId(): string {
    return this.context.instanceId;
  }

  private get maxQueued(): number {
    return this.context.maxQueued;
  }

  private get counters(): SessionCounters {
    return this.context.counters;
  }

  /** Deliveries waiting behind the in-flight window; made on the first one (EMPTY_QUEUE till then). */
  private get queue(): BoundedQueue<Delivery> {
    return this.queue_ ?? EMPTY_QUEUE;
  }

  private get ownQueue(): BoundedQueue<Delivery> {
    return (this.queue_ ??= new BoundedQueue(this.maxQueued));
  }

  /** Deliveries queued in memory behind the window (paged-in entries included). */
  get queued(): number {
    let n = this.queue_?.length ?? 0;
    const pages = this.state.pages;
    if (pages !== null) for (const page of pages) n += page.left;
    return n;
  }

  /** Payload bytes of the stored pages held. */
  private get pagedBytes(): number {
    let bytes = 0;
    const pages = this.state.pages;
    if (pages !== null) for (const page of pages) bytes += page.bytes;
    return bytes;
  }

  /** True when the backlog behind the window is at least `n` (a stored part counts as that much). */
  backlogAtLeast(n: number): boolean {
    return this.hasStored || this.queued >= n;
  }

  get online(): boolean {
    return this.link !== null;
  }

  /** Subscriptions by the filter as subscribed (incl. any $share/<group>/ prefix). */
  get subscriptions(): ReadonlyMap<string, SubscriptionOptions> {
    return this.subs ?? EMPTY_MAP;
  }

  setSubscription(key: string, options: SubscriptionOptions): void {
    (this.subs ??= new Map()).set(key, options);
  }

  deleteSubscription(key: string): boolean {
    return this.subs?.delete(key) ?? false;
  }

  /** QoS 1/2 deliveries sent and not yet acknowledged, by packet id (`inOrder()`: in send order). */
  get inflight(): Pick<InflightWindow, 'size' | 'get' | 'has' | 'inOrder'> {
    return this.window_ ?? EMPTY_WINDOW;
  }

  /** Inbound QoS 2 packet ids whose PUBREC went out and whose PUBREL has not come yet. */
  get inboundQos2(): ReadonlySet<number> {
    return this.qos2In ?? EMPTY_SET;
  }

  /** Puts back an in-flight entry read from the store (restore). */
  restoreInflight(entry: OutboundEntry): void {
    (this.window_ ??= new InflightWindow()).set(entry);
  }

  /** Puts back an inbound QoS 2 id read from the store (restore). */
  restoreInboundQos2(packetId: number): void {
    (this.qos2In ??= new Set()).add(packetId);
  }

  deliver(delivery: Delivery): void {
    const link = this.link;
    if (delivery.qos === 0) {
      // QoS 0 is not queued for offline sessions (MQTT 3.1.2.4 leaves it optional).
      if (link === null) this.counters.droppedQos0Offline++;
      else if (!link.sendPublish(delivery, 0, false)) this.counters.droppedByLink++;
      return;
    }
    if (link !== null && this.queue.length === 0 && !this.hasStored && this.state.pages === null && this.inflight.size < this.window) {
      this.send(link, delivery);
      return;
    }
    this.enqueue(delivery);
  }

  /**
   * Appends to the queue. In memory the oldest entry is dropped when full; with a journal the
   * store applies the caps (and reports drops through storeDropped).
   */
  enqueue(delivery: Delivery): void {
    const journal = this.journal;
    if (journal === null) {
      const queue = this.ownQueue;
      const lost = queue.push(delivery);
      if (lost !== undefined) this.dropped('queue-full', 'session-cap', lost.message.traceId);
      const flow = this.counters.flow;
      const link = this.link;
      if (flow !== null && link !== null && (queue.length >= flow.highWater || link.flowPaused)) flow.queued(this, delivery.message.origin);
      return;
    }
    journal.enqueued(this, delivery);
    if (this.paging) this.enqueuedWhilePaging = true;
    // Behind pages not taken yet, an entry in `queue` would go out first: it is paged in after them.
    if (this.hasStored || this.state.pages !== null || (this.link === null ? !this.keepsOffline(delivery) : this.queue.length >= MEMORY_WINDOW)) {
      this.hasStored = true; // stays in the store until paged in, so order is kept
      const flow = this.counters.flow;
      if (flow !== null && this.link !== null) flow.queued(this, delivery.message.origin);
      return;
    }
    this.hold(delivery);
    this.pageCursor = delivery.seq ?? this.pageCursor;
    const flow = this.counters.flow;
    const link = this.link;
    if (flow !== null && link !== null && (this.queue.length >= flow.highWater || link.flowPaused)) flow.queued(this, delivery.message.origin);
  }

  /**
   * The store dropped a queue entry over its caps (`cause`, the oldest), or purged it (expiry,
   * retention: `cause` null): forget it here too when it is the next in memory.
   * `traceId`: the dropped message's trace number, 0 when unknown.
   */
  storeDropped(seq: number, cause: DropReason | null, traceId: number): void {
    const headSeq = this.queue.peek()?.seq ?? this.state.pages?.[0]!.nextSeq();
    if (headSeq === seq) {
      const head = this.take()!;
      if (traceId === 0) traceId = head.message.traceId;
    } else if (headSeq !== undefined && seq > headSeq && seq <= this.pageCursor) {
      // Further back in memory (a message expired while its session held it): skipped when it
      // comes up, not counted twice nor removed from the store twice.
      (this.own.goneSeqs ??= new Set()).add(seq);
    }
    this.dropped(cause === null ? 'expired' : 'queue-full', cause, traceId);
  }

  /** Counts a dropped queued message here (visible per client) and broker-wide. */
  private dropped(reason: 'queue-full' | 'expired', cause: DropReason | null, traceId: number): void {
    this.droppedMessages++;
    this.counters.queueDrop(this, reason, cause, traceId);
  }

  /** Records an inbound QoS 2 packet id whose PUBREC goes out (method B, MQTT 4.3.3). */
  addInboundQos2(packetId: number): void {
    (this.qos2In ??= new Set()).add(packetId);
    this.journal?.inboundQos2Added(this, packetId);
  }

  /** PUBREL: forgets the id. Returns false when it was not known. */
  removeInboundQos2(packetId: number): boolean {
    if (this.qos2In?.delete(packetId) !== true) return false;
    this.journal?.inboundQos2Removed(this, packetId);
    return true;
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) completes a delivery. Returns false for unknown ids. */
  complete(packetId: number): boolean {
    if (this.window_?.delete(packetId) !== true) return false;
    this.journal?.completed(this, packetId);
    this.drain();
    return true;
  }

  /**
   * PUBREC for a QoS 2 delivery. 'release' means send PUBREL; 'unknown' means no such
   * id; 'failed' means the client refused the message (reason >= 0x80) and it is discarded.
   */
  received(packetId: number, reasonCode: number): 'release' | 'unknown' | 'failed' {
    const entry = this.inflight.get(packetId);
    if (entry === undefined || entry.qos !== 2) return 'unknown';
    if (reasonCode >= 0x80) {
      this.complete(packetId);
      return 'failed';
    }
    if (!entry.released) {
      entry.released = true;
      entry.delivery = null;
      this.journal?.released(this, packetId);
    }
    return 'release';
  }

  /** Connects a client to the session and resends what it had not acknowledged [MQTT-4.4.0-1]. */
  attach(link: SessionLink, receiveMaximum: number, maxInflight: number): void {
    this.link = link;
    this.window = Math.max(1, Math.min(maxInflight, receiveMaximum));
    for (const entry of this.inflight.inOrder()) {
      if (entry.delivery === null) link.sendPubrel(entry.packetId);
      else if (!link.sendPublish(entry.delivery, entry.packetId, true)) this.counters.droppedByLink++;
    }
    this.drain();
  }

  detach(): void {
    this.link = null;
    const flow = this.counters.flow;
    if (flow !== null && flow.watched !== 0) flow.under(this);
    if (this.journal !== null && (this.queue.length > 0 || this.state.pages !== null)) {
      // Everything queued is in the store already: a page half sent is read again on return.
      this.queue.drain();
      this.own.pages = null;
      this.releaseWindow();
      this.hasStored = true;
      this.pageCursor = 0;
    }
  }

  /**
   * An offline journaled session keeps `delivery` in memory too while the OfflineWindow budget
   * allows; its payload then gets its own bytes if it is a view into a larger read buffer.
   */
  private keepsOffline(delivery: Delivery): boolean {
    const budget = this.counters.offlineWindow;
    if (budget === undefined || budget === null || !budget.fits(this.windowBytes, OfflineWindow.cost(delivery))) return false;
    delivery.message.ownPayload();
    return true;
  }

  /** Appends to the queue in memory; a journaled session's entries count in the OfflineWindow. */
  private hold(delivery: Delivery): void {
    this.ownQueue.push(delivery);
    const budget = this.counters.offlineWindow;
    if (this.journal === null || budget === undefined || budget === null) return;
    const cost = OfflineWindow.cost(delivery);
    this.windowBytes += cost;
    budget.used += cost;
  }

  /** Takes the oldest entry from the queue in memory, giving back what it counted; then the pages'. */
  private take(): Delivery | undefined {
    const delivery = this.queue.shift();
    if (delivery === undefined) return this.takePaged();
    if (this.windowBytes === 0) return delivery;
    const cost = Math.min(OfflineWindow.cost(delivery), this.windowBytes);
    this.windowBytes -= cost;
    this.counters.offlineWindow!.used -= cost;
    return delivery;
  }

  /**
   * The next entry of the oldest stored page, made now (pages are not counted in the
   * OfflineWindow: they are bounded by READ_AHEAD and READ_AHEAD_BYTES).
   */
  private takePaged(): Delivery | undefined {
    const pages = this.state.pages;
    if (pages === null) return undefined;
    const page = pages[0]!;
    const delivery = page.take();
    if (page.left === 0) {
      pages.shift();
      if (pages.length === 0) this.own.pages = null;
    }
    return delivery;
  }

  /** True when the store already dropped `delivery` (storeDropped); forgets it. */
  private forgetGone(delivery: Delivery): boolean {
    const gone = this.own.goneSeqs!;
    const was = delivery.seq !== undefined && gone.delete(delivery.seq);
    if (gone.size === 0 || this.queued === 0) this.own.goneSeqs = null;
    return was;
  }

  /**
   * Gives back everything the session's entries in memory count in the OfflineWindow (detach
   * empties them; the broker calls it when the session ends, so nothing stays counted).
   */
  releaseWindow(): void {
    if (this.state.goneSeqs !== null) this.own.goneSeqs = null;
    const held = this.windowBytes;
    if (held === 0) return;
    this.windowBytes = 0;
    this.counters.offlineWindow!.used -= held;
  }

  /**
   * Takes back unfinished deliveries that came through a shared subscription, so the router can
   * give them to another member of the group (MQTT 4.8.2). A QoS 2 message already sent stays
   * with this session while it lives: its delivery must complete to the same client
   * [MQTT-4.8.2-4]; only when the session ends (`ending`) does it go to another member.
   * QoS 2 messages already PUBREC'd always stay: the client has them.
   */
  takeSharedDeliveries(ending: boolean): Delivery[] {
    const taken: Delivery[] = [];
    for (const entry of this.inflight.inOrder()) {
      const id = entry.packetId;
      if (entry.delivery !== null && entry.delivery.shared !== null && (entry.qos === 1 || ending)) {
        this.window_!.delete(id);
        this.journal?.completed(this, id);
        taken.push(entry.delivery);
      }
    }
    const kept: Delivery[] = [];
    const all = this.queue.drain();
    for (let delivery = this.takePaged(); delivery !== undefined; delivery = this.takePaged()) all.push(delivery);
    this.releaseWindow();
    for (const delivery of all) {
      if (delivery.shared === null) {
        kept.push(delivery);
      } else {
        this.journal?.unqueued(this, delivery);
        taken.push(delivery);
      }
    }
    for (const delivery of kept) this.hold(delivery);
    return taken;
  }

  /** Moves queued deliveries into the window while it has room. */
  drain(): void {
    const link = this.link;
    if (link === null) return;
    const now = Date.now();
    while (this.inflight.size < this.window) {
      const delivery = this.take();
      if (delivery === undefined) break;
      if (this.state.goneSeqs !== null && this.forgetGone(delivery)) continue;
      if (delivery.message.isExpired(now)) {
        this.dropped('expired', null, delivery.message.traceId);
        this.journal?.unqueued(this, delivery);
        continue;
      }
      this.send(link, delivery);
    }
    const flow = this.counters.flow;
    if (flow !== null && flow.watched !== 0 && !this.hasStored && this.queued <= flow.lowWater) flow.under(this);
    if (this.hasStored && !this.paging && this.readsAhead()) {
      this.pageIn().catch((error: unknown) => link.internalError(error, 'continuation', 'queue-page-in'));
    }
  }

  /** True when the next stored page should be read now (see READ_AHEAD). */
  private readsAhead(): boolean {
    const held = this.queued;
    return held <= REFILL_AT || (held <= READ_AHEAD && this.pagedBytes < READ_AHEAD_BYTES);
  }

  /** Brings the next page of the stored queue into memory, then resumes draining. */
  private async pageIn(): Promise<void> {
    const journal = this.journal;
    if (this.paging || journal === null) return;
    this.paging = true;
    this.enqueuedWhilePaging = false;
    try {
      const cursor = this.pageCursor;
      const page = await journal.readQueue(this, cursor, MEMORY_WINDOW);
      if (this.journal !== journal) return;
      // Detached meanwhile, the page is stale (the next attach reads from the start again).
      if (this.link !== null && this.pageCursor === cursor) {
        if (page.left > 0) {
          (this.own.pages ??= []).push(page);
          this.pageCursor = page.lastSeq;
        }
        if (page.left < MEMORY_WINDOW && !this.enqueuedWhilePaging) this.hasStored = false;
      }
    } finally {
      this.paging = false;
    }
    // Also after a stale page: a client attached meanwhile found this read in progress.
    this.drain();
  }

  private send(link: SessionLink, delivery: Delivery): void {
    const window = (this.window_ ??= new InflightWindow());
    const packetId = window.allocate();
    window.set({ packetId, qos: delivery.qos, delivery, released: false });
    this.journal?.sent(this, delivery, packetId);
    if (!link.sendPublish(delivery, packetId, false)) {
      // Too large for this client: treat as delivered [MQTT-3.1.2-25].
      window.delete(packetId);
      this.journal?.completed(this, packetId);
      this.counters.droppedByLink++;
    }
  }
}
