import { spawnFerry, tempDir } from './dist/test/helpers/index.js';
import { connect } from './dist/test/integration/mqtt/clients.js';
import { connectAmqp, sdkLogin } from './dist/test/integration/amqp/sdk.js';
const fns = []; const t = { after: (f) => fns.push(f) };
const KEY = { id: 'FERRYAMQPCRASH1', secret: 'amqp-crash-secret-0123456789' };
const ferry = await spawnFerry(t, ['--data-dir', tempDir(t), '--bind', '127.0.0.1', '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--amqp-port', '0', '--log-level', 'debug'], { env: { FERRY_BOOTSTRAP_ACCESS_KEY_ID: KEY.id, FERRY_BOOTSTRAP_ACCESS_KEY_SECRET: KEY.secret } });
const backend = await connectAmqp(t, ferry.ports['amqp'], sdkLogin('mqtt-default', KEY));
const channel = await backend.createChannel();
await channel.prefetch(10);
const first = [];
await channel.consume('plant', (m) => m && first.push(m));
console.log('consuming');
const device = await connect(t, `mqtt://127.0.0.1:${ferry.ports['mqtt']}`, { clientId: 'GID_dev@@@k1' });
const timer = setTimeout(() => { console.log('TIMEOUT', ferry.logs.slice(-15).map(l => JSON.stringify(l).slice(0, 300)).join('\n')); }, 5000);
for (let i = 0; i < 6; i++) { await device.client.publishAsync('plant/line', `p${i}`, { qos: 1 }); console.log('acked', i); }
clearTimeout(timer);
console.log('deliveries', first.length);
for (const f of fns.reverse()) await f();
process.exit(0);
