/** The Redis target's batch packing: the direct path (packItems) writes exactly what the general one (packBatch over the fields) does. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TargetItem } from '../../../src/rules/connectors/index.js';
import { fieldsOf, packBatch, packItems } from '../../../src/rules/connectors/redis.js';
import { plainMessage, statusEvent } from '../../helpers/connector-fixtures.js';

describe('redis packing', () => {
  it('redis packing - packItems writes the same bytes as packBatch over the fields, for every kind of item', () => {
    const items: TargetItem[] = [
      { type: 'message', message: plainMessage(1) },
      { type: 'message', message: { ...plainMessage(2), topic: 'a/b/c', qos: 1, cleanSession: false, msgId: '' } },
      {
        type: 'message',
        message: {
          ...plainMessage(3),
          topic: 'ünï/cödé/😀',
          clientId: 'GID_ü@@@😀',
          qos: 2,
          payload: Buffer.alloc(0),
          userProperties: [
            { key: 'k', value: 'v' },
            { key: 'ß"\\', value: '\u0000\u2028😀' },
          ],
          contentType: 'application/json; charset=ütf-8',
          messageExpiryInterval: 4_294_967_295,
        },
      },
      { type: 'message', message: { ...plainMessage(4), userProperties: [], messageExpiryInterval: 0, payload: Buffer.alloc(70_000, 1) } },
      { type: 'status', event: statusEvent(5) },
      { type: 'status', event: { ...statusEvent(6, 'tcpclean'), clientIp: 'x'.repeat(2_000) } },
    ];
    for (const batch of [items, items.slice(0, 1), items.slice(4), []]) {
      assert.deepEqual(packItems(batch), packBatch(batch.map(fieldsOf)));
    }
  });
});
