// Reusable test helpers. Import from '../helpers/index.js' (or deeper) in tests.
export { tempDir, type Teardown } from './temp.js';
export { waitFor, within, type WaitOptions } from './wait.js';
export { issueCert, makeCa, makeSelfSignedCert, type CertOptions, type IssuedCert, type SelfSignedCert } from './tls.js';
export { startFerry, captureLogger, testLogLevel, type CapturedLogs } from './ferry.js';
export { mqttClient } from './mqtt.js';
export { spawnFerry, waitForLog, failedStart, runCli, cleanEnv, CLI_PATH, NODE_FLAGS, type FerryChild } from './cli.js';
