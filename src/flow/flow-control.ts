/**
 * Flow control from publishers to slow online subscribers (docs/operations.md, "Flow control").
 *
 * A fleet of devices can publish faster than an online subscriber takes the messages (its
 * in-flight window refills only as its PUBACKs arrive). Without pacing the surplus piles up in
 * the subscriber's queue and, past the queue caps, is dropped — acknowledged messages that a
 * client which is online and reading never gets. So, as RabbitMQ's credit flow and EMQX's
 * active-N do: when a message from a publishing connection is queued for an online session
 * whose queue is at the high-water mark, that connection stops being read (the kernel's
 * buffers fill and TCP pushes back on the device) until the session drains to the low-water
 * mark. A paused connection is still written to (its acks, its own deliveries).
 *
 * No deadlock, and no client blocks itself — a paused client is not read, so neither are its
 * PUBACKs, and its own deliveries would stall once its window is full:
 * - P is never paused because of its own session (a client publishing to its own subscription);
 * - P is not paused while anything is queued for it (its window is full: it must read its PUBACKs);
 * - when something is queued for a paused client, it is resumed at once.
 * So a wait P → T exists only while T has a queue, and a client with a queue is never paused:
 * every wait is one edge to a session that is being read. Two clients publishing to each other
 * while both are behind keep reading and fall back to the queue caps. What remains is a
 * subscriber that is online and does not read at all: after `maxPauseMs` at the mark with
 * publishers waiting, the session is given up on (counted, a warning): its publishers resume
 * and it queues under the usual caps until it drains to the low-water mark.
 *
 * Only publishers on this node's MQTT connections are paused. Messages without one (rules,
 * the HTTP API, other cluster nodes, wills) queue as before. QoS 0 is not queued and not paced:
 * above the output ceiling it is dropped for that subscriber (counted), as before.
 *
 * State exists only for sessions at the mark and paused publishers: nothing per idle client.
 */
import { Session, type SessionFlow, type SessionLink } from '../session/session.js';

export interface FlowOptions {
  /** Queued messages of an online session at which its publishers are paused. */
  readonly highWater: number;
  /** Queued messages at which the paused publishers are read again (< highWater). */
  readonly lowWater: number;
  /** Longest a session may hold publishers while at the mark before it is given up on, ms. */
  readonly maxPauseMs: number;
}

/** A session at the mark and the publishers waiting for it. */
interface Target {
  /** When the first publisher started waiting (ms): the give-up clock. */
  readonly since: number;
  readonly publishers: Set<SessionLink>;
}

/** A paused publisher and the sessions it waits for. */
interface Pause {
  readonly since: number;
  readonly on: Set<Session>;
}

export class FlowControl implements SessionFlow {
  readonly highWater: number;
  readonly lowWater: number;
  readonly maxPauseMs: number;
  /** Publishers paused since start (ferry_flow_pauses_total). */
  pauses = 0;
  /** Sessions given up on after maxPauseMs (ferry_flow_fallbacks_total). */
  fallbacks = 0;
  /** Time of pauses that ended, ms (ferry_flow_paused_seconds_total adds the running ones). */
  private endedPauseMs = 0;
  private readonly targets = new Map<Session, Target>();
  private readonly paused = new Map<SessionLink, Pause>();
  /** Sessions given up on until they drain to the low-water mark (their publishers are not paused). */
  private readonly givenUp = new Set<Session>();
  /** Publishers to read again, in the next tick (not inside another client's packet). */
  private resuming: SessionLink[] = [];

  constructor(
    options: FlowOptions,
    /** Warns about a session given up on (the broker's logger). */
    private readonly warn: (fields: Record<string, unknown>, msg: string) => void,
  ) {
    this.highWater = options.highWater;
    this.lowWater = Math.min(options.lowWater, options.highWater - 1);
    this.maxPauseMs = options.maxPauseMs;
  }

  /** Sessions to be told about draining (Session.drain checks this first: 0 on the hot path). */
  get watched(): number {
    return this.targets.size + this.givenUp.size;
  }

  /** Publisher connections paused now (ferry_flow_paused_publishers). */
  get pausedPublishers(): number {
    return this.paused.size;
  }

  /** Seconds publishers have been paused, over all, including the running pauses. */
  pausedSeconds(now = Date.now()): number {
    let ms = this.endedPauseMs;
    for (const pause of this.paused.values()) ms += now - pause.since;
    return ms / 1000;
  }

  /** True while `link` is paused by flow control (its keepalive is not checked: it is not read). */
  isPaused(link: SessionLink): boolean {
    return this.paused.size !== 0 && this.paused.has(link);
  }

  /**
   * A message from `origin` (a publisher's session, or whatever else published it) was queued
   * for the online session `target`, whose backlog is at the high-water mark or whose client is
   * paused.
   */
  queued(target: Session, origin: object | null): void {
    const link = target.link;
    if (link === null) return;
    // Its window is full: it must read its PUBACKs to get its own messages. Never leave it paused.
    const own = this.paused.get(link);
    if (own !== undefined) this.release(link, own, Date.now());
    if (!target.backlogAtLeast(this.highWater)) return;
    if (origin === target || !(origin instanceof Session) || this.givenUp.has(target)) return;
    const publisher = origin.link;
    if (publisher === null || origin.backlogAtLeast(1)) return;
    const now = Date.now();
    let waiting = this.targets.get(target);
    if (waiting === undefined) this.targets.set(target, (waiting = { since: now, publishers: new Set() }));
    waiting.publishers.add(publisher);
    let pause = this.paused.get(publisher);
    if (pause === undefined) {
      this.paused.set(publisher, (pause = { since: now, on: new Set() }));
      this.pauses++;
      publisher.pauseInput();
      publisher.note(
        'flow-paused',
        { subscriber: target.clientId, queued: target.queued, highWater: this.highWater },
        'publisher paused by flow control: a subscriber is behind',
      );
    }
    pause.on.add(target);
  }

  /** `target` drained to the low-water mark, or went offline: its publishers may go on. */
  under(target: Session): void {
    this.givenUp.delete(target);
    const waiting = this.targets.get(target);
    if (waiting === undefined) return;
    this.targets.delete(target);
    this.releaseAll(target, waiting, Date.now());
  }

  /** A paused publisher's connection closed: forget it. */
  clientClosed(link: SessionLink): void {
    const pause = this.paused.get(link);
    if (pause === undefined) return;
    this.paused.delete(link);
    this.endedPauseMs += Date.now() - pause.since;
    for (const target of pause.on) {
      const waiting = this.targets.get(target);
      if (waiting === undefined) continue;
      waiting.publishers.delete(link);
      if (waiting.publishers.size === 0) this.targets.delete(target);
    }
  }

  /** Called about once a second: gives up on sessions that held publishers for maxPauseMs. */
  sweep(now = Date.now()): void {
    for (const [target, waiting] of this.targets) {
      if (now - waiting.since < this.maxPauseMs) continue;
      this.targets.delete(target);
      this.givenUp.add(target);
      this.fallbacks++;
      this.warn(
        { instanceId: target.instanceId, clientId: target.clientId, queued: target.queued, publishers: waiting.publishers.size, maxPauseMs: this.maxPauseMs },
        'flow control: subscriber did not drain within flowMaxPauseMs; its publishers resume and its queue is capped as usual',
      );
      this.releaseAll(target, waiting, now);
    }
  }

  private releaseAll(target: Session, waiting: Target, now: number): void {
    for (const publisher of waiting.publishers) {
      const pause = this.paused.get(publisher);
      if (pause === undefined) continue;
      pause.on.delete(target);
      if (pause.on.size === 0) this.release(publisher, pause, now);
    }
  }

  private release(publisher: SessionLink, pause: Pause, now: number): void {
    this.paused.delete(publisher);
    this.endedPauseMs += now - pause.since;
    for (const target of pause.on) {
      const waiting = this.targets.get(target);
      if (waiting === undefined) continue;
      waiting.publishers.delete(publisher);
      if (waiting.publishers.size === 0) this.targets.delete(target);
    }
    pause.on.clear();
    // Reading the publisher now would handle its packets inside the packet that released it
    // (a subscriber's PUBACK, a publish): in the next tick, once per batch.
    if (this.resuming.length === 0) process.nextTick(() => this.resumeNow());
    this.resuming.push(publisher);
  }

  private resumeNow(): void {
    const links = this.resuming;
    this.resuming = [];
    for (const link of links) {
      // Paused again meanwhile (e.g. by a publish its authorization callback let through).
      if (!this.paused.has(link)) link.resumeInput();
    }
  }
}
