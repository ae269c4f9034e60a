import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterCovers, filtersOverlap, parentOf, topicMatches } from '../../../src/auth/filters.js';

test('filters - coverage of topics and filters', () => {
  assert.equal(topicMatches('a/+/c', 'a/b/c'), true);
  assert.equal(topicMatches('a/#', 'a'), true);
  assert.equal(topicMatches('#', '$SYS/x'), false);
  assert.equal(filterCovers('a/#', 'a/+/c'), true);
  assert.equal(filterCovers('a/+', 'a/#'), false);
  assert.equal(filterCovers('a/b', 'a/+'), false);
  assert.equal(filterCovers('+/b', '$x/b'), false);
});

test('filters - overlap finds filters that can match a common topic', () => {
  assert.equal(filtersOverlap('a/#', 'a/secret'), true);
  assert.equal(filtersOverlap('a/secret', 'a/+'), true);
  assert.equal(filtersOverlap('a/+/c', 'a/b/+'), true);
  assert.equal(filtersOverlap('a/b', 'a/c'), false);
  assert.equal(filtersOverlap('a/b', 'a/b/c'), false);
  assert.equal(filtersOverlap('a', 'a/#'), true);
  assert.equal(filtersOverlap('#', '$SYS/x'), false);
  assert.equal(filtersOverlap('+/x', '$SYS/x'), false);
  assert.equal(filtersOverlap('$SYS/#', '$SYS/x'), true);
});

test('filters - parent topic is the first level', () => {
  assert.equal(parentOf('a/b/c'), 'a');
  assert.equal(parentOf('a'), 'a');
  assert.equal(parentOf('+/x'), '+');
});
