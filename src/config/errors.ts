/** A configuration problem the user must fix: unknown key or flag, bad value, inconsistent settings. */
export class ConfigError extends Error {
  readonly code = 'FERRY_ERR_CONFIG';
  /** Process exit code the CLI uses for configuration errors. */
  readonly exitCode = 2;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}
