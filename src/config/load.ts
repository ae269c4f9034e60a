/**
 * Builds a FerryConfig from its sources, in rising precedence:
 *
 *   table defaults  <  config file (--config / FERRY_CONFIG)  <  FERRY_* variables  <  CLI flags
 *
 * Everything is validated against the OPTIONS table; every error names the setting and where the
 * value came from, so the user knows what to fix.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { BrokerOptions } from '../broker/options.js';
import { CLIENT_ENV_NAMES, closestName, isServiceLink, serviceLinkValue } from './env-names.js';
import { ConfigError } from './errors.js';
import { ENV_PREFIX, envName, flagName } from './names.js';
import { OPTIONS, type ConfigKey, type FerryConfig, type OptionSpec } from './schema.js';

/** Where a value came from, as shown in error messages. */
interface Source {
  readonly text: string;
  /** Relative paths are resolved against this directory. */
  readonly baseDir: string;
}

/** Config as written in a file or passed programmatically: every key optional, broker nested. */
export type FerryConfigInput = {
  [K in Exclude<keyof FerryConfig, 'broker'>]?: FerryConfig[K] | undefined;
} & { broker?: { [K in keyof BrokerOptions]?: BrokerOptions[K] | undefined } | undefined };

export interface LoadConfigInput {
  /** CLI arguments after the command (e.g. ['--mqtt-port', '0']). */
  argv?: readonly string[];
  /** Environment; only FERRY_* names are read. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths from env and flags are resolved against (default process.cwd()). */
  cwd?: string;
}

export interface LoadedConfig {
  config: FerryConfig;
  /** Absolute path of the config file that was read, if any. */
  configFile?: string;
  /** For each setting that did not come from the defaults: where it came from. */
  origins: Partial<Record<ConfigKey, string>>;
}

/** What loadConfig noticed but did not refuse; the CLI logs these once the logger exists. */
export interface ConfigNotices {
  /** Unknown `FERRY_*` variables (naming the closest known one) and ignored service-link values of settings. */
  warnings: string[];
  /** Kubernetes service-link variables that are not settings, ignored (logged at info). */
  serviceLinks: string[];
}

const BY_KEY = new Map<string, OptionSpec>(OPTIONS.map((o) => [o.key, o]));
const BY_ENV = new Map<string, OptionSpec>(OPTIONS.map((o) => [envName(o), o]));
const KNOWN_ENV = [...BY_ENV.keys(), ...CLIENT_ENV_NAMES];
const BY_FLAG = new Map<string, OptionSpec>(OPTIONS.map((o) => [flagName(o), o]));
/** First path segments that are groups of keys ('broker'). */
const GROUPS = new Set(OPTIONS.filter((o) => o.key.includes('.')).map((o) => o.key.split('.')[0] ?? ''));

/** parseArgs options derived from the table, plus --help. */
export function cliOptions(): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const o of OPTIONS) options[flagName(o)] = { type: o.type === 'boolean' ? 'boolean' : 'string' };
  return options;
}

type Layer = Map<OptionSpec['key'], { value: unknown; source: Source }>;

function describeExpected(spec: OptionSpec): string {
  switch (spec.type) {
    case 'port':
      return 'a port number from 0 to 65535';
    case 'integer':
      return `an integer from ${spec.min ?? 0} to ${spec.max ?? Number.MAX_SAFE_INTEGER}`;
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${(spec.values ?? []).join(', ')}`;
    case 'json':
      return 'JSON';
    default:
      return 'a non-empty string';
  }
}

function badValue(spec: OptionSpec, raw: unknown, source: Source, why?: string): ConfigError {
  const shown = spec.secret === true ? '(not shown: it may hold secrets)' : typeof raw === 'string' ? JSON.stringify(raw) : JSON.stringify(raw) ?? String(raw);
  return new ConfigError(
    `Invalid value ${shown} for ${spec.key} (${source.text}): ${why ?? `expected ${describeExpected(spec)}`}`,
  );
}

/**
 * Convert one raw value to the option's type. `text` is true for values that arrive as strings
 * (environment, flags); file and programmatic values must already have the JSON type.
 */
function convert(spec: OptionSpec, raw: unknown, source: Source, text: boolean): unknown {
  let value: unknown = raw;
  switch (spec.type) {
    case 'string':
    case 'path':
      if (typeof raw !== 'string' || raw === '') throw badValue(spec, raw, source);
      value = spec.type === 'path' ? resolve(source.baseDir, raw) : raw;
      break;
    case 'enum':
      if (typeof raw !== 'string' || !(spec.values ?? []).includes(raw)) throw badValue(spec, raw, source);
      break;
    case 'port':
    case 'integer': {
      const min = spec.type === 'port' ? 0 : (spec.min ?? 0);
      const max = spec.type === 'port' ? 65535 : (spec.max ?? Number.MAX_SAFE_INTEGER);
      if (text) {
        if (typeof raw !== 'string' || !/^-?\d+$/.test(raw.trim())) throw badValue(spec, raw, source);
        value = Number(raw.trim());
      }
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
        throw badValue(spec, raw, source);
      }
      break;
    }
    case 'boolean':
      if (text && typeof raw === 'string') {
        const s = raw.trim().toLowerCase();
        if (['true', '1', 'yes', 'on'].includes(s)) value = true;
        else if (['false', '0', 'no', 'off'].includes(s)) value = false;
      }
      if (typeof value !== 'boolean') throw badValue(spec, raw, source);
      break;
    case 'json':
      if (text) {
        try {
          value = JSON.parse(String(raw));
        } catch (err) {
          throw badValue(spec, raw, source, `not valid JSON (${(err as Error).message})`);
        }
      }
      break;
  }
  if (spec.check) {
    const checked = spec.check(value);
    if ('error' in checked) throw badValue(spec, raw, source, checked.error);
    value = checked.value;
  }
  return value;
}

/** Walk a config object (file or programmatic); unknown keys are errors. */
function objectLayer(obj: unknown, describe: (key: string) => string, baseDir: string): Layer {
  const layer: Layer = new Map();
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new ConfigError(`${describe('')}: expected a JSON object at the top level`);
  }
  const walk = (node: Record<string, unknown>, prefix: string): void => {
    for (const [k, raw] of Object.entries(node)) {
      const key = prefix + k;
      if (raw === undefined) continue;
      if (GROUPS.has(key) && prefix === '') {
        if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
          throw new ConfigError(`Invalid value for ${key} (${describe(key)}): expected an object`);
        }
        walk(raw as Record<string, unknown>, `${key}.`);
        continue;
      }
      const spec = BY_KEY.get(key);
      if (!spec || spec.inFile === false) {
        throw new ConfigError(`Unknown key "${key}" (${describe(key)}); see docs/configuration.md`);
      }
      const source = { text: describe(key), baseDir };
      layer.set(spec.key, { value: convert(spec, raw, source, false), source });
    }
  };
  walk(obj as Record<string, unknown>, '');
  return layer;
}

function fileLayer(file: string): Layer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read config file ${file}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`Config file ${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return objectLayer(parsed, (key) => (key ? `key "${key}" in config file ${file}` : `config file ${file}`), dirname(file));
}

function envLayer(env: Readonly<Record<string, string | undefined>>, cwd: string): { layer: Layer; notices: ConfigNotices } {
  const layer: Layer = new Map();
  const notices: ConfigNotices = { warnings: [], serviceLinks: [] };
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined || raw === '') continue;
    const spec = BY_ENV.get(name);
    if (!spec) {
      if (CLIENT_ENV_NAMES.includes(name)) continue;
      if (isServiceLink(name, raw)) notices.serviceLinks.push(name);
      else notices.warnings.push(`Unknown environment variable ${name} ignored (did you mean ${closestName(name, KNOWN_ENV)}?); see docs/configuration.md`);
      continue;
    }
    // A Service named e.g. "ferry-mqtt" makes Kubernetes set FERRY_MQTT_PORT=tcp://…; no port is
    // ever written that way, so it is the service link, not a malformed setting (env-names.ts).
    if ((spec.type === 'port' || spec.key.endsWith('Port')) && serviceLinkValue(raw)) {
      notices.warnings.push(
        `Environment variable ${name}=${raw} looks like a Kubernetes service link, not a port: ignored, ` +
          `${spec.key} keeps its other sources. Rename the Service or set enableServiceLinks: false in the pod spec.`,
      );
      continue;
    }
    const source = { text: `environment variable ${name}`, baseDir: cwd };
    layer.set(spec.key, { value: convert(spec, raw, source, true), source });
  }
  return { layer, notices };
}

const BOOLEAN_FLAGS = new Set(OPTIONS.filter((o) => o.type === 'boolean').map((o) => flagName(o)));
const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = { true: true, false: false, '1': true, '0': false, yes: true, no: false, on: true, off: false };

/**
 * `--console false` and `--console=false` as `--no-console` (parseArgs takes no value after a
 * boolean flag); `--amqp-port -1` as `--amqp-port=-1` (parseArgs reads a negative number after a
 * flag as another flag, and the docs write it with a space).
 */
function booleanFlagValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    const next = argv[i + 1];
    if (m !== null && m[2] === undefined && !BOOLEAN_FLAGS.has(m[1]!) && next !== undefined && /^-\d+$/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
      continue;
    }
    if (m === null || !BOOLEAN_FLAGS.has(m[1]!)) {
      out.push(arg);
      continue;
    }
    const inline = m[2];
    const word = inline ?? (next !== undefined && Object.hasOwn(BOOLEAN_WORDS, next.toLowerCase()) ? next : undefined);
    if (word === undefined) {
      out.push(arg);
      continue;
    }
    if (inline === undefined) i++;
    const value = Object.hasOwn(BOOLEAN_WORDS, word.toLowerCase()) ? BOOLEAN_WORDS[word.toLowerCase()] : undefined;
    if (value === undefined) throw new ConfigError(`Invalid value ${JSON.stringify(word)} for flag --${m[1]!}: expected true or false`);
    out.push(value ? `--${m[1]!}` : `--no-${m[1]!}`);
  }
  return out;
}

function flagLayer(argv: readonly string[], cwd: string): { layer: Layer; help: boolean } {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ args: booleanFlagValues(argv), options: cliOptions(), strict: true, allowPositionals: false, allowNegative: true }));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message.split('\n')[0] ?? 'Bad arguments'} (run "ferry start --help")`, { cause: err });
  }
  const layer: Layer = new Map();
  for (const [flag, raw] of Object.entries(values)) {
    if (flag === 'help' || raw === undefined) continue;
    const spec = BY_FLAG.get(flag);
    if (!spec) throw new ConfigError(`Unknown flag --${flag}`);
    const source = { text: `flag --${flag}`, baseDir: cwd };
    layer.set(spec.key, { value: convert(spec, raw, source, typeof raw === 'string'), source });
  }
  return { layer, help: values['help'] === true };
}

/** True for addresses that only this machine can reach. */
export function isLoopbackAddress(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h);
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const [head, tail] = key.split('.', 2) as [string, string | undefined];
  if (tail === undefined) {
    target[head] = value;
    return;
  }
  const child = (target[head] ??= {}) as Record<string, unknown>;
  child[tail] = value;
}

/** Merge layers over the defaults, fill computed defaults and check cross-setting rules. */
function build(layers: readonly Layer[], cwd: string): { config: FerryConfig; origins: Partial<Record<ConfigKey, string>> } {
  const merged: Layer = new Map();
  for (const layer of layers) for (const [k, v] of layer) merged.set(k, v);

  const out: Record<string, unknown> = {};
  const origins: Partial<Record<ConfigKey, string>> = {};
  for (const spec of OPTIONS) {
    if (spec.key === 'config') continue;
    const given = merged.get(spec.key);
    if (given) origins[spec.key] = given.source.text;
    let value = given ? given.value : spec.default;
    if (value === undefined) continue;
    if (!given && spec.type === 'path') value = resolve(cwd, String(value));
    if (Array.isArray(value)) value = structuredClone(value);
    setPath(out, spec.key, value);
  }
  const config = out as unknown as FerryConfig;

  // Secure by default (PRODUCT.md): anonymous clients only on a loopback bind unless set explicitly.
  if ((config.broker as Partial<BrokerOptions>).allowAnonymous === undefined) config.broker.allowAnonymous = isLoopbackAddress(config.bind);

  const from = (key: ConfigKey): string => origins[key] ?? 'default';
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    const [set, unset] = config.tlsCert === undefined ? (['tlsKey', 'tlsCert'] as const) : (['tlsCert', 'tlsKey'] as const);
    throw new ConfigError(`${set} is set (${from(set)}) but ${unset} is not; TLS needs both`);
  }
  if ((config.bootstrapAccessKeyId === undefined) !== (config.bootstrapAccessKeySecret === undefined)) {
    const [set, unset] =
      config.bootstrapAccessKeyId === undefined
        ? (['bootstrapAccessKeySecret', 'bootstrapAccessKeyId'] as const)
        : (['bootstrapAccessKeyId', 'bootstrapAccessKeySecret'] as const);
    throw new ConfigError(`${set} is set (${from(set)}) but ${unset} is not; the bootstrap AccessKey needs both`);
  }
  if (config.metricsAccess === 'token' && config.metricsToken === undefined) {
    throw new ConfigError(`metricsAccess is "token" (${from('metricsAccess')}) but metricsToken is not set`);
  }
  if (config.requestClientCert && config.tlsCa === undefined) {
    throw new ConfigError(`requestClientCert is true (${from('requestClientCert')}) but tlsCa is not set`);
  }
  if (config.requestClientCert && config.tlsCert === undefined) {
    throw new ConfigError(`requestClientCert is true (${from('requestClientCert')}) but TLS is not configured (tlsCert, tlsKey)`);
  }
  if (config.x509DeviceAuth && config.tlsCert === undefined) {
    throw new ConfigError(`x509DeviceAuth is true (${from('x509DeviceAuth')}) but TLS is not configured (tlsCert, tlsKey)`);
  }
  if (config.x509DeviceAuth && config.requestClientCert) {
    throw new ConfigError(
      `x509DeviceAuth (${from('x509DeviceAuth')}) and requestClientCert (${from('requestClientCert')}) cannot both be true: device certificates are verified against the CAs registered per instance, not in the TLS handshake`,
    );
  }
  const ports: [ConfigKey, number][] = [
    ['mqttPort', config.mqttPort],
    ['wsPort', config.wsPort],
    ['httpPort', config.httpPort],
  ];
  if (tlsEnabled(config)) ports.push(['tlsPort', config.tlsPort], ['wssPort', config.wssPort]);
  const seen = new Map<number, ConfigKey>();
  for (const [key, port] of ports) {
    const other = seen.get(port);
    if (port !== 0 && other) throw new ConfigError(`${other} (${from(other)}) and ${key} (${from(key)}) are both ${port}`);
    seen.set(port, key);
  }
  return { config, origins };
}

/** TLS and WSS listeners run only when a certificate and key are configured. */
export function tlsEnabled(config: FerryConfig): boolean {
  return config.tlsCert !== undefined && config.tlsKey !== undefined;
}

/** Warnings to log at startup about risky but explicitly chosen settings. */
export function securityWarnings(config: FerryConfig): string[] {
  const warnings: string[] = [];
  if (config.broker.allowAnonymous && !isLoopbackAddress(config.bind)) {
    warnings.push(
      `ANONYMOUS ACCESS IS ENABLED on non-loopback address ${config.bind}: any client that can reach this ` +
        'host can connect without credentials. Set allowAnonymous to false unless this is intended.',
    );
  }
  return warnings;
}

/**
 * Load the configuration the way `ferry start` does: defaults < file < env < flags.
 * Throws ConfigError; unknown FERRY_* variables are not errors but notices (env-names.ts). Returns help=true when --help was given (nothing else is validated then).
 */
export function loadConfig(input: LoadConfigInput = {}): LoadedConfig & ConfigNotices & { help: boolean } {
  const cwd = input.cwd ?? process.cwd();
  const env = input.env ?? {};
  const argv = input.argv ?? [];
  const flags = flagLayer(argv, cwd);
  if (flags.help) return { ...resolveConfig(), warnings: [], serviceLinks: [], help: true };
  const { layer: envValues, notices } = envLayer(env, cwd);
  const file = (flags.layer.get('config') ?? envValues.get('config'))?.value as string | undefined;
  const layers = [...(file === undefined ? [] : [fileLayer(file)]), envValues, flags.layer];
  return { ...build(layers, cwd), ...(file === undefined ? {} : { configFile: file }), ...notices, help: false };
}

/**
 * Programmatic configuration: table defaults < `input` (shaped like the config file).
 * Same validation and computed defaults as loadConfig; relative paths resolve against process.cwd().
 */
export function resolveConfig(input: FerryConfigInput = {}): LoadedConfig {
  const layer = objectLayer(input, (key) => (key ? `option "${key}"` : 'options'), process.cwd());
  return build([layer], process.cwd());
}
