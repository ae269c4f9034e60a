/** The status tracker's channelId rule (reference §5.4) under any reordering and duplication. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FerryInputError, parseStatusEvent, StatusTracker, type StatusEvent } from '../../../src/sdk/index.js';

const ev = (clientId: string, channelId: string, eventType: StatusEvent['eventType'], time: number): StatusEvent => ({ clientId, channelId, eventType, time, clientIp: '127.0.0.1:1' });

test('sdk status tracker - a reconnect\'s late tcpclean of the old channel leaves the client online (last-event-wins would not)', () => {
  const tracker = new StatusTracker();
  const changes: string[] = [];
  tracker.on('online', (id) => changes.push(`+${id}`)).on('offline', (id) => changes.push(`-${id}`));
  tracker.apply(ev('GID_a@@@1', 'c1', 'connect', 1));
  tracker.apply(ev('GID_a@@@1', 'c2', 'connect', 3));
  tracker.apply(ev('GID_a@@@1', 'c1', 'tcpclean', 2));
  assert.equal(tracker.isOnline('GID_a@@@1'), true);
  tracker.apply(ev('GID_a@@@1', 'c2', 'disconnect', 4));
  assert.equal(tracker.isOnline('GID_a@@@1'), false);
  tracker.apply(ev('GID_a@@@1', 'c2', 'connect', 3));
  assert.equal(tracker.isOnline('GID_a@@@1'), false, 'a duplicate connect cannot reopen a closed channel');
  assert.deepEqual(changes, ['+GID_a@@@1', '-GID_a@@@1']);
});

test('sdk status tracker - any order and any duplicates of the events give the true online set', () => {
  const channelArb = fc.record({ closed: fc.boolean(), closeWith: fc.constantFrom<Array<'disconnect' | 'tcpclean'>>(['tcpclean'], ['disconnect', 'tcpclean'], ['disconnect']) });
  const clientArb = fc.array(channelArb, { minLength: 1, maxLength: 4 });
  fc.assert(
    fc.property(fc.array(clientArb, { minLength: 1, maxLength: 5 }), fc.nat(), fc.array(fc.nat(), { maxLength: 10 }), (clients, seed, dupes) => {
      const events: StatusEvent[] = [];
      const expected: string[] = [];
      let time = 0;
      clients.forEach((channels, c) => {
        const clientId = `GID_p@@@${c}`;
        channels.forEach((channel, n) => {
          events.push(ev(clientId, `${c}-${n}`, 'connect', ++time));
          if (channel.closed) for (const type of channel.closeWith) events.push(ev(clientId, `${c}-${n}`, type, ++time));
        });
        if (channels.some((ch) => !ch.closed)) expected.push(clientId);
      });
      for (const d of dupes) events.push(events[d % events.length]!);
      // A deterministic shuffle from the seed.
      let s = seed;
      for (let i = events.length - 1; i > 0; i--) {
        s = (s * 1103515245 + 12345) % 2 ** 31;
        const j = s % (i + 1);
        [events[i], events[j]] = [events[j]!, events[i]!];
      }
      const tracker = new StatusTracker();
      for (const e of events) tracker.apply(e);
      assert.deepEqual(tracker.online(), expected.sort());
    }),
  );
});

test('sdk status tracker - bodies are parsed from JSON; a malformed one is refused, not guessed', () => {
  const tracker = new StatusTracker();
  tracker.apply('{"clientId":"GID_a@@@1","time":1,"eventType":"connect","channelId":"ab","clientIp":"1.2.3.4:5"}');
  assert.deepEqual(tracker.online(), ['GID_a@@@1']);
  assert.throws(() => parseStatusEvent('{"clientId":"x","time":1,"eventType":"online","channelId":"c"}'), FerryInputError);
  assert.throws(() => parseStatusEvent(Buffer.from('not json')), FerryInputError);
});

test('sdk status tracker - closed channels are forgotten after their TTL of event time', () => {
  const tracker = new StatusTracker({ closedChannelTtlMs: 1000 });
  tracker.apply(ev('GID_a@@@1', 'c1', 'connect', 1));
  tracker.apply(ev('GID_a@@@1', 'c1', 'tcpclean', 2));
  tracker.apply(ev('GID_a@@@1', 'c2', 'connect', 5000));
  // c1 is forgotten: within the TTL a late connect of c1 would have been ignored; now it opens it.
  tracker.apply(ev('GID_a@@@1', 'c2', 'tcpclean', 5001));
  tracker.apply(ev('GID_a@@@1', 'c1', 'connect', 1));
  assert.deepEqual(tracker.openChannels('GID_a@@@1'), ['c1']);
});
