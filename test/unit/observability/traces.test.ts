/** Trace recording without sockets: codes, the recorder's batches, the writer's rows, queries. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { CloseCause, DropCause } from '../../../src/broker/tracer.js';
import { ReasonCode as RC } from '../../../src/protocol/reason-codes.js';
import { Message } from '../../../src/session/message.js';
import type { Channel } from '../../../src/channel/channel.js';
import { TraceCode, closeCode, refusedCode, traceKind } from '../../../src/observability/traces/codes.js';
import { TraceRecorder, usernameInstance, type TraceBatch } from '../../../src/observability/traces/recorder.js';
import { batchRows, keepDeviceEvents, storeBatch, type RowContext } from '../../../src/observability/traces/writer-worker.js';
import { TraceWriterThread } from '../../../src/observability/traces/writer.js';
import { BLOCK_BATCHES, openTraceDbForReading, openTraceDbForWriting, TraceWriter } from '../../../src/observability/traces/trace-db.js';
import {
  formatTraceTime,
  parseTraceTime,
  queryDeviceTrace,
  queryMessageOfClient,
  queryMessagePublish,
  queryMessageSubscribe,
} from '../../../src/observability/traces/query.js';

test('traces - close causes and refusals map to the managed service ActionInfo', () => {
  const info = (code: number): string => traceKind(code).actionInfo;
  assert.equal(info(closeCode(RC.SessionTakenOver)), 'clientId conflict');
  assert.equal(info(closeCode(RC.KeepAliveTimeout)), 'no heart');
  assert.equal(info(closeCode(RC.NotAuthorized)), 'resource auth failed');
  assert.equal(info(closeCode(CloseCause.PeerClosed)), 'closed by client');
  assert.equal(info(closeCode(CloseCause.ClientDisconnect)), 'disconnected by client');
  assert.equal(traceKind(closeCode(CloseCause.ClientDisconnect)).action, 'disconnect');
  assert.equal(info(closeCode(CloseCause.SocketError)), 'Socket IOException');
  assert.equal(info(closeCode(RC.ProtocolError)), 'invalid param');
  assert.equal(info(closeCode(RC.ServerShuttingDown)), 'closed by server');
  assert.equal(info(refusedCode(RC.NotAuthorized)), 'not authorized');
  assert.equal(info(refusedCode(RC.BadUserNameOrPassword)), 'not authorized');
  assert.equal(info(refusedCode(RC.ClientIdentifierNotValid)), 'invalid param');
  assert.equal(traceKind(TraceCode.PushOffline).actionCode, 'mqtt.trace.action.msg.push.offline');
  assert.equal(usernameInstance('Signature|AK|post-cn-123'), 'post-cn-123');
  assert.equal(usernameInstance('alice'), undefined);
});

function fakeChannel(clientId: string): Channel {
  return { clientId, instanceId: 'inst', traceChannel: 0 } as unknown as Channel;
}

test('traces - the recorder batches numbers only, one MsgId per message, offline by sequence', (t) => {
  const batches: TraceBatch[] = [];
  const recorder = new TraceRecorder({ sink: { pending: 0, write: (b) => batches.push(b) }, flushIntervalMs: 60_000, batchSize: 4, defaultInstanceId: 'd' });
  t.after(() => recorder.close());
  const message = new Message('a/b', Buffer.from('x'), 1, false, undefined, 0, null);
  const early = new Message('a/b', Buffer.from('y'), 1, false, undefined, 0, null);
  const pub = fakeChannel('pub');
  recorder.published(pub, early); // before `sub` connects
  const sub = fakeChannel('sub');
  recorder.connected(sub);
  recorder.published(pub, message);
  recorder.delivered(sub, { message, qos: 1, retain: false, subscriptionIds: undefined, shared: null });
  recorder.delivered(sub, { message: early, qos: 1, retain: false, subscriptionIds: undefined, shared: null });
  recorder.closed(sub, CloseCause.PeerClosed);
  recorder.flush();
  assert.equal(batches.length, 2, 'a full batch goes out at once');
  const codes = batches.flatMap((b) => [...b.code.subarray(0, b.count)]);
  assert.deepEqual(codes, [TraceCode.PubMqtt, TraceCode.ConnectAccepted, TraceCode.PubMqtt, TraceCode.Sub, TraceCode.PushOffline, TraceCode.CloseByClient]);
  assert.ok(message.traceId > 0 && early.traceId > 0 && message.traceId !== early.traceId);
  assert.equal(recorder.recorded, 6);

  const names: string[] = [];
  const ctx = {
    channels: new Map<number, number>(),
    register: (_instance: string, clientId: string, channelId: string): number => {
      assert.match(channelId, /^f{20}[0-9a-f]{12}$/);
      return names.push(clientId);
    },
    idPrefix: 'f'.repeat(20),
    epoch: 3,
  };
  const rows = batches.flatMap((b) => batchRows(b, ctx));
  assert.equal(rows.length, 6);
  assert.deepEqual(rows.map((r) => names[r.channel - 1]), ['pub', 'sub', 'pub', 'sub', 'sub', 'sub']);
  assert.equal(rows[2]!.msg, rows[3]!.msg);
  assert.equal(rows[2]!.msg, 3 * 2 ** 40 + message.traceId);
  assert.equal(rows[1]!.msg, 0, 'device events have no message');
  assert.equal(ctx.channels.has(sub.traceChannel), false, 'a closed channel is forgotten');
  assert.equal(ctx.channels.has(pub.traceChannel), true);
});

test('traces - the recorder drops (and counts) when the writer is behind', () => {
  const recorder = new TraceRecorder({ sink: { pending: 100, write: () => undefined }, flushIntervalMs: 60_000, batchSize: 2, maxPendingBatches: 10, defaultInstanceId: 'd' });
  const ch = fakeChannel('c');
  for (let i = 0; i < 5; i++) recorder.connected(ch);
  assert.equal(recorder.recorded, 2);
  assert.equal(recorder.dropped, 3);
  recorder.close();
});

test('traces - writer purges by age and cap; queries page and filter', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-traces-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'traces.db');
  const writer = new TraceWriter(openTraceDbForWriting(path));
  const reader = openTraceDbForReading(path);
  t.after(() => {
    reader.close();
    writer.db.close();
  });
  const prefix = 'a'.repeat(20);
  const epoch = writer.epoch(prefix);
  const even = writer.channel('inst', 'even', 'c1');
  const odd = writer.channel('inst', 'odd', 'c2');
  const msgId = `${prefix}${'0'.repeat(11)}7`;
  writer.write(
    Array.from({ length: 50 }, (_, i) => ({
      time: 1000 + i,
      channel: i % 2 === 0 ? even : odd,
      code: i < 10 ? TraceCode.ConnectAccepted : TraceCode.Sub,
      msg: i < 10 ? 0 : epoch * 2 ** 40 + 7,
    })),
  );
  assert.equal(writer.count(), 50);
  const devices = queryDeviceTrace(reader, { instanceId: 'inst', clientId: 'even', beginTime: 0, endTime: 5000 });
  assert.equal(devices.Total, 5);
  const subs = queryMessageSubscribe(reader, { instanceId: 'inst', msgId: msgId.toUpperCase(), beginTime: 0, endTime: 5000, clientId: 'odd', pageSize: 100 });
  assert.equal(subs.Total, 20);
  assert.equal(subs.MessageTraceLists[0]!.MsgId, msgId);
  assert.equal(subs.MessageTraceLists[0]!.ClientId, 'odd');
  assert.equal(queryMessageSubscribe(reader, { instanceId: 'other', msgId, beginTime: 0, endTime: 5000 }).Total, 0, 'instances never mix');

  assert.deepEqual(writer.purge({ before: 1010, maxRows: 1000 }, 3), { expired: 10, overCap: 0 });
  assert.deepEqual(writer.purge({ before: 0, maxRows: 15 }, 4, new Set([even])), { expired: 0, overCap: 25 });
  assert.equal(writer.db.prepare('SELECT count(*) FROM channels').pluck().get(), 2, 'channels in use or referenced stay');
  assert.equal(writer.count(), 15);
  assert.equal(queryMessageSubscribe(reader, { instanceId: 'inst', msgId, beginTime: 0, endTime: 5000 }).Total, 15);
});

test('traces - Time is the managed service format and parses back', () => {
  const now = Date.now();
  assert.match(formatTraceTime(now), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
  assert.equal(parseTraceTime(formatTraceTime(now)), now);
});

test('traces - an overloaded writer keeps device events and drops message events', () => {
  const batch: TraceBatch = {
    count: 4,
    time: Float64Array.from([1, 2, 3, 4]),
    code: Uint8Array.from([TraceCode.ConnectAccepted, TraceCode.PubMqtt, TraceCode.Sub, TraceCode.CloseByClient]),
    channel: Float64Array.from([1, 1, 2, 1]),
    msg: Float64Array.from([0, 5, 5, 0]),
    channels: [],
  };
  assert.equal(keepDeviceEvents(batch), 2);
  assert.equal(batch.count, 2);
  assert.deepEqual([...batch.code.subarray(0, 2)], [TraceCode.ConnectAccepted, TraceCode.CloseByClient]);
  assert.deepEqual([...batch.time.subarray(0, 2)], [1, 4]);
});

test('traces - a batch registers its channels in the transaction that stores its events; a failed batch forgets them', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-traces-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const writer = new TraceWriter(openTraceDbForWriting(join(dir, 'traces.db')));
  t.after(() => writer.close());
  const inTransaction: boolean[] = [];
  const ctx: RowContext = {
    channels: new Map(),
    register: (instanceId, clientId, channelId, info) => {
      inTransaction.push(writer.db.inTransaction);
      if (clientId === 'boom') throw new Error('disk full');
      return writer.channel(instanceId, clientId, channelId, info);
    },
    idPrefix: 'p'.repeat(20),
    epoch: writer.epoch('p'.repeat(20)),
  };
  const connects = (clients: string[], first: number): TraceBatch => ({
    count: clients.length,
    time: Float64Array.from(clients, (_, i) => 1000 + i),
    code: Uint8Array.from(clients, () => TraceCode.ConnectAccepted),
    channel: Float64Array.from(clients, (_, i) => first + i),
    msg: Float64Array.from(clients, () => 0),
    channels: clients.map((clientId, i) => ({ n: first + i, instanceId: 'inst', clientId, once: false })),
  });
  const channelRows = (): number => (writer.db.prepare('SELECT count(*) FROM channels').pluck().get() as number);

  assert.equal(storeBatch(writer, connects(['a', 'b', 'c'], 1), ctx), 3);
  // One commit per batch, not one per connection: every registration ran inside the batch's transaction.
  assert.deepEqual(inTransaction, [true, true, true]);
  assert.equal(channelRows(), 3);
  assert.deepEqual([...ctx.channels.keys()], [1, 2, 3]);

  // 'd' is registered, 'boom' fails: the batch stores nothing, and 'd' is neither in the table nor
  // remembered under an id the rollback gave back (the next channel row would get it).
  assert.throws(() => storeBatch(writer, connects(['d', 'boom'], 4), ctx), /disk full/);
  assert.equal(channelRows(), 3);
  assert.deepEqual([...ctx.channels.keys()], [1, 2, 3]);
  assert.equal(storeBatch(writer, connects(['e'], 6), ctx), 1);
  assert.equal(new Set(ctx.channels.values()).size, 4);
  const stored = writer.db.prepare('SELECT id, client_id FROM channels ORDER BY id').all() as Array<{ id: number; client_id: string }>;
  assert.deepEqual(stored.map((r) => r.client_id), ['a', 'b', 'c', 'e']);
  assert.equal(ctx.channels.get(6), stored[3]!.id);
});

test('traces - batches as rows: client and MsgId queries match a plain scan across blocks, reopen, crash and purge', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-traces-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'traces.db');
  let writer = new TraceWriter(openTraceDbForWriting(path));
  const prefix = 'b'.repeat(20);
  const epoch = writer.epoch(prefix);
  const clients = ['c0', 'c1', 'c2'];
  // Two connections per client, one after the other.
  const ids = clients.map((c) => [writer.channel('inst', c, `${c}-1`), writer.channel('inst', c, `${c}-2`)]);
  const other = writer.channel('other', 'c0', 'x');
  type Ev = { time: number; channel: number; code: number; msg: number; client: string; instance: string };
  const all: Ev[] = [];
  let seq = 0;
  const batches = 3 * BLOCK_BATCHES + 7;
  const writeBatches = (from: number, to: number): void => {
    for (let b = from; b < to; b++) {
      const rows: Ev[] = [];
      for (let i = 0; i < 1 + (b % 5) * 3; i++) {
        const k = (b + i) % 4;
        const client = clients[k % 3]!;
        const channel = k === 3 ? other : ids[k]![b < batches / 2 ? 0 : 1]!;
        const code = i % 4 === 0 ? TraceCode.ConnectAccepted : i % 2 === 0 ? TraceCode.PubMqtt : TraceCode.Sub;
        const msg = code === TraceCode.ConnectAccepted ? 0 : epoch * 2 ** 40 + 1 + (code === TraceCode.Sub ? seq : ++seq);
        rows.push({ time: 10_000 + b * 10 + Math.floor(i / 4), channel, code, msg, client, instance: k === 3 ? 'other' : 'inst' });
      }
      writer.write(rows);
      all.push(...rows);
    }
  };
  const check = (label: string): void => {
    const reader = openTraceDbForReading(path);
    try {
      for (const [begin, end] of [[0, 1e9], [10_500, 11_200], [11_003, 11_003], [20_000, 30_000]] as const) {
        for (const client of clients) {
          for (const messages of [false, true]) {
            const want = all.filter(
              (e) => e.instance === 'inst' && e.client === client && e.time >= begin && e.time <= end && (e.code >= 32) === messages,
            );
            const q = { instanceId: 'inst', clientId: client, beginTime: begin, endTime: end };
            const run = messages ? (p: object) => queryMessageOfClient(reader, { ...q, ...p }).MessageOfClientList : (p: object) => queryDeviceTrace(reader, { ...q, ...p }).DeviceInfoList;
            const total = (messages ? queryMessageOfClient(reader, q) : queryDeviceTrace(reader, q)).Total;
            assert.equal(total, want.length, `${label} ${client} ${begin}-${end} ${messages} total`);
            const times = (list: Array<{ Time: string }>): number[] => list.map((r) => parseTraceTime(r.Time));
            assert.deepEqual(times(run({ pageSize: 7, currentPage: 3 })), want.slice(14, 21).map((e) => e.time), `${label} page 3`);
            assert.deepEqual(times(run({ pageSize: 5, currentPage: 2, reverse: true })), [...want].reverse().slice(5, 10).map((e) => e.time), `${label} reverse`);
            // Cursor paging visits every event once, in order.
            const seen: number[] = [];
            let cursor: string | undefined;
            do {
              const page = messages ? queryMessageOfClient(reader, { ...q, pageSize: 9, cursor }) : queryDeviceTrace(reader, { ...q, pageSize: 9, cursor });
              seen.push(...times(messages ? (page as ReturnType<typeof queryMessageOfClient>).MessageOfClientList : (page as ReturnType<typeof queryDeviceTrace>).DeviceInfoList));
              cursor = page.NextCursor;
            } while (cursor !== undefined);
            assert.deepEqual(seen, want.map((e) => e.time), `${label} cursor`);
          }
        }
      }
      for (const target of [all[1]!, all[all.length - 2]!, all[Math.floor(all.length / 2)]!]) {
        if (target.msg === 0) continue;
        const msgId = `${prefix}${(target.msg - epoch * 2 ** 40).toString(16).padStart(12, '0')}`;
        const want = all.filter((e) => e.msg === target.msg && e.instance === 'inst' && e.code === TraceCode.Sub);
        const page = queryMessageSubscribe(reader, { instanceId: 'inst', msgId, beginTime: 0, endTime: 1e9, pageSize: 100 });
        assert.equal(page.Total, want.length, `${label} subscribers of ${msgId}`);
        assert.deepEqual(page.MessageTraceLists.map((r) => r.ClientId), want.map((e) => e.client));
        const pub = queryMessagePublish(reader, { instanceId: 'inst', msgId, beginTime: 0, endTime: 1e9 }).MessageTraceLists;
        assert.deepEqual(pub.map((r) => r.ClientId), all.filter((e) => e.msg === target.msg && e.instance === 'inst' && e.code === TraceCode.PubMqtt).map((e) => e.client));
      }
    } finally {
      reader.close();
    }
  };
  writeBatches(0, batches);
  check('written');
  writer.close(); // summaries of the last block written
  writer = new TraceWriter(openTraceDbForWriting(path));
  check('reopened');
  writeBatches(batches, batches + 20);
  writer.db.close(); // a crash: the last block's summaries were only in memory
  writer = new TraceWriter(openTraceDbForWriting(path));
  check('after a crash');
  // Purge: by age inside a batch, then by cap inside another; queries see exactly what is left.
  const cut = all[Math.floor(all.length / 3)]!.time;
  const expired = all.filter((e) => e.time < cut).length;
  assert.deepEqual(writer.purge({ before: cut, maxRows: 1e9 }), { expired, overCap: 0 });
  all.splice(0, expired);
  check('expired');
  assert.deepEqual(writer.purge({ before: 0, maxRows: all.length - 5 }), { expired: 0, overCap: 5 });
  all.splice(0, 5);
  assert.equal(writer.count(), all.length);
  check('capped');
  writer.close();
});

test('traces - a schema 3 traces.db is migrated in place: its traces stay, rule events get their ActionInfo detail', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-trace-v3-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'traces.db');
  // A schema 3 file: channels without `info`, one stored device event.
  let writer = new TraceWriter(openTraceDbForWriting(path));
  const old = writer.channel('inst', 'dev', 'c'.repeat(32));
  writer.write([{ time: 1000, channel: old, code: TraceCode.ConnectAccepted, msg: 0 }]);
  writer.close();
  const raw = new Database(path);
  raw.exec(`
    CREATE TABLE channels_v3 (id INTEGER PRIMARY KEY, instance_id TEXT NOT NULL, client_id TEXT NOT NULL, channel_id TEXT NOT NULL);
    INSERT INTO channels_v3 SELECT id, instance_id, client_id, channel_id FROM channels;
    DROP TABLE channels;
    ALTER TABLE channels_v3 RENAME TO channels;
    CREATE INDEX channels_client ON channels(instance_id, client_id);
  `);
  raw.pragma('user_version = 3');
  raw.close();
  // Tracing off: a schema 3 file is still readable.
  const v3 = openTraceDbForReading(path);
  assert.equal(queryDeviceTrace(v3, { instanceId: 'inst', clientId: 'dev', beginTime: 0, endTime: 5000 }).Total, 1);
  v3.close();

  writer = new TraceWriter(openTraceDbForWriting(path));
  t.after(() => writer.close());
  assert.equal(writer.db.pragma('user_version', { simple: true }), 4);
  const prefix = 'a'.repeat(20);
  const epoch = writer.epoch(prefix);
  const rule = writer.channel('inst', '', 'r'.repeat(32), 'rule r-1, redis');
  writer.write([{ time: 2000, channel: rule, code: TraceCode.RuleOut, msg: epoch * 2 ** 40 + 7 }]);
  const db = openTraceDbForReading(path);
  t.after(() => db.close());
  assert.equal(queryDeviceTrace(db, { instanceId: 'inst', clientId: 'dev', beginTime: 0, endTime: 5000 }).Total, 1, 'old traces kept');
  const page = queryMessageSubscribe(db, { instanceId: 'inst', msgId: `${prefix}000000000007`, beginTime: 0, endTime: 5000 });
  assert.deepEqual(
    page.MessageTraceLists.map((r) => [r.Action, r.ClientId, r.ActionCode, r.ActionInfo]),
    [['rule_out', '', 'mqtt.trace.action.msg.rule.out', 'Push To Rule Target (rule r-1, redis)']],
  );
});

test('traces - rule hops: this run\'s MsgIds, an earlier run\'s on a channel of its prefix, nothing else; drops use one channel per client', (t) => {
  const batches: TraceBatch[] = [];
  const recorder = new TraceRecorder({ sink: { pending: 0, write: (b) => batches.push(b) }, flushIntervalMs: 60_000, defaultInstanceId: 'd' });
  t.after(() => recorder.close());
  const message = new Message('a/b', Buffer.from('x'), 1, false, undefined, 0, null);
  const msgId = recorder.msgIdOf(message);
  const hop = recorder.ruleHop('inst', 'r-1', 'redis');
  hop.delivered(msgId);
  hop.retried(msgId.toUpperCase()); // not a MsgId as Ferry writes them
  hop.retried('not a msg id');
  const earlier = `${'f'.repeat(20)}00000000002a`;
  hop.deadLettered(earlier);
  recorder.queueDropped('inst', 'dev', message.traceId, DropCause.InstanceCap);
  recorder.queueDropped('inst', 'dev', 0, DropCause.Expired);
  recorder.flush();
  const [batch] = batches;
  assert.equal(recorder.foreign, 2);
  assert.deepEqual(Array.from(batch!.code.subarray(0, batch!.count)), [TraceCode.RuleOut, TraceCode.RuleDead, TraceCode.DropInstanceCap, TraceCode.DropExpired]);
  assert.equal(batch!.msg[0], message.traceId);
  assert.equal(batch!.msg[1], 42, 'the earlier run\'s counter');
  assert.equal(batch!.msg[2], message.traceId);
  assert.ok(batch!.msg[3]! > message.traceId, 'an unnumbered dropped message gets a new number');
  assert.notEqual(batch!.channel[0], batch!.channel[1]);
  assert.equal(batch!.channel[2], batch!.channel[3], 'one channel for the client');
  assert.deepEqual(
    batch!.channels.map((c) => [c.instanceId, c.clientId, c.info, c.msgPrefix]),
    [
      ['inst', '', 'rule r-1, redis', undefined],
      ['inst', '', 'rule r-1, redis', 'f'.repeat(20)],
      ['inst', 'dev', undefined, undefined],
    ],
  );
});

test('traces - the writer thread keeps a few spare slots after a burst and releases the rest', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-traces-'));
  const writer = await TraceWriterThread.start({ path: join(dir, 'traces.db'), idPrefix: 'b'.repeat(20), cpuShare: 1 }, pino({ level: 'silent' }));
  t.after(async () => {
    await writer.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const burst = async (n: number): Promise<void> => {
    // All allocated before any is stored, as in a connect storm the writer falls behind on.
    const batches = Array.from({ length: n }, () => writer.allocate(16));
    for (const batch of batches) {
      batch.channels.push({ n: 1, instanceId: 'inst', clientId: 'c1', once: false });
      batch.time[0] = Date.now();
      batch.channel[0] = 1;
      batch.code[0] = TraceCode.ConnectAccepted;
      batch.count = 1;
      writer.write(batch);
    }
    await writer.sync();
  };
  await burst(20);
  assert.equal(writer.stored, 20);
  assert.equal(writer.slotCount, 4, 'spare slots kept after the burst');
  // Released slot numbers are reused, and what is written through them is stored.
  await burst(12);
  assert.equal(writer.stored, 32);
  assert.equal(writer.slotCount, 4);
  assert.equal(writer.pending, 0);
});

test('traces - a slow writer drops message events only for a real backlog, counted in events, not for many small batches', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-traces-'));
  // A 1 % CPU share: after each batch the writer rests 99× as long as it worked, so batches
  // sent in one go all wait behind the first.
  const writer = await TraceWriterThread.start({ path: join(dir, 'traces.db'), idPrefix: 'c'.repeat(20), cpuShare: 0.01 }, pino({ level: 'silent' }));
  t.after(async () => {
    await writer.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const send = async (batches: number, events: number): Promise<void> => {
    for (let b = 0; b < batches; b++) {
      const batch = writer.allocate(16);
      batch.channels.push({ n: 1, instanceId: 'inst', clientId: 'c1', once: false });
      for (let i = 0; i < events; i++) {
        batch.time[i] = Date.now();
        batch.channel[i] = 1;
        batch.code[i] = TraceCode.PubMqtt;
        batch.msg[i] = b * 16 + i + 1;
      }
      batch.count = events;
      writer.write(batch);
    }
    await writer.sync();
  };
  // 20 batches of 2 events: 40 events waiting at most, far below 8 full batches (128).
  await send(20, 2);
  assert.equal(writer.dropped, 0, 'small batches are no backlog');
  // 20 full batches: 320 events, more than 8 full batches' worth wait at once.
  await send(20, 16);
  assert.ok(writer.dropped > 0, 'a real backlog drops message events');
  assert.ok(writer.dropped < 320, `and keeps what fits (${writer.dropped} dropped)`);
});
