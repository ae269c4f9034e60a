// A device in Token mode: an R and a W token, renewed and uploaded before they expire.
import { connectDevice, RestClient } from 'ferry-mqtt/sdk';

const instanceId = process.env.FERRY_INSTANCE ?? 'mqtt-default';
const accessKeyId = process.env.FERRY_AK;

// Stands in for your backend: it holds the AccessKey and applies for tokens (POST …/tokens,
// or ApplyToken on the RPC endpoint); the device only ever sees the tokens.
const backend = new RestClient({
  endpoint: process.env.FERRY_HTTP_URL ?? 'http://127.0.0.1:8080',
  auth: { accessKeyId, accessKeySecret: process.env.FERRY_SK },
});
const applyToken = (type) =>
  backend.applyToken(instanceId, { resources: ['demo/#'], actions: type, expireTime: Date.now() + 60 * 60_000 });

const [r, w] = await Promise.all([applyToken('R'), applyToken('W')]);
const device = await connectDevice({
  url: process.env.FERRY_MQTT_URL ?? 'mqtt://127.0.0.1:1883',
  clientId: 'GID_demo@@@phone-1',
  auth: { mode: 'token', accessKeyId, instanceId, tokens: [{ type: 'R', ...r }, { type: 'W', ...w }] },
  // Renews 6 minutes before expiry and on $SYS/tokenExpireNotice, uploads with $SYS/uploadToken.
  tokenRefresh: { fetchToken: (type) => applyToken(type) },
});
device.tokens.on('refreshed', (grant, reason) => console.log(`uploaded a new ${grant.type} token (${reason})`));
console.log('connected with an R and a W token');

const got = new Promise((resolve) => device.mqtt.once('message', (topic, payload) => resolve(`${topic}: ${payload}`)));
await device.mqtt.subscribeAsync('demo/phone-1/inbox', { qos: 1 });
await device.tokens.refresh('W'); // what the refresher does by itself before expiry
await device.mqtt.publishAsync('demo/phone-1/inbox', 'still allowed after the upload', { qos: 1 });
console.log(`received ${await got}`);
await device.end();
