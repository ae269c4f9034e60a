// A backend consumes device data from a built-in queue and tracks who is online from status events.
import { connectDevice, FerryApiError, QueueConsumer, RestClient, StatusTracker } from 'ferry-mqtt/sdk';

const instanceId = process.env.FERRY_INSTANCE ?? 'mqtt-default';
const rest = new RestClient({
  endpoint: process.env.FERRY_HTTP_URL ?? 'http://127.0.0.1:8080',
  auth: { accessKeyId: process.env.FERRY_AK, accessKeySecret: process.env.FERRY_SK },
});

// Rules: what devices publish on demo/# goes to queue "telemetry"; GID_demo's connects and
// disconnects go to queue "presence" (docs/rules.md).
for (const rule of [
  { name: 'demo-telemetry', type: 'outbound', topics: ['demo/#'], target: 'queue://telemetry' },
  { name: 'demo-presence', type: 'status', groups: ['GID_demo'], target: 'queue://presence' },
]) {
  await rest.createRule(instanceId, rule).catch((err) => {
    if (!(err instanceof FerryApiError && err.code === 'RuleAlreadyExists')) throw err;
  });
}

// A device comes online, reports three readings and goes away.
const device = await connectDevice({
  url: process.env.FERRY_MQTT_URL ?? 'mqtt://127.0.0.1:1883',
  clientId: 'GID_demo@@@meter-1',
  auth: { mode: 'signature', accessKeyId: process.env.FERRY_AK, accessKeySecret: process.env.FERRY_SK, instanceId },
});
for (const kwh of [1.5, 1.7, 2.0]) await device.mqtt.publishAsync('demo/meter-1/kwh', String(kwh), { qos: 1 });
await device.end();

// Two handlers at once; a handler that throws nacks its message, which comes again.
const telemetry = new QueueConsumer({ rest, instanceId, queue: 'telemetry', concurrency: 2, wait: 5 });
let readings = 0;
await telemetry.run(async (message) => {
  console.log(`reading from ${message.properties.clientId} on ${message.properties.topic}: ${message.text()}`);
  if (++readings === 3) telemetry.stop();
});

// Status events may come twice or out of order; the tracker applies the channelId rule.
const tracker = new StatusTracker();
tracker.on('online', (id) => console.log(`${id} is online`));
tracker.on('offline', (id) => console.log(`${id} is offline`));
const presence = new QueueConsumer({ rest, instanceId, queue: 'presence', wait: 5 });
for await (const message of presence) {
  tracker.apply(message.json());
  await message.ack();
  if (message.json().eventType === 'tcpclean') break;
}
console.log(`online now: [${tracker.online().join(', ')}]`);
