// A device in Signature mode: connect, subscribe, publish, and a P2P message to itself.
import { clientId, connectDevice } from 'ferry-mqtt/sdk';

const id = clientId('GID_demo', 'sensor-1'); // GID_demo@@@sensor-1, checked
const device = await connectDevice({
  url: process.env.FERRY_MQTT_URL ?? 'mqtt://127.0.0.1:1883',
  clientId: id,
  auth: {
    mode: 'signature',
    accessKeyId: process.env.FERRY_AK,
    accessKeySecret: process.env.FERRY_SK,
    instanceId: process.env.FERRY_INSTANCE ?? 'mqtt-default',
  },
});
console.log(`connected as ${id}`);

let received = 0;
const both = new Promise((resolve) => {
  device.mqtt.on('message', (topic, payload) => {
    console.log(`received ${topic}: ${payload}`);
    if (++received === 2) resolve();
  });
});
await device.mqtt.subscribeAsync('demo/sensors/#', { qos: 1 });
await device.mqtt.publishAsync('demo/sensors/temp', '21.5', { qos: 1 });
// P2P: the receiver needs no subscription (here the receiver is this device).
await device.sendP2P('demo', id, 'a note to myself');
await both;
await device.end();
