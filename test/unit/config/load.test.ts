import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_BROKER_OPTIONS } from '../../../src/broker/options.js';
import {
  ConfigError,
  OPTIONS,
  envName,
  flagName,
  loadConfig,
  resolveConfig,
  securityWarnings,
  tlsEnabled,
} from '../../../src/internal.js';

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeJson(dir: string, value: unknown): string {
  const file = join(dir, 'ferry.json');
  writeFileSync(file, JSON.stringify(value));
  return file;
}

function configError(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    for (const p of parts) assert.ok(err.message.includes(p), `"${err.message}" should mention ${p}`);
    return true;
  });
}

test('config - defaults', () => {
  const { config } = loadConfig({ cwd: '/srv/ferry' });
  assert.equal(config.dataDir, '/srv/ferry/data');
  assert.equal(config.bind, '127.0.0.1');
  assert.equal(config.mqttPort, 1883);
  assert.equal(config.wsPort, 8083);
  assert.equal(config.wsPath, '/mqtt');
  assert.equal(config.tlsPort, 8883);
  assert.equal(config.wssPort, 8084);
  assert.equal(config.httpPort, 8080);
  assert.equal(config.logLevel, 'info');
  assert.equal(config.requestClientCert, false);
  assert.equal(config.tlsCert, undefined);
  assert.equal(tlsEnabled(config), false);
  assert.deepEqual(config.broker, DEFAULT_BROKER_OPTIONS);
});

test('config - precedence is defaults < file < env < flags', (t) => {
  const dir = tmp(t);
  const file = writeJson(dir, { mqttPort: 1001, wsPort: 1002, httpPort: 1003, broker: { maxInflight: 10, maxQueuedMessages: 20 } });
  const { config, configFile, origins } = loadConfig({
    cwd: dir,
    argv: ['--config', file, '--http-port', '3003', '--max-queued-messages', '30'],
    env: { FERRY_WS_PORT: '2002', FERRY_HTTP_PORT: '2003', FERRY_MAX_INFLIGHT: '11', PATH: '/bin' },
  });
  assert.equal(configFile, file);
  assert.equal(config.mqttPort, 1001);
  assert.equal(config.wsPort, 2002);
  assert.equal(config.httpPort, 3003);
  assert.equal(config.broker.maxInflight, 11);
  assert.equal(config.broker.maxQueuedMessages, 30);
  assert.equal(config.broker.maxPacketSize, DEFAULT_BROKER_OPTIONS.maxPacketSize);
  assert.equal(origins.mqttPort, `key "mqttPort" in config file ${file}`);
  assert.equal(origins.wsPort, 'environment variable FERRY_WS_PORT');
  assert.equal(origins.httpPort, 'flag --http-port');
});

test('config - config file path from FERRY_CONFIG; file paths relative to the file', (t) => {
  const dir = tmp(t);
  const file = writeJson(dir, { dataDir: 'state', logLevel: 'warn' });
  const { config } = loadConfig({ cwd: '/elsewhere', env: { FERRY_CONFIG: file } });
  assert.equal(config.dataDir, join(dir, 'state'));
  assert.equal(config.logLevel, 'warn');
  const fromFlag = loadConfig({ cwd: '/elsewhere', argv: ['--data-dir', 'd2'] });
  assert.equal(fromFlag.config.dataDir, '/elsewhere/d2');
});

test('config - every table row has a flag and an env name, all distinct', () => {
  const flags = OPTIONS.map(flagName);
  const envs = OPTIONS.map(envName);
  assert.equal(new Set(flags).size, OPTIONS.length);
  assert.equal(new Set(envs).size, OPTIONS.length);
  for (const e of envs) assert.match(e, /^FERRY_[A-Z0-9_]+$/);
  assert.ok(envs.includes('FERRY_MAX_PACKET_SIZE'));
  assert.ok(flags.includes('data-dir'));
});

test('config - every broker option is settable by flag, env and file', (t) => {
  const dir = tmp(t);
  for (const key of Object.keys(DEFAULT_BROKER_OPTIONS)) {
    const spec = OPTIONS.find((o) => o.key === `broker.${key}`);
    assert.ok(spec, `no table row for broker.${key}`);
  }
  const file = writeJson(dir, { broker: { allowAnonymous: false, acl: [{ permission: 'deny', action: 'all', topic: '#' }] } });
  assert.deepEqual(loadConfig({ argv: ['--config', file] }).config.broker.acl, [{ permission: 'deny', action: 'all', topic: '#' }]);
  const acl = '[{"permission":"allow","action":"publish","topic":"a/#"}]';
  assert.equal(loadConfig({ env: { FERRY_ACL: acl } }).config.broker.acl[0]?.topic, 'a/#');
  assert.equal(loadConfig({ argv: ['--acl', acl] }).config.broker.acl[0]?.action, 'publish');
  assert.equal(loadConfig({ argv: ['--max-packet-size', '2048'] }).config.broker.maxPacketSize, 2048);
  assert.equal(loadConfig({ env: { FERRY_MAX_PACKET_SIZE: '4096' } }).config.broker.maxPacketSize, 4096);
  assert.equal(loadConfig({ argv: ['--no-allow-anonymous'] }).config.broker.allowAnonymous, false);
});

test('config - unknown flag and file key are errors naming them', (t) => {
  const dir = tmp(t);
  configError(() => loadConfig({ argv: ['--mqtt-prot', '1'] }), '--mqtt-prot');
  configError(() => loadConfig({ argv: ['start'] }), 'start');
  configError(() => loadConfig({ argv: ['--config', writeJson(dir, { mqttProt: 1 })] }), '"mqttProt"', 'ferry.json');
  configError(() => loadConfig({ argv: ['--config', writeJson(dir, { broker: { maxPackets: 1 } })] }), '"broker.maxPackets"');
  configError(() => loadConfig({ argv: ['--config', writeJson(dir, { config: 'x.json' })] }), '"config"');
  configError(() => loadConfig({ argv: ['--config', join(dir, 'missing.json')] }), 'missing.json');
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{ not json');
  configError(() => loadConfig({ argv: ['--config', bad] }), 'bad.json', 'not valid JSON');
});

test('config - an unknown FERRY_* variable only warns, naming the closest known one', () => {
  const loaded = loadConfig({ env: { FERRY_MQTT_PROT: '1', FERRY_MAX_INFLIGTH: '5' } });
  assert.equal(loaded.config.mqttPort, 1883, 'the typo sets nothing');
  assert.equal(loaded.warnings.length, 2, loaded.warnings.join('\n'));
  assert.match(loaded.warnings[0] ?? '', /FERRY_MQTT_PROT.*did you mean FERRY_MQTT_PORT\?/);
  assert.match(loaded.warnings[1] ?? '', /FERRY_MAX_INFLIGTH.*did you mean FERRY_MAX_INFLIGHT\?/);
  assert.deepEqual(loaded.serviceLinks, []);
  // A typo that has the shape of a service link but not its value is still a typo.
  assert.match(loadConfig({ env: { FERRY_MQQT_PORT: '1884' } }).warnings[0] ?? '', /did you mean FERRY_MQTT_PORT/);
});

test('config - Kubernetes service-link variables are ignored; settings keep their values', () => {
  const env = {
    // Service "ferry"
    FERRY_SERVICE_HOST: '10.0.0.1',
    FERRY_SERVICE_PORT: '1883',
    FERRY_SERVICE_PORT_MQTT: '1883',
    FERRY_SERVICE_PORT_HTTP: '8080',
    FERRY_PORT: 'tcp://10.0.0.1:1883',
    FERRY_PORT_1883_TCP: 'tcp://10.0.0.1:1883',
    FERRY_PORT_1883_TCP_PROTO: 'tcp',
    FERRY_PORT_1883_TCP_PORT: '1883',
    FERRY_PORT_1883_TCP_ADDR: '10.0.0.1',
    // Service "ferry-http": its FERRY_HTTP_PORT collides with the httpPort setting
    FERRY_HTTP_SERVICE_HOST: '10.0.0.2',
    FERRY_HTTP_PORT: 'tcp://10.0.0.2:8080',
    FERRY_HTTP_PORT_8080_TCP_ADDR: '10.0.0.2',
    // Real settings next to them
    FERRY_MQTT_PORT: '1884',
    FERRY_CLIENT_UNUSED: undefined,
    // Read by the client commands, not by start: quiet
    FERRY_ENDPOINT: 'http://127.0.0.1:8080',
  };
  const loaded = loadConfig({ env });
  assert.equal(loaded.config.mqttPort, 1884);
  assert.equal(loaded.config.httpPort, 8080, 'the service link did not become the port');
  assert.equal(loaded.origins.httpPort, undefined);
  assert.deepEqual(loaded.serviceLinks.sort(), [
    'FERRY_HTTP_PORT_8080_TCP_ADDR', 'FERRY_HTTP_SERVICE_HOST', 'FERRY_PORT', 'FERRY_PORT_1883_TCP', 'FERRY_PORT_1883_TCP_ADDR',
    'FERRY_PORT_1883_TCP_PORT', 'FERRY_PORT_1883_TCP_PROTO', 'FERRY_SERVICE_HOST', 'FERRY_SERVICE_PORT',
    'FERRY_SERVICE_PORT_HTTP', 'FERRY_SERVICE_PORT_MQTT',
  ]);
  assert.equal(loaded.warnings.length, 1, loaded.warnings.join('\n'));
  assert.match(loaded.warnings[0] ?? '', /FERRY_HTTP_PORT=tcp:\/\/10\.0\.0\.2:8080 looks like a Kubernetes service link/);
  // A flag still sets the port the service link could not.
  assert.equal(loadConfig({ env, argv: ['--http-port', '9090'] }).config.httpPort, 9090);
});

test('config - malformed values of known variables still refuse start', () => {
  configError(() => loadConfig({ env: { FERRY_SERVICE_HOST: '10.0.0.1', FERRY_MQTT_PORT: '1883x' } }), 'mqttPort', 'FERRY_MQTT_PORT');
  configError(() => loadConfig({ env: { FERRY_MQTT_PORT: 'http://10.0.0.1:1883' } }), 'mqttPort', 'FERRY_MQTT_PORT');
  configError(() => loadConfig({ env: { FERRY_LOG_LEVEL: 'tcp://10.0.0.1:1' } }), 'logLevel', 'FERRY_LOG_LEVEL');
});

test('config - bad values are errors naming key and source', (t) => {
  const dir = tmp(t);
  configError(() => loadConfig({ argv: ['--mqtt-port', 'abc'] }), 'mqttPort', 'flag --mqtt-port', '"abc"');
  configError(() => loadConfig({ argv: ['--mqtt-port', '70000'] }), 'mqttPort', '0 to 65535');
  configError(() => loadConfig({ env: { FERRY_HTTP_PORT: '-1' } }), 'httpPort', 'FERRY_HTTP_PORT');
  configError(() => loadConfig({ env: { FERRY_LOG_LEVEL: 'loud' } }), 'logLevel', 'FERRY_LOG_LEVEL', 'info');
  configError(() => loadConfig({ env: { FERRY_REQUEST_CLIENT_CERT: 'maybe' } }), 'requestClientCert', 'true or false');
  configError(() => loadConfig({ argv: ['--max-inflight', '0'] }), 'broker.maxInflight', '--max-inflight');
  configError(() => loadConfig({ argv: ['--ws-path', 'mqtt'] }), 'wsPath', 'must start with');
  configError(() => loadConfig({ argv: ['--acl', '[1]'] }), 'broker.acl', 'rule 0');
  configError(() => loadConfig({ argv: ['--acl', '{'] }), 'broker.acl', 'not valid JSON');
  configError(() => loadConfig({ argv: ['--data-dir', ''] }), 'dataDir');
  const file = writeJson(dir, { mqttPort: '1883' });
  configError(() => loadConfig({ argv: ['--config', file] }), 'mqttPort', 'in config file');
  configError(() => resolveConfig({ broker: { maxInflight: 1.5 } }), 'broker.maxInflight', 'option "broker.maxInflight"');
});

test('config - empty environment values count as unset', () => {
  assert.equal(loadConfig({ env: { FERRY_MQTT_PORT: '' } }).config.mqttPort, 1883);
});

test('config - TLS needs cert and key; client certs need a CA', () => {
  configError(() => loadConfig({ argv: ['--tls-cert', '/c.pem'] }), 'tlsCert', 'tlsKey');
  configError(() => loadConfig({ env: { FERRY_TLS_KEY: '/k.pem' } }), 'tlsKey', 'FERRY_TLS_KEY', 'tlsCert');
  configError(() => loadConfig({ argv: ['--tls-cert', '/c', '--tls-key', '/k', '--request-client-cert'] }), 'tlsCa');
  const { config } = loadConfig({ argv: ['--tls-cert', '/c', '--tls-key', '/k'] });
  assert.equal(tlsEnabled(config), true);
});

test('config - two listeners on the same port is an error; port 0 may repeat', () => {
  configError(() => loadConfig({ argv: ['--ws-port', '1883'] }), 'mqttPort', 'wsPort', '1883');
  const { config } = loadConfig({ argv: ['--mqtt-port', '0', '--ws-port', '0', '--http-port', '0'] });
  assert.equal(config.wsPort, 0);
  // TLS ports only count when TLS is on.
  assert.equal(loadConfig({ argv: ['--tls-port', '1883', '--mqtt-port', '0'] }).config.tlsPort, 1883);
});

test('config - secure by default: anonymous only on loopback unless set explicitly', () => {
  assert.equal(loadConfig({}).config.broker.allowAnonymous, true);
  assert.equal(loadConfig({ argv: ['--bind', '::1'] }).config.broker.allowAnonymous, true);
  const open = loadConfig({ argv: ['--bind', '0.0.0.0'] }).config;
  assert.equal(open.broker.allowAnonymous, false);
  assert.deepEqual(securityWarnings(open), []);
  const explicit = loadConfig({ argv: ['--bind', '0.0.0.0', '--allow-anonymous'] }).config;
  assert.equal(explicit.broker.allowAnonymous, true);
  const warnings = securityWarnings(explicit);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /ANONYMOUS/);
  assert.equal(loadConfig({ env: { FERRY_BIND: '10.0.0.5', FERRY_ALLOW_ANONYMOUS: 'yes' } }).config.broker.allowAnonymous, true);
  assert.equal(resolveConfig({ bind: '192.168.1.2' }).config.broker.allowAnonymous, false);
});

test('config - --help short-circuits validation', () => {
  assert.equal(loadConfig({ argv: ['--help'] }).help, true);
  assert.equal(loadConfig({ argv: ['-h'] }).help, true);
});

test('config - resolveConfig returns independent copies', () => {
  const a = resolveConfig().config;
  a.broker.acl.push({ permission: 'deny', action: 'all', topic: '#' });
  assert.deepEqual(resolveConfig().config.broker.acl, []);
  assert.deepEqual(DEFAULT_BROKER_OPTIONS.acl, []);
});

test('config - a boolean flag takes an optional true/false word: --console false, --console=off, --no-console', () => {
  assert.equal(loadConfig({}).config.console, true);
  assert.equal(loadConfig({ argv: ['--console', 'false'] }).config.console, false);
  assert.equal(loadConfig({ argv: ['--console=off'] }).config.console, false);
  assert.equal(loadConfig({ argv: ['--no-console'] }).config.console, false);
  assert.equal(loadConfig({ argv: ['--console', '--http-port', '9'] }).config.console, true);
  assert.equal(loadConfig({ argv: ['--console', 'true', '--tracing', 'no'] }).config.tracing, false);
  assert.equal(loadConfig({ env: { FERRY_CONSOLE: 'false' } }).config.console, false);
  assert.throws(() => loadConfig({ argv: ['--console=maybe'] }), /--console: expected true or false/);
});

test('config - a negative number after a flag is its value, as the docs write it: --amqp-port -1', () => {
  assert.equal(loadConfig({ argv: ['--amqp-port', '-1'] }).config.amqpPort, -1);
  assert.equal(loadConfig({ argv: ['--amqp-port=-1', '--mqtt-port', '0'] }).config.amqpPort, -1);
  assert.throws(() => loadConfig({ argv: ['--mqtt-port', '-1'] }), /mqtt-port|mqttPort/);
});
