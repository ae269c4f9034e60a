// A backend registers a device credential, sends the device a command (P2P) and asks whether it is online.
import { connectDevice, p2pTopic, RestClient } from 'ferry-mqtt/sdk';

const instanceId = process.env.FERRY_INSTANCE ?? 'mqtt-default';
const rest = new RestClient({
  endpoint: process.env.FERRY_HTTP_URL ?? 'http://127.0.0.1:8080',
  auth: { accessKeyId: process.env.FERRY_AK, accessKeySecret: process.env.FERRY_SK },
});

// One secret per device (RegisterDeviceCredential); hand both values to the device once.
const lampId = 'GID_demo@@@lamp-1';
const credential = await rest.registerDeviceCredential(instanceId, lampId);
const lamp = await connectDevice({
  url: process.env.FERRY_MQTT_URL ?? 'mqtt://127.0.0.1:1883',
  clientId: lampId,
  auth: {
    mode: 'device-credential',
    deviceAccessKeyId: credential.DeviceAccessKeyId,
    deviceAccessKeySecret: credential.DeviceAccessKeySecret,
    instanceId,
  },
});
const command = new Promise((resolve) => lamp.mqtt.once('message', (topic, payload) => resolve(`${topic}: ${payload}`)));

const { connected } = await rest.client(instanceId, lampId);
console.log(`${lampId} online: ${connected}`);
const { msgId } = await rest.publish(instanceId, { topic: p2pTopic('demo', lampId), payload: '{"switch":"on"}', qos: 1 });
console.log(`sent command ${msgId.length === 32 ? '(msgId ok)' : msgId}`);
console.log(`lamp received ${await command}`);
await lamp.end();
