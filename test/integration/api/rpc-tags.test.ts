/**
 * Tags in every form the SDKs send them, in every action that takes tags, through the current
 * Tea SDK core (@alicloud/openapi-client, ACS3) and pop-core (signature v1).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN, startApi } from './harness.js';
import { call, popClient, refused } from './pop-client.js';
import { callAction, teaClient, teaRefused } from './tea-client.js';

const I = 'mqtt-default';

/** The forms, each turning [{key, value}] into the `Tags`/`Tag` parameter value the SDKs send. */
const FORMS: Array<[string, (tags: Array<{ key: string; value: string }>) => unknown]> = [
  ['JSON string, lower-case keys (current Tea models)', (tags) => JSON.stringify(tags)],
  ['JSON string, upper-case keys', (tags) => JSON.stringify(tags.map((t) => ({ Key: t.key, Value: t.value })))],
  ['flattened Tags.N.Key/Value', (tags) => tags.map((t) => ({ Key: t.key, Value: t.value }))],
  ['flattened Tags.N.key/value', (tags) => tags.map((t) => ({ key: t.key, value: t.value }))],
];

test('rpc tags - every form in CreateGroupId, ListGroupId, TagResources, ListInstances, ListTagResources', async (t) => {
  const h = await startApi(t);
  const tea = teaClient(h.endpoint, ADMIN);
  const pop = popClient(h.endpoint, ADMIN);
  for (const [i, [name, form]] of FORMS.entries()) {
    for (const [clientName, send] of [
      ['tea', (action: string, params: Record<string, unknown>) => callAction(tea, action, { query: params })],
      ['pop', (action: string, params: Record<string, unknown>) => call(pop, action, params)],
    ] as const) {
      const label = `${name} via ${clientName}`;
      const group = `GID_f${i}${clientName}`;
      await send('CreateGroupId', { InstanceId: I, GroupId: group, Tags: form([{ key: 'form', value: `${i}${clientName}` }]) });
      const listed = (await send('ListGroupId', { InstanceId: I, Tags: form([{ key: 'form', value: `${i}${clientName}` }]) }))['Data'] as Array<Record<string, unknown>>;
      assert.deepEqual(listed.map((g) => [g['GroupId'], g['Tags']]), [[group, [{ TagKey: 'form', TagValue: `${i}${clientName}` }]]], label);

      const key = `k${i}${clientName}`;
      await send('TagResources', { ResourceType: 'instance', ResourceId: [I], Tag: form([{ key, value: 'v' }]) });
      const instances = (await send('ListInstances', { Tags: form([{ key, value: 'v' }]) }))['Instances'] as Array<Record<string, unknown>>;
      assert.deepEqual(instances.map((x) => x['InstanceId']), [I], label);
      const none = (await send('ListInstances', { Tags: form([{ key, value: 'other' }]) }))['Instances'] as unknown[];
      assert.deepEqual(none, [], label);
      // The filter selects resources carrying the tag; their tags are listed.
      const pairs = (await send('ListTagResources', { ResourceType: 'instance', ResourceId: [I], Tag: form([{ key, value: 'v' }]) }))['TagResources'] as unknown[];
      assert.ok(pairs.some((x) => JSON.stringify(x) === JSON.stringify({ ResourceId: I, ResourceType: 'instance', TagKey: key, TagValue: 'v' })), label);
      const unmatched = (await send('ListTagResources', { ResourceType: 'instance', ResourceId: [I], Tag: form([{ key, value: 'other' }]) }))['TagResources'];
      assert.deepEqual(unmatched, [], label);
    }
  }
});

test('rpc tags - a tag without a key or a malformed JSON string is refused, naming the parameter', async (t) => {
  const h = await startApi(t);
  const tea = teaClient(h.endpoint, ADMIN);
  const noKey = await teaRefused(callAction(tea, 'CreateGroupId', { query: { InstanceId: I, GroupId: 'GID_bad', Tags: JSON.stringify([{ value: 'x' }]) } }), 'InvalidParameter', 400);
  assert.match(String(noKey['Message']), /Tags\.1\.Key/);
  await teaRefused(callAction(tea, 'ListGroupId', { query: { InstanceId: I, Tags: '{"key":' } }), 'InvalidParameter', 400);
  await refused(call(popClient(h.endpoint, ADMIN), 'ListInstances', { Tags: [{ Value: 'x' }] }), 'InvalidParameter', 400);
  // Nothing was created by the refused call.
  const groups = (await callAction(tea, 'ListGroupId', { query: { InstanceId: I } }))['Data'] as Array<Record<string, unknown>>;
  assert.equal(groups.some((g) => g['GroupId'] === 'GID_bad'), false);
});
