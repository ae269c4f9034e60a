// Help text and the configuration reference, both rendered from the OPTIONS table.
import { envName, fileKey, flagName } from './names.js';
import { OPTIONS, type OptionSpec } from './schema.js';

const GROUP_TITLES: Record<OptionSpec['group'], string> = {
  general: 'General',
  listeners: 'Listeners',
  tls: 'TLS (MQTT over TLS and secure WebSocket)',
  store: 'Store (durability, see docs/storage.md)',
  auth: 'Authentication and tenants (see docs/authentication.md)',
  observability: 'Observability (traces and metrics, see docs/observability.md)',
  cluster: 'Cluster (several nodes on NATS, see docs/cluster.md)',
  broker: 'Broker',
};

export function defaultText(spec: OptionSpec): string {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.default === undefined) return 'unset';
  return JSON.stringify(spec.default);
}

function flagUsage(spec: OptionSpec): string {
  if (spec.type === 'boolean') return `--${flagName(spec)}, --no-${flagName(spec)}`;
  return `--${flagName(spec)} ${spec.arg ?? 'VALUE'}`;
}

/** `ferry start --help`. */
export function renderStartHelp(): string {
  const lines = [
    'Usage: ferry start [options]',
    '',
    'Runs Ferry in the foreground. Precedence: defaults < --config file < FERRY_* variables < flags.',
    '',
  ];
  for (const group of Object.keys(GROUP_TITLES) as OptionSpec['group'][]) {
    lines.push(`${GROUP_TITLES[group]}:`);
    for (const spec of OPTIONS.filter((o) => o.group === group)) {
      lines.push(`  ${flagUsage(spec)}`);
      lines.push(`      ${spec.description}`);
      lines.push(`      env ${envName(spec)}; default ${defaultText(spec)}`);
    }
    lines.push('');
  }
  lines.push('  -h, --help  Show this help.');
  return `${lines.join('\n')}\n`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** docs/configuration.md (checked against this output by test/unit/config/docs.test.ts). */
export function renderConfigDocs(): string {
  const out: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by scripts/gen-config-docs.mjs; do not edit by hand. -->',
    '',
    'Every setting can come from four places; later ones win:',
    '',
    '1. the built-in default;',
    '2. the JSON config file given by `--config FILE` (or `FERRY_CONFIG`); settings of the broker',
    '   are nested under `"broker"`, e.g. `{"mqttPort": 1884, "broker": {"maxInflight": 32}}`;',
    '3. the `FERRY_*` environment variable (an empty value counts as unset);',
    '4. the command-line flag of `ferry start`.',
    '',
    'Unknown keys, unknown flags and invalid values (from any source) stop Ferry with exit code 2 and',
    'a message naming the setting and its source. An unknown `FERRY_*` variable only logs a warning',
    'naming the closest known one: Kubernetes sets `FERRY_SERVICE_HOST`, `FERRY_PORT=tcp://…` and',
    'friends for a Service named `ferry` (see docs/operations.md, which also covers a service link',
    'landing on a port setting). Relative paths are resolved against the',
    'config file\'s directory when they come from the file, else against the working directory.',
    'Booleans are `true`/`false` in the file, `true|false|1|0|yes|no|on|off` in the environment, and',
    '`--flag` / `--no-flag` on the command line. Ports may be 0 to bind any free port; the bound',
    'ports are logged (`"msg":"listening"`).',
    '',
    '**Secure by default:** Ferry binds to `127.0.0.1`. When `bind` is a non-loopback address,',
    'anonymous clients are refused unless `allowAnonymous` is set to `true` explicitly, which logs a',
    'warning at startup.',
    '',
  ];
  for (const group of Object.keys(GROUP_TITLES) as OptionSpec['group'][]) {
    out.push(`## ${GROUP_TITLES[group]}`, '');
    out.push('| File key | Environment | Flag | Default | Meaning |', '| --- | --- | --- | --- | --- |');
    for (const spec of OPTIONS.filter((o) => o.group === group)) {
      const key = spec.inFile === false ? '—' : `\`${fileKey(spec)}\``;
      const flag = spec.type === 'boolean' ? `\`--${flagName(spec)}\`, \`--no-${flagName(spec)}\`` : `\`--${flagName(spec)} ${spec.arg ?? 'VALUE'}\``;
      const def = spec.default === undefined && spec.defaultText === undefined ? 'unset' : spec.defaultText ?? `\`${defaultText(spec)}\``;
      let meaning = spec.description;
      if (spec.type === 'integer') meaning += ` Range ${spec.min ?? 0}–${spec.max ?? Number.MAX_SAFE_INTEGER}.`;
      if (spec.type === 'enum') meaning += ` One of ${(spec.values ?? []).map((v) => `\`${v}\``).join(', ')}.`;
      out.push(`| ${key} | \`${envName(spec)}\` | ${flag} | ${cell(def)} | ${cell(meaning)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
