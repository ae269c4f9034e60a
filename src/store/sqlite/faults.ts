/**
 * Test-only fault injection for the store thread: a shared Int32Array the main thread sets and
 * the store thread reads before each COMMIT. Nothing in configuration or on the network reaches
 * it; only code holding the SqliteStore object (tests) can call `injectFaults`.
 */
export const FAULT_FAIL_COMMITS = 0;
export const FAULT_SLOTS = 1;
