// Code written for the managed service, unchanged but for the endpoint (and Ferry's AccessKey).
const RPCClient = require('@alicloud/pop-core');

const client = new RPCClient({
  endpoint: process.env.FERRY_HTTP_URL ?? 'http://127.0.0.1:8080', // was https://onsmqtt.cn-hangzhou.aliyuncs.com
  apiVersion: '2020-04-20',
  accessKeyId: process.env.FERRY_AK,
  accessKeySecret: process.env.FERRY_SK,
});

async function main() {
  const InstanceId = process.env.FERRY_INSTANCE ?? 'mqtt-default'; // was mqtt-cn-xxxxxxxx
  const { MsgId } = await client.request('SendMessage', { InstanceId, MqttTopic: 'demo/legacy', Payload: 'aGVsbG8=' }, { method: 'POST' });
  console.log(`SendMessage ok: ${/^[0-9a-f]{32}$/.test(MsgId)}`);
  const { OnlineStatus } = await client.request('QuerySessionByClientId', { InstanceId, ClientId: 'GID_demo@@@old-1' }, { method: 'POST' });
  console.log(`GID_demo@@@old-1 online: ${OnlineStatus}`);
}
main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
