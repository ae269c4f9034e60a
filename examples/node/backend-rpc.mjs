// A backend on the compatible RPC endpoint: the managed service's actions, signed with signature v1.
import { RpcClient } from 'ferry-mqtt/sdk';

const InstanceId = process.env.FERRY_INSTANCE ?? 'mqtt-default';
const rpc = new RpcClient({
  endpoint: process.env.FERRY_HTTP_URL ?? 'http://127.0.0.1:8080',
  accessKeyId: process.env.FERRY_AK,
  accessKeySecret: process.env.FERRY_SK,
});

const online = await rpc.querySessionByClientId({ InstanceId, ClientId: 'GID_demo@@@sensor-9' });
console.log(`GID_demo@@@sensor-9 online: ${online}`);
const msgId = await rpc.sendMessage({ InstanceId, MqttTopic: 'demo/sensor-9/cmd', Payload: Buffer.from('reboot').toString('base64') });
console.log(`SendMessage: MsgId of ${msgId.length} hex digits`);
const token = await rpc.applyToken({ InstanceId, Resources: ['demo/sensor-9/#'], Actions: 'R', ExpireTime: Date.now() + 3600_000 });
console.log(`ApplyToken: valid ${(await rpc.call('QueryToken', { InstanceId, Token: token })).TokenStatus}`);
// Any other action by name, with the managed service's parameters:
const { Data } = await rpc.call('ListGroupId', { InstanceId });
console.log(`groups: ${Data.map((g) => g.GroupId).join(', ') || '(none)'}`);
