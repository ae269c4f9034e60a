/**
 * What the main thread remembers of the store so that mutations can answer at once without
 * asking the store thread: each session's record and queue depth, the client ids with a pending
 * will and the retained topics. Loaded from the store thread at open; kept in step by the
 * mutations themselves and by the store thread's depth corrections (cap drops, purges).
 */
import type { SessionRecord } from '../types.js';
import type { OpenState } from './protocol.js';

export interface MirrorSession {
  record: SessionRecord;
  depth: number;
}

export class Mirror {
  private readonly sessions = new Map<string, MirrorSession>();
  readonly wills: Set<string>;
  readonly retained: Set<string>;

  constructor(state: OpenState) {
    for (const { record, depth } of state.sessions) this.sessions.set(record.clientId, { record, depth });
    this.wills = new Set(state.wills);
    this.retained = new Set(state.retained);
  }

  has(clientId: string): boolean {
    return this.sessions.has(clientId);
  }

  /** The session of a client id; throws when there is none (a caller's bug). */
  live(clientId: string): MirrorSession {
    const session = this.sessions.get(clientId);
    if (session === undefined) throw new Error(`unknown session ${clientId}`);
    return session;
  }

  putSession(record: SessionRecord): void {
    const existing = this.sessions.get(record.clientId);
    if (existing === undefined) {
      this.sessions.set(record.clientId, { record: { ...record }, depth: 0 });
      return;
    }
    if (existing.record.instanceId !== record.instanceId) {
      throw new Error(`session ${record.clientId}: instanceId cannot change (delete the session first)`);
    }
    existing.record = { ...record };
  }

  setDisconnectedAt(clientId: string, at: number | null): boolean {
    const session = this.sessions.get(clientId);
    if (session === undefined) return false;
    // The mirror's records are its own copies (putSession and getSession copy): changed in place.
    (session.record as { disconnectedAt: number | null }).disconnectedAt = at;
    return true;
  }

  getSession(clientId: string): SessionRecord | undefined {
    const session = this.sessions.get(clientId);
    return session === undefined ? undefined : { ...session.record };
  }

  deleteSession(clientId: string): boolean {
    return this.sessions.delete(clientId);
  }

  depth(clientId: string): number {
    return Math.max(0, this.sessions.get(clientId)?.depth ?? 0);
  }

  /**
   * Changes a session's queue depth; false when the session is unknown. Not clamped: a removal
   * of an entry the store thread had already dropped goes below for a moment, and the store
   * thread's correction (+1) brings it back.
   */
  addDepth(clientId: string, delta: number): boolean {
    const session = this.sessions.get(clientId);
    if (session === undefined) return false;
    session.depth += delta;
    return true;
  }

  instancesWithQueues(): Set<string> {
    const instances = new Set<string>();
    for (const session of this.sessions.values()) if (session.depth > 0) instances.add(session.record.instanceId);
    return instances;
  }
}
