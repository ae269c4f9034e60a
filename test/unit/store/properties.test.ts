import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProperties, encodeProperties } from '../../../src/store/properties.js';

test('store properties: forwardable properties round-trip, per-delivery ones are not stored', () => {
  const encoded = encodeProperties({
    payloadFormatIndicator: 1,
    messageExpiryInterval: 30,
    contentType: 'application/json',
    responseTopic: 'reply/to',
    correlationData: Buffer.from([0, 1, 255]),
    userProperties: [
      ['a', '1'],
      ['a', '2'],
    ],
    topicAlias: 4,
    subscriptionIdentifiers: [1],
  });
  assert.ok(encoded !== null);
  assert.deepEqual(decodeProperties(encoded), {
    payloadFormatIndicator: 1,
    messageExpiryInterval: 30,
    contentType: 'application/json',
    responseTopic: 'reply/to',
    correlationData: Buffer.from([0, 1, 255]),
    userProperties: [
      ['a', '1'],
      ['a', '2'],
    ],
  });
  assert.equal(encodeProperties(undefined), null);
  assert.equal(encodeProperties({ topicAlias: 3 }), null);
  assert.equal(decodeProperties(null), undefined);
});
