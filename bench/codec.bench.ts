/**
 * Codec micro-benchmark: Ferry's encoder/decoder against mqtt-packet in the same process.
 * Run: npx tsc -p . && node dist/bench/codec.bench.js [--ms 500]
 */
import * as mqtt from 'mqtt-packet';
import { Decoder } from '../src/protocol/decoder.js';
import { encode } from '../src/protocol/encoder.js';
import type { ConnectPacket, ProtocolVersion, PublishPacket } from '../src/protocol/packets.js';

const msArg = process.argv.indexOf('--ms');
const WINDOW_MS = msArg > 0 ? Number(process.argv[msArg + 1]) : 200;
/** Rounds per case, alternating Ferry and mqtt-packet; the best round counts (least disturbed). */
const ROUNDS = 5;

let sink = 0;

/** ops/s of `fn`, after a warm-up, measured over WINDOW_MS in batches. */
function measure(fn: () => void): number {
  const batch = 1000;
  const warmEnd = performance.now() + WINDOW_MS / 2;
  while (performance.now() < warmEnd) for (let i = 0; i < batch; i++) fn();
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < WINDOW_MS) {
    for (let i = 0; i < batch; i++) fn();
    ops += batch;
    now = performance.now();
  }
  return (ops / (now - start)) * 1000;
}

const payload = Buffer.alloc(64, 0x61);
const publish: PublishPacket = { type: 'publish', topic: 'devices/42/telemetry', payload, qos: 0, retain: false, dup: false };
const connect: ConnectPacket = {
  type: 'connect',
  protocolName: 'MQTT',
  protocolVersion: 4,
  clean: true,
  keepalive: 60,
  clientId: 'device-000042',
  username: 'fleet',
  password: Buffer.from('secret-token'),
};
const mpPublish = { cmd: 'publish', topic: publish.topic, payload, qos: 0, retain: false, dup: false } as unknown as mqtt.Packet;
const mpConnect = {
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 4,
  clean: true,
  keepalive: 60,
  clientId: connect.clientId,
  username: 'fleet',
  password: connect.password,
} as unknown as mqtt.Packet;

interface Row {
  name: string;
  ferry: number;
  mqttPacket: number;
}
const rows: Row[] = [];

function compare(name: string, ferry: () => void, mqttPacket: () => void, scale = 1): void {
  let f = 0;
  let m = 0;
  for (let i = 0; i < ROUNDS; i++) {
    f = Math.max(f, measure(ferry));
    m = Math.max(m, measure(mqttPacket));
  }
  rows.push({ name, ferry: f * scale, mqttPacket: m * scale });
}

function ferryDecode(buf: Buffer, version: ProtocolVersion | undefined): () => void {
  const d = new Decoder(version === undefined ? { maxPacketSize: 1 << 20 } : { maxPacketSize: 1 << 20, protocolVersion: version });
  return () => {
    d.push(buf);
    for (let p = d.next(); p !== null; p = d.next()) sink++;
  };
}

function mpDecode(buf: Buffer, version: ProtocolVersion): () => void {
  const parser = mqtt.parser({ protocolVersion: version });
  parser.on('packet', () => {
    sink++;
  });
  return () => {
    parser.parse(buf);
  };
}

for (const version of [4, 5] as ProtocolVersion[]) {
  const opts = { protocolVersion: version };
  compare(
    `encode publish QoS0 64B v${version}`,
    () => {
      sink += encode(publish, version).length;
    },
    () => {
      sink += mqtt.generate(mpPublish, opts).length;
    },
  );
  const wire = encode(publish, version);
  compare(`decode publish QoS0 64B v${version}`, ferryDecode(wire, version), mpDecode(wire, version));
  const batch = Buffer.concat(Array.from({ length: 100 }, () => wire));
  compare(`decode publish v${version}, 100/chunk (pkt/s)`, ferryDecode(batch, version), mpDecode(batch, version), 100);
}
compare(
  'encode connect v4',
  () => {
    sink += encode(connect, 4).length;
  },
  () => {
    sink += mqtt.generate(mpConnect, { protocolVersion: 4 }).length;
  },
);
const connectWire = encode(connect, 4);
compare('decode connect v4', ferryDecode(connectWire, undefined), mpDecode(connectWire, 4));

const fmt = (n: number): string => (n / 1e6).toFixed(2).padStart(8) + ' M';
console.log(`${'operation'.padEnd(40)} ${'ferry ops/s'.padStart(12)} ${'mqtt-packet'.padStart(12)}  ratio`);
for (const r of rows) {
  console.log(`${r.name.padEnd(40)} ${fmt(r.ferry).padStart(12)} ${fmt(r.mqttPacket).padStart(12)}  ${(r.ferry / r.mqttPacket).toFixed(1)}x`);
}
if (sink === -1) console.log('unreachable');
