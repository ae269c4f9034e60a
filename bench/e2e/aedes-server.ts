/**
 * Tiny Aedes (v1, in-memory) MQTT server used as a comparison broker by the
 * e2e benchmark. Plain TCP only.
 *
 *   node dist/bench/e2e/aedes-server.js --port 1883 [--host 127.0.0.1] [--nodelay 1|0]
 *
 * Prints "listening <port>" once the listener is bound.
 */
import net from 'node:net';
import { Aedes } from 'aedes';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  return v ?? fallback;
}

const port = Number(arg('port', '1883'));
const host = arg('host', '127.0.0.1');
const noDelay = arg('nodelay', '1') !== '0';

const broker = await Aedes.createBroker();
// Same socket settings as mosquitto gets from the harness (set_tcp_nodelay),
// listen backlog large enough for connection storms.
const server = net.createServer({ noDelay }, broker.handle);
server.on('error', (err) => {
  console.error('aedes-server listen error:', err);
  process.exit(1);
});
// Per-client errors (e.g. the load generator closing 10k sockets at once)
// are expected during benchmarks; keep them out of the way.
broker.on('clientError', () => {});
broker.on('connectionError', () => {});
server.listen({ port, host, backlog: 4096 }, () => {
  console.log(`listening ${port}`);
});

const stop = (): void => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
