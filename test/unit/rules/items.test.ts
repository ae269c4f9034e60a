/** How rule items sit in a durable log (src/rules/items.ts): the meta is the JSON of the layout, and reads back as the item. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RuleMessage } from '../../../src/rules/connectors/index.js';
import { decodeItem, encodeItem } from '../../../src/rules/items.js';
import { fullMessage, plainMessage, statusEvent } from '../../helpers/connector-fixtures.js';

/** The layout as an object, stringified: what encodeItem's hand-written JSON must equal. */
function expectedMeta(m: RuleMessage): string {
  const meta: Record<string, unknown> = { v: 1, t: 'm', c: m.clientId, to: m.topic, q: m.qos, cs: m.cleanSession, b: m.bornTime, id: m.msgId };
  if (m.userProperties !== undefined && m.userProperties.length > 0) meta['up'] = m.userProperties.map((p) => [p.key, p.value]);
  if (m.contentType !== undefined) meta['ct'] = m.contentType;
  if (m.messageExpiryInterval !== undefined) meta['ex'] = m.messageExpiryInterval;
  return JSON.stringify(meta);
}

describe('rule items', () => {
  it('rule items - a message meta is exactly the JSON of its layout and decodes to the same message', () => {
    const messages: RuleMessage[] = [
      plainMessage(1),
      fullMessage(2),
      { ...plainMessage(3), clientId: 'GID_"\\\u0000😀', topic: 'ü/\u2028/"x"', msgId: '', qos: 2, cleanSession: false },
      { ...plainMessage(4), userProperties: [], contentType: '', messageExpiryInterval: 0 },
      { ...plainMessage(5), userProperties: [{ key: 'a"', value: '\n' }], messageExpiryInterval: 4_294_967_295 },
    ];
    for (const message of messages) {
      const { meta, payload } = encodeItem({ type: 'message', message });
      assert.equal(meta, expectedMeta(message));
      const back = decodeItem(meta, payload);
      assert.ok(back.type === 'message');
      const { userProperties, ...rest } = message;
      const { userProperties: backUp, ...backRest } = back.message;
      assert.deepEqual(backRest, rest);
      assert.deepEqual(backUp ?? [], userProperties ?? []);
    }
    const status = encodeItem({ type: 'status', event: statusEvent(6, 'tcpclean') });
    assert.deepEqual(decodeItem(status.meta, status.payload), { type: 'status', event: statusEvent(6, 'tcpclean') });
  });
});
