import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/auth/clock.js';
import { InstanceQuotas, LoginLimiter, TokenBucket } from '../../../src/auth/quotas.js';

test('quotas - token bucket: burst, then the rate', () => {
  const bucket = new TokenBucket(10, 3, 0);
  assert.deepEqual([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)], [true, true, true, false]);
  assert.equal(bucket.take(50), false, 'half a token after 50 ms');
  assert.equal(bucket.take(100), true);
  assert.equal(bucket.take(100), false);
  assert.deepEqual([bucket.take(10_000), bucket.take(10_000), bucket.take(10_000), bucket.take(10_000)], [true, true, true, false], 'never more than the burst');
});

test('quotas - messages per second per instance, counted when refused', () => {
  const clock = new ManualClock(0);
  const quotas = new InstanceQuotas(clock);
  let passed = 0;
  for (let i = 0; i < 10; i++) if (quotas.takeMessage('mqtt-a', 5, 0)) passed++;
  assert.equal(passed, 5);
  assert.equal(quotas.count('mqtt-a').messagesThrottled, 5);
  assert.equal(quotas.takeMessage('mqtt-b', 5, 0), true, 'instances have their own buckets');
  assert.equal(quotas.takeMessage('mqtt-c', 0, 0), true, '0 = unlimited');
  clock.advance(1000);
  assert.equal(quotas.takeMessage('mqtt-a', 5, 0), true);
});

test('quotas - failed logins block an address, or a username from that address, for a while', () => {
  const clock = new ManualClock(0);
  const limiter = new LoginLimiter(clock, { maxFailuresPerIp: 5, maxFailuresPerUsername: 3, windowMs: 60_000, blockMs: 30_000, maxBlockMs: 600_000, maxEntries: 100 });
  for (let i = 0; i < 3; i++) limiter.failed('10.0.0.1', 'alice');
  assert.equal(limiter.blocked('10.0.0.1', 'alice'), true, 'the username is blocked from the failing address');
  assert.equal(limiter.blocked('10.0.0.2', 'alice'), false, 'never from every address: the username is not a secret');
  assert.equal(limiter.blocked('10.0.0.1', 'bob'), false, 'the address is below its threshold');
  limiter.failed('10.0.0.1', 'carol');
  limiter.failed('10.0.0.1', undefined);
  assert.equal(limiter.blocked('10.0.0.1', 'dave'), true, 'five failures from one address');
  clock.advance(30_000);
  assert.equal(limiter.blocked('10.0.0.1', 'dave'), false, 'the block ends');
  assert.equal(limiter.blocked('10.0.0.1', 'alice'), false);
  limiter.failed('10.0.0.3', 'erin');
  limiter.failed('10.0.0.3', 'erin');
  clock.advance(61_000);
  limiter.failed('10.0.0.3', 'erin');
  assert.equal(limiter.blocked('10.0.0.3', 'erin'), false, 'failures outside the window do not add up');
  limiter.failed('10.0.0.3', 'erin');
  limiter.succeeded('10.0.0.4', 'erin');
  limiter.failed('10.0.0.3', 'erin');
  assert.equal(limiter.blocked('10.0.0.3', 'erin'), true, 'a success elsewhere does not clear these failures');
  assert.equal(limiter.size <= 100, true);
});

test('quotas - blocks of the same source back off exponentially, up to the ceiling', () => {
  const clock = new ManualClock(0);
  const limiter = new LoginLimiter(clock, { maxFailuresPerIp: 2, maxFailuresPerUsername: 100, windowMs: 60_000, blockMs: 1000, maxBlockMs: 5000, maxEntries: 100 });
  const blockLength = (): number => {
    limiter.failed('10.9.9.9', undefined);
    limiter.failed('10.9.9.9', undefined);
    let ms = 0;
    while (limiter.blocked('10.9.9.9', undefined)) {
      clock.advance(100);
      ms += 100;
    }
    return ms;
  };
  assert.deepEqual([blockLength(), blockLength(), blockLength(), blockLength(), blockLength()], [1000, 2000, 4000, 5000, 5000]);
  assert.equal(limiter.blocked('10.9.9.8', undefined), false, 'per source');
  clock.advance(5001);
  assert.equal(blockLength(), 1000, 'a source quiet for maxBlockMs starts again');
});

test('quotas - the login limiter forgets the oldest entries past its bound', () => {
  const limiter = new LoginLimiter(new ManualClock(0), { maxFailuresPerIp: 1, maxFailuresPerUsername: 1, windowMs: 1000, blockMs: 1000, maxBlockMs: 1000, maxEntries: 10 });
  for (let i = 0; i < 100; i++) limiter.failed(`ip${i}`, undefined);
  assert.equal(limiter.size, 10);
  assert.equal(limiter.blocked('ip99', undefined), true);
  assert.equal(limiter.blocked('ip0', undefined), false);
});
