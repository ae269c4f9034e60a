import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packEntries, packOutcomes, unpackEntries, unpackOutcomes } from '../../../src/rules/thread/packing.js';

describe('rule thread packing', () => {
  it('rule thread packing - entries survive the round trip: multi-byte meta, empty and binary payloads, as views of one buffer', () => {
    const entries = [
      { meta: '{"v":1,"t":"m","c":"GID_ä@@@ü","to":"a/€"}', payload: Buffer.from([0, 255, 1]) },
      { meta: '{"v":1,"t":"s"}', payload: Buffer.alloc(0) },
      { meta: '', payload: Buffer.alloc(70_000, 7) },
    ];
    const data = packEntries(entries);
    assert.ok(data instanceof ArrayBuffer);
    const back = unpackEntries(data);
    assert.deepEqual(
      back.map((e) => ({ meta: e.meta, payload: Buffer.from(e.payload) })),
      entries,
    );
    assert.equal(back[0]!.payload.buffer, back[2]!.payload.buffer, 'payloads are views, not copies');
  });

  it('rule thread packing - a truncated batch is refused, not read past its end', () => {
    const data = packEntries([{ meta: 'm', payload: Buffer.alloc(100) }]);
    assert.throws(() => unpackEntries(data.slice(0, 50)), RangeError);
  });

  it('rule thread packing - outcomes keep ok, retryable and refused apart, with each failure reason; a missing outcome is a retryable failure', () => {
    const packed = packOutcomes([{ ok: true }, { ok: false, reason: 'down', retryable: true }, { ok: false, reason: 'too big', retryable: false }], 4);
    assert.deepEqual(unpackOutcomes(packed), [
      { ok: true },
      { ok: false, reason: 'down', retryable: true },
      { ok: false, reason: 'too big', retryable: false },
      { ok: false, reason: 'no outcome from the target', retryable: true },
    ]);
  });
});
