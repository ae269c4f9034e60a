// Exports for tests and benchmarks (package.json "./internal"). Keep this a plain list of re-exports.
export * from './config/index.js';
