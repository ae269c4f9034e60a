import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { ManagementError } from '../../../src/tenancy/errors.js';
import { Tenancy } from '../../../src/tenancy/registry.js';

const code = (c: string) => (e: unknown) => e instanceof ManagementError && e.code === c;

test('tenancy - the default instance exists at start, relaxed, and cannot be deleted', async () => {
  const t = await Tenancy.open(new MemoryStore());
  const d = t.get('mqtt-default');
  assert.equal(d?.mode, 'relaxed');
  assert.equal(d?.name, 'mqtt-default');
  await assert.rejects(t.deleteInstance('mqtt-default'), code('DefaultInstanceProtected'));
  const other = await Tenancy.open(new MemoryStore(), { defaultInstanceId: 'mqtt-home' });
  assert.ok(other.get('mqtt-home'));
  assert.equal(other.get('mqtt-default'), undefined);
  await assert.rejects(Tenancy.open(new MemoryStore(), { defaultInstanceId: 'Bad_Id' }), code('ParameterFieldCheckFailed'));
});

test('tenancy - instances, topics and groups are durable records', async () => {
  const store = new MemoryStore();
  const t = await Tenancy.open(store, { now: () => 1000 });
  const made = await t.createInstance({ name: 'factory' });
  assert.match(made.id, /^mqtt-[a-z0-9]{12}$/);
  assert.equal(made.mode, 'strict', 'new instances are strict unless asked otherwise');
  assert.equal(made.limits.maxSubscriptionsPerClient, 30);
  await t.createInstance({ id: 'mqtt-b', mode: 'relaxed', limits: { maxConnections: 5 } });
  await t.createParentTopic(made.id, 'Telemetry');
  await t.createGroup(made.id, 'GID_sensors');
  const again = await Tenancy.open(store);
  assert.deepEqual(
    again.list().map((i) => i.id),
    [made.id, 'mqtt-b', 'mqtt-default'].sort(),
  );
  assert.equal(again.get('mqtt-b')?.limits.maxConnections, 5);
  assert.equal(again.hasParentTopic(made.id, 'telemetry'), true, 'parent topics are case-insensitive');
  assert.equal(again.hasGroup(made.id, 'GID_sensors'), true);
  assert.deepEqual(again.listParentTopics(made.id).map((p) => p.name), ['Telemetry']);
  await again.deleteInstance(made.id);
  const third = await Tenancy.open(store);
  assert.equal(third.get(made.id), undefined);
  assert.deepEqual(await store.listRecords('tenancy.topics'), [], 'topics went with their instance');
  assert.deepEqual(await store.listRecords('tenancy.groups'), []);
});

test('tenancy - management errors carry the managed service codes', async () => {
  const t = await Tenancy.open(new MemoryStore());
  await t.createInstance({ id: 'mqtt-a', limits: { maxParentTopics: 1, maxGroups: 1 } });
  await assert.rejects(t.createInstance({ id: 'mqtt-a' }), code('InstanceAlreadyExists'));
  await assert.rejects(t.createInstance({ id: 'Nope' }), code('ParameterFieldCheckFailed'));
  await assert.rejects(t.createInstance({ id: 'mqtt-c', name: 'mqtt-a' }), code('ParameterFieldCheckFailed'), 'names are unique');
  await assert.rejects(t.createInstance({ id: 'mqtt-d', limits: { maxConnections: -5 } }), code('ParameterFieldCheckFailed'));
  await t.createGroup('mqtt-a', 'GID_one');
  await assert.rejects(t.createGroup('mqtt-a', 'GID_one'), code('GroupIdAlreadyExsited'));
  await assert.rejects(t.createGroup('mqtt-a', 'GID_two'), code('QuotaExceeded'));
  await assert.rejects(t.createGroup('mqtt-a', 'bad'), code('ParameterFieldCheckFailed'));
  await t.createParentTopic('mqtt-a', 'abc');
  await assert.rejects(t.createParentTopic('mqtt-a', 'ABC'), code('TopicAlreadyExists'));
  await assert.rejects(t.createParentTopic('mqtt-a', 'def'), code('QuotaExceeded'));
  await assert.rejects(t.createParentTopic('mqtt-zz', 'def'), code('InstanceNotFound'));
  await assert.rejects(t.deleteGroup('mqtt-a', 'GID_none'), code('GroupIdNotFound'));
  await assert.rejects(t.deleteParentTopic('mqtt-a', 'none'), code('TopicNotFound'));
  const updated = await t.updateInstance('mqtt-a', { mode: 'relaxed', limits: {} });
  assert.equal(updated.mode, 'relaxed');
  assert.equal(updated.limits.maxParentTopics, 100_000);
});

test('tenancy - strict admission refuses unknown groups and parent topics', async () => {
  const t = await Tenancy.open(new MemoryStore());
  await t.createInstance({ id: 'mqtt-s' });
  await t.createGroup('mqtt-s', 'GID_dev');
  await t.createParentTopic('mqtt-s', 'data');
  assert.equal(t.admitClient('mqtt-s', 'GID_dev@@@1'), null);
  assert.match(t.admitClient('mqtt-s', 'GID_other@@@1')?.message ?? '', /does not exist/);
  assert.match(t.admitClient('mqtt-s', 'free-form')?.message ?? '', /GroupID/);
  assert.equal(t.admitTopic('mqtt-s', 'data/x', false), null);
  assert.equal(t.admitTopic('mqtt-s', 'DATA/x', false), null);
  assert.match(t.admitTopic('mqtt-s', 'other/x', false)?.message ?? '', /does not exist/);
  assert.match(t.admitTopic('mqtt-s', '+/x', true)?.message ?? '', /wildcard/);
  assert.match(t.admitTopic('mqtt-s', 'da', false)?.message ?? '', /shorter/);
  assert.equal(t.admitTopic('mqtt-s', 'data/p2p/GID_dev@@@1', false), null);
  assert.equal(t.admitTopic('mqtt-s', '$SYS/uploadToken', false), null, 'system topics are not parent topics');
  assert.equal(t.listParentTopics('mqtt-s').length, 1, 'nothing was created');
});

test('tenancy - relaxed admission creates parent topics and groups on first use, within limits', async () => {
  const store = new MemoryStore();
  const t = await Tenancy.open(store);
  await t.createInstance({ id: 'mqtt-r', mode: 'relaxed', limits: { maxParentTopics: 2 } });
  assert.equal(t.admitClient('mqtt-r', 'GID_auto@@@1'), null);
  assert.equal(t.admitClient('mqtt-r', 'no-group-at-all'), null);
  assert.equal(t.hasGroup('mqtt-r', 'GID_auto'), true);
  assert.equal(t.listGroups('mqtt-r')[0]?.auto, true);
  assert.equal(t.admitTopic('mqtt-r', 'first/x', false), null);
  assert.equal(t.admitTopic('mqtt-r', 'second/#', true), null);
  assert.equal(t.admitTopic('mqtt-r', '#', true), null, 'a wildcard parent is fine in relaxed mode');
  assert.equal(t.admitTopic('mqtt-r', 'third/x', false)?.kind, 'quota');
  await store.commit();
  const again = await Tenancy.open(store);
  assert.deepEqual(again.listParentTopics('mqtt-r').map((p) => p.name), ['first', 'second']);
});
