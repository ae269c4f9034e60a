import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterCovers } from '../../../src/topic/filter.js';

test('filter - coverage', () => {
  assert.equal(filterCovers('a/#', 'a/b/c'), true);
  assert.equal(filterCovers('a/#', 'a'), true);
  assert.equal(filterCovers('a/+', 'a/b'), true);
  assert.equal(filterCovers('a/+', 'a/+'), true);
  assert.equal(filterCovers('a/+', 'a/#'), false);
  assert.equal(filterCovers('a/b', 'a/+'), false);
  assert.equal(filterCovers('a/+', 'a/b/c'), false);
  assert.equal(filterCovers('#', '$SYS/x'), false);
  assert.equal(filterCovers('$SYS/#', '$SYS/x'), true);
});
