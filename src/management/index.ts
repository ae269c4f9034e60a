/** The management facade (management.ts) and what goes with it. */
export * from './errors.js';
export * from './management.js';
export * from './tags.js';
export * from './traces.js';
export * from './services.js';
