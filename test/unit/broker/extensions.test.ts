import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerExtensions } from '../../../src/broker/extensions.js';
import { Message } from '../../../src/session/message.js';

const message = new Message('a/b', Buffer.from('x'), 1, false, undefined, 0, null);

test('extensions - every listener of a point gets the event, with all its arguments, in order of registration', () => {
  const ext = new BrokerExtensions();
  const seen: string[] = [];
  assert.equal(ext.wantsPublished, false);
  ext.onMessagePublished((instance, m, publisher) => seen.push(`1 ${instance} ${m.topic} ${publisher?.clientId}`));
  ext.onMessagePublished((instance, m, publisher) => seen.push(`2 ${instance} ${m.topic} ${publisher}`));
  ext.onInterestChanged((instance, filter, added, group) => seen.push(`i ${instance} ${filter} ${added} ${group}`));
  ext.onClientClosed((client, disconnect) => seen.push(`c ${client.clientId} ${disconnect}`));
  assert.equal(ext.wantsPublished, true);
  assert.equal(ext.wantsInterest, true);
  assert.equal(ext.wantsRetainedDeleted, false);
  ext.messagePublished('inst', message, { clientId: 'GID_a@@@1', expiryInterval: 0 });
  ext.messagePublished('inst', message, null);
  ext.interestChanged('inst', 's/+', true, 'g');
  ext.clientClosed({ clientId: 'GID_a@@@2' } as never, true);
  assert.deepEqual(seen, [
    '1 inst a/b GID_a@@@1', '2 inst a/b [object Object]',
    '1 inst a/b undefined', '2 inst a/b null',
    'i inst s/+ true g',
    'c GID_a@@@2 true',
  ]);
});

test('extensions - a listener that throws is reported with its point; the others still run; removal works', () => {
  const ext = new BrokerExtensions();
  const errors: string[] = [];
  ext.onListenerError = (error, point) => errors.push(`${point}: ${(error as Error).message}`);
  let after = 0;
  const removeBad = ext.onRetainedDeleted(() => {
    throw new Error('boom');
  });
  const removeGood = ext.onRetainedDeleted(() => after++);
  ext.retainedDeleted('inst', 't');
  assert.deepEqual(errors, ['retainedDeleted: boom']);
  assert.equal(after, 1);
  removeBad();
  ext.retainedDeleted('inst', 't');
  assert.equal(errors.length, 1);
  assert.equal(after, 2);
  removeGood();
  assert.equal(ext.wantsRetainedDeleted, false);
});

test('extensions - a listener removed while its point runs does not disturb that event', () => {
  const ext = new BrokerExtensions();
  const seen: number[] = [];
  let removeSecond = (): void => {};
  ext.onClientConnected(() => {
    seen.push(1);
    removeSecond();
  });
  removeSecond = ext.onClientConnected(() => seen.push(2));
  ext.clientConnected({ clientId: 'x' } as never);
  ext.clientConnected({ clientId: 'x' } as never);
  assert.deepEqual(seen, [1, 2, 1]);
});
