/**
 * Retained messages, one per topic, kept in a trie of topic levels so that a SUBSCRIBE walks
 * only the branches its filter can match instead of testing every retained topic.
 * [MQTT-3.3.1-5] a new retained message replaces the old; [MQTT-3.3.1-10] an empty payload
 * deletes it. Expired messages are dropped when met.
 */
import type { Message } from '../session/message.js';

class RetainedNode {
  children: Map<string, RetainedNode> | null = null;
  message: Message | null = null;
}

export class RetainedStore {
  private readonly root = new RetainedNode();
  private count = 0;

  constructor(private readonly maxMessages: number) {}

  get size(): number {
    return this.count;
  }

  /** Stores (or, for an empty payload, deletes) the retained message of `message.topic`. */
  set(message: Message): boolean {
    const levels = message.topic.split('/');
    if (message.payload.length === 0) {
      this.delete(levels);
      return true;
    }
    let node = this.root;
    for (const level of levels) {
      node.children ??= new Map();
      let child = node.children.get(level);
      if (child === undefined) {
        child = new RetainedNode();
        node.children.set(level, child);
      }
      node = child;
    }
    if (node.message === null) {
      if (this.maxMessages > 0 && this.count >= this.maxMessages) return false;
      this.count++;
    }
    node.message = message;
    return true;
  }

  get(topic: string): Message | undefined {
    let node: RetainedNode | undefined = this.root;
    for (const level of topic.split('/')) {
      node = node.children?.get(level);
      if (node === undefined) return undefined;
    }
    return node.message ?? undefined;
  }

  /** Every retained message whose topic matches `filter`, skipping (and removing) expired ones. */
  match(filter: string, now: number): Message[] {
    const out: Message[] = [];
    this.walk(this.root, filter.split('/'), 0, now, out);
    return out;
  }

  /** All retained messages (for listing); expired ones are skipped. */
  all(now: number): Message[] {
    const out: Message[] = [];
    this.walk(this.root, ['#'], 0, now, out);
    return out;
  }

  private walk(node: RetainedNode, levels: string[], depth: number, now: number, out: Message[]): void {
    if (depth === levels.length) {
      this.collect(node, now, out);
      return;
    }
    const level = levels[depth]!;
    if (level === '#') {
      this.collect(node, now, out); // "a/#" matches "a" [MQTT-4.7.1-2]
      this.collectSubtree(node, depth === 0, now, out);
      return;
    }
    if (node.children === null) return;
    if (level === '+') {
      for (const [name, child] of node.children) {
        // [MQTT-4.7.2-1] wildcards at the first level never match '$' topics.
        if (depth === 0 && name.startsWith('$')) continue;
        this.walk(child, levels, depth + 1, now, out);
      }
      return;
    }
    const child = node.children.get(level);
    if (child !== undefined) this.walk(child, levels, depth + 1, now, out);
  }

  private collectSubtree(node: RetainedNode, atRoot: boolean, now: number, out: Message[]): void {
    if (node.children === null) return;
    for (const [name, child] of node.children) {
      if (atRoot && name.startsWith('$')) continue;
      this.collect(child, now, out);
      this.collectSubtree(child, false, now, out);
    }
  }

  private collect(node: RetainedNode, now: number, out: Message[]): void {
    const message = node.message;
    if (message === null) return;
    if (message.isExpired(now)) {
      node.message = null;
      this.count--;
      return;
    }
    out.push(message);
  }

  private delete(levels: string[]): void {
    const path: RetainedNode[] = [this.root];
    let node = this.root;
    for (const level of levels) {
      const child = node.children?.get(level);
      if (child === undefined) return;
      path.push(child);
      node = child;
    }
    if (node.message === null) return;
    node.message = null;
    this.count--;
    // Prune empty branches bottom-up.
    for (let i = path.length - 1; i > 0; i--) {
      const current = path[i]!;
      if (current.message !== null || (current.children !== null && current.children.size > 0)) return;
      const parent = path[i - 1]!;
      parent.children!.delete(levels[i - 1]!);
    }
  }
}
