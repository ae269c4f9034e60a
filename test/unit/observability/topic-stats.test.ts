/** Per-parent-topic counters stay bounded. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TOPIC_STATS, OTHER_TOPICS, Tenant } from '../../../src/broker/tenant.js';
import { parentTopic } from '../../../src/observability/metrics.js';

test('metrics - parent topic stats are per first level and capped', () => {
  const tenant = new Tenant('i', 0);
  assert.equal(tenant.topicStats('a/b/c'), tenant.topicStats('a/x'));
  assert.equal(tenant.topicStats('solo'), tenant.topics.get('solo'));
  for (let i = 0; i < MAX_TOPIC_STATS + 10; i++) tenant.topicStats(`t${i}/x`).in++;
  assert.equal(tenant.topics.size, MAX_TOPIC_STATS + 1);
  assert.ok((tenant.topics.get(OTHER_TOPICS)?.in ?? 0) >= 10);
  assert.equal(parentTopic('sensors/+/temp'), 'sensors');
  assert.equal(parentTopic('#'), '#');
});
