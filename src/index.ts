// Public API of the ferry-mqtt package.
export { startFerry, type RunningFerry, type FerryPorts, type ListenerName, type StartOptions } from './server.js';
export {
  ConfigError,
  loadConfig,
  resolveConfig,
  type FerryConfig,
  type FerryConfigInput,
  type LoadConfigInput,
  type LoadedConfig,
  type LogLevel,
} from './config/index.js';
export type { BrokerOptions, AclRule } from './broker/options.js';
