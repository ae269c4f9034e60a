// Names derived from a table key: the config file path, the FERRY_* variable and the CLI flag.
import type { OptionSpec } from './schema.js';

export const ENV_PREFIX = 'FERRY_';

function leaf(spec: OptionSpec): string {
  const parts = spec.key.split('.');
  return parts[parts.length - 1] ?? spec.key;
}

/** 'broker.maxPacketSize' → 'max-packet-size' (flags are flat: leaf names are unique). */
export function flagName(spec: OptionSpec): string {
  return leaf(spec).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** 'broker.maxPacketSize' → 'FERRY_MAX_PACKET_SIZE'. */
export function envName(spec: OptionSpec): string {
  return ENV_PREFIX + leaf(spec).replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

/** The key as written in the config file: the dotted path is a nested object. */
export function fileKey(spec: OptionSpec): string {
  return spec.key;
}
