/**
 * Where an idle connection's memory goes (issue 15): heap snapshot self sizes per connection, by
 * constructor, of everything that N idle clients added to Ferry's heap.
 *
 *   node dist/bench/idle-heap.bench.js [--conns 5000] [--transport tcp,ws] [--keep DIR] [--top 30]
 *
 * Ferry runs in this process with the CLI's defaults (store, traces; ports 0, log silent); the
 * clients run in a child process (their sockets must not land in the measured heap): raw TCP or
 * WebSocket, CONNECT 3.1.1 with a clean session and keepalive 0 (nothing expires), no subscriptions.
 * For each transport: a snapshot once Ferry is up (warmed by a few connections that come and go),
 * N clients connect and get their CONNACK, a second snapshot. V8 gives an object the same id in
 * both snapshots, so "added" is every node of the second whose id the first does not have; its
 * self size is summed per kind (objects by constructor name, strings, arrays, code, native
 * estimates such as a TCPWrap's) and divided by N. Heap snapshots are not sensitive to the
 * machine's load (RSS is: use the e2e harness's idle_rss_* scenarios for that).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { buildConnect } from './e2e/wire.js';

type Transport = 'tcp' | 'ws';

// ------------------------------------------------------------------------------ client (child)

/** One masked binary frame (mask key 0: the payload goes out as is, which is legal). */
function wsFrame(payload: Buffer): Buffer {
  const head = payload.length < 126 ? Buffer.from([0x82, 0x80 | payload.length]) : Buffer.from([0x82, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, Buffer.alloc(4), payload]);
}

/** Connects, sends CONNECT, resolves on the CONNACK (bytes 0x20 0x02 in the first data). */
function openIdle(port: number, transport: Transport, clientId: string, keep: Socket[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: '127.0.0.1', port, noDelay: true });
    const connect = buildConnect(clientId, 0, true);
    let seen = Buffer.alloc(0);
    let upgraded = transport === 'tcp';
    socket.on('connect', () => {
      if (transport === 'tcp') socket.write(connect);
      else {
        socket.write(
          `GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`,
        );
      }
    });
    const onData = (chunk: Buffer): void => {
      seen = Buffer.concat([seen, chunk]);
      if (!upgraded) {
        const end = seen.indexOf('\r\n\r\n');
        if (end === -1) return;
        if (!seen.subarray(0, 12).toString().startsWith('HTTP/1.1 101')) return reject(new Error(`handshake: ${seen.subarray(0, 40).toString()}`));
        upgraded = true;
        seen = seen.subarray(end + 4);
        socket.write(wsFrame(connect));
      }
      // CONNACK: 0x20 0x02 <flags> <rc>, after a 2-byte WebSocket frame header on ws.
      const at = seen.indexOf(0x20);
      if (at === -1 || seen.length < at + 4) return;
      if (seen[at + 3] !== 0) return reject(new Error(`CONNACK return code ${seen[at + 3]}`));
      socket.off('data', onData);
      keep.push(socket);
      resolve();
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

function runClients(): void {
  const sockets: Socket[] = [];
  process.on('message', (raw: unknown) => {
    const msg = raw as { cmd: 'open'; port: number; transport: Transport; conns: number; tag: string } | { cmd: 'close' };
    if (msg.cmd === 'close') {
      for (const s of sockets.splice(0)) s.destroy();
      process.send!({ closed: true });
      return;
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < msg.conns) {
        const i = next++;
        await openIdle(msg.port, msg.transport, `idle-${msg.tag}-${i}`, sockets);
      }
    };
    Promise.all(Array.from({ length: Math.min(100, msg.conns) }, worker)).then(
      () => process.send!({ opened: sockets.length }),
      (err: unknown) => process.send!({ error: String(err) }),
    );
  });
  process.send!({ ready: true });
}

// ------------------------------------------------------------------------------ snapshots

interface Snapshot {
  ids: Int32Array | Float64Array;
  /** Per node: its group key index into `keys`. */
  key: Int32Array;
  self: Float64Array;
  keys: string[];
}

/**
 * Kinds that say little by themselves (plain objects, arrays, property arrays, hidden classes,
 * strings): their key also names where the first retainer holds them, e.g. `Object ← Socket._events`.
 */
const BY_RETAINER = /^(Object|Array|\(array\)|\(strings\)|\(hidden\) system \/ PropertyArray|\(object shape\)|\(heap numbers\)|\(closure\)|\(code, feedback\)|\(native\) Node \/ histogram)/;

/** Reads a .heapsnapshot into flat arrays: id, self size and a group key per node. */
function readSnapshot(file: string): Snapshot {
  const json = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] }; node_count: number };
    nodes: number[];
    edges: number[];
    strings: string[];
  };
  const fields = json.snapshot.meta.node_fields;
  const types = json.snapshot.meta.node_types[0];
  const stride = fields.length;
  const fType = fields.indexOf('type');
  const fName = fields.indexOf('name');
  const fId = fields.indexOf('id');
  const fSelf = fields.indexOf('self_size');
  const fEdges = fields.indexOf('edge_count');
  const n = json.nodes.length / stride;
  const nameOf = (i: number): string => {
    const type = types[json.nodes[i * stride + fType]!]!;
    return type === 'object' || type === 'closure' || type === 'native' || type === 'synthetic' ? json.strings[json.nodes[i * stride + fName]!]! : `(${type})`;
  };
  // First retainer of every node: "<owner>.<edge>", from the edges (owner order = node order).
  const eFields = json.snapshot.meta.edge_fields;
  const eTypes = json.snapshot.meta.edge_types[0];
  const eStride = eFields.length;
  const eType = eFields.indexOf('type');
  const eName = eFields.indexOf('name_or_index');
  const eTo = eFields.indexOf('to_node');
  const retainer = new Array<string | undefined>(n);
  for (let i = 0, e = 0; i < n; i++) {
    const count = json.nodes[i * stride + fEdges]!;
    for (let k = 0; k < count; k++, e += eStride) {
      const to = json.edges[e + eTo]! / stride;
      if (retainer[to] !== undefined) continue;
      const type = eTypes[json.edges[e + eType]!]!;
      if (type === 'weak' || type === 'shortcut') continue;
      const name = type === 'element' || type === 'hidden' ? `[${json.edges[e + eName]!}]` : String(json.strings[json.edges[e + eName]!]);
      retainer[to] = `${nameOf(i)}.${name.slice(0, 40)}`;
    }
  }
  const ids = new Float64Array(n);
  const key = new Int32Array(n);
  const self = new Float64Array(n);
  const keys: string[] = [];
  const keyIndex = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const base = i * stride;
    const type = types[json.nodes[base + fType]!]!;
    const name = json.strings[json.nodes[base + fName]!]!;
    let k: string;
    if (type === 'object') k = name;
    else if (type === 'string' || type === 'concatenated string' || type === 'sliced string') k = '(strings)';
    else if (type === 'number') k = '(heap numbers)';
    else if (type === 'closure') k = `(closure) ${name.slice(0, 40)}`;
    else if (type === 'code') k = '(code, feedback)';
    else if (type === 'array') k = `(array) ${name.slice(0, 40)}`;
    else k = `(${type}) ${name.slice(0, 40)}`;
    if (BY_RETAINER.test(k)) k += ` ← ${retainer[i] ?? '?'}`;
    let ki = keyIndex.get(k);
    if (ki === undefined) {
      ki = keys.length;
      keys.push(k);
      keyIndex.set(k, ki);
    }
    ids[i] = json.nodes[base + fId]!;
    key[i] = ki;
    self[i] = json.nodes[base + fSelf]!;
  }
  return { ids, key, self, keys };
}

/** Kinds whose share changes between runs of one build: not held per connection. */
const NOT_PER_CONNECTION = /JSArrayBufferData|^\(code, feedback\)|histogram/;

interface Row {
  key: string;
  count: number;
  bytes: number;
}

/** Self sizes of the nodes of `after` that `before` does not have, grouped by key. */
function added(before: Snapshot, after: Snapshot): Row[] {
  const had = new Set<number>(before.ids);
  const rows = new Map<number, Row>();
  for (let i = 0; i < after.ids.length; i++) {
    if (had.has(after.ids[i]!)) continue;
    const k = after.key[i]!;
    let row = rows.get(k);
    if (row === undefined) rows.set(k, (row = { key: after.keys[k]!, count: 0, bytes: 0 }));
    row.count++;
    row.bytes += after.self[i]!;
  }
  return [...rows.values()].sort((a, b) => b.bytes - a.bytes);
}

// ------------------------------------------------------------------------------ main

function ask<T>(child: ChildProcess, msg: object, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const on = (m: Record<string, unknown>): void => {
      if (m.error !== undefined) reject(new Error(String(m.error)));
      else if (key in m) resolve(m[key] as T);
      else return;
      child.off('message', on);
    };
    child.on('message', on);
    child.send(msg);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      conns: { type: 'string', default: '5000' },
      transport: { type: 'string', default: 'tcp,ws' },
      keep: { type: 'string' },
      top: { type: 'string', default: '30' },
    },
  });
  const conns = Number(values.conns);
  const transports = values.transport.split(',') as Transport[];
  const top = Number(values.top);
  const snapDir = values.keep ?? mkdtempSync(join(tmpdir(), 'ferry-idle-heap-'));
  mkdirSync(snapDir, { recursive: true });

  const { resolveConfig } = await import('../src/config/index.js');
  const { startFerry } = await import('../src/server.js');
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-idle-heap-data-'));
  const { config } = resolveConfig({ dataDir, mqttPort: 0, wsPort: 0, httpPort: 0, amqpPort: -1, logLevel: 'silent', bind: '127.0.0.1' });
  const ferry = await startFerry(config, { announce: null });
  const child = fork(fileURLToPath(import.meta.url), ['--clients'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((resolve) => child.once('message', resolve));

  try {
    console.log(`# idle connections: heap snapshot self sizes per connection (${conns} clients, node ${process.version})`);
    for (const transport of transports) {
      const port = transport === 'tcp' ? ferry.ports.mqtt : ferry.ports.ws;
      // Warm up: the first connections compile code and make hidden classes that stay.
      await ask(child, { cmd: 'open', port, transport, conns: 200, tag: `warm-${transport}` }, 'opened');
      await ask(child, { cmd: 'close' }, 'closed');
      await new Promise((resolve) => setTimeout(resolve, 500));
      const beforeFile = writeHeapSnapshot(join(snapDir, `${transport}-before.heapsnapshot`));
      await ask(child, { cmd: 'open', port, transport, conns, tag: transport }, 'opened');
      // Long enough for the trace writer to store the CONNECT events and release their batches.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      if (ferry.broker.connectionCount < conns) throw new Error(`only ${ferry.broker.connectionCount} of ${conns} connections reached the broker`);
      const afterFile = writeHeapSnapshot(join(snapDir, `${transport}-after.heapsnapshot`));
      const rows = added(readSnapshot(beforeFile), readSnapshot(afterFile));
      const total = rows.reduce((s, r) => s + r.bytes, 0);
      // What varies from run to run and is not held by the connections: trace batches still
      // pending at the snapshot, code compiled meanwhile, native histograms made meanwhile.
      const noise = rows.filter((r) => NOT_PER_CONNECTION.test(r.key)).reduce((s, r) => s + r.bytes, 0);
      console.log(`\n## ${transport}: ${(total / conns).toFixed(0)} B per connection (whole added heap incl. native estimates)\n`);
      console.log(`Without pending trace batches, compiled code and native histograms: **${((total - noise) / conns).toFixed(0)} B**.\n`);
      console.log('| what | count / conn | B / conn |');
      console.log('|---|---:|---:|');
      for (const r of rows.slice(0, top)) console.log(`| ${r.key.replace(/\|/g, '\\|')} | ${(r.count / conns).toFixed(2)} | ${(r.bytes / conns).toFixed(1)} |`);
      const rest = rows.slice(top).reduce((s, r) => s + r.bytes, 0);
      console.log(`| (the rest, ${Math.max(0, rows.length - top)} kinds) | | ${(rest / conns).toFixed(1)} |`);
      await ask(child, { cmd: 'close' }, 'closed');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    child.kill();
    await ferry.stop();
    rmSync(dataDir, { recursive: true, force: true });
    if (values.keep === undefined) rmSync(snapDir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--clients')) {
  runClients();
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
