/**
 * A rule's dispatcher on the delivery thread (src/rules/thread/lane.ts), driven directly. The
 * target here is scripted on purpose: the cases below need per-entry failures at chosen places
 * and rounds that come back out of order, which no real engine produces on demand (the real ones
 * are exercised end to end in test/integration/rules: thread crashes, kill -9, Redis restarts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeliveryOutcome, TargetConnector, TargetItem } from '../../../src/rules/connectors/index.js';
import { encodeItem } from '../../../src/rules/items.js';
import type { FeedEntry } from '../../../src/rules/thread/feed-packing.js';
import { BATCH, Lane, MAX_ROUNDS } from '../../../src/rules/thread/lane.js';
import type { LaneOutcomes } from '../../../src/rules/thread/protocol.js';
import { waitFor } from '../../helpers/wait.js';

interface Call {
  readonly items: readonly TargetItem[];
  resolve(outcomes: DeliveryOutcome[]): void;
}

/** A target whose rounds the test answers by hand; `stream` is what it accepted, in the order it was handed over. */
class ScriptedTarget implements TargetConnector {
  readonly url = 'scripted://';
  readonly calls: Call[] = [];
  readonly stream: string[] = [];
  maxInFlight = 0;
  private inFlight = 0;

  constructor(readonly ordered: boolean) {}

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async health(): Promise<{ state: 'connected' }> {
    return { state: 'connected' };
  }

  deliver(items: readonly TargetItem[]): Promise<DeliveryOutcome[]> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise((resolve) => {
      const at = this.calls.length;
      this.calls.push({
        items,
        resolve: (outcomes) => {
          this.inFlight--;
          // An ordered engine executes rounds in the order they were handed over: record the
          // accepted items of this round at its place among the rounds already recorded.
          this.accepted[at] = items.flatMap((item, i) => (outcomes[i]?.ok === true ? [payloadOf(item)] : []));
          resolve(outcomes);
        },
      });
    });
  }

  /** Per call, what it accepted (filled when answered). */
  readonly accepted: string[][] = [];

  /** Everything accepted, in the order the rounds were handed over. */
  acceptedInOrder(): string[] {
    return this.accepted.flatMap((a) => a ?? []);
  }
}

function payloadOf(item: TargetItem): string {
  assert.ok(item.type === 'message');
  return item.message.payload.toString();
}

let nextSeq = 1;
/** Entries "client:n" of `clients` clients, interleaved, n = 0..perClient-1. */
function entries(clients: number, perClient: number): FeedEntry[] {
  const out: FeedEntry[] = [];
  for (let n = 0; n < perClient; n++) {
    for (let c = 0; c < clients; c++) {
      const { meta, payload } = encodeItem({
        type: 'message',
        message: { clientId: `client${c}`, topic: 't', qos: 1, cleanSession: true, bornTime: 1, msgId: '', payload: Buffer.from(`${c}:${n}`) },
      });
      out.push({ seq: nextSeq++, attempts: 0, meta, payload });
    }
  }
  return out;
}

function collect(): { all: LaneOutcomes[]; delivered(): number[]; released(): number; report: (o: LaneOutcomes) => void } {
  const all: LaneOutcomes[] = [];
  return {
    all,
    delivered: () => all.flatMap((o) => o.delivered),
    released: () => all.reduce((sum, o) => sum + o.released, 0),
    report: (o) => all.push(o),
  };
}

/** Per client, the order of the LAST occurrence of each number must be 0..n-1, none missing. */
function assertLastOccurrencesInOrder(stream: readonly string[], clients: number, perClient: number): void {
  for (let c = 0; c < clients; c++) {
    const last = new Map<number, number>();
    stream.forEach((p, at) => {
      const [pc, n] = p.split(':').map(Number) as [number, number];
      if (pc === c) last.set(n, at);
    });
    const order = [...last.entries()].sort((a, b) => a[1] - b[1]).map(([n]) => n);
    assert.deepEqual(order, Array.from({ length: perClient }, (_, n) => n), `client ${c}: last occurrences in order, none missing`);
  }
}

const OK: DeliveryOutcome = { ok: true };
const allOk = (n: number): DeliveryOutcome[] => Array.from({ length: n }, () => OK);

describe('rules lane', () => {
  it('rules lane - without failures: several rounds in flight on an ordered target, each entry once, in order', async () => {
    const target = new ScriptedTarget(true);
    const out = collect();
    const lane = new Lane(target, 5, out.report);
    const fed = entries(3, 700); // 2,100 entries: five rounds
    lane.feed(fed, null);
    assert.equal(target.calls.length, MAX_ROUNDS, 'a full queue starts MAX_ROUNDS rounds at once');
    // Answers out of order: the later rounds first. Nothing is applied before the first one.
    for (let i = MAX_ROUNDS - 1; i >= 1; i--) target.calls[i]!.resolve(allOk(target.calls[i]!.items.length));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(out.delivered().length, 0, 'outcomes are applied in the order the rounds were sent');
    target.calls[0]!.resolve(allOk(target.calls[0]!.items.length));
    await waitFor(() => target.calls.length === MAX_ROUNDS + 1, { message: 'the fifth round went out' });
    target.calls[MAX_ROUNDS]!.resolve(allOk(target.calls[MAX_ROUNDS]!.items.length));
    await waitFor(() => out.delivered().length === fed.length, { message: 'everything delivered' });
    assert.deepEqual(out.delivered(), fed.map((e) => e.seq), 'delivered seqs once each, in order');
    assert.equal(out.released(), fed.length);
    assert.equal(target.acceptedInOrder().length, fed.length, 'no duplicates without failures');
    assertLastOccurrencesInOrder(target.acceptedInOrder(), 3, 700);
    await lane.close();
  });

  it('rules lane - a client fails in an early round while later rounds (with its later entries) succeed: they go again after it, nothing lost', async () => {
    const target = new ScriptedTarget(true);
    const out = collect();
    const lane = new Lane(target, 10, out.report);
    const fed = entries(3, 600); // 1,800 entries: four rounds of ≤ 500, all in flight
    lane.feed(fed, null);
    assert.equal(target.calls.length, 4);
    assert.equal(target.maxInFlight, 4, 'four rounds in flight at once');
    // Round 1 fails client 1's entries from its 10th on (one retryable failure, the target
    // skipped its later ones too); client 0 fails on one entry only. Rounds 2-4 succeed entirely,
    // and come back before round 1.
    for (const i of [3, 1, 2]) target.calls[i]!.resolve(allOk(target.calls[i]!.items.length));
    const first = target.calls[0]!;
    let seen1 = 0;
    let failedClient0 = false;
    const outcomes = first.items.map((item): DeliveryOutcome => {
      const [c] = payloadOf(item).split(':').map(Number) as [number];
      if (c === 1 && ++seen1 >= 10) return { ok: false, reason: 'busy', retryable: true };
      if (c === 0 && !failedClient0 && payloadOf(item) === '0:50') {
        failedClient0 = true;
        return { ok: false, reason: 'busy', retryable: true };
      }
      return OK;
    });
    first.resolve(outcomes);
    await waitFor(() => out.all.length > 0, { message: 'the outcomes came back' });
    const retried = out.all.flatMap((o) => o.retried);
    assert.equal(retried.length, 2, "a client's first failure is a retry; its later entries just wait behind it");
    // After the backoff, one round at a time until a round fully succeeds; answer every round OK.
    const answered = new Set<number>([0, 1, 2, 3]);
    await waitFor(
      () => {
        target.calls.forEach((call, i) => {
          if (!answered.has(i)) {
            answered.add(i);
            call.resolve(allOk(call.items.length));
          }
        });
        return out.delivered().length === fed.length;
      },
      { timeoutMs: 10_000, message: 'everything delivered after the retry' },
    );
    assert.equal(new Set(out.delivered()).size, fed.length, 'each seq delivered once (removed from the outbox once)');
    const stream = target.acceptedInOrder();
    // Client 2 never failed: each entry exactly once. Clients 0 and 1 have duplicates of the
    // entries that were accepted in rounds 2-4 before their failure was known, and those go
    // again after the retried entry.
    assert.equal(stream.filter((p) => p.startsWith('2:')).length, 600, 'client 2: no duplicates');
    assert.ok(stream.filter((p) => p.startsWith('1:')).length > 600, 'client 1: its later entries went again');
    assertLastOccurrencesInOrder(stream, 3, 600);
    // The retried entry of client 0 goes out again before any of client 0's later entries.
    const retry = stream.lastIndexOf('0:50');
    assert.ok(stream.slice(retry).includes('0:51'), 'client 0 resumed after its failed entry');
    await lane.close();
  });

  it('rules lane - refused entries and entries out of attempts go to the dead letters with the reason; the others go on', async () => {
    const target = new ScriptedTarget(true);
    const out = collect();
    const lane = new Lane(target, 2, out.report);
    const fed = entries(2, 3); // 0:0 1:0 0:1 1:1 0:2 1:2
    lane.feed(fed, null);
    await waitFor(() => target.calls.length === 1, { message: 'a round after the linger' });
    // 0:0 refused (its client goes on), 1:0 fails (retryable: 1:1 and 1:2 wait behind it).
    target.calls[0]!.resolve([{ ok: false, reason: 'bad', retryable: false }, { ok: false, reason: 'busy', retryable: true }, OK, OK, OK, OK]);
    await waitFor(() => target.calls.length === 2, { timeoutMs: 5_000, message: 'the retry round after the backoff' });
    assert.deepEqual(target.calls[1]!.items.map(payloadOf), ['1:0', '1:1', '1:2']);
    target.calls[1]!.resolve([{ ok: false, reason: 'still busy', retryable: true }, OK, OK]);
    await waitFor(() => out.released() === fed.length, { timeoutMs: 5_000, message: 'every entry left the lane' });
    const dead = out.all.flatMap((o) => o.dead);
    assert.deepEqual(
      dead.map((d) => [Buffer.from(d.payload).toString(), d.reason, d.attempts]),
      [
        ['0:0', 'refused by the target: bad', 1],
        ['1:0', 'gave up after 2 attempts: still busy', 2],
      ],
    );
    // 1:1 and 1:2 were accepted in round 2 after 1:0 failed for good: delivered then.
    assert.deepEqual(out.delivered().sort((a, b) => a - b), [fed[2]!.seq, fed[3]!.seq, fed[4]!.seq, fed[5]!.seq]);
    await lane.close();
  });

  it('rules lane - a target that does not keep the order of batches gets one round at a time', async () => {
    const target = new ScriptedTarget(false);
    const out = collect();
    const lane = new Lane(target, 5, out.report);
    lane.feed(entries(2, BATCH), null);
    assert.equal(target.calls.length, 1);
    target.calls[0]!.resolve(allOk(target.calls[0]!.items.length));
    await waitFor(() => target.calls.length === 2, { message: 'the next round after the first' });
    assert.equal(target.maxInFlight, 1);
    target.calls[1]!.resolve(allOk(target.calls[1]!.items.length));
    await waitFor(() => out.released() === 2 * BATCH, { message: 'all delivered' });
    await lane.close();
  });

  it('rules lane - entries the outbox dropped are forgotten (released at once, not delivered), also while in flight', async () => {
    const target = new ScriptedTarget(true);
    const out = collect();
    const lane = new Lane(target, 5, out.report);
    const fed = entries(1, 600);
    lane.feed(fed, null);
    assert.equal(target.calls.length, 1, 'one full round; the 100 left wait for it (fewer than a linger batch)');
    // 0:0 is in flight, 0:599 queued; both dropped, and an unknown seq ignored.
    lane.feed([], [fed[0]!.seq, fed[599]!.seq, 999_999]);
    assert.equal(out.released(), 2, 'forgotten entries are released at once');
    target.calls[0]!.resolve(allOk(target.calls[0]!.items.length));
    await waitFor(() => target.calls.length === 2, { message: 'the rest in a second round' });
    assert.equal(target.calls[1]!.items.length, 99);
    target.calls[1]!.resolve(allOk(target.calls[1]!.items.length));
    await waitFor(() => out.released() === 600, { message: 'the rest delivered' });
    assert.equal(out.delivered().length, 598, 'dropped entries are not reported delivered');
    await lane.close();
  });
});
