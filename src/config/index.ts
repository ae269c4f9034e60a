export { ConfigError } from './errors.js';
export {
  loadConfig,
  resolveConfig,
  isLoopbackAddress,
  securityWarnings,
  tlsEnabled,
  type FerryConfigInput,
  type LoadConfigInput,
  type LoadedConfig,
  type ConfigNotices,
} from './load.js';
export { envName, flagName, fileKey } from './names.js';
export { renderConfigDocs, renderStartHelp } from './docs.js';
export { OPTIONS, LOG_LEVELS, type ConfigKey, type FerryConfig, type LogLevel, type OptionSpec } from './schema.js';
