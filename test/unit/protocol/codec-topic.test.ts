import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  isValidTopicFilter,
  isValidTopicName,
  parseSharedSubscription,
  topicLevels,
  topicMatches,
} from '../../../src/protocol/topic.js';

describe('codec - topic names and filters', () => {
  it('validates topic names', () => {
    for (const ok of ['a', 'a/b', '/', '//', '$SYS/x', 'é/☃', ' ']) assert.equal(isValidTopicName(ok), true, ok);
    for (const bad of ['', 'a/+', '#', 'a/#', 'a+b', 'a\u0000b']) assert.equal(isValidTopicName(bad), false, bad);
    assert.equal(isValidTopicName('a'.repeat(65535)), true);
    assert.equal(isValidTopicName('a'.repeat(65536)), false);
    assert.equal(isValidTopicName('é'.repeat(32768)), false); // 65536 bytes
  });
  it('validates topic filters', () => {
    const ok = ['#', '+', 'a/#', 'a/+/b', '+/+', '/+', '+/', 'a//b', '$SYS/#', 'sport/tennis/+', '$share/g/a/#', '$queue/a/+'];
    const bad = ['', 'a#', 'a/#/b', '#/', 'a+', '+a', 'a/b+/c', 'a\u0000', '$share/g', '$share//a', '$share/g+/a', '$share/g/', '$share/g/a#', '$queue/'];
    for (const f of ok) assert.equal(isValidTopicFilter(f), true, f);
    for (const f of bad) assert.equal(isValidTopicFilter(f), false, f);
  });
  it('parses shared subscriptions', () => {
    assert.deepStrictEqual(parseSharedSubscription('$share/g1/a/+/c'), { group: 'g1', filter: 'a/+/c' });
    assert.deepStrictEqual(parseSharedSubscription('$share/g/#'), { group: 'g', filter: '#' });
    assert.deepStrictEqual(parseSharedSubscription('$queue/jobs/#'), { group: '$queue', filter: 'jobs/#' });
    for (const f of ['a/b', '$share/g', '$share//a', '$share/#/a', '$share/a+/x', '$share/g/', '$queue/', '$sharex/g/a', '$share/g/a/#/b']) {
      assert.equal(parseSharedSubscription(f), null, f);
    }
  });
  it('splits levels', () => {
    assert.deepStrictEqual(topicLevels('a//b'), ['a', '', 'b']);
    assert.deepStrictEqual(topicLevels('/a'), ['', 'a']);
  });
  it('matches names against filters', () => {
    const cases: [string, string, boolean][] = [
      ['a/b', 'a/b', true],
      ['a/b', 'a/c', false],
      ['a/+', 'a/b', true],
      ['a/+', 'a/', true],
      ['a/+', 'a', false],
      ['a/+', 'a/b/c', false],
      ['a/#', 'a', true],
      ['a/#', 'a/b/c', true],
      ['a/#', 'ab', false],
      ['#', 'a/b', true],
      ['#', '$SYS/x', false],
      ['+/x', '$SYS/x', false],
      ['$SYS/#', '$SYS/x', true],
      ['+/+', '/', true],
      ['+', '/', false],
      ['/+', '/a', true],
      ['a/+/c', 'a/b/c', true],
      ['a/+/c', 'a/b/d', false],
      ['a', 'a/b', false],
      ['a/b', 'a', false],
      ['ab', 'a', false],
    ];
    for (const [f, n, expected] of cases) assert.equal(topicMatches(f, n), expected, `${f} ~ ${n}`);
  });
  it('matching agrees with a level-by-level reference implementation', () => {
    const reference = (filter: string, name: string): boolean => {
      if (name.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
      const f = filter.split('/');
      const n = name.split('/');
      for (let i = 0; i < f.length; i++) {
        if (f[i] === '#') return true;
        if (i >= n.length) return false;
        if (f[i] !== '+' && f[i] !== n[i]) return false;
      }
      return f.length === n.length;
    };
    const level = fc.constantFrom('a', 'b', '', '$x');
    const name = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/'));
    const filter = fc
      .tuple(fc.array(fc.constantFrom('a', 'b', '', '+', '$x'), { minLength: 1, maxLength: 4 }), fc.boolean())
      .map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'));
    fc.assert(
      fc.property(filter, name, (f, n) => {
        assert.equal(topicMatches(f, n), reference(f, n), `${f} ~ ${n}`);
      }),
      { numRuns: 2000 },
    );
  });
});
