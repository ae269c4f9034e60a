/**
 * The C load generator of the benchmark (bench/cgen/cgen.c, driven by bench/e2e/cgen.ts): built
 * with the system compiler, run against a real Ferry over loopback, its JSON checked for the
 * counts it must report.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildCgen, CgenProcess, runCgen, type CgenLine } from '../../../bench/e2e/cgen.js';
import { makeSelfSignedCert, startFerry, tempDir } from '../../helpers/index.js';

const num = (l: CgenLine, k: string): number => {
  assert.equal(typeof l[k], 'number', `${k} is a number in ${JSON.stringify(l)}`);
  return l[k] as number;
};

/** Percentiles present, ordered, positive and below `maxUs`. */
function assertDist(l: CgenLine, key: string, n: number, maxUs: number): void {
  const d = l[key] as Record<string, number>;
  assert.equal(d['n'], n, `${key}.n`);
  const ps = ['p50', 'p90', 'p99', 'p999', 'max'].map((p) => d[p]!);
  for (const v of ps) assert.ok(v > 0 && v < maxUs, `${key}: ${JSON.stringify(d)}`);
  for (let i = 1; i < ps.length; i++) assert.ok(ps[i - 1]! <= ps[i]!, `${key} percentiles ordered: ${JSON.stringify(d)}`);
}

/** One build for the file, in a temp dir (not the harness's dist/ binary) removed when the file is done. */
const buildDir = tempDir({ after }, 'cgen-');
let built: Promise<string> | undefined;
const cgen = (): Promise<string> => (built ??= buildCgen(join(buildDir, 'ferry-cgen')));

function assertCpu(l: CgenLine): void {
  assert.ok(num(l, 'cpu_s') >= 0 && num(l, 'cpu_pct') >= 0 && num(l, 'cpu_pct') < 400, `generator CPU: ${JSON.stringify(l)}`);
}

test('bench cgen - connect: 200 clients get their CONNACK, are held, then all drop and resume their sessions', async (t) => {
  const bin = await cgen();
  const ferry = await startFerry(t);
  const p = new CgenProcess(bin, ['connect', '--port', String(ferry.ports.mqtt), '--count', '200', '--concurrency', '50', '--clean', '0', '--hold-stdin', '--prefix', 'cgen-test']);
  t.after(() => p.kill());

  const c = await p.next((l) => l['phase'] === 'connect', 30_000);
  assert.equal(c['mode'], 'connect');
  assert.equal(num(c, 'clients'), 200);
  assert.equal(num(c, 'connected'), 200, `all connected: ${JSON.stringify(c)}`);
  assert.equal(num(c, 'failed'), 0);
  assert.deepEqual(c['reasons'], {});
  assert.equal(num(c, 'session_present'), 0, 'new sessions');
  assert.ok(num(c, 'seconds') > 0 && num(c, 'seconds') < 30);
  assert.ok(Math.abs(num(c, 'rate') / (200 / num(c, 'seconds')) - 1) < 0.01, 'rate = connected / seconds');
  assertDist(c, 'connect_us', 200, 30e6);
  assertCpu(c);

  p.send('storm');
  const hold = await p.next((l) => l['phase'] === 'hold', 10_000);
  assert.equal(num(hold, 'up'), 200, 'all 200 still connected while held');
  assert.equal(num(hold, 'dropped'), 0);
  const s = await p.next((l) => l['phase'] === 'storm', 30_000);
  assert.equal(num(s, 'connected'), 200, `all back: ${JSON.stringify(s)}`);
  assert.equal(num(s, 'session_present'), 200, 'every persistent session resumed');
  assert.equal(num(s, 'clean_session'), 0);
  assertDist(s, 'connect_us', 200, 30e6);
  p.send('end');
  await p.done(10_000);
});

test('bench cgen - connect over TLS verifies the broker against the CA file; failures are counted by reason', async (t) => {
  const dir = tempDir(t, 'cgen-');
  const bin = await cgen();
  const cert = makeSelfSignedCert(dir);
  const ferry = await startFerry(t, { tlsCert: cert.certFile, tlsKey: cert.keyFile });
  const mqtts = ferry.ports.mqtts ?? 0;
  assert.ok(mqtts > 0);
  const [ok] = await runCgen(bin, ['connect', '--port', String(mqtts), '--count', '40', '--concurrency', '10', '--tls', '--cafile', cert.certFile], 30_000);
  assert.equal(num(ok!, 'connected'), 40, JSON.stringify(ok));
  assert.equal(ok!['tls'], true);

  // A certificate the broker's does not chain to: every handshake fails, and says why.
  const other = makeSelfSignedCert(dir, { cn: 'someone-else' });
  const [bad] = await runCgen(bin, ['connect', '--port', String(mqtts), '--count', '5', '--concurrency', '5', '--tls', '--cafile', other.certFile], 30_000);
  assert.equal(num(bad!, 'connected'), 0);
  assert.equal(num(bad!, 'failed'), 5);
  assert.match(Object.keys(bad!['reasons'] as object).join(), /TLS handshake: certificate verify failed/);

  // Plain MQTT to the TLS port never gets a CONNACK: each client fails (closed, reset or timed out), with a reason.
  const [plain] = await runCgen(bin, ['connect', '--port', String(mqtts), '--count', '3', '--concurrency', '3', '--timeout', '2'], 30_000);
  assert.equal(num(plain!, 'failed'), 3);
  assert.equal(num(plain!, 'connected'), 0);
  assert.ok(Object.keys(plain!['reasons'] as object).length > 0);
});

test('bench cgen - latency: 1 s at 1,000 msg/s, QoS 0 and QoS 1, every message sent in the window measured', async (t) => {
  const bin = await cgen();
  const ferry = await startFerry(t);
  for (const qos of [0, 1]) {
    const lines = await runCgen(bin, ['latency', '--port', String(ferry.ports.mqtt), '--rate', '1000', '--seconds', '1', '--warmup', '0.2', '--qos', String(qos), '--events'], 30_000);
    assert.deepEqual(
      lines.map((l) => l['event'] ?? l['mode']),
      ['window_start', 'window_end', 'latency'],
    );
    const r = lines[2]!;
    assert.equal(num(r, 'qos'), qos);
    assert.equal(num(r, 'window_sent'), 1000);
    assert.equal(num(r, 'sent'), 1200, 'warm-up + window');
    assert.equal(num(r, 'received') + num(r, 'lost'), 1000);
    assert.equal(num(r, 'lost'), 0, `nothing lost on loopback at 1k/s: ${JSON.stringify(r)}`);
    assert.equal(num(r, 'dup'), 0);
    if (qos === 1) assert.equal(num(r, 'acked'), 1200, 'every QoS 1 PUBLISH acknowledged');
    assertDist(r, 'latency_us', 1000, 5e6);
    const lag = r['send_lag_us'] as Record<string, number>;
    assert.equal(lag['n'], 1000);
    assertCpu(r);
  }
});

test('bench cgen - a missing compiler is a clear error', async (t) => {
  await assert.rejects(buildCgen(join(tempDir(t, 'cgen-'), 'ferry-cgen'), '/nonexistent/cc'), /needs a C compiler: '\/nonexistent\/cc' was not found/);
});
