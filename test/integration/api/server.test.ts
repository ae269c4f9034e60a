/** The APIs as `ferry start` serves them: RPC at / and REST at /api/v1 on the HTTP port. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFerry } from '../../helpers/index.js';
import { call, popClient } from './pop-client.js';
import { rest } from './rest-client.js';

const KEY = { id: 'FERRYBOOT0001', secret: 'bootstrap-secret-0123456789' };

test('api - the process serves the RPC endpoint and the REST API with the bootstrap key', async (t) => {
  const ferry = await startFerry(t, { bootstrapAccessKeyId: KEY.id, bootstrapAccessKeySecret: KEY.secret }, { announce: null });
  const endpoint = `http://127.0.0.1:${ferry.ports.http}`;
  const instances = (await call(popClient(endpoint, KEY), 'ListInstances'))['Instances'] as Array<Record<string, unknown>>;
  assert.deepEqual(instances.map((i) => i['InstanceId']), ['mqtt-default']);
  const sent = await call(popClient(endpoint, KEY), 'SendMessage', { InstanceId: 'mqtt-default', MqttTopic: 'a/b', Payload: 'x' });
  assert.match(String(sent['MsgId']), /^[0-9a-f]{32}$/);
  assert.equal((await rest(endpoint, KEY, 'GET', '/auth/whoami')).body['id'], KEY.id);
  assert.equal((await fetch(`${endpoint}/api/v1/openapi.json`)).status, 200);
  assert.equal((await fetch(`${endpoint}/healthz`)).status, 200);
});
